/**
 * The PostgreSQL store (node-postgres): the store port on one database schema. `jobs` keeps each
 * job's latest record, `changes` is the change log, `log_head` its high-water mark: the store
 * assigns offsets from it in the commit transaction, so they follow commit order without gaps
 * (a sequence would not: its values become visible out of order). Records are JSON text.
 *
 * A batch is written in one transaction (postgres-commit.ts). Several nodes may share a schema:
 * `cluster` (postgres-cluster.ts) has their verbs.
 */
import pg from 'pg';
import * as z from 'zod';
import { JobvisorError } from '../common/errors.js';
import { MAX_DELAY_MS, parseOrThrow } from '../common/validation.js';
import {
  CLAIMABLE_CHANGES,
  type ChangeDraft,
  type JobRecord,
  type JobStore,
  type ListQuery,
  type Page,
  type StoredChange,
  type StoreSnapshot,
  type LogStore,
  type ScheduleStore,
} from './port.js';
import { PostgresCluster } from './postgres-cluster.js';
import { postgresLogs } from './postgres-logs.js';
import { postgresSchedules } from './postgres-schedules.js';
import { decodeChanges, decodeJob, type ChangeRow, type JobRow } from './encode.js';
import { commitBatch } from './postgres-commit.js';
import { channelOf, migrate, SCHEMA_NAME, toStoreError } from './postgres-schema.js';
import { decodeCursor, encodeCursor } from './query.js';

const timeoutMs = z.number().int().positive().max(MAX_DELAY_MS);

const postgresOptionsSchema = z
  .strictObject({
    /** `postgres://user@host:5432/db`; or give a `pool` of your own. */
    connectionString: z.string().min(1).optional(),
    pool: z.custom<pg.Pool>((v) => v instanceof pg.Pool, { message: 'pool must be a pg.Pool' }).optional(),
    /** The schema the tables live in (created if missing). */
    schema: z.string().regex(SCHEMA_NAME, 'lower-case letters, digits and _ only').default('jobvisor'),
    /** Connections of the pool this store creates. */
    maxConnections: z.number().int().min(2).max(1_000).default(10),
    /** How long to wait for a connection before `store_unavailable`. */
    connectTimeoutMs: timeoutMs.default(5_000),
    /** How long one query may take (statement_timeout and the client's own timeout). */
    queryTimeoutMs: timeoutMs.default(10_000),
  })
  .refine((o) => (o.connectionString === undefined) !== (o.pool === undefined), {
    message: 'give exactly one of connectionString and pool',
  });

export type PostgresStoreOptions = z.input<typeof postgresOptionsSchema>;
type Options = z.output<typeof postgresOptionsSchema>;

export function postgresStore(options: PostgresStoreOptions): JobStore {
  return new PostgresStore(
    Object.freeze(
      parseOrThrow(postgresOptionsSchema, options, 'invalid_options', 'Invalid PostgreSQL store options'),
    ),
  );
}

const LIVE = `status IN ('pending', 'running')`;
const FINISHED = `status NOT IN ('pending', 'running')`;

/** bigint columns (offsets, times) as numbers: they stay far below 2^53. */
const TYPES: pg.CustomTypesConfig = {
  getTypeParser: ((oid: number, format?: 'text' | 'binary'): unknown =>
    oid === 20
      ? (value: string) => Number(value)
      : (pg.types.getTypeParser as (oid: number, format?: string) => unknown)(
          oid,
          format,
        )) as pg.CustomTypesConfig['getTypeParser'],
};

class PostgresStore implements JobStore {
  readonly name = 'postgres';
  readonly #options: Readonly<Options>;
  readonly #schema: string;
  readonly #channel: string;
  #pool: pg.Pool | null = null;
  #opened = false;
  /** The verbs of several nodes sharing the schema. */
  readonly cluster: PostgresCluster;
  readonly schedules: ScheduleStore;
  readonly logs: LogStore;

