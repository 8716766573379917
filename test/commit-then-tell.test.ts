/**
 * Commit, then tell: nobody hears of a change before the store made it durable — subscribers,
 * `waitFor`, `get`/`list`, `offset` — and a handler runs only once its attempt's START is durable.
 * The store assigns the offsets. A change the store refuses for good fails its own job only.
 */
import { SimulatedClock } from 'xstate';
import { describe, expect, it } from 'vitest';
import { createSupervisor, type JobChange, type Supervisor } from '../src/index.js';
import { controlled, rejectionOf, settle, until } from './helpers.js';
import { diskFull, faultyStore, type FaultyStore } from './store-faults.js';

async function gatedSupervisor(faults: FaultyStore = faultyStore()) {
  const supervisor = createSupervisor({ store: faults.store, concurrency: 5 });
  const { calls, handler } = controlled();
  supervisor.register('work', handler);
  await supervisor.ready();
  const changes: JobChange[] = [];
  supervisor.subscribe((change) => changes.push(change));
  faults.gated = true;
  return { supervisor, faults, calls, changes };
}

/** Waits for the next commit to reach the gate, then lets it through. */
async function commitOnce(faults: FaultyStore): Promise<void> {
  await faults.waiting();
  faults.open();
  await settle();
}

async function shutdown(supervisor: Supervisor, faults: FaultyStore): Promise<void> {
  faults.gated = false;
  faults.open();
  await supervisor.shutdown({ graceMs: 0 });
}

describe('commit, then tell', () => {
  it('a change reaches subscribers, get, list and offset only once its batch is committed', async () => {
    const { supervisor, faults, calls, changes } = await gatedSupervisor();
    let answered = false;
    const started = supervisor.start({ type: 'work', input: { n: 1 } }).then((r) => ((answered = true), r));
    await faults.waiting();
    // Created and started in one turn, so in one batch: accepted in memory, not durable.
    const batch = faults.batches.at(-1)!;
    expect(batch.map((c) => c.kind)).toEqual(['created', 'started']);
    const jobId = batch[0]!.jobId;
    await settle();
    expect(answered).toBe(false);
    expect(changes).toEqual([]);
    expect(supervisor.get(jobId)).toBeUndefined();
    expect(supervisor.list()).toEqual([]);
    expect(supervisor.offset).toBe(0);
    expect(supervisor.stats().jobs).toMatchObject({ pending: 0, running: 0 });
    // The handler has not been called: a crash now must not have executed attempt 1.
    expect(calls).toHaveLength(0);

    await commitOnce(faults);
    const { job } = await started;
    expect(job.id).toBe(jobId);
    expect(changes.map((c) => [c.offset, c.kind])).toEqual([
      [1, 'created'],
      [2, 'started'],
    ]);
    expect(supervisor.get(job.id)).toMatchObject({ status: 'running', attempt: 1, seq: 2 });
    expect(supervisor.offset).toBe(2);
    await until(() => calls.length === 1);

    // waitFor resolves with the completion only once it is durable.
    let finished = false;
    const waiting = supervisor.waitFor(job.id).then((view) => ((finished = true), view));
    calls[0]!.done.resolve({ ok: true });
    await faults.waiting();
    await settle();
    expect(finished).toBe(false);
    expect(supervisor.get(job.id)?.status).toBe('running');
    expect(changes.at(-1)?.kind).toBe('started');
    await commitOnce(faults);
    expect(await waiting).toMatchObject({ status: 'completed', result: { ok: true } });
    expect(changes.map((c) => c.offset)).toEqual([1, 2, 3]);
    expect((await faults.store.changesSince(0, 10)).map((c) => [c.offset, c.kind])).toEqual([
      [1, 'created'],
      [2, 'started'],
      [3, 'completed'],
    ]);
    await shutdown(supervisor, faults);
  });

  it('an attempt that ends before its START is durable never runs its handler', async () => {
    const { supervisor, faults, calls } = await gatedSupervisor();
    const started = supervisor.start({ type: 'work' });
    await faults.waiting();
    const jobId = faults.batches.at(-1)![0]!.jobId;
    // Cancelled while its START waits for the disk: the handler must never begin.
    const cancelled = supervisor.cancel(jobId, 'changed my mind');
    await commitOnce(faults); // created, started
    await started;
    await commitOnce(faults); // cancelled
    expect(await cancelled).toMatchObject({ cancelled: true, job: { status: 'cancelled' } });
    await settle();
    expect(calls).toHaveLength(0);
    expect(supervisor.stats().handlersInFlight).toBe(0);
    await shutdown(supervisor, faults);
  });
});

