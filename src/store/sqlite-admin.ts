/**
 * The SQLite store's operator verbs: removing finished jobs with their history and logs, and the
 * pauses (table `paused`). Each on the store's connection, its errors coded as the store's are.
 */
import type Database from 'better-sqlite3';
import { FINISHED } from './sqlite-schema.js';
import { onConnection } from './sqlite-statements.js';

function prepare(db: Database.Database) {
  const ofFinished = (table: string) =>
    db.prepare<[string]>(
      `DELETE FROM ${table} WHERE job_id = ? AND EXISTS (SELECT 1 FROM jobs WHERE id = ${table}.job_id AND ${FINISHED})`,
    );
  const removeChanges = ofFinished('changes');
  const removeLogs = ofFinished('job_logs');
  const removeJob = db.prepare<[string]>(`DELETE FROM jobs WHERE id = ? AND ${FINISHED}`);
  return {
    remove: db.transaction((ids: readonly string[]) => {
      let removed = 0;
      for (const id of ids) {
        removeChanges.run(id);
        removeLogs.run(id);
        removed += removeJob.run(id).changes;
      }
      return removed;
    }),
    paused: db.prepare<[], { scope: string }>(`SELECT scope FROM paused ORDER BY scope`),
    pause: db.prepare<[string, number]>(`INSERT OR IGNORE INTO paused (scope, at) VALUES (?, ?)`),
    resume: db.prepare<[string]>(`DELETE FROM paused WHERE scope = ?`),
  };
}

export interface SqliteAdmin {
  remove(ids: readonly string[]): Promise<number>;
  paused(): Promise<readonly string[]>;
  setPaused(scope: string, paused: boolean): Promise<void>;
}

/** The verbs on the store whose connection `db` answers (it throws when the store is closed). */
export function sqliteAdmin(db: () => Database.Database): SqliteAdmin {
  const run = onConnection(db, prepare);
  return {
    remove: (ids) => run('remove', (sql) => sql.remove(ids)),
    paused: () => run('paused', (sql) => sql.paused.all().map((row) => row.scope)),
    setPaused: (scope, paused) =>
      run('setPaused', (sql) => void (paused ? sql.pause.run(scope, Date.now()) : sql.resume.run(scope))),
  };
}
