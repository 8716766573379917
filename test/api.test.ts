/** The public API contract of the supervisor facade: options, start, cancel, subscribe, waitFor, list, errors. */
import { SimulatedClock } from 'xstate';
import * as z from 'zod';
import { describe, expect, it } from 'vitest';
import {
  DEFAULTS,
  ERROR_CODES,
  JOB_ERROR_CODES,
  JobFailure,
  JobvisorError,
  createSupervisor,
  type ErrorCode,
  type JobChange,
} from '../src/index.js';
import {
  controlled,
  expectValidChangeStream,
  harness,
  rejectionOf,
  settle,
  thrownBy,
  until,
  type Call,
  type Harness,
} from './helpers.js';

/** The observable state a rejected call must leave untouched. */
function footprint(h: Harness) {
  return { stats: h.supervisor.stats(), list: h.supervisor.list(), changes: h.changes.length };
}

describe('options', () => {
  const bad: [string, unknown, string][] = [
    ['negative concurrency', { concurrency: -1 }, 'concurrency'],
    ['zero concurrency', { concurrency: 0 }, 'concurrency'],
    ['fractional concurrency', { concurrency: 1.5 }, 'concurrency'],
    ['string concurrency', { concurrency: '4' }, 'concurrency'],
    ['unknown key', { concurency: 4 }, 'concurency'],
    ['zero heartbeatTimeoutMs', { heartbeatTimeoutMs: 0 }, 'heartbeatTimeoutMs'],
    ['heartbeatTimeoutMs beyond a timer', { heartbeatTimeoutMs: 2 ** 31 }, 'heartbeatTimeoutMs'],
    ['negative timeoutMs', { timeoutMs: -1 }, 'timeoutMs'],
    ['string timeoutMs', { timeoutMs: '1h' }, 'timeoutMs'],
    ['negative retries.max', { retries: { max: -1 } }, 'retries.max'],
    ['retries.factor below 1', { retries: { factor: 0.5 } }, 'retries.factor'],
    ['negative retries.backoffMs', { retries: { backoffMs: -10 } }, 'retries.backoffMs'],
    ['unknown retries key', { retries: { attempts: 3 } }, 'attempts'],
    ['retries not an object', { retries: 3 }, 'retries'],
    ['negative retention.maxCount', { retention: { maxCount: -1 } }, 'retention.maxCount'],
    ['string retention.maxAgeMs', { retention: { maxAgeMs: '1d' } }, 'retention.maxAgeMs'],
    ['unknown retention key', { retention: { ttl: 5 } }, 'ttl'],
    ['negative idempotencyMs', { idempotencyMs: -5 }, 'idempotencyMs'],
    ['empty clock', { clock: {} }, 'clock'],
    ['clock without timers', { clock: { now: () => 0 } }, 'clock'],
    ['null clock', { clock: null }, 'clock'],
  ];
  it.each(bad)('rejects %s with invalid_options naming the field', (_name, options, field) => {
    const error = thrownBy(() => createSupervisor(options as never));
    expect(error.code).toBe('invalid_options');
    expect(error.status).toBe(400);
    expect(error.message).toContain(field);
    expect(Array.isArray(error.details)).toBe(true);
  });

  it('rejects options that are not an object', () => {
    for (const options of [null, 42, 'fast', []]) {
      expect(thrownBy(() => createSupervisor(options as never)).code).toBe('invalid_options');
    }
  });

  it('documents frozen defaults', () => {
    expect(DEFAULTS).toMatchObject({
      concurrency: 10,
      heartbeatTimeoutMs: 30_000,
      timeoutMs: null,
      retries: { max: 0, backoffMs: 1_000, factor: 2 },
      idempotencyMs: 0,
    });
    expect(Object.isFrozen(DEFAULTS)).toBe(true);
    expect(Object.isFrozen(DEFAULTS.retries)).toBe(true);
  });

  it('applies the defaults: concurrency 10, no retries, 30 s heartbeat timeout, no idempotency', async () => {
    const h = harness();
    const { supervisor, clock } = h;
    const { calls, handler } = controlled();
    supervisor.register('report', handler);
    const jobs = [];
    for (let i = 0; i < 12; i++) jobs.push((await supervisor.start({ type: 'report', key: `k${i}` })).job);
    await until(() => calls.length === 10);
    expect(supervisor.stats().jobs).toMatchObject({ running: 10, pending: 2 });

    clock.increment(29_999);
    expect(supervisor.get(jobs[0]!.id)?.status).toBe('running');
    clock.increment(1); // default heartbeatTimeoutMs, and no retry by default
    expect(supervisor.get(jobs[0]!.id)).toMatchObject({ status: 'failed', error: { code: 'stalled' } });
    await until(() => calls.length === 12);
    calls[10]!.done.resolve('ok');
    await supervisor.waitFor(jobs[10]!.id);
    const again = await supervisor.start({ type: 'report', key: 'k10' }); // no idempotency window
    expect(again.deduplicated).toBe(false);
    expectValidChangeStream(h.changes);
  });

  it('works with no options at all (system clock)', async () => {
    const supervisor = createSupervisor();
    expect(supervisor.lifecycle).toBe('accepting');
    supervisor.register('noop', () => 'ok');
    const { job } = await supervisor.start({ type: 'noop' });
    await expect(supervisor.waitFor(job.id)).resolves.toMatchObject({ status: 'completed', result: 'ok' });
    await expect(supervisor.shutdown({ graceMs: 0 })).resolves.toEqual({ interrupted: 0, pending: 0 });
  });

  it('accepts a custom clock', () => {
    const clock = new SimulatedClock();
    expect(() => createSupervisor({ clock })).not.toThrow();
  });

  it('rejects bad shutdown options', async () => {
    const { supervisor } = harness();
    expect((await rejectionOf(supervisor.shutdown({ graceMs: -1 }))).code).toBe('invalid_options');
    expect(supervisor.lifecycle).toBe('accepting');
  });
});

