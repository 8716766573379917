/**
 * The failure modes of docs/ARCHITECTURE.md, each written as the scenario a user hit in a hand-written
 * tracker. Every scenario runs on a simulated clock and ends by checking the change stream.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { JobFailure, type HandlerContext, type JobChange, type SupervisorOptions } from '../src/index.js';
import {
  deferred,
  expectValidChangeStream,
  harness,
  settle,
  until,
  controlled,
  rejectionOf,
  type Harness,
} from './helpers.js';

/** Runs a scenario on a fresh harness, then checks the invariants of the whole change stream. */
async function scenario(
  options: Omit<SupervisorOptions, 'clock'>,
  body: (h: Harness) => Promise<void>,
): Promise<void> {
  const h = harness(options);
  await body(h);
  expectValidChangeStream(h.changes);
}

function changesOf(h: Harness, jobId: string): JobChange[] {
  return h.changes.filter((change) => change.jobId === jobId);
}

function kindsOf(h: Harness, jobId: string): string[] {
  return changesOf(h, jobId).map((change) => change.kind);
}

describe('failure modes users hit in hand-written trackers', () => {
  it('lost progress update: two progress writers and an API cancel race on one job', async () => {
    const step = fc.tuple(fc.integer({ min: 0, max: 100 }), fc.nat(3));
    await fc.assert(
      fc.asyncProperty(
        fc.array(step, { maxLength: 12 }),
        fc.array(step, { maxLength: 12 }),
        fc.option(fc.nat(30), { nil: undefined }),
        async (writerA, writerB, cancelAfterTicks) => {
          await scenario({}, async (h) => {
            const { supervisor } = h;
            const log: { percent: number; accepted: boolean; expected: boolean }[] = [];
            let lastAccepted = 0;
            let finished = false;
            let jobId = '';
            supervisor.register('sync', async (ctx) => {
              const write = async (steps: readonly [number, number][]) => {
                for (const [percent, ticks] of steps) {
                  for (let i = 0; i < ticks; i++) await Promise.resolve();
                  const expected = !finished && percent >= lastAccepted;
                  const accepted = ctx.progress(percent, `at ${percent}`);
                  if (accepted) lastAccepted = percent;
                  log.push({ percent, accepted, expected });
                }
              };
              const cancelling = async () => {
                if (cancelAfterTicks === undefined) return;
                for (let i = 0; i < cancelAfterTicks; i++) await Promise.resolve();
                finished = true;
                const result = await supervisor.cancel(ctx.jobId, 'user asked');
                expect(result.cancelled).toBe(true);
              };
              await Promise.all([write(writerA), write(writerB), cancelling()]);
              return 'done';
            });
            const { job } = await supervisor.start({ type: 'sync' });
            jobId = job.id;
            const final = await supervisor.waitFor(jobId);
            await until(() => supervisor.stats().handlersInFlight === 0);

            // Every call got the answer the single-writer model predicts.
            for (const entry of log) expect(entry.accepted).toBe(entry.expected);
            const accepted = log.filter((entry) => entry.accepted).map((entry) => entry.percent);
            // Every accepted update became its own change, in order, none lost.
            const progress = changesOf(h, jobId).filter((change) => change.kind === 'progress');
            expect(progress.map((change) => change.job.progress)).toEqual(accepted);
            expect(new Set(progress.map((change) => change.seq)).size).toBe(accepted.length);
            // The final record is consistent with the accepted updates.
            expect(final.seq).toBe(2 + accepted.length + 1);
            if (cancelAfterTicks === undefined) {
              expect(final.status).toBe('completed');
              expect(final.progress).toBe(100);
              expect(final.result).toBe('done');
            } else {
              expect(final.status).toBe('cancelled');
              expect(final.progress).toBe(accepted.at(-1) ?? 0);
              expect(final.result).toBeNull();
            }
            expect(supervisor.get(jobId)).toEqual(final);
            const refused = log.length - accepted.length + (cancelAfterTicks === undefined ? 0 : 1);
            expect(supervisor.stats().rejected).toBe(refused);
            expect(h.rejections).toHaveLength(refused);
            expect(h.errors).toEqual([]);
          });
        },
      ),
      { numRuns: 60 },
    );
  });

  it('progress jumps backwards: 60 then 40 is rejected and subscribers never see a decrease', async () => {
    await scenario({}, async (h) => {
      const { supervisor } = h;
      const { calls, handler } = controlled();
      supervisor.register('report', handler);
      const { job } = await supervisor.start({ type: 'report' });
      await until(() => calls.length === 1);
      const seen: number[] = [];
      supervisor.subscribe((change) => seen.push(change.job.progress), { jobId: job.id });
      const { ctx, done } = calls[0]!;

      expect(ctx.progress(60, 'sixty')).toBe(true);
      expect(ctx.progress(40, 'forty')).toBe(false);
      expect(supervisor.get(job.id)).toMatchObject({ progress: 60, message: 'sixty', seq: 3 });
      expect(h.rejections).toEqual([
        {
          jobId: job.id,
          jobType: 'report',
          event: 'PROGRESS',
          attempt: 1,
          state: 'running',
          reason: 'progress_backwards',
          source: 'handler',
          at: 0,
        },
      ]);
      expect(ctx.progress(60, 'still sixty')).toBe(true); // equal is not backwards
      expect(ctx.progress(101)).toBe(false);
      expect(ctx.progress(Number.NaN)).toBe(false);
      expect(ctx.progress(-1)).toBe(false);
      expect(h.rejections.slice(1).map((r) => r.reason)).toEqual([
        'progress_out_of_range',
        'progress_out_of_range',
        'progress_out_of_range',
      ]);
      expect(supervisor.stats().rejectedByReason).toEqual({
        progress_backwards: 1,
        progress_out_of_range: 3,
      });
      done.resolve('ok');
      await supervisor.waitFor(job.id);

      expect(seen).toEqual([60, 60, 100]);
      for (let i = 1; i < seen.length; i++) expect(seen[i]).toBeGreaterThanOrEqual(seen[i - 1]!);
    });
  });

  it('heartbeat after completion: rejected as job_final, the record is unchanged', async () => {
    await scenario({}, async (h) => {
      const { supervisor } = h;
      let captured: HandlerContext | undefined;
      supervisor.register('report', (ctx) => {
        captured = ctx;
        return { rows: 3 };
      });
      const { job } = await supervisor.start({ type: 'report' });
      const completed = await supervisor.waitFor(job.id);
      expect(completed.status).toBe('completed');
      const changeCount = h.changes.length;

      h.clock.increment(10);
      expect(captured!.heartbeat()).toBe(false);
      expect(captured!.progress(100)).toBe(false);

      expect(h.rejections).toEqual([
        expect.objectContaining({
          jobId: job.id,
          event: 'HEARTBEAT',
          state: 'completed',
          reason: 'job_final',
          source: 'handler',
        }),
        expect.objectContaining({ event: 'PROGRESS', reason: 'job_final', source: 'handler' }),
      ]);
      expect(supervisor.get(job.id)).toEqual(completed);
      expect(supervisor.get(job.id)?.lastHeartbeatAt).toBeNull();
      expect(h.changes).toHaveLength(changeCount);
      expect(supervisor.stats().rejectedByReason).toEqual({ job_final: 2 });
    });
  });

  it('progress after failure from a late handler: an old attempt is fenced off', async () => {
    await scenario({}, async (h) => {
      const { supervisor, clock } = h;
      const { calls, handler } = controlled();
      supervisor.register('sync', handler, {
        heartbeatTimeoutMs: 1_000,
        retries: { max: 1, backoffMs: 100 },
      });
      const { job } = await supervisor.start({ type: 'sync' });
      await until(() => calls.length === 1);
      const first = calls[0]!;
      expect(first.ctx.attempt).toBe(1);

      clock.increment(1_000); // attempt 1 stalls
      expect(first.ctx.signal.aborted).toBe(true);
      expect(supervisor.get(job.id)).toMatchObject({ status: 'pending', error: { code: 'stalled' } });
      clock.increment(100); // backoff over: attempt 2 starts
      await until(() => calls.length === 2);
      const second = calls[1]!;
      expect(second.ctx.attempt).toBe(2);
      expect(second.ctx.progress(30, 'attempt 2')).toBe(true);
      const running = supervisor.get(job.id)!;
      expect(running).toMatchObject({ status: 'running', attempt: 2, progress: 30 });

      // The zombie of attempt 1 wakes up and reports.
      expect(first.ctx.progress(90, 'attempt 1 says hi')).toBe(false);
      expect(first.ctx.heartbeat()).toBe(false);
      first.done.resolve('late result');
      await until(() => h.rejections.length === 3);
      expect(h.rejections.map((r) => [r.event, r.attempt, r.reason, r.source])).toEqual([
        ['PROGRESS', 1, 'stale_attempt', 'handler'],
        ['HEARTBEAT', 1, 'stale_attempt', 'handler'],
        ['COMPLETE', 1, 'stale_attempt', 'handler'],
      ]);
      expect(supervisor.get(job.id)).toEqual(running);
      expect(second.ctx.signal.aborted).toBe(false);

      // Attempt 2 fails for good; the zombie is now told the job is final.
      second.done.reject(new JobFailure('upstream_down', 'the upstream is down'));
      const failed = await supervisor.waitFor(job.id);
      expect(failed).toMatchObject({
        status: 'failed',
        attempt: 2,
        progress: 30,
        result: null,
        error: { code: 'upstream_down', message: 'the upstream is down' },
      });
      expect(first.ctx.progress(95)).toBe(false);
      expect(h.rejections.at(-1)).toMatchObject({ event: 'PROGRESS', reason: 'job_final', attempt: 1 });
      expect(supervisor.get(job.id)).toEqual(failed);
      await until(() => supervisor.stats().handlersInFlight === 0);
      expect(supervisor.stats().handlersAbandoned).toBe(0);
    });
  });

  it('zombie handler that stops heartbeating: the watchdog fails the attempt as stalled', async () => {
    await scenario({}, async (h) => {
      const { supervisor, clock } = h;
      const { calls, handler } = controlled();
      supervisor.register('zombie', handler, {
        heartbeatTimeoutMs: 1_000,
        retries: { max: 1, backoffMs: 50 },
      });
      const { job } = await supervisor.start({ type: 'zombie' });
      await until(() => calls.length === 1);

      clock.increment(600);
      expect(calls[0]!.ctx.heartbeat()).toBe(true); // re-arms the watchdog: deadline 1600
      clock.increment(999);
      expect(supervisor.get(job.id)?.status).toBe('running');
      expect(calls[0]!.ctx.signal.aborted).toBe(false);
      clock.increment(1); // t = 1600: no heartbeat for 1000 ms
      expect(calls[0]!.ctx.signal.aborted).toBe(true);
      expect(supervisor.get(job.id)).toMatchObject({
        status: 'pending',
        error: { code: 'stalled' },
        nextRetryAt: 1_650,
      });
      expect(supervisor.stats().stalls).toBe(1);
      expect(supervisor.stats().handlersAbandoned).toBe(1);

      clock.increment(50);
      await until(() => calls.length === 2);
      expect(supervisor.get(job.id)).toMatchObject({ status: 'running', attempt: 2, startedAt: 1_650 });
      clock.increment(1_000); // the second attempt never heartbeats either
      const failed = await supervisor.waitFor(job.id);
      expect(failed).toMatchObject({
        status: 'failed',
        attempt: 2,
        finishedAt: 2_650,
        error: { code: 'stalled' },
      });
      expect(calls[1]!.ctx.signal.aborted).toBe(true);
      expect(supervisor.stats().stalls).toBe(2);
      expect(kindsOf(h, job.id)).toEqual(['created', 'started', 'retrying', 'requeued', 'started', 'failed']);
      expect(supervisor.lifecycle).toBe('accepting');
      expect(h.errors).toEqual([]);
    });
  });

  it('1,000 concurrent starts over 10 keys: exactly 10 jobs and 10 handler executions', async () => {
    await scenario({}, async (h) => {
      const { supervisor } = h;
      const gate = deferred();
      const executions: (string | null)[] = [];
      supervisor.register('sync', async (ctx) => {
        executions.push(ctx.key);
        await gate.promise;
        return ctx.key;
      });
      const results = await Promise.all(
        Array.from({ length: 1_000 }, (_, i) =>
          supervisor.start({ type: 'sync', key: `account:${i % 10}`, input: i }),
        ),
      );
      const created = results.filter((r) => !r.deduplicated);
      expect(created).toHaveLength(10);
      expect(new Set(results.map((r) => r.job.id)).size).toBe(10);
      for (const [i, result] of results.entries()) {
        expect(result.job.key).toBe(`account:${i % 10}`);
        expect(result.job.id).toBe(results[i % 10]!.job.id);
      }
      expect(supervisor.stats()).toMatchObject({ starts: 1_000, deduplicated: 990, live: 10 });
      expect(supervisor.list()).toHaveLength(10);

      await until(() => executions.length === 10);
      gate.resolve();
      const finished = await Promise.all(created.map((r) => supervisor.waitFor(r.job.id)));
      expect(finished.every((job) => job.status === 'completed')).toBe(true);
      expect(executions).toHaveLength(10);
      expect(new Set(executions).size).toBe(10);
      expect(h.changes.filter((c) => c.kind === 'created')).toHaveLength(10);
    });
  });

  it('cancel racing completion, cancel first: cancelled wins and the late COMPLETE is rejected', async () => {
    await scenario({}, async (h) => {
      const { supervisor } = h;
      const { calls, handler } = controlled();
      supervisor.register('report', handler);
      const { job } = await supervisor.start({ type: 'report' });
      await until(() => calls.length === 1);

      calls[0]!.done.resolve({ rows: 1 }); // the handler returns ...
      const answer = await supervisor.cancel(job.id, 'user asked'); // ... but cancel reaches the job first
      expect(answer.cancelled).toBe(true);
      expect(answer.job).toMatchObject({ status: 'cancelled', result: null });
      expect(calls[0]!.ctx.signal.aborted).toBe(true);

      await until(() => h.rejections.length === 1);
      expect(h.rejections[0]).toMatchObject({
        jobId: job.id,
        event: 'COMPLETE',
        attempt: 1,
        state: 'cancelled',
        reason: 'job_final',
        source: 'handler',
      });
      expect(supervisor.get(job.id)).toEqual(answer.job);
      expect(kindsOf(h, job.id)).toEqual(['created', 'started', 'cancelled']);
      await expect(supervisor.waitFor(job.id)).resolves.toMatchObject({ status: 'cancelled' });
    });
  });

  it('cancel racing completion, completion first: cancel answers cancelled:false, job unchanged', async () => {
    await scenario({}, async (h) => {
      const { supervisor } = h;
      const { calls, handler } = controlled();
      supervisor.register('report', handler);
      const { job } = await supervisor.start({ type: 'report' });
      await until(() => calls.length === 1);

      calls[0]!.done.resolve({ rows: 1 });
      await until(() => supervisor.get(job.id)?.status === 'completed');
      const completed = supervisor.get(job.id)!;
      const changeCount = h.changes.length;
      const answer = await supervisor.cancel(job.id, 'too late');
      expect(answer).toEqual({ job: completed, cancelled: false });
      expect(answer.job).toMatchObject({ status: 'completed', result: { rows: 1 } });
      expect(supervisor.get(job.id)).toEqual(completed);
      expect(h.changes).toHaveLength(changeCount);
      expect(calls[0]!.ctx.signal.aborted).toBe(false);
      expect(kindsOf(h, job.id)).toEqual(['created', 'started', 'completed']);
    });
  });

  it('cancel of a pending job: it leaves the queue, its handler never runs, the next one does', async () => {
    await scenario({ concurrency: 1 }, async (h) => {
      const { supervisor } = h;
      const { calls, handler } = controlled();
      supervisor.register('report', handler);
      const a = (await supervisor.start({ type: 'report', input: 'a' })).job;
      const b = (await supervisor.start({ type: 'report', input: 'b' })).job;
      const c = (await supervisor.start({ type: 'report', input: 'c' })).job;
      await until(() => calls.length === 1);
      expect(supervisor.get(b.id)?.status).toBe('pending');

      const answer = await supervisor.cancel(b.id, 'not needed');
      expect(answer.cancelled).toBe(true);
      expect(answer.job).toMatchObject({ status: 'cancelled', attempt: 0, startedAt: null });
      expect(supervisor.stats().jobs).toMatchObject({ running: 1, pending: 1, cancelled: 1 });

      calls[0]!.done.resolve('a done');
      await until(() => calls.length === 2);
      expect(calls[1]!.ctx.jobId).toBe(c.id);
      calls[1]!.done.resolve('c done');
      await supervisor.waitFor(c.id);
      await settle();
      expect(calls.map((call) => call.ctx.input)).toEqual(['a', 'c']);
      expect(kindsOf(h, b.id)).toEqual(['created', 'cancelled']);
      expect(supervisor.get(a.id)?.status).toBe('completed');
      expect(supervisor.stats().jobs).toMatchObject({ pending: 0, running: 0, completed: 2, cancelled: 1 });
    });
  });

  it('handler still running at shutdown: drained within grace, aborted at the deadline, awaited', async () => {
    await scenario({}, async (h) => {
      const { supervisor, clock } = h;
      const fast = controlled();
      const slow = controlled();
      supervisor.register('fast', fast.handler);
      supervisor.register('slow', slow.handler);
      const fastJob = (await supervisor.start({ type: 'fast' })).job;
      const slowJob = (await supervisor.start({ type: 'slow' })).job;
      await until(() => fast.calls.length === 1 && slow.calls.length === 1);

      let shutdownResolved = false;
      const shutdown = supervisor.shutdown({ graceMs: 1_000 }).then((result) => {
        shutdownResolved = true;
        return result;
      });
      expect(supervisor.lifecycle).toBe('draining');
      expect((await rejectionOf(supervisor.start({ type: 'fast' }))).code).toBe('shutting_down');

      fast.calls[0]!.done.resolve('fast done'); // finishes within grace
      await until(() => supervisor.get(fastJob.id)?.status === 'completed');
      expect(fast.calls[0]!.ctx.signal.aborted).toBe(false);

      clock.increment(999);
      await settle();
      expect(supervisor.get(slowJob.id)?.status).toBe('running');
      expect(slow.calls[0]!.ctx.signal.aborted).toBe(false);
      clock.increment(1); // the deadline
      expect(slow.calls[0]!.ctx.signal.aborted).toBe(true);
      expect(supervisor.get(slowJob.id)).toMatchObject({ status: 'pending', attempt: 1 });
      expect(changesOf(h, slowJob.id).at(-1)?.kind).toBe('interrupted');

      // The slow handler has not settled yet: shutdown must still be waiting for it.
      for (let i = 0; i < 5; i++) await settle();
      expect(shutdownResolved).toBe(false);
      expect(supervisor.stats().handlersInFlight).toBe(1);
      expect((await rejectionOf(supervisor.start({ type: 'fast' }))).code).toBe('shutting_down');

      slow.calls[0]!.done.resolve('too late');
      const result = await shutdown;
      expect(result).toEqual({ interrupted: 1, pending: 1 });
      expect(supervisor.lifecycle).toBe('stopped');
      expect(supervisor.stats().handlersInFlight).toBe(0);
      expect(supervisor.get(slowJob.id)).toMatchObject({ status: 'pending', result: null });
      const after = await rejectionOf(supervisor.start({ type: 'slow' }));
      expect(after.code).toBe('shutting_down');
      expect(after.status).toBe(503);
    });
  });

  it('registry bounded by retention: maxCount keeps only the newest finished jobs', async () => {
    await scenario({ retention: { maxCount: 5, maxAgeMs: 60_000 } }, async (h) => {
      const { supervisor } = h;
      supervisor.register('quick', (ctx) => ctx.input);
      const ids: string[] = [];
      for (let i = 0; i < 25; i++) {
        const { job } = await supervisor.start({ type: 'quick', input: i });
        ids.push(job.id);
        await supervisor.waitFor(job.id);
        expect(supervisor.stats().retained).toBeLessThanOrEqual(5);
      }
      expect(supervisor.stats()).toMatchObject({ retained: 5, live: 0 });
      expect(supervisor.stats().jobs.completed).toBe(5);
      for (const id of ids.slice(0, 20)) expect(supervisor.get(id)).toBeUndefined();
      for (const id of ids.slice(20)) expect(supervisor.get(id)?.status).toBe('completed');
      expect(supervisor.list().map((job) => job.id)).toEqual(ids.slice(20));
      expect((await rejectionOf(supervisor.waitFor(ids[0]!))).code).toBe('job_not_found');
    });
  });

  it('registry bounded by retention: maxAgeMs expires finished jobs as time passes', async () => {
    await scenario({ retention: { maxCount: 100, maxAgeMs: 10_000 } }, async (h) => {
      const { supervisor, clock } = h;
      supervisor.register('quick', (ctx) => ctx.input);
      const old = (await supervisor.start({ type: 'quick', input: 'old' })).job;
      await supervisor.waitFor(old.id);
      clock.increment(5_000);
      const young = (await supervisor.start({ type: 'quick', input: 'young' })).job;
      await supervisor.waitFor(young.id);

      clock.increment(5_000); // old is exactly maxAgeMs old: still kept
      expect(supervisor.get(old.id)?.status).toBe('completed');
      clock.increment(1); // old is past maxAgeMs
      expect(supervisor.get(old.id)).toBeUndefined();
      expect(supervisor.stats().retained).toBe(1);
      expect(supervisor.list().map((job) => job.id)).toEqual([young.id]);
      expect(supervisor.get(young.id)?.status).toBe('completed');

      clock.increment(5_000); // young too
      expect(supervisor.get(young.id)).toBeUndefined();
      expect(supervisor.list()).toEqual([]);
      expect(supervisor.stats()).toMatchObject({ retained: 0, live: 0 });
      expect(supervisor.stats().jobs.completed).toBe(0);
    });
  });

  it('job timeout: an attempt that runs longer than timeoutMs fails with code timeout', async () => {
    await scenario({}, async (h) => {
      const { supervisor, clock } = h;
      const { calls, handler } = controlled();
      supervisor.register('slow', handler, { timeoutMs: 1_000, heartbeatTimeoutMs: 5_000 });
      const { job } = await supervisor.start({ type: 'slow' });
      await until(() => calls.length === 1);
      const { ctx } = calls[0]!;

      clock.increment(500);
      expect(ctx.heartbeat()).toBe(true); // heartbeats do not extend the job timeout
      clock.increment(400);
      expect(ctx.progress(50)).toBe(true);
      clock.increment(99);
      expect(supervisor.get(job.id)?.status).toBe('running');
      clock.increment(1);
      const failed = await supervisor.waitFor(job.id);
      expect(failed).toMatchObject({
        status: 'failed',
        finishedAt: 1_000,
        progress: 50,
        error: { code: 'timeout' },
      });
      expect(ctx.signal.aborted).toBe(true);
      expect(supervisor.stats()).toMatchObject({ timeouts: 1, stalls: 0 });
      expect(ctx.progress(60)).toBe(false);
    });
  });

  it('retries with exponential backoff: 100 ms then 200 ms; retryable:false skips retries', async () => {
    await scenario({}, async (h) => {
      const { supervisor, clock } = h;
      const attempts: [number, number][] = [];
      supervisor.register(
        'flaky',
        (ctx) => {
          attempts.push([ctx.attempt, clock.now()]);
          throw new Error(`attempt ${ctx.attempt} failed`);
        },
        { retries: { max: 2, backoffMs: 100, factor: 2 } },
      );
      const { job } = await supervisor.start({ type: 'flaky' });
      await until(() => supervisor.get(job.id)?.nextRetryAt === 100);
      expect(supervisor.get(job.id)).toMatchObject({
        status: 'pending',
        error: { code: 'handler_error', message: 'attempt 1 failed' },
      });
      clock.increment(99);
      await settle();
      expect(attempts).toHaveLength(1);
      clock.increment(1);
      await until(() => supervisor.get(job.id)?.nextRetryAt === 300);
      clock.increment(199);
      await settle();
      expect(attempts).toHaveLength(2);
      clock.increment(1);
      const failed = await supervisor.waitFor(job.id);
      expect(attempts).toEqual([
        [1, 0],
        [2, 100],
        [3, 300],
      ]);
      expect(failed).toMatchObject({
        status: 'failed',
        attempt: 3,
        finishedAt: 300,
        nextRetryAt: null,
        error: { code: 'handler_error', message: 'attempt 3 failed' },
      });
      expect(kindsOf(h, job.id)).toEqual([
        'created',
        'started',
        'retrying',
        'requeued',
        'started',
        'retrying',
        'requeued',
        'started',
        'failed',
      ]);

      // A JobFailure with retryable:false is final at once.
      let permanentAttempts = 0;
      supervisor.register(
        'permanent',
        () => {
          permanentAttempts++;
          throw new JobFailure('bad_input', 'the month does not exist', { retryable: false });
        },
        { retries: { max: 2, backoffMs: 100, factor: 2 } },
      );
      const permanent = (await supervisor.start({ type: 'permanent' })).job;
      const done = await supervisor.waitFor(permanent.id);
      expect(done).toMatchObject({
        status: 'failed',
        attempt: 1,
        finishedAt: 300,
        error: { code: 'bad_input', message: 'the month does not exist' },
      });
      clock.increment(1_000);
      await settle();
      expect(permanentAttempts).toBe(1);
      expect(kindsOf(h, permanent.id)).toEqual(['created', 'started', 'failed']);
    });
  });
});
