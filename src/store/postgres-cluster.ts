/**
 * The cluster verbs of the PostgreSQL store: nodes with leases decided on the database's clock,
 * claims in FIFO order within the cluster-wide limits (counted under one advisory lock, so they
 * hold however many nodes claim at once), the takeover of the jobs of nodes whose lease ended,
 * cancel requests, and the listening connection (LISTEN/NOTIFY) that wakes a node.
 */
import pg from 'pg';
import type { ClaimRequest, ClusterEvent, ClusterStore, JobRecord, NodeRecord, TakenOver } from './port.js';
import { decodeJob, type JobRow } from './encode.js';
import { claimValues } from './postgres-commit.js';
import { toStoreError } from './postgres-schema.js';

export interface ClusterContext {
  readonly pool: () => pg.Pool;
  readonly schema: string;
  readonly channel: string;
  /** For the listening connection: its own client (a pool would close it when idle). */
  readonly connect: () => pg.Client;
}

const NOW_MS = `(extract(epoch FROM now()) * 1000)::float8`;

/** How often the listening connection proves that it still listens, and how long it waits to reconnect. */
const LISTEN_CHECK_MS = 5_000;
const RECONNECT_MS = [100, 250, 500, 1_000, 2_000, 5_000];

export class PostgresCluster implements ClusterStore {
  readonly #ctx: ClusterContext;

  constructor(ctx: ClusterContext) {
    this.#ctx = ctx;
  }

