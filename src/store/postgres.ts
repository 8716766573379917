/**
 * The PostgreSQL store (node-postgres): the store port on one database schema. `jobs` keeps each
 * job's latest record, `changes` is the change log, `log_head` its high-water mark: the store
 * assigns offsets from it in the commit transaction, so they follow commit order without gaps
 * (a sequence would not: its values become visible out of order). Records are JSON text.
 *
 * A batch is written in one transaction of set-based statements: the compare-and-set updates of
 * jobs that exist, the inserts of new jobs (a live key is unique, by a partial index), then —
 * taking the log's head row as late as possible — the offsets, the change rows and each job's
 * latest offset. A change that can never be written names its job (`details.jobId`). Several
 * nodes may share a schema: `cluster` (postgres-cluster.ts) has their verbs.
 */
import pg from 'pg';
import * as z from 'zod';
import { JobvisorError } from '../common/errors.js';
import { MAX_DELAY_MS, parseOrThrow } from '../common/validation.js';
import type {
  ChangeDraft,
  JobRecord,
  JobRecordDraft,
  JobStore,
  ListQuery,
  Page,
  StoredChange,
  StoreSnapshot,
} from './port.js';
import { PostgresCluster } from './postgres-cluster.js';
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
/**
 * Changes worth waking the claimers for: a job is pending and nobody's, or one ended and freed its
 * place under the cluster-wide limits.
 */
const CLAIMABLE: ReadonlySet<string> = new Set([
  'created',
  'requeued',
  'retrying',
  'interrupted',
  'completed',
  'failed',
  'cancelled',
]);
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

interface JobRow {
  record: string;
  offset: number;
}

interface ChangeRow {
  offset: number;
  job_id: string;
  seq: number;
  kind: StoredChange['kind'];
  at: number;
  record: string;
}

function conflict(jobId: string, message: string, holder?: string): JobvisorError {
  return new JobvisorError('store_conflict', message, holder === undefined ? { jobId } : { jobId, holder });
}

/** The record as JSON, or `change_not_storable` naming the job. */
function encode(jobId: string, record: JobRecordDraft): string {
  try {
    return JSON.stringify(record);
  } catch (error) {
    const detail = error instanceof Error ? error.message : String(error);
    throw new JobvisorError('change_not_storable', `Job ${jobId}: its record is not JSON: ${detail}`, {
      jobId,
    });
  }
}

class PostgresStore implements JobStore {
  readonly name = 'postgres';
  readonly #options: Readonly<Options>;
  readonly #schema: string;
  readonly #channel: string;
  #pool: pg.Pool | null = null;
  #opened = false;
  /** The verbs of several nodes sharing the schema. */
  readonly cluster: PostgresCluster;

