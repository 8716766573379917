/**
 * The SQLite store's connection: one local file, durable at every commit, owned by one process at a
 * time. `jobs` keeps each job's latest record; `changes` is the change log; `meta` keeps the log's
 * high-water mark so `lastOffset` never goes backwards when old changes expire. Records (with
 * `input` and `result`) are stored as JSON. `sqliteStore` (sqlite.ts) validates the options and
 * runs this on the SQLite thread or on the caller's; this file imports no zod, so the thread
 * starts light.
 */
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import { JobvisorError } from '../common/errors.js';
import type {
  ChangeDraft,
  JobRecord,
  JobStore,
  ListQuery,
  Page,
  StoredChange,
  StoreSnapshot,
} from './port.js';
import { BatchKeys, decodeCursor, encodeCursor } from './query.js';
import { FINISHED, LIVE, prepareSchema, toStoreError } from './sqlite-schema.js';
import { sqliteAdmin } from './sqlite-admin.js';
import { sqliteLogs } from './sqlite-logs.js';
import { sqliteSchedules } from './sqlite-schedules.js';
import {
  checkNextSeq,
  encodeBatch,
  unpackBatch,
  storeConflict,
  decodeChanges,
  decodeJob,
  type ChangeRow,
  type EncodedChange,
  type JobRow,
  type PackedBatch,
  type RowFields,
} from './encode.js';

/** The connection's options, validated (sqlite.ts). */
export interface SqliteConnectionOptions {
  readonly path: string;
  readonly busyTimeoutMs: number;
  readonly maxSizeBytes: number | null;
}

const JOB_COLUMNS = `type, key, status, state, seq, "offset", created_at, finished_at, record`;
const OLDEST_FINISHED = `SELECT id FROM jobs WHERE ${FINISHED} ORDER BY COALESCE(finished_at, 0), id LIMIT ?`;
const FINISHED_BEFORE = `${FINISHED} AND COALESCE(finished_at, 0) < ?`;

