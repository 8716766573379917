/**
 * Several supervisors (nodes) in this process on one PostgreSQL schema: one job per key however
 * many nodes start it at once, claims within the cluster-wide limits, every change told on every
 * node in the log's order, cancel from any node, and a fenced write abandoning its attempt.
 * Killed and paused nodes are real processes: cluster-processes.test.ts.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { createSupervisor, type Supervisor } from '../src/index.js';
import { postgresStore } from '../src/postgres.js';
import type { HandlerContext, JobChange } from '../src/common/types.js';
import { deferred, rejectionOf } from './helpers.js';
import { dropSchema, POSTGRES_URL, schemaName, sql } from './postgres-helpers.js';

const FAST = { leaseMs: 900, renewMs: 150, claimIntervalMs: 50 } as const;

const running: { nodes: Supervisor[]; schema: string }[] = [];
afterEach(async () => {
  for (const { nodes, schema } of running.splice(0)) {
    await Promise.all(nodes.map((n) => n.shutdown({ graceMs: 0 })));
    await dropSchema(schema);
  }
});

type Handler = (ctx: HandlerContext, node: number) => Promise<unknown>;

/** `count` nodes on a fresh schema, each running `handler` for type `work` (and `other`). */
async function cluster(
  count: number,
  handler: Handler,
  options: { concurrency?: number; typeLimit?: number; idempotencyMs?: number } = {},
): Promise<{ nodes: Supervisor[]; schema: string }> {
  const schema = schemaName();
  const nodes = Array.from({ length: count }, (_, i) =>
    createSupervisor({
      store: postgresStore({ connectionString: POSTGRES_URL, schema }),
      cluster: FAST,
      concurrency: options.concurrency ?? 10,
      idempotencyMs: options.idempotencyMs ?? 0,
      retries: { max: 2, backoffMs: 0 },
      node: { label: `node-${i}` },
    }).register('work', (ctx: HandlerContext) => handler(ctx, i), {
      ...(options.typeLimit === undefined ? {} : { concurrency: options.typeLimit }),
    }),
  );
  const entry = { nodes, schema };
  running.push(entry);
  await Promise.all(nodes.map((n) => n.ready()));
  return entry;
}

/** Resolves once `test` holds, polling every few ms; fails after `ms`. */
async function eventually(test: () => boolean | Promise<boolean>, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await test())) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 10));
  }
}

describe('one job per key across nodes', () => {
  it('5 nodes, 50 concurrent starts of one key: one job, one handler run', async () => {
    let runs = 0;
    const release = deferred();
    const { nodes } = await cluster(5, async () => {
      runs++;
      await release.promise;
      return 'done';
    });
    const answers = await Promise.all(
      Array.from({ length: 50 }, (_, i) => nodes[i % 5]!.start({ type: 'work', key: 'the-key', input: i })),
    );
    const ids = new Set(answers.map((a) => a.job.id));
    expect(ids.size).toBe(1);
    expect(answers.filter((a) => !a.deduplicated)).toHaveLength(1);
    const [id] = ids;
    await eventually(() => runs === 1);
    release.resolve();
    for (const node of nodes)
      expect((await node.waitFor(id!, { timeoutMs: 10_000 })).status).toBe('completed');
    expect(runs).toBe(1);
    const rows = await sql<{ n: number }>(`SELECT count(*)::int AS n FROM ${running[0]!.schema}.jobs`);
    expect(rows[0]!.n).toBe(1);
  });

  it('reject and replace decide against a holder on another node', async () => {
    const gate = deferred();
    const { nodes } = await cluster(2, async (ctx) => {
      await new Promise<void>((resolve) => {
        ctx.signal.addEventListener('abort', () => resolve());
        void gate.promise.then(resolve);
      });
      return null;
    });
    const [a, b] = nodes as [Supervisor, Supervisor];
    const first = await a.start({ type: 'work', key: 'k' });
    const refused = await rejectionOf(b.start({ type: 'work', key: 'k', onConflict: 'reject' }));
    expect(refused.code).toBe('duplicate_key');
    expect(refused.details).toEqual({ jobId: first.job.id });
    const joined = await b.start({ type: 'work', key: 'k' });
    expect(joined).toMatchObject({ deduplicated: true, job: { id: first.job.id } });
    const replaced = await b.start({ type: 'work', key: 'k', onConflict: 'replace' });
    expect(replaced.job.id).not.toBe(first.job.id);
    expect((await a.waitFor(first.job.id, { timeoutMs: 10_000 })).status).toBe('cancelled');
    gate.resolve();
  });

  it('keeps the idempotency window across nodes', async () => {
    const { nodes } = await cluster(2, async () => 'once', { idempotencyMs: 60_000 });
    const [a, b] = nodes as [Supervisor, Supervisor];
    const first = await a.start({ type: 'work', key: 'idem' });
    await a.waitFor(first.job.id, { timeoutMs: 10_000 });
    await eventually(() => b.get(first.job.id)?.status === 'completed');
    const again = await b.start({ type: 'work', key: 'idem' });
    expect(again).toMatchObject({ deduplicated: true, job: { id: first.job.id, status: 'completed' } });
  });
});