describe('register()', () => {
  it('rejects bad type names', () => {
    const { supervisor } = harness();
    for (const name of ['', 'has space', 'a/b', 'x'.repeat(201), 42, null]) {
      const error = thrownBy(() => supervisor.register(name as string, () => null));
      expect(error.code).toBe('invalid_options');
    }
    expect(() => supervisor.register('report.monthly:v2_a-b', () => null)).not.toThrow();
  });

  it('rejects a handler that is not a function', () => {
    const { supervisor } = harness();
    for (const handler of ['run', null, undefined, {}]) {
      const error = thrownBy(() => supervisor.register('report', handler as never));
      expect(error.code).toBe('invalid_options');
      expect(error.message).toContain('handler');
    }
  });

  it('rejects bad per-type options, naming the field, and registers nothing', async () => {
    const { supervisor } = harness();
    const bad: [unknown, string][] = [
      [{ concurrency: 0 }, 'concurrency'],
      [{ input: { parse: () => null } }, 'input'],
      [{ retries: { max: -1 } }, 'retries.max'],
      [{ timeoutMs: 0 }, 'timeoutMs'],
      [{ heartbeatTimeoutMs: -1 }, 'heartbeatTimeoutMs'],
      [{ idempotencyMs: 1.5 }, 'idempotencyMs'],
      [{ priority: 1 }, 'priority'],
    ];
    for (const [options, field] of bad) {
      const error = thrownBy(() => supervisor.register('report', () => null, options as never));
      expect(error.code).toBe('invalid_options');
      expect(error.message).toContain(field);
    }
    expect((await rejectionOf(supervisor.start({ type: 'report' }))).code).toBe('unknown_job_type');
    expect(() => supervisor.register('report', () => null)).not.toThrow();
  });

  it('rejects a duplicate type and keeps the first handler', async () => {
    const { supervisor } = harness();
    expect(supervisor.register('report', () => 'first')).toBe(supervisor);
    const error = thrownBy(() => supervisor.register('report', () => 'second'));
    expect(error.code).toBe('type_already_registered');
    expect(error.status).toBe(409);
    const { job } = await supervisor.start({ type: 'report' });
    await expect(supervisor.waitFor(job.id)).resolves.toMatchObject({ result: 'first' });
  });
});

