/**
 * Statements of one part of the SQLite store (schedules, logs, operator verbs), prepared on the
 * store's connection when first used (again after a reopen), each call's error coded as the
 * store's are (`toStoreError`), answered as a promise like every verb of the port.
 */
import type Database from 'better-sqlite3';
import { toStoreError } from './sqlite-schema.js';

export type RunOn<S> = <T>(doing: string, fn: (sql: S) => T) => Promise<T>;

/** `db`: the store's connection (it throws when the store is closed). */
export function onConnection<S>(
  db: () => Database.Database,
  prepare: (db: Database.Database) => S,
): RunOn<S> {
  let prepared: { readonly db: Database.Database; readonly sql: S } | undefined;
  return <T>(doing: string, fn: (sql: S) => T): Promise<T> => {
    try {
      const conn = db();
      if (prepared?.db !== conn) prepared = { db: conn, sql: prepare(conn) };
      return Promise.resolve(fn(prepared.sql));
    } catch (error) {
      return Promise.reject(toStoreError(error, doing));
    }
  };
}
