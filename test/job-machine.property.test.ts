/**
 * Property tests of the job machine: random sequences of events (any type, any attempt, any
 * percent, including NaN and Infinity) and clock ticks, applied to a real actor on a
 * SimulatedClock. After every step the contract's invariants are checked, and every event's
 * outcome is compared with the contract's oracle (machine-helpers.ts).
 */
import fc from 'fast-check';
import { describe, expect, it, vi } from 'vitest';
import type { JobEvent, JobEventType } from '../machines/job.types.js';
import {
  contractVerdict,
  createJob,
  eventFor,
  expectApplied,
  expectHandlerMatchesState,
  nameOf,
  isRearm,
  watchdogOf,
  type JobConfig,
  type JobHarness,
  type JobSnapshot,
} from './machine-helpers.js';

type AttemptSpec = 'current' | 'previous' | 'next' | number;
type PercentSpec =
  | { readonly kind: 'delta'; readonly delta: number }
  | { readonly kind: 'abs'; readonly value: number }
  | { readonly kind: 'special'; readonly value: number };

type Op =
  | {
      readonly op: 'event';
      readonly type: JobEventType;
      readonly attempt: AttemptSpec;
      readonly percent: PercentSpec;
      readonly retryable: boolean;
    }
  | { readonly op: 'tick'; readonly ms: number }
  | { readonly op: 'toDeadline' };

const attemptArb: fc.Arbitrary<AttemptSpec> = fc.oneof(
  { weight: 8, arbitrary: fc.constant('current' as const) },
  { weight: 1, arbitrary: fc.constantFrom('previous' as const, 'next' as const) },
  { weight: 1, arbitrary: fc.integer({ min: 0, max: 4 }) },
);

const percentArb: fc.Arbitrary<PercentSpec> = fc.oneof(
  {
    weight: 6,
    arbitrary: fc.integer({ min: -15, max: 35 }).map((delta) => ({ kind: 'delta' as const, delta })),
  },
  {
    weight: 2,
    arbitrary: fc
      .double({ min: -5, max: 105, noNaN: true })
      .map((value) => ({ kind: 'abs' as const, value })),
  },
  {
    weight: 1,
    arbitrary: fc
      .constantFrom(Number.NaN, Infinity, -Infinity, -0, 100, 1e-9)
      .map((value) => ({ kind: 'special' as const, value })),
  },
);

const eventTypeArb = fc.constantFrom<JobEventType>(
  'START',
  'START',
  'PROGRESS',
  'PROGRESS',
  'PROGRESS',
  'HEARTBEAT',
  'HEARTBEAT',
  'COMPLETE',
  'FAIL',
  'FAIL',
  'CANCEL',
  'INTERRUPT',
);

const opArb: fc.Arbitrary<Op> = fc.oneof(
  {
    weight: 6,
    arbitrary: fc.record({
      op: fc.constant('event' as const),
      type: eventTypeArb,
      attempt: attemptArb,
      percent: percentArb,
      retryable: fc.boolean(),
    }),
  },
  {
    weight: 2,
    arbitrary: fc.record({
      op: fc.constant('tick' as const),
      ms: fc.oneof(fc.integer({ min: 0, max: 600 }), fc.integer({ min: 0, max: 6_000 })),
    }),
  },
  { weight: 1, arbitrary: fc.constant({ op: 'toDeadline' as const }) },
);

const configArb: fc.Arbitrary<JobConfig> = fc.record({
  heartbeatTimeoutMs: fc.constantFrom(300, 1_000),
  timeoutMs: fc.constantFrom(null, 700, 3_000),
  retry: fc.record({
    maxRetries: fc.integer({ min: 0, max: 3 }),
    backoffMs: fc.constantFrom(0, 100, 400),
    factor: fc.constantFrom(1, 2, 3),
    maxBackoffMs: fc.constantFrom(250, 10_000),
  }),
});

function materialize(op: Extract<Op, { op: 'event' }>, snapshot: JobSnapshot, at: number): JobEvent {
  const c = snapshot.context;
  const attempt =
    op.attempt === 'current'
      ? c.run.attempt
      : op.attempt === 'previous'
        ? c.run.attempt - 1
        : op.attempt === 'next'
          ? c.run.attempt + 1
          : op.attempt;
  const percent = op.percent.kind === 'delta' ? c.run.progress + op.percent.delta : op.percent.value;
  return eventFor(op.type, c, at, { attempt, percent, retryable: op.retryable });
}