describe('start()', () => {
  const month = z.object({ month: z.string().regex(/^\d{4}-\d{2}$/) });

  it('rejects an unknown type with unknown_job_type and creates nothing', async () => {
    const h = harness();
    const before = footprint(h);
    const error = await rejectionOf(h.supervisor.start({ type: 'nope' }));
    expect(error.code).toBe('unknown_job_type');
    expect(error.message).toContain('nope');
    expect(footprint(h)).toEqual(before);
  });

  it('rejects bad input with invalid_input, zod issues in details, and creates nothing', async () => {
    const h = harness();
    let runs = 0;
    h.supervisor.register('report', () => runs++, { input: month });
    const before = footprint(h);
    for (const input of [{ month: 202610 }, { month: 'October' }, undefined, 'x']) {
      const error = await rejectionOf(h.supervisor.start({ type: 'report', input, key: 'r' }));
      expect(error.code).toBe('invalid_input');
      expect(error.status).toBe(400);
      expect(Array.isArray(error.details)).toBe(true);
      expect((error.details as unknown[]).length).toBeGreaterThan(0);
      expect(error.toJSON().details).toEqual(error.details);
    }
    const detail = await rejectionOf(h.supervisor.start({ type: 'report', input: { month: 1 } }));
    const issues = detail.details as { path: string; message: string }[];
    expect(issues.map((issue) => issue.path)).toEqual(['month']);
    expect(typeof issues[0]!.message).toBe('string');
    expect(detail.message).toContain('month');
    await settle();
    expect(footprint(h)).toEqual(before);
    expect(h.changes).toEqual([]);
    expect(runs).toBe(0);
  });

  it('stores the parsed input (the schema output)', async () => {
    const { supervisor } = harness();
    const seen: unknown[] = [];
    supervisor.register('report', (ctx) => seen.push(ctx.input), { input: month });
    const { job } = await supervisor.start({ type: 'report', input: { month: '2026-10', extra: true } });
    expect(job.input).toEqual({ month: '2026-10' });
    await supervisor.waitFor(job.id);
    expect(seen).toEqual([{ month: '2026-10' }]);
  });

  it('rejects a badly shaped request with invalid_request and creates nothing', async () => {
    const h = harness();
    h.supervisor.register('report', () => null);
    const before = footprint(h);
    const bad: [unknown, string][] = [
      [{ type: 'report', urgency: 1 }, 'urgency'],
      [{ type: 'report', priority: 1.5 }, 'priority'],
      [{ type: 'report', priority: 2_000_000 }, 'priority'],
      [{ type: 'report', key: 'k'.repeat(501) }, 'key'],
      [{ type: 'report', key: '' }, 'key'],
      [{ type: 'report', key: 42 }, 'key'],
      [{ type: 'report', onConflict: 'merge' }, 'onConflict'],
      [{ type: 'bad type' }, 'type'],
      [{}, 'type'],
    ];
    for (const [request, field] of bad) {
      const error = await rejectionOf(h.supervisor.start(request as never));
      expect(error.code).toBe('invalid_request');
      expect(error.message).toContain(field);
    }
    for (const request of [null, undefined, 'report']) {
      expect((await rejectionOf(h.supervisor.start(request as never))).code).toBe('invalid_request');
    }
    await settle();
    expect(footprint(h)).toEqual(before);
  });

  it("onConflict 'join' (the default) returns the pending or running job holding the key", async () => {
    const h = harness({ concurrency: 1 });
    const { calls, handler } = controlled();
    h.supervisor.register('report', handler);
    const running = await h.supervisor.start({ type: 'report', key: 'a' });
    const pending = await h.supervisor.start({ type: 'report', key: 'b' });
    const joinRunning = await h.supervisor.start({ type: 'report', key: 'a', onConflict: 'join' });
    const joinPending = await h.supervisor.start({ type: 'report', key: 'b' });
    expect(running.deduplicated).toBe(false);
    expect(joinRunning).toMatchObject({ deduplicated: true, job: { id: running.job.id, status: 'running' } });
    expect(joinPending).toMatchObject({ deduplicated: true, job: { id: pending.job.id, status: 'pending' } });
    expect(h.supervisor.stats()).toMatchObject({ starts: 4, deduplicated: 2, live: 2 });
    const unkeyed = await h.supervisor.start({ type: 'report' });
    const unkeyedAgain = await h.supervisor.start({ type: 'report' });
    expect(unkeyed.job.id).not.toBe(unkeyedAgain.job.id);
    await until(() => calls.length === 1);
    expect(calls).toHaveLength(1);
    expectValidChangeStream(h.changes);
  });

  it("onConflict 'reject' answers duplicate_key with the holder's id", async () => {
    const h = harness();
    const { handler } = controlled();
    h.supervisor.register('report', handler);
    const { job } = await h.supervisor.start({ type: 'report', key: 'a' });
    const before = footprint(h);
    const error = await rejectionOf(h.supervisor.start({ type: 'report', key: 'a', onConflict: 'reject' }));
    expect(error.code).toBe('duplicate_key');
    expect(error.status).toBe(409);
    expect(error.details).toEqual({ jobId: job.id });
    expect(error.toJSON()).toEqual({
      code: 'duplicate_key',
      message: error.message,
      details: { jobId: job.id },
    });
    const after = footprint(h);
    expect(after.list).toEqual(before.list);
    expect(after.changes).toBe(before.changes);
  });

  it("onConflict 'replace' cancels the holder and the new job holds the key", async () => {
    const h = harness();
    const { calls, handler } = controlled();
    h.supervisor.register('report', handler);
    const old = (await h.supervisor.start({ type: 'report', key: 'a', input: 1 })).job;
    await until(() => calls.length === 1);
    const replaced = await h.supervisor.start({ type: 'report', key: 'a', input: 2, onConflict: 'replace' });
    expect(replaced.deduplicated).toBe(false);
    expect(replaced.job.id).not.toBe(old.id);
    expect(replaced.job).toMatchObject({ key: 'a', input: 2 });
    expect(h.supervisor.get(old.id)?.status).toBe('cancelled');
    expect(calls[0]!.ctx.signal.aborted).toBe(true);
    await until(() => calls.length === 2);
    expect(calls[1]!.ctx.jobId).toBe(replaced.job.id);

    const joined = await h.supervisor.start({ type: 'report', key: 'a' });
    expect(joined).toMatchObject({ deduplicated: true, job: { id: replaced.job.id } });
    expect(h.supervisor.list({ key: 'a' }).map((job) => [job.id, job.status])).toEqual([
      [replaced.job.id, 'running'],
      [old.id, 'cancelled'],
    ]);
    calls[0]!.done.resolve('late'); // the cancelled handler's result is rejected
    calls[1]!.done.resolve('new');
    await expect(h.supervisor.waitFor(replaced.job.id)).resolves.toMatchObject({ result: 'new' });
    expect(h.supervisor.get(old.id)).toMatchObject({ status: 'cancelled', result: null });
    expectValidChangeStream(h.changes);
  });

  it('keeps a completed job for idempotencyMs, then starts a new one', async () => {
    const h = harness();
    let runs = 0;
    h.supervisor.register('report', () => ++runs, { idempotencyMs: 1_000 });
    const first = (await h.supervisor.start({ type: 'report', key: 'a' })).job;
    const completed = await h.supervisor.waitFor(first.id);
    h.clock.increment(999);
    const again = await h.supervisor.start({ type: 'report', key: 'a' });
    expect(again).toEqual({ job: completed, deduplicated: true });
    const rejected = await rejectionOf(
      h.supervisor.start({ type: 'report', key: 'a', onConflict: 'reject' }),
    );
    expect(rejected).toMatchObject({ code: 'duplicate_key', details: { jobId: first.id } });
    h.clock.increment(1);
    const fresh = await h.supervisor.start({ type: 'report', key: 'a' });
    expect(fresh.deduplicated).toBe(false);
    expect(fresh.job.id).not.toBe(first.id);
    await h.supervisor.waitFor(fresh.job.id);
    expect(runs).toBe(2);
  });

  it('does not deduplicate against failed jobs, nor against completed ones without a window', async () => {
    const h = harness();
    h.supervisor.register('boom', () => {
      throw new Error('boom');
    });
    h.supervisor.register('ok', () => 'ok');
    for (const type of ['boom', 'ok']) {
      const first = (await h.supervisor.start({ type, key: 'a' })).job;
      await h.supervisor.waitFor(first.id);
      const second = await h.supervisor.start({ type, key: 'a' });
      expect(second.deduplicated).toBe(false);
      await h.supervisor.waitFor(second.job.id);
    }
  });
});

