/**
 * Recovery on start: a second supervisor on the same store resumes what the first left behind,
 * as if the first process had died (it is abandoned, never shut down).
 */
import { SimulatedClock } from 'xstate';
import { describe, expect, it } from 'vitest';
import { createSupervisor, memoryStore, type JobChange, type JobStore } from '../src/index.js';
import { deferred, expectValidChangeStream, settle, until } from './helpers.js';

function supervisorOn(store: JobStore, clock = new SimulatedClock()) {
  const supervisor = createSupervisor({
    store,
    clock,
    concurrency: 1,
    retries: { max: 1, backoffMs: 1_000 },
  });
  const errors: unknown[] = [];
  supervisor.on('error', (e) => errors.push(e.error));
  return { supervisor, clock, errors };
}

describe('recovery after a crash', () => {
  it('resumes pending jobs in order, retries interrupted ones, keeps keys, continues offsets', async () => {
    const store = memoryStore();
    const first = supervisorOn(store);
    const never = deferred();
    first.supervisor.register('slow', async () => never.promise);
    await first.supervisor.ready();
    const running = (await first.supervisor.start({ type: 'slow', key: 'a' })).job;
    const queued1 = (await first.supervisor.start({ type: 'slow', key: 'b' })).job;
    const queued2 = (await first.supervisor.start({ type: 'slow' })).job;
    expect(first.supervisor.get(running.id)?.status).toBe('running');
    await settle();
    const lastOffsetBefore = (await store.changesSince(0, 1_000)).at(-1)!.offset;
    // The first process "dies" here: no shutdown, nothing more is written.

    const second = supervisorOn(store);
    const started: string[] = [];
    const release = deferred();
    second.supervisor.register('slow', async (ctx) => {
      started.push(ctx.jobId);
      await release.promise;
      return ctx.attempt;
    });
    await second.supervisor.ready();
    const interrupted = second.supervisor.get(running.id)!;
    expect(interrupted).toMatchObject({ status: 'pending', attempt: 1, error: { code: 'interrupted' } });
    expect(interrupted.nextRetryAt).toBe(second.clock.now() + 1_000);

    // Pending jobs start in their original order, one slot at a time; the key is still held.
    await until(() => started.length === 1);
    expect(started).toEqual([queued1.id]);
    const again = await second.supervisor.start({ type: 'slow', key: 'b' });
    expect(again).toMatchObject({ deduplicated: true, job: { id: queued1.id } });
    release.resolve();
    await second.supervisor.waitFor(queued1.id);
    await until(() => started.length === 2);
    expect(started[1]).toBe(queued2.id);
    await second.supervisor.waitFor(queued2.id);

    // The interrupted job retries after its backoff, on the re-armed timer.
    second.clock.increment(1_000);
    const retried = await second.supervisor.waitFor(running.id);
    expect(retried).toMatchObject({ status: 'completed', attempt: 2, result: 2 });

    const log = await store.changesSince(0, 10_000);
    expect(log.map((c) => c.offset)).toEqual(log.map((_, i) => i + 1));
    expect(log.find((c) => c.offset > lastOffsetBefore)?.offset).toBe(lastOffsetBefore + 1);
    expectValidChangeStream(log.map((c) => ({ ...c, job: c.record })));
    expect(first.errors).toEqual([]);
    expect(second.errors).toEqual([]);
    await second.supervisor.shutdown({ graceMs: 0 });
  });

  it('fails an interrupted job with code interrupted when no attempt remains', async () => {
    const store = memoryStore();
    const clock = new SimulatedClock();
    const first = createSupervisor({ store, clock });
    first.register('once', () => deferred().promise);
    const { job } = await first.start({ type: 'once' });
    await settle();
    const second = createSupervisor({ store, clock });
    second.register('once', () => 'unused');
    await second.ready();
    expect(second.get(job.id)).toMatchObject({ status: 'failed', error: { code: 'interrupted' } });
    expect((await store.get(job.id))?.status).toBe('failed');
    await second.shutdown({ graceMs: 0 });
  });

  it('holds jobs of a type that is not registered yet until it is', async () => {
    const store = memoryStore();
    const clock = new SimulatedClock();
    const first = createSupervisor({ store, clock, concurrency: 1 });
    const never = deferred();
    first.register('late', () => never.promise);
    await first.start({ type: 'late' });
    const { job } = await first.start({ type: 'late' });
    await settle();
    const second = createSupervisor({ store, clock });
    await second.ready();
    await settle();
    expect(second.get(job.id)?.status).toBe('pending');
    second.register('late', () => 'done');
    await expect(second.waitFor(job.id)).resolves.toMatchObject({ status: 'completed', result: 'done' });
    await second.shutdown({ graceMs: 0 });
  });

  it('replays the stored changes after an offset, then continues live, with no gap or duplicate', async () => {
    const store = memoryStore();
    const supervisor = createSupervisor({ store, clock: new SimulatedClock() });
    const gates = [deferred(), deferred()];
    let n = 0;
    supervisor.register('step', async (ctx) => {
      const gate = gates[n++]!;
      ctx.progress(50);
      await gate.promise;
      return 'ok';
    });
    const a = (await supervisor.start({ type: 'step' })).job;
    await settle();
    const seen: JobChange[] = [];
    supervisor.subscribe((c) => seen.push(c), { since: 2 });
    const b = (await supervisor.start({ type: 'step' })).job; // live while the replay may still run
    gates[0]!.resolve();
    gates[1]!.resolve();
    await supervisor.waitFor(a.id);
    await supervisor.waitFor(b.id);
    await settle();
    const log = await store.changesSince(0, 1_000);
    expect(seen.map((c) => c.offset)).toEqual(log.filter((c) => c.offset > 2).map((c) => c.offset));
    await supervisor.shutdown({ graceMs: 0 });
  });

  it('answers since without a store with invalid_request', () => {
    const supervisor = createSupervisor();
    expect(() => supervisor.subscribe(() => undefined, { since: 0 })).toThrow(
      expect.objectContaining({ code: 'invalid_request' }),
    );
  });
});