/** Checks every snapshot the actor published since `from` against its predecessor. */
function expectSnapshotChain(job: JobHarness, from: number, previous: JobSnapshot): void {
  let prev = previous;
  for (const next of job.snapshots.slice(from)) {
    const delta = next.context.run.seq - prev.context.run.seq;
    // Invariant 2 at the source: seq moves by 0 (heartbeat) or exactly 1.
    expect([0, 1]).toContain(delta);
    // Invariant 1: nothing follows a final snapshot.
    expect(prev.status).toBe('active');
    expect(next.context.run.attempt).toBeGreaterThanOrEqual(prev.context.run.attempt);
    expect(next.context.outcome.failures).toBeGreaterThanOrEqual(prev.context.outcome.failures);
    // Invariant 3.
    expect(next.context.run.progress).toBeGreaterThanOrEqual(0);
    expect(next.context.run.progress).toBeLessThanOrEqual(100);
    if (next.context.run.attempt === prev.context.run.attempt) {
      expect(next.context.run.progress).toBeGreaterThanOrEqual(prev.context.run.progress);
    }
    prev = next;
  }
}

function runOps(config: JobConfig, ops: readonly Op[], timers: 'xstate' | 'actor'): void {
  const job = createJob(config, { timers });
  const { actor, clock } = job;
  /** When the armed retry timer fires: SimulatedClock arms it relative to the clock's time. */
  let retryFiresAt = Infinity;
  let retryArmedAt = -Infinity;
  const enteredBackoff = (prev: JobSnapshot, next: JobSnapshot, now: number) => {
    if (nameOf(next.value) === 'pending.backoff' && nameOf(prev.value) !== 'pending.backoff') {
      retryFiresAt = now + (next.context.deadlines.retryAt! - next.context.run.at);
      retryArmedAt = now;
    }
  };
  for (const op of ops) {
    const before = actor.getSnapshot();
    const name = nameOf(before.value);
    const published = job.snapshots.length;
    const rejected = job.rejections.length;

    if (op.op === 'event') {
      // Time passes only in tick ops, so that every timer firing is checked there.
      const event = materialize(op, before, clock.now());
      if (before.status === 'done') {
        // Final states are absorbing: the actor ignores the event and nothing is published.
        actor.send(event);
        expect(actor.getSnapshot()).toBe(before);
        expect(job.snapshots).toHaveLength(published);
        expect(job.rejections).toHaveLength(rejected);
        continue;
      }
      const verdict = contractVerdict(name, before.context, event);
      actor.send(event);
      const after = actor.getSnapshot();
      const newRejections = job.rejections.slice(rejected);
      const seqDelta = after.context.run.seq - before.context.run.seq;
      // Invariant 5: changed seq, or an accepted heartbeat, or rejected; never silently dropped.
      const heartbeat =
        event.type === 'HEARTBEAT' &&
        seqDelta === 0 &&
        newRejections.length === 0 &&
        after.context.run.lastHeartbeatAt === event.at;
      const changed = seqDelta === 1 && newRejections.length === 0;
      const wasRejected = seqDelta === 0 && newRejections.length === 1 && newRejections[0]!.event === event;
      expect(changed || heartbeat || wasRejected, `${JSON.stringify(event)} in ${name}`).toBe(true);
      if (verdict.accepted) {
        expect(newRejections, `${JSON.stringify(event)} in ${name}`).toEqual([]);
        expectApplied(before, event, after, config);
      } else {
        expect(
          newRejections.map((r) => [r.reason, r.state]),
          `${JSON.stringify(event)} in ${name}`,
        ).toEqual([[verdict.reason, name]]);
        expect(after.context).toEqual(before.context);
      }
      enteredBackoff(before, after, clock.now());
    } else {
      const target =
        op.op === 'tick'
          ? clock.now() + op.ms
          : name === 'running'
            ? watchdogOf(before.context).at
            : name === 'pending.backoff'
              ? retryFiresAt
              : clock.now();
      const firedAt: number[] = [];
      const sub = actor.subscribe(() => firedAt.push(clock.now()));
      clock.set(Math.max(clock.now(), target));
      sub.unsubscribe();
      // Timers produce changes, never rejections.
      expect(job.rejections).toHaveLength(rejected);
      // Each timer-driven snapshot is what the contract says the timer does, and never early.
      let prev = before;
      for (const [i, next] of job.snapshots.slice(published).entries()) {
        const prevName = nameOf(prev.value);
        if (isRearm(prev, next)) {
          expect(firedAt[i]).toBeGreaterThanOrEqual(prev.context.deadlines.heartbeatAt!);
        } else if (prevName === 'running') {
          expect(firedAt[i]).toBeGreaterThanOrEqual(watchdogOf(prev.context).at);
          expectApplied(prev, { type: 'WATCHDOG' }, next, config);
        } else {
          expect(prevName).toBe('pending.backoff');
          expect(firedAt[i]).toBeGreaterThanOrEqual(prev.context.deadlines.retryAt!);
          expectApplied(prev, { type: 'BACKOFF_ELAPSED' }, next, config);
        }
        enteredBackoff(prev, next, firedAt[i]!);
        prev = next;
      }
      const after = actor.getSnapshot();
      // A timer that was due has fired: a running attempt outlives no deadline.
      if (nameOf(after.value) === 'running')
        expect(watchdogOf(after.context).at).toBeGreaterThan(clock.now());
      if (nameOf(after.value) === 'pending.backoff') {
        // SimulatedClock does not re-flush a 0 ms timer armed by the last timer it fired.
        const zeroDelayArmedNow = retryFiresAt === clock.now() && retryArmedAt === clock.now();
        if (!zeroDelayArmedNow) expect(retryFiresAt).toBeGreaterThan(clock.now());
      }
      if (op.op === 'toDeadline' && name === 'running')
        expect(nameOf(after.value)).not.toBe('running');
      if (op.op === 'toDeadline' && name === 'pending.backoff')
        expect(nameOf(after.value)).toBe('pending.queued');
    }
    expectSnapshotChain(job, published, before);
    expectHandlerMatchesState(job);
  }
  expect(job.errors).toEqual([]);
  job.actor.stop();
}

