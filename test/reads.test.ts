/**
 * Reads never write: `get`, `list`, `stats`, `waitFor` and `cancel` of a finished job only look.
 * Retention forgets finished jobs on the supervisor's own timer (and when more jobs finish), never
 * because somebody read.
 */
import { describe, expect, it } from 'vitest';
import { createSupervisor, memoryStore, type Clock, type JobStore } from '../src/index.js';

/** A clock whose timers fire only when the test says so. */
function heldClock() {
  let now = 1_000_000;
  const timers = new Map<number, { at: number; fn: () => void }>();
  let next = 0;
  const clock: Clock = {
    now: () => now,
    setTimeout: (fn, ms) => (timers.set(++next, { at: now + ms, fn: () => fn() }), next),
    clearTimeout: (id) => void timers.delete(id as number),
  };
  return {
    clock,
    advance: (ms: number) => (now += ms),
    /** Fires the timers that are due, in order. */
    fire: () => {
      for (const [id, timer] of [...timers].sort((a, b) => a[1].at - b[1].at)) {
        if (timer.at > now) continue;
        timers.delete(id);
        timer.fn();
      }
    },
  };
}

describe('reads never write', () => {
  it('a finished job past maxAgeMs stays until the retention timer fires, however often it is read', async () => {
    const time = heldClock();
    const inner = memoryStore();
    let expiries = 0;
    const store: JobStore = {
      name: 'counting',
      open: (options) => inner.open(options),
      commit: (batch) => inner.commit(batch),
      get: (id) => inner.get(id),
      list: (query) => inner.list(query),
      changesSince: (after, limit) => inner.changesSince(after, limit),
      firstOffset: () => inner.firstOffset(),
      expire: (policy) => (expiries++, inner.expire(policy)),
      close: () => inner.close(),
    };
    const supervisor = createSupervisor({
      store,
      clock: time.clock,
      retention: { maxAgeMs: 1_000, maxCount: 100 },
    });
    supervisor.register('quick', (ctx) => ctx.input);
    await supervisor.ready();
    const { job } = await supervisor.start({ type: 'quick', input: 'x' });
    await supervisor.waitFor(job.id);
    const before = { expiries, stats: supervisor.stats() };
    time.advance(5_000); // far past maxAgeMs; the retention timer has not fired

    for (let i = 0; i < 3; i++) {
      expect(supervisor.get(job.id)?.status).toBe('completed');
      expect(supervisor.list().map((j) => j.id)).toEqual([job.id]);
      expect(supervisor.stats()).toMatchObject({ retained: 1, jobs: { completed: 1 } });
      expect(await supervisor.waitFor(job.id)).toMatchObject({ status: 'completed' });
      expect(await supervisor.cancel(job.id)).toMatchObject({ cancelled: false });
    }
    expect(expiries).toBe(before.expiries);
    expect(supervisor.stats().retained).toBe(before.stats.retained);
    expect(await store.get(job.id)).toMatchObject({ status: 'completed' });

    time.fire(); // the supervisor's own timer: now it forgets
    expect(supervisor.get(job.id)).toBeUndefined();
    expect(supervisor.stats()).toMatchObject({ retained: 0, jobs: { completed: 0 } });
    await supervisor.shutdown();
  });
});