describe('cancel()', () => {
  it('rejects an unknown id with job_not_found and a malformed one with invalid_request', async () => {
    const { supervisor } = harness();
    const error = await rejectionOf(supervisor.cancel('00000000-0000-0000-0000-000000000000'));
    expect(error.code).toBe('job_not_found');
    expect(error.status).toBe(404);
    expect((await rejectionOf(supervisor.cancel(''))).code).toBe('invalid_request');
    expect((await rejectionOf(supervisor.cancel(42 as never))).code).toBe('invalid_request');
  });

  it('returns a finished job unchanged with cancelled:false, for every final status', async () => {
    const h = harness();
    h.supervisor.register('ok', () => 'ok');
    h.supervisor.register('boom', () => {
      throw new Error('boom');
    });
    const { handler } = controlled();
    h.supervisor.register('wait', handler);
    const ok = (await h.supervisor.start({ type: 'ok' })).job;
    const boom = (await h.supervisor.start({ type: 'boom' })).job;
    const wait = (await h.supervisor.start({ type: 'wait' })).job;
    await h.supervisor.waitFor(ok.id);
    await h.supervisor.waitFor(boom.id);
    expect((await h.supervisor.cancel(wait.id, 'first')).cancelled).toBe(true);
    for (const id of [ok.id, boom.id, wait.id]) {
      const before = h.supervisor.get(id)!;
      const changes = h.changes.length;
      const answer = await h.supervisor.cancel(id, 'again');
      expect(answer).toEqual({ job: before, cancelled: false });
      expect(h.supervisor.get(id)).toEqual(before);
      expect(h.changes).toHaveLength(changes);
    }
    expect(h.supervisor.get(ok.id)?.status).toBe('completed');
    expect(h.supervisor.get(boom.id)?.status).toBe('failed');
    expectValidChangeStream(h.changes);
  });
});

