/**
 * Answers that are right under re-entry: whether an event was applied is the answer of the call
 * that sent it, also when the call comes from a subscriber, a `rejected` listener or an inspection
 * observer reacting to a step of the same job (docs/ARCHITECTURE.md, "Steps of a job's actor").
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { HandlerContext, JobChange } from '../src/index.js';
import { controlled, harness, until } from './helpers.js';

describe('a call made while the same job is telling a change', () => {
  it('a subscriber that reports progress going backwards is told false (progress_backwards)', async () => {
    const h = harness();
    const { calls, handler } = controlled();
    h.supervisor.register('work', handler);
    const { job } = await h.supervisor.start({ type: 'work' });
    await until(() => calls.length === 1);
    const ctx = calls[0]!.ctx;
    const answers: boolean[] = [];
    h.supervisor.subscribe(
      (change) => {
        if (change.kind === 'progress' && change.job.progress === 50) answers.push(ctx.progress(10));
      },
      { jobId: job.id },
    );
    expect(ctx.progress(50)).toBe(true);
    expect(answers).toEqual([false]);
    expect(h.rejections.map((r) => r.reason)).toEqual(['progress_backwards']);
    expect(h.supervisor.get(job.id)?.progress).toBe(50);
  });

  it('a rejected listener that sends again is told the truth, and a forward report is applied', async () => {
    const h = harness();
    const { calls, handler } = controlled();
    h.supervisor.register('work', handler);
    const { job } = await h.supervisor.start({ type: 'work' });
    await until(() => calls.length === 1);
    const ctx = calls[0]!.ctx;
    expect(ctx.progress(40)).toBe(true);
    const answers: boolean[] = [];
    const off = h.supervisor.on('rejected', () => {
      off();
      answers.push(ctx.progress(20), ctx.progress(70));
    });
    expect(ctx.progress(30)).toBe(false);
    expect(answers).toEqual([false, true]);
    expect(h.supervisor.get(job.id)?.progress).toBe(70);
  });

  it('an inspection observer inside the step is answered from the state the job will be in', async () => {
    const h = harness();
    const { calls, handler } = controlled();
    h.supervisor.register('work', handler);
    const { job } = await h.supervisor.start({ type: 'work' });
    await until(() => calls.length === 1);
    const ctx = calls[0]!.ctx;
    const answers: boolean[] = [];
    let once = false;
    h.supervisor.inspect(
      (event) => {
        const snapshot = (event as { snapshot?: { context?: { run?: { progress?: number } } } }).snapshot;
        if (event.type !== '@xstate.snapshot' || snapshot?.context?.run?.progress !== 50 || once) return;
        once = true;
        answers.push(ctx.progress(10), ctx.progress(60), ctx.progress(55), ctx.heartbeat());
      },
      { jobs: 'all', supervisor: false },
    );
    expect(ctx.progress(50)).toBe(true);
    expect(answers).toEqual([false, true, false, true]);
    expect(h.supervisor.get(job.id)?.progress).toBe(60);
    expect(h.rejections.map((r) => r.reason)).toEqual(['progress_backwards', 'progress_backwards']);
  });
});

type Reaction = 'none' | 'forward' | 'backward' | 'heartbeat' | 'out_of_range';
type Listener = 'subscriber' | 'rejected' | 'inspector';

describe('sends from inside listeners, at random', () => {
  it('every answer says exactly whether the job applied the event', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.integer({ min: -5, max: 105 }), { minLength: 1, maxLength: 12 }),
        fc.array(fc.constantFrom<Reaction>('none', 'forward', 'backward', 'heartbeat', 'out_of_range'), {
          minLength: 1,
          maxLength: 12,
        }),
        fc.constantFrom<Listener>('subscriber', 'rejected', 'inspector'),
        async (percents, reactions, where) => {
          const h = harness();
          const { calls, handler } = controlled();
          h.supervisor.register('work', handler);
          const { job } = await h.supervisor.start({ type: 'work' });
          await until(() => calls.length === 1);
          const ctx: HandlerContext = calls[0]!.ctx;
          /** Every progress report and its answer, in the order they were made. */
          const sent: { percent: number; accepted: boolean }[] = [];
          let reacting = 0;
          /** Set once the checks are done: the listeners stop reacting (shutdown interrupts the job). */
          let checked = false;
          const react = () => {
            if (checked) return;
            const reaction = reactions[reacting++ % reactions.length]!;
            if (reacting > 40) return; // a listener that reacts to its own reactions must end
            const current = sent.filter((s) => s.accepted).at(-1)?.percent ?? 0;
            if (reaction === 'heartbeat') {
              expect(ctx.heartbeat()).toBe(true); // a heartbeat of the running attempt is always applied
              return;
            }
            const percent =
              reaction === 'forward'
                ? Math.min(100, current + 1)
                : reaction === 'backward'
                  ? current - 1
                  : reaction === 'out_of_range'
                    ? 101
                    : undefined;
            if (percent === undefined) return;
            const entry = { percent, accepted: false }; // in the order the reports are made
            sent.push(entry);
            entry.accepted = ctx.progress(percent);
          };
          if (where === 'subscriber') h.supervisor.subscribe(react, { jobId: job.id });
          if (where === 'rejected') h.supervisor.on('rejected', react);
          if (where === 'inspector') {
            h.supervisor.inspect((event) => event.type === '@xstate.snapshot' && react(), {
              jobs: 'all',
              supervisor: false,
            });
          }
          for (const percent of percents) {
            const entry = { percent, accepted: false };
            sent.push(entry);
            entry.accepted = ctx.progress(percent);
          }
          const progress: JobChange[] = h.changes.filter((c) => c.jobId === job.id && c.kind === 'progress');
          // What was told applied is exactly what changed, in order; every refusal was reported.
          expect(progress.map((c) => c.job.progress)).toEqual(
            sent.filter((s) => s.accepted).map((s) => s.percent),
          );
          expect(h.rejections).toHaveLength(sent.filter((s) => !s.accepted).length);
          // And each answer agrees with the contract: forward within 0..100.
          let last = 0;
          for (const { percent, accepted } of sent) {
            const valid = percent >= last && percent >= 0 && percent <= 100;
            expect(accepted).toBe(valid);
            if (accepted) last = percent;
          }
          // A listener's own expectation (a heartbeat applied) that failed would only have been logged.
          expect(h.errors).toEqual([]);
          expect(h.supervisor.stats().subscriberErrors).toBe(0);
          checked = true;
          calls[0]!.done.resolve('ok');
          await h.supervisor.shutdown({ graceMs: 0 });
        },
      ),
      { numRuns: 150 },
    );
  });
});