describe('a change the store refuses for good fails alone', () => {
  it('fails that job from its last durable state; the others of the batch are written', async () => {
    const faults = faultyStore();
    faults.refuse = (draft) =>
      draft.kind === 'completed' && draft.record.type === 'poison' ? 'change_not_storable' : undefined;
    const supervisor = createSupervisor({ store: faults.store });
    const errors: unknown[] = [];
    supervisor.on('error', (report) => errors.push(report.error));
    supervisor.register('poison', async (ctx) => {
      ctx.progress(50, 'half');
      await until(() => supervisor.get(ctx.jobId)?.progress === 50); // that progress is durable
      return { fine: true };
    });
    supervisor.register('work', () => 'ok');
    await supervisor.ready();
    const [poison, work] = await Promise.all([
      supervisor.start({ type: 'poison' }),
      supervisor.start({ type: 'work' }),
    ]);
    const failed = await supervisor.waitFor(poison.job.id);
    expect(failed).toMatchObject({
      status: 'failed',
      result: null,
      progress: 50,
      error: { code: 'change_not_storable', message: `refused ${poison.job.id}` },
    });
    expect(await supervisor.waitFor(work.job.id)).toMatchObject({ status: 'completed', result: 'ok' });
    expect(errors).toHaveLength(1);
    // The store has the failure, never the refused completion; the log has no gap.
    expect(await faults.store.get(poison.job.id)).toMatchObject({ status: 'failed', seq: failed.seq });
    const log = await faults.store.changesSince(0, 100);
    expect(log.map((c) => c.offset)).toEqual(log.map((_, i) => i + 1));
    expect(log.filter((c) => c.jobId === poison.job.id).map((c) => c.kind)).toEqual([
      'created',
      'started',
      'progress',
      'failed',
    ]);
    // It goes on writing.
    const next = await supervisor.start({ type: 'work' });
    expect(await supervisor.waitFor(next.job.id)).toMatchObject({ status: 'completed' });
    await supervisor.shutdown();
  });

  it('a start whose job the store refuses to create fails with the store code and creates nothing', async () => {
    const faults = faultyStore();
    faults.refuse = (draft) =>
      (draft.record.input as { bad?: boolean } | null)?.bad ? 'change_not_storable' : undefined;
    const supervisor = createSupervisor({ store: faults.store });
    supervisor.on('error', () => undefined);
    supervisor.register('work', () => 'ok');
    await supervisor.ready();
    const [bad, good] = await Promise.allSettled([
      supervisor.start({ type: 'work', input: { bad: true }, key: 'k' }),
      supervisor.start({ type: 'work', input: { bad: false } }),
    ]);
    expect(bad).toMatchObject({ status: 'rejected', reason: { code: 'change_not_storable' } });
    expect(good.status).toBe('fulfilled');
    // One batch held both creations: the refused one did not block the other.
    expect(faults.batches[0]!.filter((c) => c.kind === 'created')).toHaveLength(2);
    expect(supervisor.list().map((j) => j.input)).toEqual([{ bad: false }]);
    // Its key is free again.
    const again = await supervisor.start({ type: 'work', input: { bad: false }, key: 'k' });
    expect(again.deduplicated).toBe(false);
    await supervisor.shutdown();
  });
});

describe('a store that fails writes for a while', () => {
  it('retries with backoff, reports, refuses new work at once, and recovers without losing a change', async () => {
    const clock = new SimulatedClock();
    const faults = faultyStore();
    const supervisor = createSupervisor({ store: faults.store, clock, storeTimeoutMs: 60_000 });
    const errors: unknown[] = [];
    supervisor.on('error', (report) => errors.push(report.error));
    supervisor.register('work', () => 'ok');
    await supervisor.ready();
    faults.failure = diskFull();
    let answered = false;
    const first = supervisor.start({ type: 'work', key: 'first' }).then((r) => ((answered = true), r));
    await until(() => errors.length === 1);
    expect(supervisor.stats().store).toMatchObject({
      state: 'failing',
      lastError: { code: 'store_unavailable' },
      backlog: 2, // created and started
    });
    // While it fails, a start is refused at once and changes nothing.
    expect((await rejectionOf(supervisor.start({ type: 'work' }))).code).toBe('store_unavailable');
    expect(supervisor.stats().store?.backlog).toBe(2);
    // Backoff: 50 ms, 100 ms, 200 ms…
    const tries = () => faults.batches.length;
    clock.increment(49);
    await settle();
    expect(tries()).toBe(1);
    clock.increment(1);
    await until(() => errors.length === 2);
    clock.increment(99);
    await settle();
    expect(tries()).toBe(2);
    faults.failure = undefined;
    clock.increment(1);
    const { job } = await first;
    expect(answered).toBe(true);
    expect(supervisor.stats().store).toMatchObject({ state: 'ok', failingSince: null, lastError: null });
    expect(await supervisor.waitFor(job.id)).toMatchObject({ status: 'completed' });
    expect((await faults.store.changesSince(0, 10)).map((c) => c.kind)).toEqual([
      'created',
      'started',
      'completed',
    ]);
    await supervisor.shutdown();
  });

  it('a start waiting for a store that keeps failing gets store_unavailable after storeTimeoutMs', async () => {
    const clock = new SimulatedClock();
    const faults = faultyStore();
    const supervisor = createSupervisor({ store: faults.store, clock, storeTimeoutMs: 2_000 });
    supervisor.on('error', () => undefined);
    supervisor.register('work', () => 'ok');
    await supervisor.ready();
    faults.failure = diskFull();
    const start = rejectionOf(supervisor.start({ type: 'work' }));
    await until(() => faults.batches.length === 1);
    for (let ms = 0; ms < 2_000; ms += 100) {
      clock.increment(100);
      await settle();
    }
    const error = await start;
    expect(error.code).toBe('store_unavailable');
    expect(error.message).toMatch(/not durable within 2000 ms .*disk is full.*retry with the same key/);
    faults.failure = undefined;
    clock.increment(5_000);
    await until(() => supervisor.stats().store?.state === 'ok');
    await supervisor.shutdown();
  });
});
