/**
 * ActorTimers (src/supervisor/actor-timers.ts), the scheduler a supervisor gives each job's actor
 * in place of XState's: the same contract, checked on a real job actor and a simulated clock. The
 * property test in job-machine.property.test.ts runs the whole machine on both schedulers.
 */
import { createActor, type AnyActorRef, type InspectionEvent } from 'xstate';
import { describe, expect, it } from 'vitest';
import { jobMachine } from '../machines/job.machine.js';
import { ActorTimers, installActorTimers } from '../src/supervisor/actor-timers.js';
import { harness, until } from './helpers.js';
import { jobInput, nameOf, SteppingClock } from './machine-helpers.js';

const CONFIG = {
  heartbeatTimeoutMs: 1_000,
  timeoutMs: null,
  retry: { maxRetries: 1, backoffMs: 500, factor: 2, maxBackoffMs: 10_000 },
};

function jobActor(inspect?: (event: InspectionEvent) => void) {
  const clock = new SteppingClock();
  const actor = createActor(jobMachine, { clock, input: jobInput(CONFIG), inspect });
  const timers = installActorTimers(actor, clock);
  if (!timers) throw new Error('not installed');
  actor.start();
  return { actor, clock, timers };
}

describe('ActorTimers', () => {
  it('runs the watchdog and the retry backoff on the actor clock', () => {
    const { actor, clock, timers } = jobActor();
    expect(timers.size).toBe(0);
    actor.send({ type: 'START', at: clock.now() });
    expect(timers.size).toBe(1); // the watchdog
    clock.set(999);
    expect(nameOf(actor.getSnapshot().value)).toBe('running');
    clock.set(1_000);
    // Stalled, retried: the backoff's timer replaces the watchdog's.
    expect(nameOf(actor.getSnapshot().value)).toBe('pending.backoff');
    expect(actor.getSnapshot().context.outcome.error?.code).toBe('stalled');
    expect(timers.size).toBe(1);
    clock.set(1_500);
    expect(nameOf(actor.getSnapshot().value)).toBe('pending.queued');
    expect(timers.size).toBe(0);
  });

  it('leaving running cancels the watchdog; stopping the actor cancels every timer', () => {
    const { actor, clock, timers } = jobActor();
    actor.send({ type: 'START', at: clock.now() });
    actor.send({ type: 'COMPLETE', attempt: 1, at: clock.now() });
    expect(timers.size).toBe(0);

    const second = jobActor();
    second.actor.send({ type: 'START', at: second.clock.now() });
    expect(second.timers.size).toBe(1);
    second.actor.stop(); // runs no exit action: XState calls cancelAll
    expect(second.timers.size).toBe(0);
    second.clock.set(10_000);
    expect(nameOf(second.actor.getSnapshot().value)).toBe('running'); // stopped where it was
  });

  it('relays a timer event from its own actor, as XState does (inspection sees the same source)', () => {
    const events: { source: unknown; type: string }[] = [];
    const { actor, clock } = jobActor((event) => {
      if (event.type === '@xstate.event') events.push({ source: event.sourceRef, type: event.event.type });
    });
    actor.send({ type: 'START', at: clock.now() });
    clock.set(1_000);
    const watchdog = events.filter((e) => e.type.startsWith('xstate.after.'));
    expect(watchdog).toHaveLength(1);
    expect(watchdog[0]!.source).toBe(actor);
  });

  it('a timer scheduled again under the same id replaces the first; cancel of an unknown id is a no-op', () => {
    const clock = new SteppingClock();
    const relayed: string[] = [];
    const timers = new ActorTimers(clock, (_source, _target, event) => relayed.push(event.type));
    const self = {} as AnyActorRef;
    timers.schedule(self, self, { type: 'first' }, 100, 'x');
    timers.schedule(self, self, { type: 'second' }, 200, 'x');
    timers.schedule(self, self, { type: 'other' }, 50, 'y');
    timers.cancel(self, 'nothing');
    clock.set(1_000);
    expect(relayed).toEqual(['other', 'second']);
    expect(timers.size).toBe(0);
  });

  it('is not installed on a system without the relay XState schedulers use: the actor keeps its own', () => {
    const scheduler = { schedule() {}, cancel() {}, cancelAll() {} };
    const actor = { system: { scheduler } } as unknown as AnyActorRef;
    expect(installActorTimers(actor, new SteppingClock())).toBeUndefined();
    expect((actor.system as { scheduler: unknown }).scheduler).toBe(scheduler);
  });

  it("a supervisor's job actors run on ActorTimers, and a stalled job fails at its deadline", async () => {
    const h = harness({ heartbeatTimeoutMs: 1_000, retries: { max: 0 } });
    const schedulers = new Set<unknown>();
    h.supervisor.inspect(
      (event) => {
        if (event.type === '@xstate.snapshot')
          schedulers.add((event.actorRef as AnyActorRef).system.scheduler);
      },
      { jobs: 'all', supervisor: false },
    );
    // Reports nothing; ends when its attempt is aborted (the stall).
    h.supervisor.register(
      'silent',
      (ctx) => new Promise<void>((resolve) => ctx.signal.addEventListener('abort', () => resolve())),
    );
    const { job } = await h.supervisor.start({ type: 'silent' });
    await until(() => h.supervisor.get(job.id)?.status === 'running');
    expect([...schedulers].length).toBeGreaterThan(0);
    expect([...schedulers].every((scheduler) => scheduler instanceof ActorTimers)).toBe(true);
    h.clock.increment(999);
    expect(h.supervisor.get(job.id)?.status).toBe('running');
    h.clock.increment(1);
    await until(() => h.supervisor.get(job.id)?.status === 'failed');
    expect(h.supervisor.get(job.id)?.error?.code).toBe('stalled');
    await h.supervisor.shutdown({ graceMs: 0 });
  });
});
