/**
 * The PostgreSQL store's job logs (table `job_logs`, migration 7): a job's lines are written by
 * the one node that runs it, in order, at most `keep` per job. The store's `remove` and `expire`
 * delete a job's lines with it (postgres.ts).
 */
import type pg from 'pg';
import type { JobLogEntry } from '../common/types.js';
import type { LogStore } from './port.js';
import { toStoreError } from './postgres-schema.js';

interface LogRow {
  readonly id: string;
  readonly job_id: string;
  readonly attempt: number;
  readonly at: string;
  readonly message: string;
  readonly data: unknown;
}

function decode(row: LogRow): JobLogEntry {
  return {
    id: Number(row.id),
    jobId: row.job_id,
    attempt: row.attempt,
    at: Number(row.at),
    message: row.message,
    data: row.data ?? null,
  };
}

/** The logs in `schema`, through the store's pool (`pool` throws while the store is closed). */
export function postgresLogs(pool: () => pg.Pool, schema: string): LogStore {
  const s = schema;
  return {
    async append(lines, keep) {
      try {
        const client = await pool().connect();
        try {
          await client.query('BEGIN');
          const { rows } = await client.query<{ id: string }>(
            `INSERT INTO ${s}.job_logs (job_id, attempt, at, message, data)
             SELECT job_id, attempt, at, message, data::jsonb
             FROM unnest($1::text[], $2::int[], $3::int8[], $4::text[], $5::text[]) WITH ORDINALITY
               AS v(job_id, attempt, at, message, data, ord)
             ORDER BY ord
             RETURNING id`,
            [
              lines.map((l) => l.jobId),
              lines.map((l) => l.attempt),
              lines.map((l) => l.at),
              lines.map((l) => l.message),
              lines.map((l) => (l.data === null || l.data === undefined ? null : JSON.stringify(l.data))),
            ],
          );
          // Each job keeps its newest `keep` lines.
          await client.query(
            `DELETE FROM ${s}.job_logs l USING (SELECT DISTINCT unnest($1::text[]) AS job_id) j
             WHERE l.job_id = j.job_id AND l.id <= (
               SELECT id FROM ${s}.job_logs WHERE job_id = j.job_id ORDER BY id DESC OFFSET $2 LIMIT 1)`,
            [lines.map((l) => l.jobId), keep],
          );
          await client.query('COMMIT');
          // Ids come from one sequence in insertion order: sorted, they are the lines' in order.
          return rows.map((row) => Number(row.id)).sort((a, b) => a - b);
        } catch (error) {
          await client.query('ROLLBACK').catch(() => undefined);
          throw error;
        } finally {
          client.release();
        }
      } catch (error) {
        throw toStoreError(error, 'append log lines');
      }
    },
    async read(jobId, { after, limit, attempt }) {
      try {
        const { rows } = await pool().query<LogRow>(
          `SELECT id, job_id, attempt, at, message, data FROM ${s}.job_logs
           WHERE job_id = $1 AND id > $2 AND ($3::int IS NULL OR attempt = $3) ORDER BY id LIMIT $4`,
          [jobId, after, attempt ?? null, limit],
        );
        return rows.map(decode);
      } catch (error) {
        throw toStoreError(error, 'read log');
      }
    },
  };
}
