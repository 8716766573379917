/**
 * A supervisor whose jobs stay put: type `hold` runs one job at a time and its handler only ends
 * when its signal aborts (cancel or shutdown), so every further `hold` job stays pending.
 */
import { createSupervisor, type HandlerContext, type Supervisor } from '../src/index.js';
import { untilAborted } from './util.js';

/** setTimeout's limit: no watchdog fires during the bench. */
const NEVER_MS = 2 ** 31 - 1;

export function holdSupervisor(retainedMax: number): Supervisor {
  const supervisor = createSupervisor({
    concurrency: 1,
    heartbeatTimeoutMs: NEVER_MS,
    retention: { maxCount: Math.max(retainedMax, 1) },
  });
  supervisor.register('hold', (ctx: HandlerContext) => untilAborted(ctx.signal), { concurrency: 1 });
  return supervisor;
}

/** Starts `count` jobs, `chunk` at a time in parallel (a start resolves within its own step). */
export async function startHolds(supervisor: Supervisor, count: number, chunk = 1_000): Promise<string[]> {
  const ids: string[] = [];
  for (let done = 0; done < count;) {
    const size = Math.min(chunk, count - done);
    const starts: Promise<{ job: { id: string } }>[] = [];
    for (let i = 0; i < size; i++) starts.push(supervisor.start({ type: 'hold' }));
    for (const { job } of await Promise.all(starts)) ids.push(job.id);
    done += size;
  }
  return ids;
}

export async function cancelAll(
  supervisor: Supervisor,
  ids: readonly string[],
  chunk = 1_000,
): Promise<void> {
  for (let i = 0; i < ids.length; i += chunk) {
    const results = await Promise.all(ids.slice(i, i + chunk).map((id) => supervisor.cancel(id, 'bench')));
    for (const { job, cancelled } of results)
      if (!cancelled) throw new Error(`job ${job.id} (${job.status}) was not cancelled`);
  }
}

/**
 * Turns every live job into a retained terminal record (cancelled). They are cancelled while
 * queued, oldest (the running one) last, so the scheduler drops their queue entries on the
 * dispatch that follows the last cancel: no stopped job stays referenced by the queue.
 */
export async function retireAll(supervisor: Supervisor, ids: readonly string[]): Promise<void> {
  const running = ids.filter((id) => supervisor.get(id)?.status === 'running');
  const isRunning = new Set(running);
  await cancelAll(
    supervisor,
    ids.filter((id) => !isRunning.has(id)),
  );
  await cancelAll(supervisor, running);
}
