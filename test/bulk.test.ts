/**
 * Bulk start and bulk cancel: `startMany` validates the whole batch before making anything, creates
 * its jobs in one durable batch (one store commit), dedups by key as `start` does (also within the
 * batch, and against concurrent starts: fast-check interleavings), and answers each start's outcome;
 * `cancelMany` cancels by ids or by a filter (status, type, key, age) and answers with counts.
 */
import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import { createSupervisor, memoryStore, type JobStore, type Supervisor } from '../src/index.js';
import { postgresStore } from '../src/postgres.js';
import { sqliteStore } from '../src/sqlite.js';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { deferred, harness, rejectionOf, untilAborted } from './helpers.js';
import { dropSchema, POSTGRES_URL, schemaName } from './postgres-helpers.js';

const open: Supervisor[] = [];
const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const s of open.splice(0)) await s.shutdown({ graceMs: 0 });
  for (const cleanup of cleanups.splice(0)) await cleanup();
});

/** A memory store that counts the commits holding creations, and how many each held. */
function countingStore(): { store: JobStore; creations: number[] } {
  const inner = memoryStore();
  const creations: number[] = [];
  const commit: JobStore['commit'] = (batch, writer) => {
    const created = batch.filter((change) => change.kind === 'created').length;
    if (created > 0) creations.push(created);
    return inner.commit(batch, writer);
  };
  // Every other verb is the memory store's own, called on it (its fields are private).
  const store = new Proxy(inner, {
    get(target, prop) {
      if (prop === 'commit') return commit;
      const value: unknown = Reflect.get(target, prop, target);
      return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
    },
  });
  return { store, creations };
}

function gated(options: Parameters<typeof createSupervisor>[0] = {}) {
  const supervisor = createSupervisor(options);
  open.push(supervisor);
  const gate = deferred();
  supervisor.register('hold', (ctx) => Promise.race([gate.promise, untilAborted(ctx.signal)]));
  return { supervisor, release: () => gate.resolve() };
}

describe('startMany', () => {
  it('creates the whole batch in one store commit, and answers each job in order', async () => {
    const { store, creations } = countingStore();
    const { supervisor } = gated({ store, concurrency: 1 });
    await supervisor.ready();
    const batch = Array.from({ length: 300 }, (_, i) => ({ type: 'hold', input: i }));
    const answer = await supervisor.startMany(batch);
    expect(answer).toMatchObject({ created: 300, deduplicated: 0, failed: 0 });
    expect(answer.results.map((r) => ('job' in r ? r.job.input : r))).toEqual(batch.map((b) => b.input));
    expect(creations).toEqual([300]);
  });

  it('dedups by key as start does: within the batch, and against a live job', async () => {
    const { supervisor } = gated({ concurrency: 1 });
    const live = await supervisor.start({ type: 'hold', key: 'a' });
    const answer = await supervisor.startMany([
      { type: 'hold', key: 'a' },
      { type: 'hold', key: 'b' },
      { type: 'hold', key: 'b' },
      { type: 'hold', key: 'a', onConflict: 'reject' },
      { type: 'hold' },
    ]);
    expect(answer).toMatchObject({ created: 2, deduplicated: 2, failed: 1 });
    const [joinedA, newB, joinedB, refused] = answer.results;
    expect(joinedA).toMatchObject({ deduplicated: true, job: { id: live.job.id } });
    expect(joinedB).toMatchObject({ deduplicated: true, job: { id: 'job' in newB! ? newB.job.id : '' } });
    expect(refused).toMatchObject({ error: { code: 'duplicate_key' } });
    expect(supervisor.list()).toHaveLength(3);
  });

  it('refuses a batch with any bad start and makes nothing, naming each bad one by index', async () => {
    const { supervisor } = gated();
    supervisor.register('typed', () => undefined, {
      input: (await import('zod')).object({ n: (await import('zod')).number() }),
    });
    const error = await rejectionOf(
      supervisor.startMany([
        { type: 'hold' },
        { type: 'nope' },
        { type: 'typed', input: { n: 'one' } },
        { type: 'hold', priority: 0.5 },
      ]),
    );
    expect(error.code).toBe('invalid_request');
    expect(error.details).toEqual([
      expect.objectContaining({ index: 1, code: 'unknown_job_type' }),
      expect.objectContaining({ index: 2, code: 'invalid_input' }),
      expect.objectContaining({ index: 3, code: 'invalid_request' }),
    ]);
    expect(supervisor.list()).toEqual([]);
    for (const bad of [[], Array.from({ length: 1_001 }, () => ({ type: 'hold' })), 'jobs'])
      expect((await rejectionOf(supervisor.startMany(bad as never))).code).toBe('invalid_request');
    expect(supervisor.list()).toEqual([]);
  });

  it('keeps one live job per key however batches and single starts interleave', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(
          fc.oneof(
            fc.array(fc.constantFrom('k1', 'k2', 'k3', null), { minLength: 1, maxLength: 6 }),
            fc.constantFrom('k1', 'k2', 'k3', null),
          ),
          { minLength: 1, maxLength: 8 },
        ),
        async (calls) => {
          const { supervisor } = gated({ concurrency: 2 });
          const start = (key: string | null) => ({ type: 'hold', ...(key === null ? {} : { key }) });
          await Promise.all(
            calls.map((call) =>
              Array.isArray(call) ? supervisor.startMany(call.map(start)) : supervisor.start(start(call)),
            ),
          );
          const keys = supervisor.list().flatMap((job) => (job.key === null ? [] : [job.key]));
          expect(new Set(keys).size).toBe(keys.length);
          const asked = new Set(calls.flat().filter((key) => key !== null));
          expect(new Set(keys)).toEqual(asked);
          await supervisor.shutdown({ graceMs: 0 });
          open.splice(open.indexOf(supervisor), 1);
        },
      ),
      { numRuns: 40 },
    );
  });
});