describe('cancel() racing the start of a handler', () => {
  it('a job cancelled before its handler began never runs the handler', async () => {
    const h = harness();
    let runs = 0;
    h.supervisor.register('email', () => {
      runs++; // a real side effect: the email would be sent although the job is cancelled
      return 'sent';
    });
    const answers: Promise<unknown>[] = [];
    h.supervisor.subscribe((change) => {
      if (change.kind === 'started') answers.push(h.supervisor.cancel(change.jobId, 'changed my mind'));
    });
    const { job } = await h.supervisor.start({ type: 'email' });
    await until(() => answers.length === 1);
    await expect(answers[0]).resolves.toMatchObject({ cancelled: true, job: { status: 'cancelled' } });
    await until(() => h.supervisor.stats().handlersInFlight === 0);
    expect(h.supervisor.get(job.id)?.status).toBe('cancelled');
    expect(runs).toBe(0);
  });
});

describe('subscribe()', () => {
  async function twoTypes(): Promise<{ h: Harness; calls: Call[]; a: string; b: string }> {
    const h = harness();
    const { calls, handler } = controlled();
    h.supervisor.register('a', handler);
    h.supervisor.register('b', handler);
    const a = (await h.supervisor.start({ type: 'a' })).job.id;
    const b = (await h.supervisor.start({ type: 'b' })).job.id;
    await until(() => calls.length === 2);
    return { h, calls, a, b };
  }

  it('filters by job and by type; unsubscribe stops delivery', async () => {
    const { h, calls, a, b } = await twoTypes();
    const byJob: JobChange[] = [];
    const byType: JobChange[] = [];
    const both: JobChange[] = [];
    const mismatch: JobChange[] = [];
    const offJob = h.supervisor.subscribe((c) => byJob.push(c), { jobId: a });
    h.supervisor.subscribe((c) => byType.push(c), { type: 'b' });
    h.supervisor.subscribe((c) => both.push(c), { jobId: a, type: 'a' });
    h.supervisor.subscribe((c) => mismatch.push(c), { jobId: a, type: 'b' });
    const [ca, cb] = [calls[0]!, calls[1]!];
    expect(ca.ctx.progress(10)).toBe(true);
    expect(cb.ctx.progress(20)).toBe(true);
    offJob();
    expect(ca.ctx.progress(30)).toBe(true);
    ca.done.resolve('a');
    cb.done.resolve('b');
    await h.supervisor.waitFor(a);
    await h.supervisor.waitFor(b);

    expect(byJob.map((c) => [c.jobId, c.job.progress])).toEqual([[a, 10]]);
    expect(byType.map((c) => [c.jobId, c.kind])).toEqual([
      [b, 'progress'],
      [b, 'completed'],
    ]);
    expect(both.map((c) => c.kind)).toEqual(['progress', 'progress', 'completed']);
    expect(both.every((c) => c.jobId === a)).toBe(true);
    expect(mismatch).toEqual([]);
    expectValidChangeStream(h.changes);
  });

  it('isolates a throwing subscriber and reports it', async () => {
    const h = harness();
    const reports: { where: string; jobId?: string }[] = [];
    h.supervisor.on('error', (report) => reports.push(report));
    h.supervisor.subscribe(() => {
      throw new Error('bad subscriber');
    });
    const good: JobChange[] = [];
    h.supervisor.subscribe((c) => good.push(c));
    h.supervisor.register('report', () => 'ok');
    const { job } = await h.supervisor.start({ type: 'report' });
    await h.supervisor.waitFor(job.id);
    expect(good.map((c) => c.kind)).toEqual(['created', 'started', 'completed']);
    expect(h.changes).toHaveLength(3);
    expect(reports).toHaveLength(3);
    expect(reports.every((r) => r.where === 'subscriber' && r.jobId === job.id)).toBe(true);
    expect(h.errors.every((e) => e instanceof Error && e.message === 'bad subscriber')).toBe(true);
    expect(h.supervisor.stats().subscriberErrors).toBe(3);
    expect(h.supervisor.lifecycle).toBe('accepting');
    expect(h.supervisor.get(job.id)?.status).toBe('completed');
  });

  it('rejects a bad listener or filter with invalid_request', () => {
    const { supervisor } = harness();
    expect(thrownBy(() => supervisor.subscribe('x' as never)).code).toBe('invalid_request');
    expect(thrownBy(() => supervisor.subscribe(() => undefined, { jobId: 5 } as never)).code).toBe(
      'invalid_request',
    );
    expect(thrownBy(() => supervisor.subscribe(() => undefined, { job: 'x' } as never)).code).toBe(
      'invalid_request',
    );
  });

  it('heartbeats are not changes: readers see lastHeartbeatAt with the next change', async () => {
    const { h, calls, a } = await twoTypes();
    const changes = h.changes.length;
    const before = h.supervisor.get(a)!;
    for (let i = 1; i <= 100; i++) {
      h.clock.increment(10);
      expect(calls[0]!.ctx.heartbeat()).toBe(true);
    }
    expect(h.changes).toHaveLength(changes);
    // Nothing durable changed: readers still see the job as it was stored.
    expect(h.supervisor.get(a)).toBe(before);
    h.clock.increment(10);
    calls[0]!.done.resolve('done');
    const done = await h.supervisor.waitFor(a);
    expect(done).toMatchObject({ seq: before.seq + 1, lastHeartbeatAt: 1_000, status: 'completed' });
    expect(h.changes.at(-1)?.job.lastHeartbeatAt).toBe(1_000);
  });
});