  constructor(options: Readonly<Options>) {
    this.#options = options;
    this.#schema = options.schema;
    this.#channel = channelOf(options.schema);
    this.cluster = new PostgresCluster({
      pool: () => this.#use(),
      schema: this.#schema,
      channel: this.#channel,
      connect: () => this.#listenClient(),
    });
    this.schedules = postgresSchedules(() => this.#use(), this.#schema);
    this.logs = postgresLogs(() => this.#use(), this.#schema);
  }

  async open(options: { readonly recentLimit: number }): Promise<StoreSnapshot> {
    const pool = this.#connect();
    const s = this.#schema;
    return this.#run('open', async () => {
      if (!this.#opened) {
        const client = await pool.connect();
        try {
          await migrate(client, s);
        } finally {
          client.release();
        }
        this.#opened = true;
      }
      const [head, active, recent] = await Promise.all([
        pool.query<{ last: number }>(`SELECT last FROM ${s}.log_head WHERE id = 1`),
        pool.query<JobRow>(`SELECT record, "offset" FROM ${s}.jobs WHERE ${LIVE} ORDER BY "offset"`),
        pool.query<JobRow>(
          `SELECT record, "offset" FROM (SELECT record, "offset", finished_at, id FROM ${s}.jobs WHERE ${FINISHED}
             ORDER BY COALESCE(finished_at, 0) DESC, id DESC LIMIT $1) r ORDER BY COALESCE(finished_at, 0), id`,
          [Math.max(0, Math.floor(options.recentLimit))],
        ),
      ]);
      return {
        lastOffset: head.rows[0]?.last ?? 0,
        active: active.rows.map(decodeJob),
        recent: recent.rows.map(decodeJob),
      };
    });
  }

  async commit(batch: readonly ChangeDraft[], writer?: string): Promise<number> {
    const pool = this.#use();
    const target = { schema: this.#schema, channel: this.#channel };
    // A batch that ends attempts or queues jobs claims for its writer in the same round trip.
    const claim =
      writer !== undefined && batch.some((c) => CLAIMABLE_CHANGES.has(c.kind))
        ? this.cluster.commitClaim(writer)
        : undefined;
    // A change that can never be written is thrown as it is; anything else is mapped to a code.
    const { first, claimed } = await this.#run('commit', () =>
      commitBatch(pool, target, batch, writer, claim),
    );
    if (claim && claimed) this.cluster.claimedWithCommit(claimed, claim);
    return first;
  }

