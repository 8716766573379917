/**
 * The lease machine (machines/lease.machine.ts) against an oracle of its contract, written apart
 * from the machine, over random sequences (fast-check) of renewals — in time, late, failed — clock
 * advances and a leave, on a SimulatedClock: the state, the safe deadline, and how often the node
 * was told to abandon its attempts, to take back its own jobs and to claim. Above all: while the
 * machine says `held`, the node's clock is before its safe deadline.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { createActor, SimulatedClock } from 'xstate';
import { leaseMachine } from '../machines/index.js';

const LEASE = 1_000;
const MARGIN = 200;

type Step =
  | { kind: 'renewed'; age: number; until: number }
  | { kind: 'failed' }
  | { kind: 'advance'; ms: number }
  | { kind: 'leave' };

const step: fc.Arbitrary<Step> = fc.oneof(
  // A renewal sent `age` ms ago: in time when age < lease − margin.
  fc.record({
    kind: fc.constant('renewed' as const),
    age: fc.integer({ min: 0, max: 1_200 }),
    until: fc.nat(),
  }),
  fc.record({ kind: fc.constant('failed' as const) }),
  fc.record({ kind: fc.constant('advance' as const), ms: fc.integer({ min: 0, max: 900 }) }),
  fc.constant({ kind: 'leave' as const }),
);

interface Model {
  state: 'joining' | 'held' | 'lost' | 'left';
  safeUntil: number | null;
  failures: number;
  abandon: number;
  adopt: number;
  claim: number;
}

function run(steps: readonly Step[]): void {
  const clock = new SimulatedClock();
  clock.set(10_000);
  const told = { abandon: 0, adopt: 0, claim: 0 };
  const actor = createActor(
    leaseMachine.provide({
      actions: {
        abandonAttempts: () => void told.abandon++,
        adoptOwn: () => void told.adopt++,
        claimNow: () => void told.claim++,
      },
    }),
    { clock, input: { leaseMs: LEASE, marginMs: MARGIN } },
  );
  actor.start();
  const model: Model = { state: 'joining', safeUntil: null, failures: 0, abandon: 0, adopt: 0, claim: 0 };
  for (const s of steps) {
    const now = clock.now();
    // Once left, the actor is done: nothing reaches it any more (XState would only warn).
    if (model.state === 'left' && s.kind !== 'advance') continue;
    if (s.kind === 'advance') {
      // Time passes: held past its deadline is lost (the timer fires at the deadline).
      const to = now + s.ms;
      if (model.state === 'held' && model.safeUntil! <= to) {
        model.state = 'lost';
        model.abandon++;
      }
      clock.increment(s.ms);
    } else if (s.kind === 'leave') {
      if (model.state !== 'left') model.state = 'left';
      actor.send({ type: 'LEAVE' });
    } else if (s.kind === 'failed') {
      if (model.state !== 'left') model.failures++;
      actor.send({ type: 'RENEW_FAILED', at: now });
    } else {
      const sentAt = now - s.age;
      const safe = sentAt + LEASE - MARGIN;
      if (model.state !== 'left' && safe > now) {
        if (model.state === 'lost') model.adopt++;
        if (model.state !== 'held') model.claim++;
        model.state = 'held';
        model.safeUntil = safe;
        model.failures = 0;
      }
      actor.send({ type: 'RENEWED', sentAt, until: s.until, at: now });
    }
    const snapshot = actor.getSnapshot();
    const state = snapshot.status === 'done' ? 'left' : snapshot.value;
    expect(state).toBe(model.state);
    expect(told).toEqual({ abandon: model.abandon, adopt: model.adopt, claim: model.claim });
    if (model.state !== 'left') {
      expect(snapshot.context.safeUntil).toBe(model.safeUntil);
      expect(snapshot.context.failures).toBe(model.failures);
    }
    if (state === 'held') expect(clock.now()).toBeLessThan(snapshot.context.safeUntil!);
  }
}

describe('the lease machine', () => {
  it('matches its contract over random renewals, failures, pauses and a leave', () => {
    fc.assert(
      fc.property(fc.array(step, { maxLength: 40 }), (steps) => run(steps)),
      { numRuns: 500 },
    );
  });

  it('is lost exactly at the safe deadline of its last renewal, and held again by a renewal in time', () => {
    run([
      { kind: 'renewed', age: 0, until: 1 },
      { kind: 'advance', ms: 799 }, // 1 ms before the deadline (lease 1000 − margin 200)
      { kind: 'advance', ms: 1 }, // at it: lost, attempts abandoned
      { kind: 'renewed', age: 800, until: 2 }, // too late to count
      { kind: 'renewed', age: 0, until: 3 }, // held again: takes its jobs back, claims
      { kind: 'leave' },
      { kind: 'renewed', age: 0, until: 4 },
    ]);
  });
});