describe('claims and limits', () => {
  it('runs every job once, on every node, never more at once than the cluster-wide limits', async () => {
    let now = 0;
    let peak = 0;
    const byNode = [0, 0, 0];
    const seen = new Map<string, number>();
    const { nodes } = await cluster(
      3,
      async (ctx, node) => {
        seen.set(ctx.jobId, (seen.get(ctx.jobId) ?? 0) + 1);
        byNode[node]!++;
        peak = Math.max(peak, ++now);
        await new Promise((r) => setTimeout(r, 5));
        now--;
        return null;
      },
      { concurrency: 4, typeLimit: 3 },
    );
    const started = await Promise.all(
      Array.from({ length: 60 }, (_, i) => nodes[i % 3]!.start({ type: 'work', input: i })),
    );
    for (const { job } of started) await nodes[0]!.waitFor(job.id, { timeoutMs: 20_000 });
    expect(seen.size).toBe(60);
    expect([...seen.values()].every((n) => n === 1)).toBe(true);
    expect(peak).toBeLessThanOrEqual(3);
    // Every node ran some: a node's commits claim only its share of the type's limit (3 over 3 nodes),
    // so the node that first holds the limit does not keep it (20 runs: at least 12 each).
    expect(byNode.every((n) => n > 0)).toBe(true);
  });
});

describe('every change on every node', () => {
  it('a subscriber on B sees the changes of a job running on A in seq order, and the log has no gap', async () => {
    const { nodes } = await cluster(2, async (ctx) => {
      for (let p = 10; p <= 100; p += 10) ctx.progress(p);
      return 'ok';
    });
    const [a, b] = nodes as [Supervisor, Supervisor];
    const heard: JobChange[] = [];
    b.subscribe((change) => heard.push(change));
    const jobs = await Promise.all(Array.from({ length: 20 }, (_, i) => a.start({ type: 'work', input: i })));
    for (const { job } of jobs) await b.waitFor(job.id, { timeoutMs: 20_000 });
    const offsets = heard.map((c) => c.offset);
    expect(offsets).toEqual(offsets.map((_, i) => offsets[0]! + i));
    for (const { job } of jobs) {
      const seqs = heard.filter((c) => c.jobId === job.id).map((c) => c.seq);
      expect(seqs).toEqual(seqs.map((_, i) => i + 1));
      expect(seqs.at(-1)).toBe(b.get(job.id)!.seq);
    }
  });
});

describe('cancel anywhere', () => {
  it('cancelling on B a job running on A aborts its handler on A', async () => {
    const began = deferred<string>();
    const aborted = deferred<number>();
    const { nodes } = await cluster(2, async (ctx) => {
      began.resolve(ctx.jobId);
      await new Promise<void>((resolve) =>
        ctx.signal.addEventListener('abort', () => {
          aborted.resolve(Date.now());
          resolve();
        }),
      );
      return null;
    });
    const [a, b] = nodes as [Supervisor, Supervisor];
    const { job } = await a.start({ type: 'work' });
    await began.promise;
    await eventually(() => nodes.some((n) => n.get(job.id)?.node === n.node.id));
    const owner = nodes.find((n) => n.get(job.id)?.node === n.node.id)!;
    const other = owner === a ? b : a;
    const asked = Date.now();
    const answer = await other.cancel(job.id, 'from the other node');
    expect(answer).toMatchObject({ cancelled: true, job: { status: 'cancelled' } });
    expect((await aborted.promise) - asked).toBeLessThan(2_000);
    // The owner's readers see it too, once it is told there (in the log's order).
    expect((await owner.waitFor(job.id, { timeoutMs: 10_000 })).status).toBe('cancelled');
  });

  it('cancels a pending job that no node runs', async () => {
    const { nodes } = await cluster(2, async () => null);
    const [a, b] = nodes as [Supervisor, Supervisor];
    // A type no node registers: the job stays pending and unclaimed.
    a.register('nobody-runs', async () => null);
    const { job } = await a.start({ type: 'nobody-runs' });
    await a.shutdown({ graceMs: 0 });
    const answer = await b.cancel(job.id);
    expect(answer).toMatchObject({ cancelled: true, job: { status: 'cancelled' } });
  });
});

describe('fencing', () => {
  it('a write of an attempt another node took over is rejected as stale_attempt and changes nothing', async () => {
    const began = deferred<HandlerContext>();
    const { nodes, schema } = await cluster(1, async (ctx) => {
      began.resolve(ctx);
      await new Promise<void>((resolve) => ctx.signal.addEventListener('abort', () => resolve()));
      return null;
    });
    const [a] = nodes as [Supervisor];
    const { job } = await a.start({ type: 'work' });
    const ctx = await began.promise;
    // Another node takes the job: the store now names it the owner.
    await sql(
      `INSERT INTO ${schema}.nodes (id, label, lease_until) VALUES ('thief', 'x', now() + interval '1 hour')`,
    );
    await sql(`UPDATE ${schema}.jobs SET owner = 'thief' WHERE id = $1`, [job.id]);
    const seq = a.get(job.id)!.seq;
    ctx.progress(50); // accepted here, refused by the store: the attempt is abandoned
    await eventually(() => ctx.signal.aborted);
    expect(ctx.progress(60)).toBe(false);
    expect(a.stats().rejectedByReason.stale_attempt).toBeGreaterThanOrEqual(1);
    const rows = await sql<{ seq: number; owner: string }>(
      `SELECT seq, owner FROM ${schema}.jobs WHERE id = $1`,
      [job.id],
    );
    expect(rows[0]).toEqual({ seq, owner: 'thief' });
  });
});
