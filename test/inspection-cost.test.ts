/**
 * Inspection costs nothing when off, and leaks nothing when detached, checked on XState itself:
 * `createActor` is wrapped to record the options of every actor jobvisor creates and to count the
 * inspection observers that stay subscribed to each actor's system.
 */
import type { AnyActorLogic, AnyActorRef, Observer, InspectionEvent } from 'xstate';
import { describe, expect, it, vi } from 'vitest';
import { createSupervisor } from '../src/index.js';
import { controlled, harness, until } from './helpers.js';

interface Created {
  readonly actor: AnyActorRef;
  readonly options: Record<string, unknown>;
  /** Inspection observers subscribed to the actor's system now. */
  observers: number;
}

const created = vi.hoisted(() => [] as Created[]);

vi.mock('xstate', async (importOriginal) => {
  const xstate = await importOriginal<typeof import('xstate')>();
  const createActor = (logic: AnyActorLogic, options: Record<string, unknown> = {}) => {
    const actor = xstate.createActor(logic, options);
    const entry: Created = { actor, options, observers: 0 };
    const inspect = actor.system.inspect.bind(actor.system);
    actor.system.inspect = (observer: Observer<InspectionEvent> | ((e: InspectionEvent) => void)) => {
      entry.observers++;
      const subscription = inspect(observer);
      let live = true;
      return {
        unsubscribe() {
          if (live) entry.observers--;
          live = false;
          subscription.unsubscribe();
        },
      };
    };
    created.push(entry);
    return actor;
  };
  return { ...xstate, createActor };
});

const jobActors = () =>
  created.filter(
    (c) => (c.actor as unknown as { logic: { config: { id?: string } } }).logic.config.id === 'job',
  );
const observing = () => created.filter((c) => c.observers > 0).length;

describe('inspection cost', () => {
  it('off: job actors are created without inspect and no system has an inspection observer', async () => {
    created.length = 0;
    const h = harness();
    h.supervisor.register('u', (ctx) => (ctx.progress(50), 'done'));
    const jobs = await Promise.all([1, 2, 3].map(() => h.supervisor.start({ type: 'u' })));
    await Promise.all(jobs.map(({ job }) => h.supervisor.waitFor(job.id)));
    expect(jobActors()).toHaveLength(3);
    for (const { options } of created) expect(Object.keys(options)).not.toContain('inspect');
    expect(observing()).toBe(0);
    expect(h.supervisor.stats().inspectors).toBe(0);
  });

  it('detaching leaves no observer on any system; finished jobs are let go while the tap stays', async () => {
    created.length = 0;
    const h = harness();
    const gate = controlled();
    h.supervisor.register('t', gate.handler);
    h.supervisor.register('u', () => 'done');
    const events: InspectionEvent[] = [];
    const fromOption = createSupervisor({ inspect: { observer: (e) => events.push(e as InspectionEvent) } });
    fromOption.register('u', () => 'done');

    const running = await h.supervisor.start({ type: 't' });
    await until(() => gate.calls.length === 1);
    const stop = h.supervisor.inspect(() => undefined); // a late tap: the running job and the supervisor
    expect(observing()).toBe(3); // both supervisors' systems, the running job's
    const quick = await h.supervisor.start({ type: 'u' }); // created while the tap is attached
    await h.supervisor.waitFor(quick.job.id);
    const optional = await fromOption.start({ type: 'u' });
    await fromOption.waitFor(optional.job.id);
    expect(events.some((e) => e.type === '@xstate.snapshot' && e.snapshot.status === 'done')).toBe(true);
    // The finished jobs were watched, then let go when their actors stopped.
    expect(
      jobActors().every(
        (c) => c.observers === 0 || (c.actor.getSnapshot() as { status: string }).status === 'active',
      ),
    ).toBe(true);
    expect(observing()).toBe(3);

    stop();
    expect(observing()).toBe(1); // fromOption's supervisor: its option tap stays
    gate.calls[0]!.done.resolve(null);
    await h.supervisor.waitFor(running.job.id);
    await fromOption.shutdown();
    expect(observing()).toBe(0);
    expect(h.supervisor.stats().inspectors).toBe(0);
  });
});
