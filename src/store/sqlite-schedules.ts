/**
 * The SQLite store's schedules (table `schedules`, schema version 4): a definition per name and
 * the latest occurrence taken — a compare-and-set on `last_at` — as the port's ScheduleStore says.
 */
import type Database from 'better-sqlite3';
import type { ScheduleSpec } from '../common/repeatable.js';
import type { ScheduleRecord, ScheduleStore } from './port.js';
import { onConnection } from './sqlite-statements.js';

interface ScheduleRow {
  readonly name: string;
  readonly spec: string;
  readonly last_at: number | null;
  readonly last_job: string | null;
  readonly taken_at: number | null;
  readonly started: number;
}

function prepare(db: Database.Database) {
  return {
    list: db.prepare<[], ScheduleRow>(
      `SELECT name, spec, last_at, last_job, taken_at, started FROM schedules ORDER BY name`,
    ),
    put: db.prepare<[string, string]>(
      `INSERT INTO schedules (name, spec) VALUES (?, ?)
       ON CONFLICT (name) DO UPDATE SET spec = excluded.spec`,
    ),
    remove: db.prepare<[string]>(`DELETE FROM schedules WHERE name = ?`),
    take: db.prepare<[number, string | null, number, number, string, number]>(
      `UPDATE schedules SET last_at = ?, last_job = ?, taken_at = ?, started = ?
       WHERE name = ? AND (last_at IS NULL OR last_at < ?) AND started = 1`,
    ),
    started: db.prepare<[string, string, number]>(
      `UPDATE schedules SET started = 1, last_job = ? WHERE name = ? AND last_at = ?`,
    ),
  };
}

export function decodeSchedule(row: ScheduleRow): ScheduleRecord {
  return {
    name: row.name,
    spec: JSON.parse(row.spec) as ScheduleSpec,
    lastAt: row.last_at,
    lastJobId: row.last_job,
    takenAt: row.taken_at,
    started: row.started === 1,
  };
}

/** The schedules of the store whose connection `db` answers (it throws when the store is closed). */
export function sqliteSchedules(db: () => Database.Database): ScheduleStore {
  const run = onConnection(db, prepare);
  return {
    list: () => run('schedules', (sql) => sql.list.all().map(decodeSchedule)),
    put: (name: string, spec: ScheduleSpec) =>
      run('put schedule', (sql) => void sql.put.run(name, JSON.stringify(spec))),
    remove: (name: string) => run('remove schedule', (sql) => sql.remove.run(name).changes > 0),
    take: (name: string, at: number, jobId: string | null, takenAt: number) =>
      run(
        'take occurrence',
        (sql) => sql.take.run(at, jobId, takenAt, jobId === null ? 1 : 0, name, at).changes > 0,
      ),
    started: (name: string, at: number, jobId: string) =>
      run('occurrence started', (sql) => void sql.started.run(jobId, name, at)),
  };
}