describe('waitFor()', () => {
  it('resolves with the terminal view, at once for a finished job', async () => {
    const { supervisor } = harness();
    const { calls, handler } = controlled();
    supervisor.register('report', handler);
    const { job } = await supervisor.start({ type: 'report' });
    await until(() => calls.length === 1);
    let settled = false;
    const waiting = supervisor.waitFor(job.id).then((view) => {
      settled = true;
      return view;
    });
    await settle();
    expect(settled).toBe(false);
    calls[0]!.done.resolve({ rows: 42 });
    const view = await waiting;
    expect(view).toMatchObject({ id: job.id, status: 'completed', result: { rows: 42 } });
    expect(view).toEqual(supervisor.get(job.id));
    await expect(supervisor.waitFor(job.id)).resolves.toEqual(view);
  });

  it('rejects an unknown id with job_not_found', async () => {
    const { supervisor } = harness();
    expect((await rejectionOf(supervisor.waitFor('missing'))).code).toBe('job_not_found');
  });

  it('rejects with wait_timeout after timeoutMs on the injected clock', async () => {
    const { supervisor, clock } = harness();
    const { calls, handler } = controlled();
    supervisor.register('report', handler);
    const { job } = await supervisor.start({ type: 'report' });
    let outcome: JobvisorError | undefined;
    const waiting = rejectionOf(supervisor.waitFor(job.id, { timeoutMs: 500 })).then((e) => (outcome = e));
    clock.increment(499);
    await settle();
    expect(outcome).toBeUndefined();
    clock.increment(1);
    await waiting;
    expect(outcome).toMatchObject({ code: 'wait_timeout', status: 408 });
    expect(supervisor.get(job.id)?.status).toBe('running'); // the job itself is unaffected
    await until(() => calls.length === 1);
    calls[0]!.done.resolve('ok');
    await expect(supervisor.waitFor(job.id)).resolves.toMatchObject({ status: 'completed' });
  });

  it('rejects with wait_aborted when the signal aborts (or already has)', async () => {
    const { supervisor } = harness();
    const { handler } = controlled();
    supervisor.register('report', handler);
    const { job } = await supervisor.start({ type: 'report' });
    const controller = new AbortController();
    const waiting = rejectionOf(supervisor.waitFor(job.id, { signal: controller.signal }));
    controller.abort();
    expect(await waiting).toMatchObject({ code: 'wait_aborted', status: 499 });
    const already = await rejectionOf(supervisor.waitFor(job.id, { signal: AbortSignal.abort() }));
    expect(already.code).toBe('wait_aborted');
    expect((await rejectionOf(supervisor.waitFor(job.id, { timeoutMs: -1 }))).code).toBe('invalid_options');
  });
});

describe('concurrency limits', () => {
  it('never runs more than the global limit; starts queued jobs FIFO across types', async () => {
    const h = harness({ concurrency: 1 });
    const { calls, handler } = controlled();
    h.supervisor.register('a', handler);
    h.supervisor.register('b', handler);
    const order = ['a1', 'b1', 'a2', 'b2', 'a3'];
    for (const name of order) await h.supervisor.start({ type: name[0]!, input: name });
    for (let i = 0; i < order.length; i++) {
      await until(() => calls.length === i + 1);
      await settle();
      expect(h.supervisor.stats().jobs.running).toBe(1);
      expect(calls).toHaveLength(i + 1);
      calls[i]!.done.resolve(null);
    }
    expect(calls.map((c) => c.ctx.input)).toEqual(order);
    await until(() => h.supervisor.stats().jobs.completed === 5);
    expectValidChangeStream(h.changes);
  });

  it('applies a per-type limit; a blocked type does not hold back another', async () => {
    const h = harness({ concurrency: 3 });
    const { calls, handler } = controlled();
    h.supervisor.register('a', handler, { concurrency: 1 });
    h.supervisor.register('b', handler);
    for (const name of ['a1', 'a2', 'b1', 'b2', 'b3']) {
      await h.supervisor.start({ type: name[0]!, input: name });
    }
    await until(() => calls.length === 3);
    await settle();
    const inputs = () => calls.map((c) => c.ctx.input);
    expect(inputs()).toEqual(['a1', 'b1', 'b2']);
    calls[1]!.done.resolve(null); // b1 done: a2 is blocked by its type, b3 goes
    await until(() => calls.length === 4);
    expect(inputs()[3]).toBe('b3');
    calls[0]!.done.resolve(null); // a1 done: a2 goes
    await until(() => calls.length === 5);
    expect(inputs()[4]).toBe('a2');
    const running = h.supervisor.list({ status: 'running' });
    expect(running.filter((j) => j.type === 'a')).toHaveLength(1);
    expect(running.length).toBeLessThanOrEqual(3);
  });
});

