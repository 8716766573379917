/**
 * The cluster verbs of the PostgreSQL store, on a schema of its own per test: claims in FIFO order
 * within cluster-wide limits however many claim at once, writes fenced by owner and lease, the
 * takeover of a dead node's jobs, cancel requests, and the notifications that wake the nodes.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { postgresStore } from '../src/postgres.js';
import type { ClusterEvent, ClusterStore, JobStore } from '../src/store/port.js';
import { rejectionOf } from './helpers.js';
import { dropSchema, POSTGRES_URL, schemaName, sql } from './postgres-helpers.js';
import { Writer } from './store-contract.js';

const opened: { store: JobStore; schema: string }[] = [];
afterEach(async () => {
  for (const { store, schema } of opened.splice(0)) {
    await store.close();
    await dropSchema(schema);
  }
});

async function fresh(): Promise<{ store: JobStore; cluster: ClusterStore; schema: string }> {
  const schema = schemaName();
  const store = postgresStore({ connectionString: POSTGRES_URL, schema });
  opened.push({ store, schema });
  await store.open({ recentLimit: 10 });
  return { store, cluster: store.cluster!, schema };
}

const node = (id: string) => ({ id, label: `${id}:test` });
const everyType = (limit = Infinity) => new Map([['email.send', limit]]);

describe('claims', () => {
  it('claims pending jobs in FIFO order, each once, within the global limit however many claim at once', async () => {
    const { store, cluster } = await fresh();
    const w = new Writer();
    await store.commit(
      Array.from({ length: 30 }, (_, i) => w.change(`j${String(i).padStart(2, '0')}`, 'created')),
    );
    for (const id of ['n1', 'n2', 'n3', 'n4', 'n5']) await cluster.renew(node(id), 60_000);
    const claims = await Promise.all(
      ['n1', 'n2', 'n3', 'n4', 'n5', 'n1', 'n2', 'n3'].map((id) =>
        cluster.claim({ node: id, max: 4, types: everyType(), concurrency: 11 }),
      ),
    );
    const claimed = claims.flat().map((r) => r.id);
    expect(claimed).toHaveLength(11);
    expect(new Set(claimed).size).toBe(11);
    expect([...claimed].sort()).toEqual(
      Array.from({ length: 11 }, (_, i) => `j${String(i).padStart(2, '0')}`),
    );
    const owners = await sql<{ owner: string; n: number }>(
      `SELECT owner, count(*)::int AS n FROM ${opened[0]!.schema}.jobs WHERE owner IS NOT NULL GROUP BY owner`,
    );
    expect(owners.reduce((n, r) => n + r.n, 0)).toBe(11);
    // Full: nothing more until one ends.
    expect(await cluster.claim({ node: 'n1', max: 4, types: everyType(), concurrency: 11 })).toEqual([]);
  });

  it('a commit that ends an attempt claims in its own round trip, after its own writes; a fenced one claims nothing', async () => {
    const { store, cluster } = await fresh();
    const w = new Writer();
    await store.commit(['a', 'b', 'c'].map((id) => w.change(id, 'created')));
    await cluster.renew(node('n1'), 60_000);
    const request = { node: 'n1', max: 1, types: everyType(), concurrency: 1 };
    let asked = 0;
    const claimed: string[][] = [];
    cluster.claimWithCommits!(
      () => (asked++, request),
      (records, by) => {
        expect(by).toBe(request);
        claimed.push(records.map((r) => r.id));
      },
    );
    expect((await cluster.claim(request)).map((r) => r.id)).toEqual(['a']);
    await store.commit([w.change('a', 'started')], 'n1'); // nothing ends, nothing queues: no claim
    expect(asked).toBe(0);
    // a's end frees the only place: the same call claims the oldest pending job for it.
    await store.commit([w.change('a', 'completed')], 'n1');
    expect(claimed).toEqual([['b']]);
    const owners = await sql<{ id: string; owner: string | null }>(
      `SELECT id, owner FROM ${opened[0]!.schema}.jobs ORDER BY id`,
    );
    expect(owners).toEqual([
      { id: 'a', owner: null },
      { id: 'b', owner: 'n1' },
      { id: 'c', owner: null },
    ]);
    // A batch that creates a keyed job takes the transactional path: it claims nothing, and says so
    // (no answer at all, so the node claims on its own once the batch is durable).
    await store.commit([w.change('k', 'created', { key: 'key-1' })], 'n1');
    expect(claimed).toEqual([['b']]);
    // A stale write (b was never started here) is refused whole: nothing is claimed with it.
    const stale = w.fork();
    stale.change('b', 'started');
    const error = await rejectionOf(store.commit([stale.change('b', 'cancelled')], 'n1'));
    expect(error.code).toBe('store_conflict');
    expect(claimed).toEqual([['b']]);
  });

  it('holds a per-type limit, and claims only the types a node runs', async () => {
    const { store, cluster } = await fresh();
    const w = new Writer();
    await store.commit([
      ...Array.from({ length: 6 }, (_, i) => w.change(`r${i}`, 'created', { type: 'report' })),
      ...Array.from({ length: 6 }, (_, i) => w.change(`e${i}`, 'created', { type: 'email' })),
    ]);
    await cluster.renew(node('a'), 60_000);
    const types = new Map([
      ['report', 2],
      ['email', Infinity],
    ]);
    const first = await cluster.claim({ node: 'a', max: 10, types, concurrency: 100 });
    expect(first.filter((r) => r.type === 'report')).toHaveLength(2);
    expect(first.filter((r) => r.type === 'email')).toHaveLength(6);
    expect(
      await cluster.claim({ node: 'a', max: 10, types: new Map([['report', 5]]), concurrency: 100 }),
    ).toHaveLength(3);
    expect(
      await cluster.claim({ node: 'a', max: 10, types: new Map([['resize', 5]]), concurrency: 100 }),
    ).toEqual([]);
  });
});

describe('writes are fenced by owner and lease', () => {
  it('a node writes what it owns, makes itself the owner of what it leaves running, and nobody else can write it', async () => {
    const { store, cluster, schema } = await fresh();
    const w = new Writer();
    await store.commit([w.change('a', 'created')]);
    await cluster.renew(node('n1'), 60_000);
    await cluster.renew(node('n2'), 60_000);
    await cluster.claim({ node: 'n1', max: 1, types: everyType(), concurrency: 10 });
    const started = w.change('a', 'started');
    // Another node may not write a job n1 owns.
    const error = await rejectionOf(store.commit([started], 'n2'));
    expect(error).toMatchObject({ code: 'store_conflict', details: { jobId: 'a' } });
    expect(await store.commit([started], 'n1')).toBeGreaterThan(0);
    const owner = async () =>
      (await sql<{ owner: string | null }>(`SELECT owner FROM ${schema}.jobs WHERE id = 'a'`))[0]!.owner;
    expect(await owner()).toBe('n1');
    await store.commit([w.change('a', 'retrying')], 'n1');
    expect(await owner()).toBeNull(); // pending again: anybody's
  });

  it('a node whose lease ended cannot write, even the jobs it owns', async () => {
    const { store, cluster, schema } = await fresh();
    const w = new Writer();
    await store.commit([w.change('a', 'created')]);
    await cluster.renew(node('n1'), 60_000);
    await cluster.claim({ node: 'n1', max: 1, types: everyType(), concurrency: 10 });
    await store.commit([w.change('a', 'started')], 'n1');
    await sql(`UPDATE ${schema}.nodes SET lease_until = now() - interval '1 second' WHERE id = 'n1'`);
    const fork = w.fork();
    expect((await rejectionOf(store.commit([fork.change('a', 'progress')], 'n1'))).code).toBe(
      'store_conflict',
    );
    await cluster.renew(node('n1'), 60_000); // back: its jobs are still its own
    await store.commit([w.change('a', 'progress')], 'n1');
  });

  it('a renewal answers how many nodes hold a lease, itself included, not those whose lease ended', async () => {
    const { cluster, schema } = await fresh();
    expect((await cluster.renew(node('n1'), 60_000)).nodes).toBe(1); // its own row is new
    expect((await cluster.renew(node('n2'), 60_000)).nodes).toBe(2);
    expect((await cluster.renew(node('n1'), 60_000)).nodes).toBe(2); // renewed, not counted twice
    await sql(`UPDATE ${schema}.nodes SET lease_until = now() - interval '1 second' WHERE id = 'n2'`);
    expect((await cluster.renew(node('n1'), 60_000)).nodes).toBe(1);
  });
});

describe('takeover', () => {
  it("takes the jobs of a node whose lease ended, with any cancellation asked meanwhile; the old owner's writes are refused", async () => {
    const { store, cluster, schema } = await fresh();
    const w = new Writer();
    await store.commit([w.change('a', 'created'), w.change('b', 'created')]);
    await cluster.renew(node('dead'), 60_000);
    await cluster.renew(node('alive'), 60_000);
    await cluster.claim({ node: 'dead', max: 2, types: everyType(), concurrency: 10 });
    await store.commit([w.change('a', 'started')], 'dead');
    expect(await cluster.requestCancel('b', 'no longer needed')).toBe(true);
    expect(await cluster.takeover('alive', 10)).toEqual([]); // its lease holds
    await sql(`UPDATE ${schema}.nodes SET lease_until = now() - interval '1 second' WHERE id = 'dead'`);
    const taken = await cluster.takeover('alive', 10);
    expect(taken.map((t) => [t.record.id, t.record.status, t.cancelRequested]).sort()).toEqual([
      ['a', 'running', null],
      ['b', 'pending', 'no longer needed'],
    ]);
    await cluster.renew(node('dead'), 60_000); // it wakes up: too late
    const stale = w.fork();
    expect((await rejectionOf(store.commit([stale.change('a', 'progress')], 'dead'))).code).toBe(
      'store_conflict',
    );
    await store.commit([w.change('a', 'interrupted')], 'alive');
    expect(await cluster.takeover('alive', 10)).toEqual([]);
  });

  it('leave() frees what a node claimed and did not start, at once', async () => {
    const { store, cluster } = await fresh();
    const w = new Writer();
    await store.commit([w.change('a', 'created')]);
    await cluster.renew(node('n1'), 60_000);
    await cluster.renew(node('n2'), 60_000);
    expect(await cluster.claim({ node: 'n1', max: 1, types: everyType(), concurrency: 1 })).toHaveLength(1);
    expect(await cluster.claim({ node: 'n2', max: 1, types: everyType(), concurrency: 1 })).toEqual([]);
    await cluster.leave('n1');
    expect(
      (await cluster.claim({ node: 'n2', max: 1, types: everyType(), concurrency: 1 })).map((r) => r.id),
    ).toEqual(['a']);
    expect((await cluster.nodes()).map((n) => [n.id, n.jobs])).toEqual([['n2', 1]]);
  });
});

describe('notifications', () => {
  it('tells a listener of each commit (and whether it left a job to claim or freed a place) and of each cancel request', async () => {
    const { store, cluster } = await fresh();
    const events: ClusterEvent[] = [];
    let wake = () => undefined as void;
    const stop = await cluster.listen((event) => {
      events.push(event);
      wake();
    });
    const next = (n: number) =>
      new Promise<void>((resolve) => {
        wake = () => events.length >= n && resolve();
        wake();
      });
    const w = new Writer();
    await store.commit([w.change('a', 'created')]);
    await next(1);
    await store.commit([w.change('a', 'started')]);
    await next(2);
    await store.commit([w.change('a', 'cancelled')]); // its place under the limits is free
    await next(3);
    await store.commit([w.change('b', 'created')]);
    expect(await cluster.requestCancel('b', null)).toBe(true);
    await next(5);
    expect(events).toEqual([
      { type: 'committed', offset: 1, claimable: true, writer: null },
      { type: 'committed', offset: 2, claimable: false, writer: null },
      { type: 'committed', offset: 3, claimable: true, writer: null },
      { type: 'committed', offset: 4, claimable: true, writer: null },
      { type: 'cancel', jobId: 'b' },
    ]);
    expect(await cluster.requestCancel('a', null)).toBe(false); // finished: nothing to ask
    await stop();
  });
});