// `actor`: the timers a supervisor gives its job actors (src/supervisor/actor-timers.ts).
describe.each(['xstate', 'actor'] as const)('job machine under random events and clock ticks (%s timers)', (timers) => {
  it('keeps every invariant and agrees with the contract on every event', () => {
    // Sending events to a finished actor makes XState print a development warning.
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => undefined);
    try {
      fc.assert(
        fc.property(configArb, fc.array(opArb, { minLength: 1, maxLength: 40 }), (config, ops) => {
          runOps(config, ops, timers);
        }),
        { numRuns: 400 },
      );
    } finally {
      warn.mockRestore();
    }
  });

  it('long runs that stay mostly alive (current attempt, forward progress, heartbeats)', () => {
    const aliveOp: fc.Arbitrary<Op> = fc.oneof(
      {
        weight: 8,
        arbitrary: fc.record({
          op: fc.constant('event' as const),
          type: fc.constantFrom<JobEventType>(
            'START',
            'PROGRESS',
            'PROGRESS',
            'HEARTBEAT',
            'HEARTBEAT',
            'FAIL',
            'INTERRUPT',
          ),
          attempt: fc.constant('current' as const),
          percent: fc.integer({ min: -2, max: 12 }).map((delta) => ({ kind: 'delta' as const, delta })),
          retryable: fc.constant(true),
        }),
      },
      {
        weight: 2,
        arbitrary: fc.record({ op: fc.constant('tick' as const), ms: fc.integer({ min: 0, max: 900 }) }),
      },
      { weight: 1, arbitrary: fc.constant({ op: 'toDeadline' as const }) },
    );
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => undefined);
    try {
      fc.assert(
        fc.property(
          configArb.map((c) => ({ ...c, retry: { ...c.retry, maxRetries: 5 } })),
          fc.array(aliveOp, { minLength: 20, maxLength: 120 }),
          (config, ops) => runOps(config, ops, timers),
        ),
        { numRuns: 120 },
      );
    } finally {
      warn.mockRestore();
    }
  });
});

describe('ActorTimers against XState scheduler', () => {
  it('the same events and clock ticks give the same snapshots, rejections and handler moments', () => {
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => undefined);
    try {
      fc.assert(
        fc.property(configArb, fc.array(opArb, { minLength: 1, maxLength: 40 }), (config, ops) => {
          const jobs = [createJob(config), createJob(config, { timers: 'actor' })] as const;
          for (const op of ops) {
            for (const job of jobs) {
              const before = job.actor.getSnapshot();
              if (op.op === 'event') job.actor.send(materialize(op, before, job.clock.now()));
              else if (op.op === 'tick') job.clock.set(job.clock.now() + op.ms);
              else if (nameOf(before.value) === 'running')
                job.clock.set(Math.max(job.clock.now(), watchdogOf(before.context).at));
            }
            const [a, b] = jobs.map((job) => job.actor.getSnapshot());
            expect(b!.value).toEqual(a!.value);
            expect(b!.context).toEqual(a!.context);
            expect(b!.status).toBe(a!.status);
          }
          expect(jobs[1].snapshots.length).toBe(jobs[0].snapshots.length);
          expect(jobs[1].rejections).toEqual(jobs[0].rejections);
          expect(jobs[1].probe).toEqual(jobs[0].probe);
          for (const job of jobs) job.actor.stop();
        }),
        { numRuns: 300 },
      );
    } finally {
      warn.mockRestore();
    }
  });
});