describe('handler failures', () => {
  const circular: Record<string, unknown> = { name: 'loop' };
  circular.self = circular;
  const throwers: [string, () => unknown, { code: string; message?: string }][] = [
    [
      'an Error',
      () => {
        throw new Error('plain error');
      },
      { code: 'handler_error', message: 'plain error' },
    ],
    [
      'a string',
      () => {
        throw 'just a string'; // eslint-disable-line @typescript-eslint/only-throw-error
      },
      { code: 'handler_error', message: 'just a string' },
    ],
    [
      'a plain object',
      () => {
        throw { reason: 'nope' }; // eslint-disable-line @typescript-eslint/only-throw-error
      },
      { code: 'handler_error', message: '{"reason":"nope"}' },
    ],
    [
      'undefined',
      () => {
        throw undefined; // eslint-disable-line @typescript-eslint/only-throw-error
      },
      { code: 'handler_error', message: 'undefined' },
    ],
    [
      'a rejected promise',
      () => Promise.reject(new Error('async boom')),
      { code: 'handler_error', message: 'async boom' },
    ],
    [
      'an Error with its own code',
      () => {
        throw Object.assign(new Error('connection reset'), { code: 'ECONNRESET' });
      },
      { code: 'ECONNRESET', message: 'connection reset' },
    ],
    [
      'a JobFailure',
      () => {
        throw new JobFailure('quota_exceeded', 'over quota');
      },
      { code: 'quota_exceeded', message: 'over quota' },
    ],
    [
      'a circular object',
      () => {
        throw circular; // eslint-disable-line @typescript-eslint/only-throw-error
      },
      { code: 'handler_error' },
    ],
    [
      'a BigInt',
      () => {
        throw 10n; // eslint-disable-line @typescript-eslint/only-throw-error
      },
      { code: 'handler_error' },
    ],
  ];

  it.each(throwers)(
    'a handler throwing %s fails its job with {code, message}',
    async (_name, thrower, expected) => {
      const h = harness();
      const sibling = controlled();
      h.supervisor.register('sibling', sibling.handler);
      h.supervisor.register('bad', thrower);
      const sib = (await h.supervisor.start({ type: 'sibling' })).job;
      const { job } = await h.supervisor.start({ type: 'bad' });
      await until(() => h.supervisor.get(job.id)?.status === 'failed');
      const failed = h.supervisor.get(job.id)!;
      expect(Object.keys(failed.error!).sort()).toEqual(['code', 'message']);
      expect(failed.error).toMatchObject(expected);
      expect(typeof failed.error!.message).toBe('string');
      // Siblings and the supervisor are unaffected.
      expect(h.supervisor.get(sib.id)?.status).toBe('running');
      expect(h.supervisor.lifecycle).toBe('accepting');
      await until(() => sibling.calls.length === 1);
      sibling.calls[0]!.done.resolve('fine');
      await expect(h.supervisor.waitFor(sib.id)).resolves.toMatchObject({ status: 'completed' });
      const next = (await h.supervisor.start({ type: 'sibling' })).job;
      await until(() => sibling.calls.length === 2);
      expect(h.supervisor.get(next.id)?.status).toBe('running');
      expect(h.errors).toEqual([]);
      expectValidChangeStream(h.changes);
    },
  );

  it('a synchronous throw (non-async handler) is caught like a rejection', async () => {
    const { supervisor } = harness();
    supervisor.register('sync', () => {
      throw new Error('sync boom');
    });
    const { job } = await supervisor.start({ type: 'sync' });
    await expect(supervisor.waitFor(job.id)).resolves.toMatchObject({
      status: 'failed',
      error: { code: 'handler_error', message: 'sync boom' },
    });
  });
});

