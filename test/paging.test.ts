/**
 * `supervisor.page()` (GET /jobs): pages in creation order, by (createdAt, id), each job exactly
 * once — through the store's index with a store, through the supervisor's own creation order
 * without one — and no page sorts the jobs. `find()` (GET /jobs/:id) also serves a job that is in
 * the store but not in memory.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { SimulatedClock } from 'xstate';
import { createSupervisor, memoryStore, type JobStore, type JobView } from '../src/index.js';
import { CreationOrder } from '../src/supervisor/creation-order.js';

const byCreation = (a: JobView, b: JobView) =>
  a.createdAt - b.createdAt || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);

async function everyPage(
  supervisor: ReturnType<typeof createSupervisor>,
  query: { limit: number; type?: string },
) {
  const seen: JobView[] = [];
  let after: string | undefined;
  for (let pages = 0; pages < 10_000; pages++) {
    const page = await supervisor.page({ ...query, after });
    expect(page.jobs.length).toBeLessThanOrEqual(query.limit);
    seen.push(...page.jobs);
    if (page.next === null) return seen;
    expect(page.jobs).toHaveLength(query.limit);
    after = page.next;
  }
  throw new Error('never reached the last page');
}

afterEach(() => vi.restoreAllMocks());

describe('CreationOrder', () => {
  it('keeps (createdAt, id) order as jobs come in any order, skips removed ones, resumes after a cursor', () => {
    const order = new CreationOrder();
    const keys = [
      { createdAt: 2, id: 'b' },
      { createdAt: 1, id: 'z' },
      { createdAt: 2, id: 'a' },
      { createdAt: 3, id: 'c' },
      { createdAt: 2, id: 'c' },
    ];
    for (const key of keys) order.add(key);
    order.add({ createdAt: 2, id: 'a' }); // twice: once
    expect([...order.after(undefined)]).toEqual(['z', 'a', 'b', 'c', 'c']);
    order.remove({ createdAt: 2, id: 'b' });
    expect([...order.after(undefined)]).toEqual(['z', 'a', 'c', 'c']);
    // A cursor whose job is gone still resumes at the right place.
    expect([...order.after({ createdAt: 2, id: 'b' })]).toEqual(['c', 'c']);
    expect([...order.after({ createdAt: 3, id: 'c' })]).toEqual([]);
  });
});

describe('page() without a store', () => {
  it('pages 3,000 jobs created in the same millisecond in (createdAt, id) order, each once, sorting nothing', async () => {
    const supervisor = createSupervisor({ clock: new SimulatedClock(), concurrency: 5 });
    supervisor.register(
      'hold',
      (ctx) =>
        new Promise((_, reject) => ctx.signal.addEventListener('abort', () => reject(new Error('stop')))),
    );
    supervisor.register('quick', () => 'ok');
    for (let i = 0; i < 3_000; i++) await supervisor.start({ type: i % 3 ? 'quick' : 'hold' });
    const sort = vi.spyOn(Array.prototype, 'sort');
    const seen = await everyPage(supervisor, { limit: 37 });
    expect(sort).not.toHaveBeenCalled();
    sort.mockRestore();
    expect(seen).toHaveLength(3_000);
    expect(new Set(seen.map((j) => j.id)).size).toBe(3_000);
    expect(seen).toEqual([...seen].sort(byCreation));
    const quick = await everyPage(supervisor, { limit: 100, type: 'quick' });
    expect(quick).toHaveLength(2_000);
    expect((await supervisor.page({ status: 'running' })).jobs).toHaveLength(5);
    await expect(supervisor.page({ after: 'nonsense' })).rejects.toMatchObject({ code: 'invalid_request' });
    await supervisor.shutdown({ graceMs: 0 });
  });
});

describe('page() and find() with a store', () => {
  it("pages through the store's own list, and finds a job the store has but memory does not", async () => {
    const inner = memoryStore();
    const hidden = { id: '' };
    const store: JobStore = {
      name: 'spied',
      // Opens without the finished jobs: they are in the store only.
      open: async (options) => ({ ...(await inner.open(options)), recent: [] }),
      commit: (batch) => inner.commit(batch),
      get: (id) => inner.get(id),
      list: vi.fn((query: Parameters<JobStore['list']>[0]) => inner.list(query)),
      changesSince: (after, limit) => inner.changesSince(after, limit),
      changesOf: (jobId, after, limit) => inner.changesOf!(jobId, after, limit),
      firstOffset: () => inner.firstOffset(),
      expire: (policy) => inner.expire(policy),
      close: async () => undefined,
    };
    const first = createSupervisor({ store });
    first.register('quick', (ctx) => ctx.input);
    await first.ready();
    for (let i = 0; i < 25; i++) {
      const { job } = await first.start({ type: 'quick', input: i });
      await first.waitFor(job.id);
      hidden.id ||= job.id;
    }
    const seen = await everyPage(first, { limit: 10 });
    expect(seen.map((j) => j.input)).toEqual([...seen].sort(byCreation).map((j) => j.input));
    expect(seen).toHaveLength(25);
    expect(store.list).toHaveBeenCalledTimes(3);
    await first.shutdown();

    const second = createSupervisor({ store });
    await second.ready();
    expect(second.get(hidden.id)).toBeUndefined(); // not in memory
    expect(await second.find(hidden.id)).toMatchObject({ id: hidden.id, status: 'completed', result: 0 });
    expect(await second.find('nobody')).toBeUndefined();
    await second.shutdown();
  });
});
