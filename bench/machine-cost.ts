/**
 * What the job machine costs per step against a minimal XState machine taking the same events
 * (pending → running → completed, one counter assigned per event, no guards, timers or children):
 * µs per actor creation + start, per START, per PROGRESS and per COMPLETE, each step timed over
 * N actors at once. Both run on a no-op handler; nothing is durable. The job machine runs on the
 * supervisor's actor timers, as jobvisor runs it (bench/bare-xstate.ts). `tsx bench/machine-cost.ts`.
 */
import { assign, createActor, setup, type AnyActorRef } from 'xstate';
import { createBareActor } from './bare-xstate.js';
import { now } from './util.js';

type Step = 'create' | 'START' | 'PROGRESS' | 'COMPLETE';
export type StepCosts = Record<Step, number> & { perJob: number };

export const minimalMachine = setup({
  types: {
    context: {} as { seq: number; progress: number },
    events: {} as
      | { type: 'START'; at: number }
      | { type: 'PROGRESS'; attempt: number; percent: number; at: number }
      | { type: 'COMPLETE'; attempt: number; result: unknown; at: number },
  },
}).createMachine({
  context: { seq: 1, progress: 0 },
  initial: 'pending',
  states: {
    pending: {
      on: { START: { target: 'running', actions: assign({ seq: ({ context }) => context.seq + 1 }) } },
    },
    running: {
      on: {
        PROGRESS: {
          actions: assign(({ context, event }) => ({ seq: context.seq + 1, progress: event.percent })),
        },
        COMPLETE: { target: 'completed', actions: assign({ seq: ({ context }) => context.seq + 1 }) },
      },
    },
    completed: { type: 'final' },
  },
});

function measure(create: (i: number) => AnyActorRef, n: number, steps: number): StepCosts {
  const actors: AnyActorRef[] = new Array<AnyActorRef>(n);
  let t = now();
  for (let i = 0; i < n; i++) {
    const actor = create(i);
    actor.subscribe(() => undefined);
    actors[i] = actor;
    actor.start();
  }
  const create_ = ((now() - t) * 1_000) / n;
  t = now();
  for (const actor of actors) actor.send({ type: 'START', at: Date.now() });
  const start = ((now() - t) * 1_000) / n;
  t = now();
  for (let s = 1; s <= steps; s++) {
    const percent = Math.round((s * 100) / steps);
    for (const actor of actors) actor.send({ type: 'PROGRESS', attempt: 1, percent, at: Date.now() });
  }
  const progress = ((now() - t) * 1_000) / (n * steps);
  t = now();
  for (const actor of actors) actor.send({ type: 'COMPLETE', attempt: 1, result: null, at: Date.now() });
  const complete = ((now() - t) * 1_000) / n;
  for (const actor of actors) actor.stop();
  return {
    create: create_,
    START: start,
    PROGRESS: progress,
    COMPLETE: complete,
    perJob: create_ + start + steps * progress + complete,
  };
}

export function measureMachineCost(n: number, steps: number): { job: StepCosts; minimal: StepCosts } {
  return {
    job: measure((i) => createBareActor(`job-${i}`), n, steps),
    minimal: measure(() => createActor(minimalMachine), n, steps),
  };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const n = Number(process.env.BENCH_N ?? 3_000);
  measureMachineCost(1_000, 10); // warm-up
  for (let round = 0; round < 3; round++) {
    const { job, minimal } = measureMachineCost(n, 10);
    const row = (c: StepCosts) =>
      `create ${c.create.toFixed(1)}  START ${c.START.toFixed(1)}  PROGRESS ${c.PROGRESS.toFixed(1)}  COMPLETE ${c.COMPLETE.toFixed(1)}  per job ${c.perJob.toFixed(1)} µs`;
    console.log(`job machine: ${row(job)}`);
    console.log(`minimal:     ${row(minimal)}   ratio ${(job.perJob / minimal.perJob).toFixed(2)}×`);
  }
}
