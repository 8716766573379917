/** Variant (a): the workload through jobvisor's public API (weighed in memory.ts). */
import { setImmediate as nextTurn } from 'node:timers/promises';
import { createSupervisor, type HandlerContext, type JobStore, type Supervisor } from '../src/index.js';
import { signal, now } from './util.js';
import { percents, RESULT, type Sample, type WorkloadSpec } from './workload.js';

async function startAll(supervisor: Supervisor, n: number): Promise<void> {
  const starts: Promise<unknown>[] = [];
  for (let i = 0; i < n; i++) starts.push(supervisor.start({ type: 'bench' }));
  await Promise.all(starts);
}

/**
 * Runs the workload; `inspect` (if given) runs after the timed part, before shutdown, while the
 * supervisor still holds every finished job as a retained record. `awaitsIo`: the handler awaits
 * a turn of the event loop before each progress report, as a handler doing I/O does, so a store
 * commits a batch every turn instead of the whole run at once.
 */
export async function runJobvisorRetaining(
  spec: WorkloadSpec,
  inspect?: (supervisor: Supervisor) => Promise<void>,
  options: { store?: JobStore; awaitsIo?: boolean } = {},
): Promise<Sample> {
  const steps = percents(spec.progressSteps);
  const supervisor = createSupervisor({
    concurrency: spec.concurrency,
    retention: { maxCount: spec.n },
    store: options.store,
  });
  const handler = options.awaitsIo
    ? async (ctx: HandlerContext) => {
        for (const percent of steps) {
          await nextTurn();
          ctx.progress(percent);
        }
        return RESULT;
      }
    : async (ctx: HandlerContext) => {
        for (const percent of steps) ctx.progress(percent);
        return RESULT;
      };
  supervisor.register('bench', handler);
  let changes = 0;
  let finished = 0;
  const done = signal();
  supervisor.subscribe((change) => {
    changes++;
    if (change.kind === 'completed' && ++finished === spec.n) done.resolve();
    else if (change.kind === 'failed' || change.kind === 'cancelled')
      throw new Error(`job ${change.jobId} ${change.kind}`);
  });

  await supervisor.ready();
  const t0 = now();
  await startAll(supervisor, spec.n);
  await done.promise;
  // With a store, the run ends when the last change is on disk: shutdown writes what is left.
  if (options.store) await supervisor.shutdown({ graceMs: 0 });
  const ms = now() - t0;

  if (inspect) await inspect(supervisor);
  await supervisor.shutdown({ graceMs: 0 });
  return { ms, jobs: finished, changes };
}