  constructor(options: Readonly<Options>) {
    this.#options = options;
    this.#schema = options.schema;
    this.#channel = channelOf(options.schema);
    this.cluster = new PostgresCluster({
      pool: () => this.#use(),
      schema: this.#schema,
      channel: this.#channel,
      connect: () => this.#listenClient(),
      parse: fromJobRow,
    });
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
        active: active.rows.map(fromJobRow),
        recent: recent.rows.map(fromJobRow),
      };
    });
  }

  async commit(batch: readonly ChangeDraft[], writer?: string): Promise<number> {
    const pool = this.#use();
    const s = this.#schema;
    // One row write per job, with its latest record; the seq it must find is the one before its first change.
    const jobs = new Map<string, { firstSeq: number; last: ChangeDraft; json: string; ord: number }>();
    const changes = batch.map((change, i) => {
      const { jobId } = change;
      const seen = jobs.get(jobId);
      if (seen && change.seq !== seen.last.seq + 1) {
        throw conflict(jobId, `Job ${jobId} is at seq ${seen.last.seq}, not ${change.seq - 1}`);
      }
      if (!seen && !(Number.isSafeInteger(change.seq) && change.seq >= 1)) {
        throw conflict(jobId, `Job ${jobId}: invalid seq ${change.seq}`);
      }
      const json = encode(jobId, change.record);
      jobs.set(jobId, { firstSeq: seen?.firstSeq ?? change.seq, last: change, json, ord: i + 1 });
      return json;
    });
    if (batch.length === 0) {
      const { rows } = await this.#run('commit', () =>
        pool.query<{ last: number }>(`SELECT last FROM ${s}.log_head`),
      );
      return (rows[0]?.last ?? 0) + 1;
    }
    const inserts = [...jobs].filter(([, j]) => j.firstSeq === 1);
    const updates = [...jobs].filter(([, j]) => j.firstSeq !== 1);
    return this.#run('commit', async () => {
      const client = await pool.connect();
      try {
        await client.query('BEGIN');
        await this.#checkKeys(client, batch);
        // Compare-and-set: a job is written only if it is still at the seq before this batch.
        if (updates.length > 0) {
          const columns = rowColumns(updates);
          // A node writes only the jobs nobody or it owns, while its lease holds; it owns what it leaves running.
          const { rows } = await client.query<{ id: string }>(
            `UPDATE ${s}.jobs AS j SET type = v.type, key = v.key, status = v.status, state = v.state,
               seq = v.seq, created_at = v.created_at, finished_at = v.finished_at, record = v.record,
               retry_at = v.retry_at, owner = CASE WHEN v.status = 'running' THEN $12::text END,
               cancel_requested = CASE WHEN v.status IN ('pending', 'running') THEN j.cancel_requested END
             FROM unnest($1::text[], $2::int[], $3::text[], $4::text[], $5::text[], $6::text[], $7::int[],
                         $8::int8[], $9::int8[], $10::text[], $11::int8[])
               AS v(id, expected, type, key, status, state, seq, created_at, finished_at, record, retry_at)
             WHERE j.id = v.id AND j.seq = v.expected
               AND ($12::text IS NULL OR (
                 (j.owner IS NULL OR j.owner = $12::text)
                 AND EXISTS (SELECT 1 FROM ${s}.nodes n WHERE n.id = $12::text AND n.lease_until > now())))
             RETURNING j.id`,
            [columns.ids, updates.map(([, j]) => j.firstSeq - 1), ...columns.rest, writer ?? null],
          );
          const written = new Set(rows.map((r) => r.id));
          const missed = updates.find(([id]) => !written.has(id));
          if (missed) {
            const [id, j] = missed;
            throw conflict(
              id,
              `Job ${id} is not at seq ${j.firstSeq - 1}, or another node owns it (a stale write, an unknown job, or a lapsed lease)`,
            );
          }
        }
        // New jobs: a live key held by another job, or an id taken, refuses the insert.
        if (inserts.length > 0) {
          const columns = rowColumns(inserts);
          const { rows } = await client.query<{ id: string }>(
            `INSERT INTO ${s}.jobs (id, type, key, status, state, seq, created_at, finished_at, record, retry_at,
                                    owner, "offset")
             SELECT v.id, v.type, v.key, v.status, v.state, v.seq, v.created_at, v.finished_at, v.record, v.retry_at,
                    CASE WHEN v.status = 'running' THEN $11::text END, 0
             FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::int[],
                         $7::int8[], $8::int8[], $9::text[], $10::int8[])
               AS v(id, type, key, status, state, seq, created_at, finished_at, record, retry_at)
             ON CONFLICT DO NOTHING
             RETURNING id`,
            [columns.ids, ...columns.rest, writer ?? null],
          );
          const written = new Set(rows.map((r) => r.id));
          const missed = inserts.find(([id]) => !written.has(id));
          if (missed) throw await this.#insertConflict(client, missed[0], missed[1].last.record.key);
        }
        // The log's head, taken last and held briefly: gap-free offsets in commit order.
        const ids = [...jobs.keys()];
        const { rows } = await client.query<{ first: number }>(
          `WITH head AS (
             UPDATE ${s}.log_head SET last = last + $1 WHERE id = 1 RETURNING last - $1 AS before
           ), logged AS (
             INSERT INTO ${s}.changes ("offset", job_id, seq, kind, at, record)
             SELECT head.before + c.ord, c.job_id, c.seq, c.kind, c.at, c.record
             FROM head, unnest($2::text[], $3::int[], $4::text[], $5::int8[], $6::text[])
               WITH ORDINALITY AS c(job_id, seq, kind, at, record, ord)
           ), positioned AS (
             UPDATE ${s}.jobs AS j SET "offset" = head.before + p.ord
             FROM head, unnest($7::text[], $8::int8[]) AS p(id, ord)
             WHERE j.id = p.id
           )
           SELECT before + 1 AS first FROM head`,
          [
            batch.length,
            batch.map((c) => c.jobId),
            batch.map((c) => c.seq),
            batch.map((c) => c.kind),
            batch.map((c) => c.at),
            changes,
            ids,
            ids.map((id) => jobs.get(id)!.ord),
          ],
        );
        const first = rows[0]!.first;
        // One small notification per commit, delivered at commit: the nodes that follow the log wake up.
        const claimable = batch.some((c) => CLAIMABLE.has(c.kind));
        await client.query('SELECT pg_notify($1, $2)', [
          this.#channel,
          `o:${first + batch.length - 1}:${claimable ? 1 : 0}`,
        ]);
        await client.query('COMMIT');
        return first;
      } catch (error) {
        await client.query('ROLLBACK').catch(() => undefined);
        throw error;
      } finally {
        client.release();
      }
    });
  }

  /**
   * Keys in batch order: a new job's key must be free at its place in the batch (a holder that
   * finishes later in the same batch still holds it then). The unique index guards the races.
   */
  async #checkKeys(client: pg.PoolClient, batch: readonly ChangeDraft[]): Promise<void> {
    const created = batch.filter((c) => c.seq === 1 && c.record.key !== null);
    if (created.length === 0) return;
    const { rows } = await client.query<{ id: string; key: string }>(
      `SELECT id, key FROM ${this.#schema}.jobs WHERE key = ANY($1::text[]) AND ${LIVE}`,
      [[...new Set(created.map((c) => c.record.key!))]],
    );
    const holders = new Map<string, string | null>(rows.map((r) => [r.key, r.id]));
    for (const change of batch) {
      const { key } = change.record;
      if (key === null) continue;
      const holder = holders.get(key) ?? null;
      if (change.seq === 1 && holder !== null && holder !== change.jobId) {
        throw conflict(change.jobId, `Key "${key}" is held by live job ${holder}`, holder);
      }
      if (change.record.status === 'pending' || change.record.status === 'running')
        holders.set(key, change.jobId);
      else if (holder === change.jobId) holders.set(key, null);
    }
  }

  /** Why a new job was refused: its key is held by a live job, or its id is taken. */
  async #insertConflict(client: pg.PoolClient, id: string, key: string | null): Promise<JobvisorError> {
    const s = this.#schema;
    if (key !== null) {
      const { rows } = await client.query<{ id: string }>(
        `SELECT id FROM ${s}.jobs WHERE key = $1 AND ${LIVE}`,
        [key],
      );
      const holder = rows[0]?.id;
      if (holder !== undefined && holder !== id)
        return conflict(id, `Key "${key}" is held by live job ${holder}`, holder);
    }
    return conflict(id, `Job ${id} exists already`);
  }

  async get(id: string): Promise<JobRecord | undefined> {
    const pool = this.#use();
    const { rows } = await this.#run('get', () =>
      pool.query<JobRow>(`SELECT record, "offset" FROM ${this.#schema}.jobs WHERE id = $1`, [id]),
    );
    return rows[0] && fromJobRow(rows[0]);
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
    const items = rows.slice(0, limit).map(fromJobRow);
    const lastItem = items.at(-1);
    return { items, next: rows.length > limit && lastItem ? encodeCursor(lastItem) : null };
  }

  async changesSince(after: number, limit: number): Promise<readonly StoredChange[]> {
    const pool = this.#use();
    const { rows } = await this.#run('changesSince', () =>
      pool.query<ChangeRow>(
        `SELECT "offset", job_id, seq, kind, at, record FROM ${this.#schema}.changes
         WHERE "offset" > $1 ORDER BY "offset" LIMIT $2`,
        [after, Math.max(0, Math.floor(limit))],
      ),
    );
    return rows.map(fromChangeRow);
  }

  async changesOf(jobId: string, after: number, limit: number): Promise<readonly StoredChange[]> {
    const pool = this.#use();
    const { rows } = await this.#run('changesOf', () =>
      pool.query<ChangeRow>(
        `SELECT "offset", job_id, seq, kind, at, record FROM ${this.#schema}.changes
         WHERE job_id = $1 AND "offset" > $2 ORDER BY "offset" LIMIT $3`,
        [jobId, after, Math.max(0, Math.floor(limit))],
      ),
    );
    return rows.map(fromChangeRow);
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
           ), gone AS (DELETE FROM ${s}.changes WHERE job_id IN (SELECT id FROM doomed))
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

/** The columns of the job rows to write, as arrays for `unnest`: ids first, then the rest in order. */
function rowColumns(jobs: [string, { last: ChangeDraft; json: string }][]) {
  const records = jobs.map(([, j]) => j.last.record);
  return {
    ids: jobs.map(([id]) => id),
    rest: [
      records.map((r) => r.type),
      records.map((r) => r.key),
      records.map((r) => r.status),
      records.map((r) => r.state),
      jobs.map(([, j]) => j.last.seq),
      records.map((r) => r.createdAt),
      records.map((r) => r.finishedAt),
      jobs.map(([, j]) => j.json),
      records.map((r) => (r.status === 'pending' ? r.deadlines.retryAt : null)),
    ],
  };
}

function fromChangeRow(row: ChangeRow): StoredChange {
  return {
    offset: row.offset,
    jobId: row.job_id,
    seq: row.seq,
    kind: row.kind,
    at: row.at,
    record: parse(row.record, row.offset),
  };
}

function fromJobRow(row: JobRow): JobRecord {
  return parse(row.record, row.offset);
}

function parse(json: string, offset: number): JobRecord {
  const record = JSON.parse(json) as { offset: number };
  record.offset = offset;
  return record as JobRecord;
}