/** A job row as read: the record's JSON holds everything but the offset, which has its column. */
function prepareStatements(db: Database.Database) {
  return {
    lastOffset: db.prepare<[], { value: number }>(`SELECT value FROM meta WHERE name = 'last_offset'`),
    setLastOffset: db.prepare<[number]>(`UPDATE meta SET value = ? WHERE name = 'last_offset'`),
    insertChange: db.prepare<[number, string, number, string, number, string]>(
      `INSERT INTO changes ("offset", job_id, seq, kind, at, record) VALUES (?, ?, ?, ?, ?, ?)`,
    ),
    insertJob: db.prepare<unknown[]>(
      `INSERT INTO jobs (id, ${JOB_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    ),
    updateJob: db.prepare<unknown[]>(`${UPDATE_JOB} WHERE id = ? AND seq = ?`),
    updateProgress: db.prepare<unknown[]>(`${UPDATE_PROGRESS} WHERE id = ? AND seq = ?`),
    keyHolder: db.prepare<[string], { id: string }>(`SELECT id FROM jobs WHERE key = ? AND ${LIVE}`),
    get: db.prepare<[string], JobRow>(`SELECT record, "offset" FROM jobs WHERE id = ?`),
    active: db.prepare<[], JobRow>(`SELECT record, "offset" FROM jobs WHERE ${LIVE} ORDER BY "offset"`),
    recent: db.prepare<[number], JobRow>(
      `SELECT record, "offset" FROM (SELECT record, "offset", finished_at, id FROM jobs WHERE ${FINISHED}
         ORDER BY COALESCE(finished_at, 0) DESC, id DESC LIMIT ?)
       ORDER BY COALESCE(finished_at, 0), id`,
    ),
    changesSince: db.prepare<[number, number], ChangeRow>(
      `SELECT "offset", job_id, seq, kind, at, record FROM changes WHERE "offset" > ? ORDER BY "offset" LIMIT ?`,
    ),
    changesOf: db.prepare<[string, number, number], ChangeRow>(
      `SELECT "offset", job_id, seq, kind, at, record FROM changes
       WHERE job_id = ? AND "offset" > ? ORDER BY "offset" LIMIT ?`,
    ),
    firstOffset: db.prepare<[], { first: number | null }>(`SELECT min("offset") AS first FROM changes`),
    countFinished: db.prepare<[], { n: number }>(`SELECT count(*) AS n FROM jobs WHERE ${FINISHED}`),
    // Retention removes a job with its change history: first the changes, then the row.
    expireOldestChanges: db.prepare<[number]>(`DELETE FROM changes WHERE job_id IN (${OLDEST_FINISHED})`),
    expireOldestLogs: db.prepare<[number]>(`DELETE FROM job_logs WHERE job_id IN (${OLDEST_FINISHED})`),
    expireOldest: db.prepare<[number]>(`DELETE FROM jobs WHERE id IN (${OLDEST_FINISHED})`),
    expireBeforeChanges: db.prepare<[number]>(
      `DELETE FROM changes WHERE job_id IN (SELECT id FROM jobs WHERE ${FINISHED_BEFORE})`,
    ),
    expireBefore: db.prepare<[number]>(`DELETE FROM jobs WHERE ${FINISHED_BEFORE}`),
    expireBeforeLogs: db.prepare<[number]>(
      `DELETE FROM job_logs WHERE job_id IN (SELECT id FROM jobs WHERE ${FINISHED_BEFORE})`,
    ),
    // The log stays a contiguous suffix: drop everything before the first change at or after `before`.
    expireLog: db.prepare<[number]>(
      `DELETE FROM changes WHERE "offset" < COALESCE(
         (SELECT "offset" FROM changes WHERE at >= ? ORDER BY "offset" LIMIT 1),
         (SELECT max("offset") + 1 FROM changes))`,
    ),
  };
}

type Statements = ReturnType<typeof prepareStatements>;

interface Connection {
  readonly db: Database.Database;
  readonly sql: Statements;
  readonly lists: Map<string, Database.Statement<unknown[], JobRow>>;
  /** Cached: this connection holds the file exclusively, so nobody else moves the log. */
  lastOffset: number;
  /** The batch write wrapped in a transaction: returns the new last offset. */
  readonly commit: (conn: Connection, batch: readonly EncodedChange[]) => number;
}

/** A change that can never be written: it names its job, so the others can be written without it. */
/** Runs one row write; a constraint SQLite finds (a key, an id) is a conflict of that job. */
function forJob<T>(jobId: string, write: () => T): T {
  try {
    return write();
  } catch (error) {
    const code = (error as { code?: unknown } | null)?.code;
    if (typeof code === 'string' && code.startsWith('SQLITE_CONSTRAINT')) {
      throw storeConflict(jobId, `Job ${jobId}: ${(error as Error).message}`);
    }
    throw error;
  }
}

/**
 * A job row's later writes set only what a change can move (never type, key or created_at), so
 * SQLite leaves the indexes on the others alone; a job whose changes in the batch are all
 * `progress` keeps its status, state and finish time too, and its write touches no index at all.
 * The bench's raw writer (bench/raw-sqlite.ts) uses these too.
 */
export const UPDATE_JOB = `UPDATE jobs SET (status, state, seq, "offset", finished_at, record) = (?, ?, ?, ?, ?, ?)`;
export const UPDATE_PROGRESS = `UPDATE jobs SET (seq, "offset", record) = (?, ?, ?)`;

/** The values of UPDATE_JOB, or of UPDATE_PROGRESS when `progressOnly`. */
export function updateValues(
  record: RowFields,
  seq: number,
  offset: number,
  json: string,
  progressOnly: boolean,
): unknown[] {
  if (progressOnly) return [seq, offset, json];
  return [record.status, record.state, seq, offset, record.finishedAt, json];
}

/** A job row's values after its latest record (in the order of JOB_COLUMNS); the bench's raw writer uses it too. */
export function jobValues(record: RowFields, seq: number, offset: number, json: string): unknown[] {
  return [
    record.type,
    record.key,
    record.status,
    record.state,
    seq,
    offset,
    record.createdAt,
    record.finishedAt,
    json,
  ];
}

export class SqliteStore implements JobStore {
  readonly name = 'sqlite';
  readonly #options: SqliteConnectionOptions;
  #conn: Connection | null = null;
  readonly schedules = sqliteSchedules(() => this.#use().db);
  readonly logs = sqliteLogs(() => this.#use().db);
  readonly #admin = sqliteAdmin(() => this.#use().db);

  constructor(options: SqliteConnectionOptions) {
    this.#options = options;
  }

  async open(options: { readonly recentLimit: number }): Promise<StoreSnapshot> {
    const opening = this.#conn === null;
    const conn = this.#conn ?? (this.#conn = this.#connect());
    try {
      return this.#run('open', () => ({
        lastOffset: conn.lastOffset,
        active: conn.sql.active.all().map(decodeJob),
        recent: conn.sql.recent.all(Math.max(0, Math.floor(options.recentLimit))).map(decodeJob),
      }));
    } catch (error) {
      // A file that cannot even be read back is not held: release it for whoever repairs it.
      if (opening) await this.close();
      throw error;
    }
  }

  #connect(): Connection {
    const { path, busyTimeoutMs, maxSizeBytes } = this.#options;
    let db: Database.Database | undefined;
    try {
      mkdirSync(dirname(path), { recursive: true });
      db = new Database(path, { timeout: busyTimeoutMs });
      // Hold the file for the life of the connection: a second process fails at open with
      // `store_locked` instead of sharing (and corrupting) the ownership of jobs. Set before the
      // first read so WAL runs without shared memory, and before anything is written.
      db.pragma('locking_mode = EXCLUSIVE');
      db.pragma(`busy_timeout = ${busyTimeoutMs}`);
      // In WAL mode, NORMAL syncs only at checkpoints: a commit that returned survives a crash of
      // the process but may vanish on power loss or an OS crash. FULL syncs the WAL at every
      // commit, so a change the store accepted is durable, as the supervisor promises.
      db.pragma('synchronous = FULL');
      prepareSchema(db, path);
      if (maxSizeBytes !== null) {
        const pageSize = db.pragma('page_size', { simple: true }) as number;
        db.pragma(`max_page_count = ${Math.max(1, Math.floor(maxSizeBytes / pageSize))}`);
      }
      const sql = prepareStatements(db);
      const commit = db.transaction((conn: Connection, batch: readonly EncodedChange[]) =>
        this.#write(conn, batch),
      );
      return { db, sql, lists: new Map(), lastOffset: sql.lastOffset.get()?.value ?? 0, commit };
    } catch (error) {
      db?.close();
      throw toStoreError(error, `opening ${path}`);
    }
  }

  #use(): Connection {
    if (this.#conn === null) {
      throw new JobvisorError('store_unavailable', `SQLite store ${this.#options.path} is not open`);
    }
    return this.#conn;
  }

  #run<T>(doing: string, fn: () => T): T {
    try {
      return fn();
    } catch (error) {
      throw toStoreError(error, doing);
    }
  }

  async commit(batch: readonly ChangeDraft[]): Promise<number> {
    return this.commitEncoded(encodeBatch(batch));
  }

  /** A commit packed on another thread (the threaded store: `packBatch`). */
  async commitPacked(batch: PackedBatch): Promise<number> {
    return this.commitEncoded(unpackBatch(batch));
  }

  /** A commit of changes encoded already (`encodeBatch`: the threaded store encodes them on its caller's thread). */
  async commitEncoded(batch: readonly EncodedChange[]): Promise<number> {
    const conn = this.#use();
    const first = conn.lastOffset + 1;
    if (batch.length === 0) return first;
    conn.lastOffset = this.#run('commit', () => conn.commit(conn, batch));
    return first;
  }

  /** Runs inside the transaction: any throw rolls the whole batch back. Returns the new last offset. */
  #write({ sql, lastOffset }: Connection, batch: readonly EncodedChange[]): number {
    let offset = lastOffset + 1;
    const jobs = new Map<
      string,
      { firstSeq: number; last: EncodedChange; offset: number; json: string | null; progressOnly: boolean }
    >();
    const keys = new BatchKeys((key) => sql.keyHolder.get(key)?.id ?? null);
    for (const change of batch) {
      const { jobId } = change;
      const seen = jobs.get(jobId);
      checkNextSeq(jobId, seen?.last.seq, change.seq);
      const holder = keys.step(change);
      if (holder !== null)
        throw storeConflict(jobId, `Key "${change.record.key}" is held by live job ${holder}`);
      const { json } = change;
      sql.insertChange.run(offset, jobId, change.seq, change.kind, change.at, change.log);
      const progressOnly = (seen?.progressOnly ?? true) && change.kind === 'progress';
      jobs.set(jobId, { firstSeq: seen?.firstSeq ?? change.seq, last: change, offset, json, progressOnly });
      offset++;
    }
    // One row write per job, in order of first appearance, with its latest record.
    for (const [id, { firstSeq, last, offset: at, json, progressOnly }] of jobs) {
      // encodeBatch gives the whole record on each job's last change of the batch.
      if (json === null)
        throw new JobvisorError('internal_error', `Job ${id}: its row's record was not encoded`);
      if (firstSeq === 1) {
        forJob(id, () => sql.insertJob.run(id, ...jobValues(last.record, last.seq, at, json)));
        continue;
      }
      const values = updateValues(last.record, last.seq, at, json, progressOnly);
      const update = progressOnly ? sql.updateProgress : sql.updateJob;
      if (forJob(id, () => update.run(...values, id, firstSeq - 1)).changes !== 1) {
        throw storeConflict(id, `Job ${id} is not at seq ${firstSeq - 1} (stale write or unknown job)`);
      }
    }
    sql.setLastOffset.run(offset - 1);
    return offset - 1;
  }

  async get(id: string): Promise<JobRecord | undefined> {
    const { sql } = this.#use();
    return this.#run('get', () => {
      const row = sql.get.get(id);
      return row && decodeJob(row);
    });
  }

  async list(query: ListQuery): Promise<Page<JobRecord>> {
    const conn = this.#use();
    const limit = Math.max(0, Math.floor(query.limit));
    const cursor = query.after === undefined ? undefined : decodeCursor(query.after);
    if (query.status?.length === 0) return { items: [], next: null };
    const where: string[] = [];
    const params: unknown[] = [];
    if (query.status) {
      where.push(`status IN (${query.status.map(() => '?').join(', ')})`);
      params.push(...query.status);
    }
    if (query.type !== undefined) {
      where.push('type = ?');
      params.push(query.type);
    }
    if (query.key !== undefined) {
      where.push('key = ?');
      params.push(query.key);
    }
    if (cursor) {
      where.push('(created_at, id) > (?, ?)');
      params.push(cursor.createdAt, cursor.id);
    }
    const text = `SELECT record, "offset" FROM jobs ${where.length ? `WHERE ${where.join(' AND ')}` : ''}
      ORDER BY created_at, id LIMIT ?`;
    return this.#run('list', () => {
      let statement = conn.lists.get(text);
      if (!statement) conn.lists.set(text, (statement = conn.db.prepare(text)));
      const rows = statement.all(...params, limit + 1);
      const items = rows.slice(0, limit).map(decodeJob);
      const lastItem = items.at(-1);
      return { items, next: rows.length > limit && lastItem ? encodeCursor(lastItem) : null };
    });
  }

  async changesSince(after: number, limit: number): Promise<readonly StoredChange[]> {
    const { sql } = this.#use();
    return this.#run('changesSince', () =>
      decodeChanges(sql.changesSince.all(after, Math.max(0, Math.floor(limit))), (id) => this.#job(sql, id)),
    );
  }

  async changesOf(jobId: string, after: number, limit: number): Promise<readonly StoredChange[]> {
    const { sql } = this.#use();
    return this.#run('changesOf', () =>
      decodeChanges(sql.changesOf.all(jobId, after, Math.max(0, Math.floor(limit))), (id) =>
        this.#job(sql, id),
      ),
    );
  }

  /** A job's row, for the changes of a page (read in the same call: nothing commits in between). */
  #job(sql: Connection['sql'], id: string): JobRecord | undefined {
    const row = sql.get.get(id);
    return row && decodeJob(row);
  }

  remove(ids: readonly string[]): Promise<number> {
    return this.#admin.remove(ids);
  }

  paused(): Promise<readonly string[]> {
    return this.#admin.paused();
  }

  setPaused(scope: string, paused: boolean): Promise<void> {
    return this.#admin.setPaused(scope, paused);
  }

  async firstOffset(): Promise<number> {
    const conn = this.#use();
    return this.#run('firstOffset', () => conn.sql.firstOffset.get()?.first ?? conn.lastOffset + 1);
  }

  async expire(policy: { readonly before: number; readonly maxCount: number }): Promise<number> {
    const { db, sql } = this.#use();
    return this.#run('expire', () =>
      db.transaction(() => {
        const finished = sql.countFinished.get()?.n ?? 0;
        const excess = Math.ceil(Math.max(0, finished - policy.maxCount));
        sql.expireOldestChanges.run(excess);
        sql.expireOldestLogs.run(excess);
        let removed = sql.expireOldest.run(excess).changes;
        sql.expireBeforeChanges.run(policy.before);
        sql.expireBeforeLogs.run(policy.before);
        removed += sql.expireBefore.run(policy.before).changes;
        sql.expireLog.run(policy.before);
        return removed;
      })(),
    );
  }

  async close(): Promise<void> {
    const conn = this.#conn;
    this.#conn = null;
    if (conn?.db.open) this.#run('close', () => conn.db.close());
  }
}
