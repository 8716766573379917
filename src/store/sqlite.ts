/**
 * `sqliteStore`: the durable store on one local SQLite file (better-sqlite3), with its options
 * validated. The connection (sqlite-connection.ts) runs on the process's SQLite thread by default
 * (sqlite-threaded.ts), or on the caller's thread with `thread: false`.
 */
import * as z from 'zod';
import { MAX_DELAY_MS, parseOrThrow } from '../common/validation.js';
import type { JobStore } from './port.js';
import { SqliteStore } from './sqlite-connection.js';
import { ThreadedSqliteStore } from './sqlite-threaded.js';

const sqliteOptionsSchema = z.strictObject({
  /** The database file; its directory is created if missing. */
  path: z.string().min(1),
  /** How long to wait for a lock held by another connection before failing with `store_locked`. */
  busyTimeoutMs: z.number().int().min(0).max(MAX_DELAY_MS).default(2_000),
  /** Refuse writes that would grow the file beyond this size (`store_unavailable`, as a full disk). */
  maxSizeBytes: z.number().int().positive().nullable().default(null),
  /**
   * Run the connection on a thread of its own (default): a commit's fsync then blocks that thread,
   * not the engine's, and what handlers report meanwhile goes into the next batch. `false`: on the
   * caller's thread (each commit blocks it until the file is synced).
   */
  thread: z.boolean().default(true),
});

export type SqliteStoreOptions = z.input<typeof sqliteOptionsSchema>;

export function sqliteStore(options: SqliteStoreOptions): JobStore {
  const parsed = Object.freeze(
    parseOrThrow(sqliteOptionsSchema, options, 'invalid_options', 'Invalid SQLite store options'),
  );
  return parsed.thread ? new ThreadedSqliteStore(parsed) : new SqliteStore(parsed);
}
