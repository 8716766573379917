/**
 * A fresh job's actor starts from a copy of one initial snapshot (src/supervisor/fresh-snapshot.ts)
 * instead of XState's initial macrostep: for any fresh input the copy is XState's own initial
 * snapshot, the two actors then take any sequence of events and clock ticks alike, and inspection
 * sees the same events. Restored inputs, and a machine whose initial step acts, take XState's path.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { createActor, setup, type AnyActorRef, type InspectionEvent } from 'xstate';
import { jobMachine, type JobMachine } from '../machines/job.machine.js';
import type { JobEvent, JobInput, RejectedEmit } from '../machines/job.types.js';
import { installActorTimers } from '../src/supervisor/actor-timers.js';
import { freshJobLogic, SNAPSHOT_KEYS } from '../src/supervisor/fresh-snapshot.js';
import { SteppingClock, type JobSnapshot } from './machine-helpers.js';

const inputArb: fc.Arbitrary<JobInput> = fc
  .record({
    id: fc.string({ minLength: 1, maxLength: 40 }),
    type: fc.string({ minLength: 1, maxLength: 20 }),
    key: fc.option(fc.string({ maxLength: 20 }), { nil: null }),
    input: fc.jsonValue({ maxDepth: 3 }),
    retry: fc.record({
      maxRetries: fc.integer({ min: 0, max: 3 }),
      backoffMs: fc.integer({ min: 0, max: 1_000 }),
      factor: fc.integer({ min: 1, max: 3 }),
      maxBackoffMs: fc.integer({ min: 0, max: 5_000 }),
    }),
    heartbeatTimeoutMs: fc.integer({ min: 1, max: 5_000 }),
    timeoutMs: fc.option(fc.integer({ min: 1, max: 10_000 }), { nil: null }),
    createdAt: fc.integer({ min: 0, max: 2_000_000_000_000 }),
    priority: fc.option(fc.integer({ min: -1_000_000, max: 1_000_000 }), { nil: undefined }),
    // A delayed job's time, relative to its creation: past, now, or later (`pending.scheduled`).
    runAtIn: fc.option(fc.integer({ min: -3_000, max: 8_000 }), { nil: undefined }),
  })
  .map(({ runAtIn, ...input }) =>
    runAtIn === undefined ? input : { ...input, runAt: input.createdAt + runAtIn },
  );

/** Everything a snapshot holds that XState or a reader can see, as plain data. */
function plain(snapshot: JobSnapshot) {
  return {
    status: snapshot.status,
    value: snapshot.value,
    context: snapshot.context,
    nodes: snapshot._nodes.map((node) => node.id),
    tags: [...snapshot.tags],
    children: snapshot.children,
    historyValue: snapshot.historyValue,
    output: snapshot.output,
    error: snapshot.error,
    persisted: jobMachine.getPersistedSnapshot(snapshot),
  };
}

interface Run {
  readonly actor: ReturnType<typeof createActor<JobMachine>>;
  readonly clock: SteppingClock;
  readonly rejections: RejectedEmit[];
  readonly inspected: string[];
}

function start(logic: JobMachine, input: JobInput): Run {
  const clock = new SteppingClock();
  clock.set(input.createdAt);
  const inspected: string[] = [];
  const inspect = (event: InspectionEvent) => {
    const named = (event as { event?: { type?: string } }).event?.type;
    inspected.push(`${event.type} ${named ?? ''}`);
  };
  const actor = createActor(logic, { input, clock, inspect });
  installActorTimers(actor as AnyActorRef, clock);
  const rejections: RejectedEmit[] = [];
  actor.on('rejected', (rejection) => rejections.push(rejection));
  actor.start();
  return { actor, clock, rejections, inspected };
}

type Op =
  | {
      readonly op: 'event';
      readonly type: JobEvent['type'];
      readonly attempt: number;
      readonly percent: number;
    }
  | { readonly op: 'tick'; readonly ms: number };

const opArb: fc.Arbitrary<Op> = fc.oneof(
  fc.record({
    op: fc.constant('event' as const),
    type: fc.constantFrom<JobEvent['type']>(
      'START',
      'PROGRESS',
      'PROGRESS',
      'HEARTBEAT',
      'COMPLETE',
      'FAIL',
      'CANCEL',
      'INTERRUPT',
    ),
    attempt: fc.integer({ min: 0, max: 3 }),
    percent: fc.integer({ min: -5, max: 105 }),
  }),
  fc.record({ op: fc.constant('tick' as const), ms: fc.integer({ min: 0, max: 6_000 }) }),
);

