/**
 * The PostgreSQL store's schedules (table `schedules`, migration 6), shared by every node: an
 * occurrence is taken by one compare-and-set on `last_at`, so one node of the cluster starts it.
 */
import type pg from 'pg';
import type { ScheduleSpec } from '../common/repeatable.js';
import type { ScheduleRecord, ScheduleStore } from './port.js';
import { toStoreError } from './postgres-schema.js';

interface ScheduleRow {
  readonly name: string;
  readonly spec: ScheduleSpec;
  readonly last_at: string | null;
  readonly last_job: string | null;
  readonly taken_at: string | null;
  readonly started: boolean;
}

const time = (value: string | null): number | null => (value === null ? null : Number(value));

function decode(row: ScheduleRow): ScheduleRecord {
  return {
    name: row.name,
    spec: row.spec,
    lastAt: time(row.last_at),
    lastJobId: row.last_job,
    takenAt: time(row.taken_at),
    started: row.started,
  };
}

/** The schedules in `schema`, through the store's pool (`pool` throws while the store is closed). */
export function postgresSchedules(pool: () => pg.Pool, schema: string): ScheduleStore {
  const s = schema;
  const run = async <T>(doing: string, fn: (pool: pg.Pool) => Promise<T>): Promise<T> => {
    try {
      return await fn(pool());
    } catch (error) {
      throw toStoreError(error, doing);
    }
  };
  return {
    list: () =>
      run('schedules', async (p) => {
        const { rows } = await p.query<ScheduleRow>(
          `SELECT name, spec, last_at, last_job, taken_at, started FROM ${s}.schedules ORDER BY name`,
        );
        return rows.map(decode);
      }),
    put: (name, spec) =>
      run('put schedule', async (p) => {
        await p.query(
          `INSERT INTO ${s}.schedules (name, spec) VALUES ($1, $2)
           ON CONFLICT (name) DO UPDATE SET spec = excluded.spec`,
          [name, JSON.stringify(spec)],
        );
      }),
    remove: (name) =>
      run('remove schedule', async (p) => {
        const { rowCount } = await p.query(`DELETE FROM ${s}.schedules WHERE name = $1`, [name]);
        return (rowCount ?? 0) > 0;
      }),
    take: (name, at, jobId, takenAt) =>
      run('take occurrence', async (p) => {
        const { rowCount } = await p.query(
          `UPDATE ${s}.schedules SET last_at = $2, last_job = $3::text, taken_at = $4, started = $3::text IS NULL
           WHERE name = $1 AND (last_at IS NULL OR last_at < $2) AND started`,
          [name, at, jobId, takenAt],
        );
        return rowCount === 1;
      }),
    started: (name, at, jobId) =>
      run('occurrence started', async (p) => {
        await p.query(
          `UPDATE ${s}.schedules SET started = true, last_job = $3 WHERE name = $1 AND last_at = $2`,
          [name, at, jobId],
        );
      }),
  };
}