describe('cancelMany', () => {
  it('cancels by ids, counting the finished and the unknown ones', async () => {
    const h = harness({ concurrency: 1 });
    open.push(h.supervisor);
    h.supervisor.register('quick', () => 'ok');
    h.supervisor.register('hold', (ctx) => untilAborted(ctx.signal));
    const done = await h.supervisor.start({ type: 'quick' });
    await h.supervisor.waitFor(done.job.id);
    const a = await h.supervisor.start({ type: 'hold' });
    const b = await h.supervisor.start({ type: 'hold' });
    const answer = await h.supervisor.cancelMany({
      ids: [a.job.id, b.job.id, done.job.id, 'ghost', a.job.id],
      reason: 'bulk',
    });
    expect(answer).toEqual({
      matched: 4,
      cancelled: 2,
      unchanged: 1,
      notFound: 1,
      jobIds: [a.job.id, b.job.id],
    });
    expect(h.supervisor.get(a.job.id)).toMatchObject({ status: 'cancelled' });
    expect(h.supervisor.get(b.job.id)).toMatchObject({ status: 'cancelled' });
  });

  it('cancels the live jobs a filter matches (status, type, key, age) and no other', async () => {
    const h = harness({ concurrency: 1 });
    open.push(h.supervisor);
    const hold = (ctx: { signal: AbortSignal }) => untilAborted(ctx.signal);
    h.supervisor.register('a', hold);
    h.supervisor.register('b', hold);
    const running = await h.supervisor.start({ type: 'a' }); // takes the one slot
    h.clock.increment(10_000);
    const old = await h.supervisor.start({ type: 'a' });
    h.clock.increment(10_000);
    const young = await h.supervisor.start({ type: 'a', key: 'young' });
    const other = await h.supervisor.start({ type: 'b' });
    expect(h.supervisor.get(running.job.id)?.status).toBe('running');

    const byAge = await h.supervisor.cancelMany({ type: 'a', status: 'pending', createdBefore: 15_000 });
    expect(byAge.jobIds).toEqual([old.job.id]);
    const byKey = await h.supervisor.cancelMany({ key: 'young' });
    expect(byKey.jobIds).toEqual([young.job.id]);
    const byType = await h.supervisor.cancelMany({ type: 'b' });
    expect(byType.jobIds).toEqual([other.job.id]);
    expect(h.supervisor.get(running.job.id)?.status).toBe('running');
    const rest = await h.supervisor.cancelMany({ status: ['pending', 'running'] });
    expect(rest).toMatchObject({ matched: 1, cancelled: 1, jobIds: [running.job.id] });
  });

  it('refuses an empty filter, ids with a filter, and a finished status, changing nothing', async () => {
    const { supervisor } = gated();
    const job = await supervisor.start({ type: 'hold' });
    for (const bad of [
      {},
      { ids: [job.job.id], type: 'hold' },
      { status: 'completed' },
      { ids: [] },
      { reason: 'x' },
    ]) {
      expect((await rejectionOf(supervisor.cancelMany(bad as never))).code, JSON.stringify(bad)).toBe(
        'invalid_request',
      );
    }
    expect(supervisor.get(job.job.id)?.status).not.toBe('cancelled');
  });
});