describe('list() and stats()', () => {
  async function mixed(): Promise<{ h: Harness; ids: Record<string, string> }> {
    const h = harness({ concurrency: 2 });
    const { calls, handler } = controlled();
    h.supervisor.register('a', handler);
    h.supervisor.register('b', handler);
    const ids: Record<string, string> = {};
    const start = async (name: string, key?: string) => {
      ids[name] = (await h.supervisor.start({ type: name[0]!, input: name, key })).job.id;
    };
    const callOf = (name: string) => calls.find((c) => c.ctx.input === name)!;
    await start('a1', 'k1');
    await start('a2');
    await until(() => calls.length === 2);
    callOf('a1').done.resolve('done');
    callOf('a2').done.reject(new Error('boom'));
    await h.supervisor.waitFor(ids.a1!);
    await h.supervisor.waitFor(ids.a2!);
    await start('b1');
    await start('b2', 'k2');
    await start('a3');
    await start('b3');
    await until(() => calls.length === 4);
    await h.supervisor.cancel(ids.b1!);
    await until(() => calls.length === 5);
    return { h, ids };
  }

  it('filters by status (single or array), type, key and limit', async () => {
    const { h, ids } = await mixed();
    const names = (jobs: { id: string }[]) =>
      jobs.map((job) => Object.keys(ids).find((name) => ids[name] === job.id));
    const { supervisor } = h;
    expect(names(supervisor.list())).toEqual(['b2', 'a3', 'b3', 'a1', 'a2', 'b1']);
    expect(names(supervisor.list({ status: 'running' }))).toEqual(['b2', 'a3']);
    expect(names(supervisor.list({ status: 'pending' }))).toEqual(['b3']);
    expect(names(supervisor.list({ status: ['completed', 'failed'] }))).toEqual(['a1', 'a2']);
    expect(names(supervisor.list({ type: 'b' }))).toEqual(['b2', 'b3', 'b1']);
    expect(names(supervisor.list({ key: 'k1' }))).toEqual(['a1']);
    expect(names(supervisor.list({ status: 'cancelled', type: 'a' }))).toEqual([]);
    expect(names(supervisor.list({ limit: 2 }))).toEqual(['b2', 'a3']);
    expect(names(supervisor.list({ type: 'a', limit: 1 }))).toEqual(['a3']);
    for (const filter of [{ status: 'done' }, { limit: 0 }, { limit: 1.5 }, { owner: 'me' }]) {
      expect(thrownBy(() => supervisor.list(filter as never)).code).toBe('invalid_request');
    }
  });

  it('counts jobs by status and the supervisor activity', async () => {
    const { h } = await mixed();
    const stats = h.supervisor.stats();
    expect(stats).toMatchObject({
      lifecycle: 'accepting',
      jobs: { pending: 1, running: 2, completed: 1, failed: 1, cancelled: 1 },
      live: 3,
      retained: 3,
      handlersInFlight: 3, // b1 was cancelled but its handler promise has not settled
      handlersAbandoned: 1,
      starts: 6,
      deduplicated: 0,
      stalls: 0,
      timeouts: 0,
      subscriberErrors: 0,
    });
    await h.supervisor.start({ type: 'b', key: 'k2' });
    expect(h.supervisor.stats()).toMatchObject({ starts: 7, deduplicated: 1 });
    expectValidChangeStream(h.changes);
  });
});

describe('JobvisorError registry', () => {
  it('gives every code a status and a message', () => {
    const codes = Object.keys(ERROR_CODES) as ErrorCode[];
    expect(codes.length).toBeGreaterThan(0);
    for (const code of codes) {
      const entry = ERROR_CODES[code];
      expect(Number.isInteger(entry.status)).toBe(true);
      expect(entry.status).toBeGreaterThanOrEqual(400);
      expect(entry.status).toBeLessThan(600);
      expect(entry.message.length).toBeGreaterThan(0);
      const error = new JobvisorError(code);
      expect(error).toBeInstanceOf(Error);
      expect(error).toMatchObject({
        name: 'JobvisorError',
        code,
        status: entry.status,
        message: entry.message,
      });
      expect(error.details).toBeUndefined();
      expect(error.toJSON()).toEqual({ code, message: entry.message });
      expect(Object.keys(error.toJSON())).not.toContain('details');
    }
  });

  it('serialises details when present', () => {
    const error = new JobvisorError('duplicate_key', 'taken', { jobId: 'j1' });
    expect(error.toJSON()).toEqual({ code: 'duplicate_key', message: 'taken', details: { jobId: 'j1' } });
    expect(JSON.parse(JSON.stringify(error))).toEqual({
      code: 'duplicate_key',
      message: 'taken',
      details: { jobId: 'j1' },
    });
  });

  it('documents every job error code', () => {
    for (const [code, description] of Object.entries(JOB_ERROR_CODES)) {
      expect(code).toMatch(/^[a-z_]+$/);
      expect(description.length).toBeGreaterThan(0);
    }
  });
});
