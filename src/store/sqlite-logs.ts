/**
 * The SQLite store's job logs (table `job_logs`, schema version 5): lines with ids that are never
 * given twice (AUTOINCREMENT: a removed job's ids are not reused), at most `keep` per job. The
 * store's `remove` and `expire` delete a job's lines with it (sqlite-connection.ts).
 */
import type Database from 'better-sqlite3';
import type { JobLogEntry } from '../common/types.js';
import type { LogLineDraft, LogStore } from './port.js';
import { onConnection } from './sqlite-statements.js';

interface LogRow {
  readonly id: number;
  readonly job_id: string;
  readonly attempt: number;
  readonly at: number;
  readonly message: string;
  readonly data: string | null;
}

const COLUMNS = `id, job_id, attempt, at, message, data`;

function prepare(db: Database.Database) {
  const insert = db.prepare<[string, number, number, string, string | null]>(
    `INSERT INTO job_logs (job_id, attempt, at, message, data) VALUES (?, ?, ?, ?, ?)`,
  );
  // Keeps the job's newest `keep` lines.
  const trim = db.prepare<[string, string, number]>(
    `DELETE FROM job_logs WHERE job_id = ? AND id <= (
       SELECT id FROM job_logs WHERE job_id = ? ORDER BY id DESC LIMIT 1 OFFSET ?)`,
  );
  return {
    append: db.transaction((lines: readonly LogLineDraft[], keep: number): number[] => {
      const ids = lines.map((line) => {
        const data = line.data === null || line.data === undefined ? null : JSON.stringify(line.data);
        return Number(insert.run(line.jobId, line.attempt, line.at, line.message, data).lastInsertRowid);
      });
      for (const jobId of new Set(lines.map((line) => line.jobId))) trim.run(jobId, jobId, keep);
      return ids;
    }),
    read: db.prepare<[string, number, number], LogRow>(
      `SELECT ${COLUMNS} FROM job_logs WHERE job_id = ? AND id > ? ORDER BY id LIMIT ?`,
    ),
    readAttempt: db.prepare<[string, number, number, number], LogRow>(
      `SELECT ${COLUMNS} FROM job_logs WHERE job_id = ? AND id > ? AND attempt = ? ORDER BY id LIMIT ?`,
    ),
  };
}

export function decodeLogLine(row: LogRow): JobLogEntry {
  return {
    id: row.id,
    jobId: row.job_id,
    attempt: row.attempt,
    at: row.at,
    message: row.message,
    data: row.data === null ? null : (JSON.parse(row.data) as unknown),
  };
}

/** The logs of the store whose connection `db` answers (it throws when the store is closed). */
export function sqliteLogs(db: () => Database.Database): LogStore {
  const run = onConnection(db, prepare);
  return {
    append: (lines, keep) => run('append log lines', (sql) => sql.append(lines, keep)),
    read: (jobId, { after, limit, attempt }) =>
      run('read log', (sql) =>
        (attempt === undefined
          ? sql.read.all(jobId, after, limit)
          : sql.readAttempt.all(jobId, after, attempt, limit)
        ).map(decodeLogLine),
      ),
  };
}