describe('remove and removeMany', () => {
  it('removes a finished job with its history; a live one is job_not_finished, an unknown id job_not_found', async () => {
    const h = harness({ idempotencyMs: 60_000, store: memoryStore() });
    open.push(h.supervisor);
    h.supervisor.register('quick', () => 'ok');
    h.supervisor.register('hold', (ctx) => untilAborted(ctx.signal));
    const done = await h.supervisor.start({ type: 'quick', key: 'once' });
    await h.supervisor.waitFor(done.job.id);
    // Within its idempotency window the key joins the finished job…
    expect((await h.supervisor.start({ type: 'quick', key: 'once' })).deduplicated).toBe(true);
    const live = await h.supervisor.start({ type: 'hold' });
    expect(await h.supervisor.remove(done.job.id)).toMatchObject({ removed: true, job: { id: done.job.id } });
    expect(h.supervisor.get(done.job.id)).toBeUndefined();
    expect(await h.supervisor.history(done.job.id)).toEqual([]);
    expect(h.supervisor.stats().jobs.completed).toBe(0);
    // …and once removed it no longer does.
    expect((await h.supervisor.start({ type: 'quick', key: 'once' })).deduplicated).toBe(false);
    expect((await rejectionOf(h.supervisor.remove(live.job.id))).code).toBe('job_not_finished');
    expect((await rejectionOf(h.supervisor.remove(done.job.id))).code).toBe('job_not_found');
    expect((await rejectionOf(h.supervisor.remove(''))).code).toBe('invalid_request');
    expect(h.supervisor.get(live.job.id)?.status).toBe('running');
  });

  it('removes in bulk by ids and by a filter (status, type, age), with counts', async () => {
    const h = harness({ concurrency: 1 });
    open.push(h.supervisor);
    h.supervisor.register('ok', () => 'ok');
    h.supervisor.register('bad', () => {
      throw new Error('no');
    });
    const first = await h.supervisor.start({ type: 'ok' });
    await h.supervisor.waitFor(first.job.id);
    h.clock.increment(60_000);
    const jobs = [];
    for (const type of ['ok', 'ok', 'bad']) {
      const { job } = await h.supervisor.start({ type });
      jobs.push(await h.supervisor.waitFor(job.id));
    }
    const byAge = await h.supervisor.removeMany({ finishedBefore: 30_000 });
    expect(byAge).toMatchObject({ matched: 1, removed: 1, jobIds: [first.job.id] });
    const byStatus = await h.supervisor.removeMany({ status: 'failed' });
    expect(byStatus.jobIds).toEqual([jobs[2]!.id]);
    const byIds = await h.supervisor.removeMany({ ids: [jobs[0]!.id, 'ghost'] });
    expect(byIds).toMatchObject({ matched: 2, removed: 1, notFound: 1 });
    expect(h.supervisor.list().map((j) => j.id)).toEqual([jobs[1]!.id]);
    for (const bad of [{}, { status: 'running' }, { ids: ['a'], type: 'ok' }])
      expect((await rejectionOf(h.supervisor.removeMany(bad as never))).code).toBe('invalid_request');
  });

  it('SQLite: a removed job stays removed after a restart', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'jobvisor-remove-'));
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
    const path = join(dir, 'jobs.db');
    const make = () => {
      const s = createSupervisor({ store: sqliteStore({ path }) });
      open.push(s);
      s.register('ok', () => 'ok');
      return s;
    };
    const first = make();
    const a = await first.start({ type: 'ok' });
    const b = await first.start({ type: 'ok' });
    await first.waitFor(a.job.id);
    await first.waitFor(b.job.id);
    await first.remove(a.job.id);
    await first.shutdown();
    open.splice(open.indexOf(first), 1);
    const second = make();
    await second.ready();
    expect(await second.find(a.job.id)).toBeUndefined();
    expect((await second.find(b.job.id))?.status).toBe('completed');
  });
});

describe('startMany and cancelMany on the durable stores', () => {
  const stores: [string, () => Parameters<typeof createSupervisor>[0]][] = [
    [
      'SQLite',
      () => {
        const dir = mkdtempSync(join(tmpdir(), 'jobvisor-bulk-'));
        cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
        return { store: sqliteStore({ path: join(dir, 'jobs.db') }), concurrency: 1 };
      },
    ],
    [
      'PostgreSQL (a cluster of one node)',
      () => {
        const schema = schemaName();
        cleanups.push(() => dropSchema(schema));
        return {
          store: postgresStore({ connectionString: POSTGRES_URL, schema }),
          concurrency: 1,
          cluster: { leaseMs: 2_000, renewMs: 200, claimIntervalMs: 50 },
        };
      },
    ],
  ];
  it.each(stores)(
    '%s: dedups within the batch, keeps every job, and cancels them in bulk',
    async (_name, make) => {
      const { supervisor } = gated(make());
      await supervisor.ready();
      const answer = await supervisor.startMany(
        Array.from({ length: 40 }, (_, i) => ({ type: 'hold', key: `k${i % 30}` })),
      );
      expect(answer).toMatchObject({ created: 30, deduplicated: 10, failed: 0 });
      const ids = new Set(answer.results.map((r) => ('job' in r ? r.job.id : '')));
      expect(ids.size).toBe(30);
      for (const id of ids) expect((await supervisor.find(id))?.key).toMatch(/^k\d+$/);
      const cancelled = await supervisor.cancelMany({ ids: [...ids], reason: 'bulk' });
      if (cancelled.cancelled !== 30)
        console.log(
          'DEBUG',
          JSON.stringify({ ...cancelled, jobIds: undefined }),
          JSON.stringify(
            await Promise.all(
              [...ids].filter((id) => !cancelled.jobIds.includes(id)).map((id) => supervisor.find(id)),
            ),
          ),
        );
      expect(cancelled).toMatchObject({ matched: 30, cancelled: 30 });
      for (const id of ids) expect((await supervisor.find(id))?.status).toBe('cancelled');
    },
  );
});
