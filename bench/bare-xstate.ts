/**
 * Variant (c): the job machine alone. Actors of `jobMachine` with its default (no-op)
 * `launchHandler` / `stopHandler` actions, driven directly with the workload's events; no
 * supervisor, no handlers. One snapshot subscriber per actor counts changes. All N actors exist at
 * once (as in the registry), then each runs through. Each actor keeps its timers (the `after`
 * watchdog) in `ActorTimers`, as the supervisor's actors do (src/supervisor/job-cell.ts): XState's
 * default scheduler keys them by a new property name per actor, whose hidden classes and dictionary
 * objects cost the machine about 7 % more CPU per job (the two alternating in one process, 20
 * rounds of this workload, CPU time; README, Performance). And each starts from the copied initial
 * snapshot a fresh job's actor starts from (src/supervisor/fresh-snapshot.ts), not from XState's
 * initial macrostep.
 */
import { createActor, type Actor } from 'xstate';
import { jobMachine } from '../machines/job.machine.js';
import { systemClock } from '../src/common/clock.js';
import { installActorTimers } from '../src/supervisor/actor-timers.js';
import { freshJobLogic } from '../src/supervisor/fresh-snapshot.js';
import type { JobInput } from '../machines/job.types.js';
import { now } from './util.js';
import { percents, RESULT, type Sample, type WorkloadSpec } from './workload.js';

const machine = freshJobLogic(jobMachine);

const RETRY = Object.freeze({ maxRetries: 0, backoffMs: 1_000, factor: 2, maxBackoffMs: 300_000 });

export function bareInput(id: string): JobInput {
  return {
    id,
    type: 'bench',
    key: null,
    input: null,
    retry: RETRY,
    heartbeatTimeoutMs: 30_000,
    timeoutMs: null,
    createdAt: Date.now(),
  };
}

export function createBareActor(id: string): Actor<typeof machine> {
  const actor = createActor(machine, { input: bareInput(id) });
  installActorTimers(actor, systemClock);
  return actor;
}

export const runBareXState = (spec: WorkloadSpec): Promise<Sample> =>
  runActors(spec, (id) => createBareActor(id));

/** What the workload needs of an actor (methods: any machine taking the workload's events fits). */
interface WorkloadActor {
  subscribe(next: (snapshot: { status: string }) => void): unknown;
  start(): WorkloadActor;
  send(event: { type: string; at: number; attempt?: number; percent?: number; result?: unknown }): void;
}

/** The workload's events on actors made by `create`: all N exist at once, then each runs through. */
export async function runActors(spec: WorkloadSpec, create: (id: string) => WorkloadActor): Promise<Sample> {
  const steps = percents(spec.progressSteps);
  let changes = 0;
  let finished = 0;
  const t0 = now();
  const actors: WorkloadActor[] = new Array<WorkloadActor>(spec.n);
  for (let i = 0; i < spec.n; i++) {
    const actor = create(`job-${i}`);
    actor.subscribe((snapshot) => {
      changes++;
      if (snapshot.status === 'done') finished++;
    });
    actors[i] = actor.start();
  }
  for (const actor of actors) {
    actor.send({ type: 'START', at: Date.now() });
    for (const percent of steps) actor.send({ type: 'PROGRESS', attempt: 1, percent, at: Date.now() });
    actor.send({ type: 'COMPLETE', attempt: 1, result: RESULT, at: Date.now() });
  }
  const ms = now() - t0;
  await Promise.resolve();
  return { ms, jobs: finished, changes };
}

/** Started actors that stay pending: the machine's own share of a live job's memory. */
export function createPendingActors(count: number): Actor<typeof machine>[] {
  const actors: Actor<typeof machine>[] = [];
  for (let i = 0; i < count; i++) actors.push(createBareActor(`job-${i}`).start());
  return actors;
}