  async get(id: string): Promise<JobRecord | undefined> {
    const pool = this.#use();
    const { rows } = await this.#run('get', () =>
      pool.query<JobRow>(`SELECT record, "offset" FROM ${this.#schema}.jobs WHERE id = $1`, [id]),
    );
    return rows[0] && decodeJob(rows[0]);
  }

  async list(query: ListQuery): Promise<Page<JobRecord>> {
    const pool = this.#use();
    const limit = Math.max(0, Math.floor(query.limit));
    const cursor = query.after === undefined ? undefined : decodeCursor(query.after);
    if (query.status?.length === 0) return { items: [], next: null };
    const where: string[] = [];
    const params: unknown[] = [];
    const param = (value: unknown) => `$${params.push(value)}`;
    if (query.status) where.push(`status = ANY(${param([...query.status])}::text[])`);
    if (query.type !== undefined) where.push(`type = ${param(query.type)}`);
    if (query.key !== undefined) where.push(`key = ${param(query.key)}`);
    if (cursor) where.push(`(created_at, id) > (${param(cursor.createdAt)}, ${param(cursor.id)})`);
    const text = `SELECT record, "offset" FROM ${this.#schema}.jobs ${where.length ? `WHERE ${where.join(' AND ')}` : ''}
      ORDER BY created_at, id LIMIT ${param(limit + 1)}`;
    const { rows } = await this.#run('list', () => pool.query<JobRow>(text, params));
    const items = rows.slice(0, limit).map(decodeJob);
    const lastItem = items.at(-1);
    return { items, next: rows.length > limit && lastItem ? encodeCursor(lastItem) : null };
  }

  async changesSince(after: number, limit: number): Promise<readonly StoredChange[]> {
    return this.#changes('changesSince', `"offset" > $1`, [after, Math.max(0, Math.floor(limit))]);
  }

  async changesOf(jobId: string, after: number, limit: number): Promise<readonly StoredChange[]> {
    return this.#changes('changesOf', `job_id = $3 AND "offset" > $1`, [
      after,
      Math.max(0, Math.floor(limit)),
      jobId,
    ]);
  }

  /**
   * A page of the log (`where`, `$1` the offset after, `$2` the limit), with the rows of its jobs
   * in the same statement (one snapshot): a change's record is kept without the fields its job's
   * row holds (postgres-commit.ts), and gets them back here.
   */
  async #changes(doing: string, where: string, params: unknown[]): Promise<StoredChange[]> {
    const pool = this.#use();
    const s = this.#schema;
    const { rows } = await this.#run(doing, () =>
      pool.query<ChangeRow & { job: boolean }>(
        `WITH page AS (
           SELECT "offset", job_id, seq, kind, at, record FROM ${s}.changes
           WHERE ${where} ORDER BY "offset" LIMIT $2
         )
         SELECT false AS job, "offset", job_id, seq, kind, at, record FROM page
         UNION ALL
         SELECT true, "offset", id, seq, NULL, NULL, record FROM ${s}.jobs
         WHERE id IN (SELECT job_id FROM page)
         ORDER BY job DESC, "offset"`,
        params,
      ),
    );
    const jobs = new Map<string, JobRecord>();
    const changes: ChangeRow[] = [];
    for (const row of rows) {
      if (row.job) jobs.set(row.job_id, decodeJob(row));
      else changes.push(row);
    }
    return decodeChanges(changes, (id) => jobs.get(id));
  }

  async remove(ids: readonly string[]): Promise<number> {
    const pool = this.#use();
    const s = this.#schema;
    return this.#run('remove', async () => {
      const client = await pool.connect();
      try {
        await client.query('BEGIN');
        const { rows } = await client.query<{ id: string }>(
          `DELETE FROM ${s}.jobs WHERE id = ANY($1::text[]) AND ${FINISHED} RETURNING id`,
          [ids],
        );
        const removed = rows.map((row) => row.id);
        await client.query(`DELETE FROM ${s}.changes WHERE job_id = ANY($1::text[])`, [removed]);
        await client.query(`DELETE FROM ${s}.job_logs WHERE job_id = ANY($1::text[])`, [removed]);
        await client.query('COMMIT');
        return removed.length;
      } catch (error) {
        await client.query('ROLLBACK').catch(() => undefined);
        throw error;
      } finally {
        client.release();
      }
    });
  }

  async paused(): Promise<readonly string[]> {
    const pool = this.#use();
    const { rows } = await this.#run('paused', () =>
      pool.query<{ scope: string }>(`SELECT scope FROM ${this.#schema}.paused ORDER BY scope`),
    );
    return rows.map((row) => row.scope);
  }

  async setPaused(scope: string, paused: boolean): Promise<void> {
    const pool = this.#use();
    const s = this.#schema;
    await this.#run('setPaused', () =>
      paused
        ? pool.query(`INSERT INTO ${s}.paused (scope) VALUES ($1) ON CONFLICT DO NOTHING`, [scope])
        : pool.query(`DELETE FROM ${s}.paused WHERE scope = $1`, [scope]),
    );
  }

  async firstOffset(): Promise<number> {
    const pool = this.#use();
    const s = this.#schema;
    const { rows } = await this.#run('firstOffset', () =>
      pool.query<{ first: number }>(
        `SELECT COALESCE((SELECT min("offset") FROM ${s}.changes), (SELECT last + 1 FROM ${s}.log_head)) AS first`,
      ),
    );
    return rows[0]!.first;
  }

  async expire(policy: { readonly before: number; readonly maxCount: number }): Promise<number> {
    const pool = this.#use();
    const s = this.#schema;
    return this.#run('expire', async () => {
      const client = await pool.connect();
      try {
        await client.query('BEGIN');
        // The finished jobs beyond maxCount (the oldest) and those finished before `before`, with their history.
        const { rows } = await client.query<{ id: string }>(
          `WITH counted AS (SELECT count(*) AS n FROM ${s}.jobs WHERE ${FINISHED}),
           doomed AS (
             (SELECT id FROM ${s}.jobs WHERE ${FINISHED}
              ORDER BY COALESCE(finished_at, 0), id
              LIMIT GREATEST(0, (SELECT n FROM counted) - $2))
             UNION
             SELECT id FROM ${s}.jobs WHERE ${FINISHED} AND COALESCE(finished_at, 0) < $1
           ), gone AS (DELETE FROM ${s}.changes WHERE job_id IN (SELECT id FROM doomed)),
           lines AS (DELETE FROM ${s}.job_logs WHERE job_id IN (SELECT id FROM doomed))
           DELETE FROM ${s}.jobs WHERE id IN (SELECT id FROM doomed) RETURNING id`,
          [policy.before, Math.max(0, Math.floor(policy.maxCount))],
        );
        // The log stays a suffix in time: nothing older than `before`.
        await client.query(
          `DELETE FROM ${s}.changes WHERE "offset" < COALESCE(
             (SELECT min("offset") FROM ${s}.changes WHERE at >= $1),
             (SELECT max("offset") + 1 FROM ${s}.changes))`,
          [policy.before],
        );
        await client.query('COMMIT');
        return rows.length;
      } catch (error) {
        await client.query('ROLLBACK').catch(() => undefined);
        throw error;
      } finally {
        client.release();
      }
    });
  }

  async close(): Promise<void> {
    const pool = this.#pool;
    this.#pool = null;
    this.#opened = false;
    if (pool && !this.#options.pool) await pool.end();
  }

  /** A connection of its own for LISTEN, with the pool's settings. */
  #listenClient(): pg.Client {
    const { connectionString, connectTimeoutMs, queryTimeoutMs } = this.#options;
    const settings = this.#options.pool?.options ?? {};
    return new pg.Client({
      ...settings,
      ...(connectionString === undefined ? {} : { connectionString }),
      connectionTimeoutMillis: connectTimeoutMs,
      query_timeout: queryTimeoutMs,
      // Per schema, so that an operator (or a test) can tell the listeners of two clusters apart.
      application_name: `jobvisor-listen:${this.#schema}`.slice(0, 63),
    });
  }

  #connect(): pg.Pool {
    if (this.#pool) return this.#pool;
    const { connectionString, connectTimeoutMs, queryTimeoutMs, maxConnections } = this.#options;
    const pool =
      this.#options.pool ??
      new pg.Pool({
        connectionString,
        max: maxConnections,
        connectionTimeoutMillis: connectTimeoutMs,
        query_timeout: queryTimeoutMs,
        statement_timeout: queryTimeoutMs,
        idle_in_transaction_session_timeout: queryTimeoutMs,
        application_name: 'jobvisor',
        types: TYPES,
      });
    // A connection that breaks (idle, or checked out: the pool only watches idle ones) must not
    // crash the process with an unhandled 'error' event: the query on it reports the failure.
    pool.on('error', () => undefined);
    pool.on('connect', (client) => client.on('error', () => undefined));
    this.#pool = pool;
    return pool;
  }

  #use(): pg.Pool {
    if (!this.#pool || !this.#opened) {
      throw new JobvisorError('store_unavailable', `PostgreSQL store ${this.#schema} is not open`);
    }
    return this.#pool;
  }

  async #run<T>(doing: string, fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (error) {
      throw toStoreError(error, doing);
    }
  }
}
