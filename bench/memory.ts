/**
 * Heap bytes per job: heapUsed after a full GC, before and after adding `count` jobs, divided by
 * `count`. Meaningful only with --expose-gc. Live jobs are pending `hold` jobs; retained records
 * are the completed jobs of a jobvisor throughput round (measured there, outside its timing).
 */
import { createPendingActors } from './bare-xstate.js';
import { holdSupervisor, startHolds } from './hold.js';
import { runJobvisorRetaining } from './jobvisor.js';
import { heapUsed } from './util.js';
import type { WorkloadSpec } from './workload.js';

export async function bytesPerLiveJob(count: number): Promise<number> {
  const supervisor = holdSupervisor(1);
  await startHolds(supervisor, 1); // the running job and every lazy structure exist before measuring
  const before = await heapUsed();
  await startHolds(supervisor, count);
  const after = await heapUsed();
  await supervisor.shutdown({ graceMs: 0 });
  return (after - before) / count;
}

/** Reference: started bare job-machine actors, pending (no supervisor, no cell). */
export async function bytesPerBareActor(count: number): Promise<number> {
  const before = await heapUsed();
  const actors = createPendingActors(count);
  const after = await heapUsed();
  for (const actor of actors) actor.stop();
  return (after - before) / count;
}

/**
 * Heap bytes per retained completed record: an untimed jobvisor round of `spec`, weighed after a
 * full GC before it and again before shutdown, while the supervisor holds its N records. Not the
 * timed round: its forced GC before the jobs would start that round on a shrunk heap.
 */
export async function weighRetained(spec: WorkloadSpec): Promise<{ bytesPerRetained: number }> {
  let after = 0;
  const before = await heapUsed();
  await runJobvisorRetaining(spec, async () => {
    after = await heapUsed();
  });
  return { bytesPerRetained: (after - before) / spec.n };
}