function eventOf(op: Extract<Op, { op: 'event' }>, at: number): JobEvent {
  const { attempt } = op;
  switch (op.type) {
    case 'START':
      return { type: 'START', at };
    case 'PROGRESS':
      return { type: 'PROGRESS', attempt, percent: op.percent, at };
    case 'HEARTBEAT':
      return { type: 'HEARTBEAT', attempt, at };
    case 'COMPLETE':
      return { type: 'COMPLETE', attempt, result: { attempt }, at };
    case 'FAIL':
      return { type: 'FAIL', attempt, error: { code: 'boom', message: 'it broke' }, at };
    case 'CANCEL':
      return { type: 'CANCEL', reason: 'no longer needed', at };
    case 'INTERRUPT':
      return { type: 'INTERRUPT', reason: 'shutdown', at };
  }
}

describe('a fresh job starts from a copied initial snapshot', () => {
  it('is XState’s own initial snapshot for any fresh input, with a context of its own', () => {
    const logic = freshJobLogic(jobMachine);
    expect(logic).not.toBe(jobMachine); // the copy is in use: the job machine's initial step does nothing
    fc.assert(
      fc.property(inputArb, (input) => {
        const copied = createActor(logic, { input }).getSnapshot();
        const computed = createActor(jobMachine, { input }).getSnapshot();
        expect(plain(copied)).toEqual(plain(computed));
        expect(copied.machine).toBe(jobMachine);
        const other = createActor(logic, { input }).getSnapshot();
        expect(other.context).not.toBe(copied.context);
        expect(other.children).not.toBe(copied.children);
      }),
      { numRuns: 200 },
    );
  });

  it('then takes any events and clock ticks as XState’s does, and is inspected alike', () => {
    const logic = freshJobLogic(jobMachine);
    fc.assert(
      fc.property(inputArb, fc.array(opArb, { maxLength: 30 }), (input, ops) => {
        const runs = [start(logic, input), start(jobMachine, input)] as const;
        const [copied, computed] = runs;
        for (const op of ops) {
          if (computed.actor.getSnapshot().status !== 'active') break; // a final job takes nothing more
          for (const run of runs) {
            if (op.op === 'tick') run.clock.increment(op.ms);
            else run.actor.send(eventOf(op, run.clock.now()));
          }
          expect(plain(copied.actor.getSnapshot())).toEqual(plain(computed.actor.getSnapshot()));
        }
        expect(copied.rejections).toEqual(computed.rejections);
        expect(copied.inspected).toEqual(computed.inspected);
        for (const run of runs) run.actor.stop();
      }),
      { numRuns: 150 },
    );
  });

  it('writes the copy in the order of XState’s own snapshots (one hidden class for XState’s code to see)', () => {
    // On another XState, a different order only costs speed (the copy is spread instead): update the list.
    const input = fc.sample(inputArb, 1)[0]!;
    expect(Object.keys(createActor(jobMachine, { input }).getSnapshot()).join(',')).toBe(SNAPSHOT_KEYS);
    expect(Object.keys(createActor(freshJobLogic(jobMachine), { input }).getSnapshot()).join(',')).toBe(
      SNAPSHOT_KEYS,
    );
  });

  it('leaves a restored job to XState: an attempt the crash interrupted still fails first', () => {
    const logic = freshJobLogic(jobMachine);
    const input: JobInput = {
      id: 'restored',
      type: 'report',
      key: null,
      input: null,
      retry: { maxRetries: 0, backoffMs: 0, factor: 1, maxBackoffMs: 0 },
      heartbeatTimeoutMs: 1_000,
      timeoutMs: null,
      createdAt: 0,
      restore: { seq: 2, lastChange: 'started', attempt: 1, startedAt: 5, at: 10, resumedFromRunning: true },
    };
    const restored = createActor(logic, { input }).getSnapshot();
    expect(restored.value).toBe('failed');
    expect(restored.context.outcome.error?.code).toBe('interrupted');
    expect(plain(restored)).toEqual(plain(createActor(jobMachine, { input }).getSnapshot()));
  });

  it('is not used for a machine whose initial step acts', () => {
    const entered: string[] = [];
    const acting = setup({ actions: { note: () => entered.push('pending') } }).createMachine({
      id: 'job',
      context: {},
      initial: 'pending',
      states: { pending: { entry: 'note' } },
    }) as unknown as JobMachine;
    expect(freshJobLogic(acting)).toBe(acting);
  });
});