  async renew(
    node: { id: string; label: string },
    leaseMs: number,
  ): Promise<{ until: number; now: number; nodes: number }> {
    const s = this.#ctx.schema;
    // The others holding a lease, counted beside this node's own row (the statement's snapshot
    // does not see the row it writes).
    const { rows } = await this.#query<{ until: number; now: number; nodes: number }>(
      'renew',
      `WITH up AS (
         INSERT INTO ${s}.nodes (id, label, lease_until)
         VALUES ($1, $2, now() + $3 * interval '1 millisecond')
         ON CONFLICT (id) DO UPDATE SET lease_until = EXCLUDED.lease_until
         RETURNING lease_until)
       SELECT (extract(epoch FROM up.lease_until) * 1000)::float8 AS until, ${NOW_MS} AS now,
              1 + (SELECT count(*) FROM ${s}.nodes n WHERE n.id <> $1 AND n.lease_until > now())::int AS nodes
       FROM up`,
      [node.id, node.label, leaseMs],
    );
    return rows[0]!;
  }

  async leave(nodeId: string): Promise<void> {
    const s = this.#ctx.schema;
    await this.#transaction('leave', async (client) => {
      const { rowCount } = await client.query(
        `UPDATE ${s}.jobs SET owner = NULL WHERE owner = $1 AND status = 'pending'`,
        [nodeId],
      );
      await client.query(`DELETE FROM ${s}.nodes WHERE id = $1`, [nodeId]);
      // What it freed is claimable: wake the others.
      if (rowCount) await client.query('SELECT pg_notify($1, $2)', [this.#ctx.channel, 'o:0:1']);
    });
  }

  async release(nodeId: string): Promise<void> {
    const s = this.#ctx.schema;
    const { rowCount } = await this.#query(
      'release',
      `UPDATE ${s}.jobs SET owner = NULL WHERE owner = $1 AND status = 'pending'`,
      [nodeId],
    );
    if (rowCount) await this.#query('release', 'SELECT pg_notify($1, $2)', [this.#ctx.channel, 'o:0:1']);
  }

  #withCommits:
    | {
        readonly want: () => ClaimRequest | undefined;
        readonly claimed: (records: readonly JobRecord[], request: ClaimRequest) => void;
      }
    | undefined;

  claimWithCommits(
    want: () => ClaimRequest | undefined,
    claimed: (records: readonly JobRecord[], request: ClaimRequest) => void,
  ): void {
    this.#withCommits = { want, claimed };
  }

  /** For the store's commit (postgres.ts): the claim the node wants with a commit of `writer`, if any. */
  commitClaim(writer: string): ClaimRequest | undefined {
    const request = this.#withCommits?.want();
    return request?.node === writer ? request : undefined;
  }

  /** For the store's commit: what it claimed, to the node. */
  claimedWithCommit(records: readonly JobRecord[], request: ClaimRequest): void {
    this.#withCommits?.claimed(records, request);
  }

  /** One round trip: the schema's `claim_jobs` (postgres-schema.ts, version 3) counts under the lock and claims. */
  async claim(request: ClaimRequest): Promise<readonly JobRecord[]> {
    if (request.max <= 0 || request.types.size === 0) return [];
    const { rows } = await this.#query<JobRow>(
      'claim',
      `SELECT claimed_record AS record, claimed_offset AS "offset"
       FROM ${this.#ctx.schema}.claim_jobs($1, $2, $3::text[], $4::int[], $5)`,
      [request.node, ...claimValues(request)],
    );
    // In queue order, as they are adopted.
    return rows.sort((a, b) => a.offset - b.offset).map((row) => decodeJob(row));
  }

  async takeover(
    nodeId: string,
    max: number,
    options: { own?: boolean } = {},
  ): Promise<readonly TakenOver[]> {
    const s = this.#ctx.schema;
    const whose = options.own
      ? 'j2.owner = $1'
      : 'j2.owner IS NOT NULL AND j2.owner <> $1 AND (n.id IS NULL OR n.lease_until < now())';
    const { rows } = await this.#query<JobRow & { cancel_requested: string | null }>(
      'takeover',
      `UPDATE ${s}.jobs AS j SET owner = $1
       FROM (
         SELECT j2.id FROM ${s}.jobs j2 LEFT JOIN ${s}.nodes n ON n.id = j2.owner
         WHERE ${whose} AND j2.status IN ('pending', 'running')
         ORDER BY j2."offset" LIMIT $2 FOR UPDATE OF j2 SKIP LOCKED
       ) AS dead
       WHERE j.id = dead.id
       RETURNING j.record, j."offset", j.cancel_requested`,
      [nodeId, max],
    );
    return rows.map((row) => ({ record: decodeJob(row), cancelRequested: row.cancel_requested }));
  }

  async requestCancel(jobId: string, reason: string | null): Promise<boolean> {
    const s = this.#ctx.schema;
    return this.#transaction('requestCancel', async (client) => {
      const { rows } = await client.query(
        `UPDATE ${s}.jobs SET cancel_requested = COALESCE($2, '') WHERE id = $1 AND status IN ('pending', 'running')
         RETURNING id`,
        [jobId, reason],
      );
      if (rows.length === 0) return false;
      await client.query('SELECT pg_notify($1, $2)', [this.#ctx.channel, `c:${jobId}`]);
      return true;
    });
  }

  async cancelRequests(nodeId: string): Promise<readonly { jobId: string; reason: string | null }[]> {
    const { rows } = await this.#query<{ id: string; cancel_requested: string }>(
      'cancelRequests',
      `SELECT id, cancel_requested FROM ${this.#ctx.schema}.jobs WHERE owner = $1 AND cancel_requested IS NOT NULL`,
      [nodeId],
    );
    return rows.map((r) => ({ jobId: r.id, reason: r.cancel_requested === '' ? null : r.cancel_requested }));
  }

  async nodes(): Promise<readonly NodeRecord[]> {
    const s = this.#ctx.schema;
    const { rows } = await this.#query<{
      id: string;
      label: string;
      started: number;
      until: number;
      jobs: number;
    }>(
      'nodes',
      `SELECT n.id, n.label, (extract(epoch FROM n.started_at) * 1000)::float8 AS started,
              (extract(epoch FROM n.lease_until) * 1000)::float8 AS until,
              (SELECT count(*)::int FROM ${s}.jobs j WHERE j.owner = n.id) AS jobs
       FROM ${s}.nodes n WHERE n.lease_until >= now() ORDER BY n.started_at, n.id`,
    );
    return rows.map((r) => ({
      id: r.id,
      label: r.label,
      startedAt: r.started,
      leaseUntil: r.until,
      jobs: r.jobs,
    }));
  }

  /**
   * A dedicated connection that LISTENs; it proves every few seconds that it still listens
   * (`pg_listening_channels()`), and reconnects with backoff when it does not — then says
   * `reconnected`, so that the node reads what it may have missed.
   */
  async listen(
    listener: (event: ClusterEvent) => void,
    options: { checkMs?: number } = {},
  ): Promise<() => Promise<void>> {
    const { channel, connect } = this.#ctx;
    const checkMs = options.checkMs ?? LISTEN_CHECK_MS;
    let client: pg.Client | undefined;
    let closed = false;
    let failures = 0;
    let timer: NodeJS.Timeout | undefined;
    const onNotice = (message: pg.Notification) => {
      const payload = message.payload ?? '';
      if (payload.startsWith('c:')) return listener({ type: 'cancel', jobId: payload.slice(2) });
      // o:<offset>:<claimable>:<writer> (the writer may hold colons; none: a writer that is no node)
      const [, offset, claimable, ...writer] = payload.split(':');
      const by = writer.join(':');
      listener({
        type: 'committed',
        offset: Number(offset),
        claimable: claimable === '1',
        writer: by || null,
      });
    };
    const open = async (): Promise<void> => {
      const next = connect();
      next.on('error', () => undefined); // seen as a failed check, then reconnected
      next.on('notification', onNotice);
      await next.connect();
      await next.query(`LISTEN "${channel}"`);
      client = next;
    };
    const schedule = (ms: number) => {
      if (closed) return;
      timer = setTimeout(() => void check(), ms);
      timer.unref();
    };
    const check = async (): Promise<void> => {
      try {
        if (!client) throw new Error('not connected');
        const { rows } = await client.query<{ channel: string }>('SELECT pg_listening_channels() AS channel');
        if (!rows.some((r) => r.channel === channel)) throw new Error('not listening');
        failures = 0;
        schedule(checkMs);
      } catch {
        const old = client;
        client = undefined;
        await old?.end().catch(() => undefined);
        try {
          if (closed) return;
          await open();
          failures = 0;
          listener({ type: 'reconnected' });
          schedule(checkMs);
        } catch {
          schedule(RECONNECT_MS[Math.min(failures++, RECONNECT_MS.length - 1)]!);
        }
      }
    };
    try {
      await open();
    } catch (error) {
      throw toStoreError(error, 'listen');
    }
    schedule(checkMs);
    return async () => {
      closed = true;
      if (timer) clearTimeout(timer);
      await client?.end().catch(() => undefined);
      client = undefined;
    };
  }

  async #query<R extends pg.QueryResultRow>(doing: string, text: string, values: unknown[] = []) {
    try {
      return await this.#ctx.pool().query<R>(text, values);
    } catch (error) {
      throw toStoreError(error, doing);
    }
  }

  async #transaction<T>(doing: string, work: (client: pg.PoolClient) => Promise<T>): Promise<T> {
    let client: pg.PoolClient | undefined;
    try {
      client = await this.#ctx.pool().connect();
      await client.query('BEGIN');
      const result = await work(client);
      await client.query('COMMIT');
      return result;
    } catch (error) {
      await client?.query('ROLLBACK').catch(() => undefined);
      throw toStoreError(error, doing);
    } finally {
      client?.release();
    }
  }
}
