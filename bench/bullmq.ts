/**
 * The BullMQ peer: the workload of bench/jobvisor.ts through BullMQ 5 on a Redis that
 * bench/redis-server.ts started for the bench (never the shared one on :6379).
 *
 * What it measures: spec.n jobs added at once (one `queue.add` each, all awaited together, as
 * jobvisor's startAll does n separate `start`s; addBulk would be one round trip for all of them,
 * which is not what n independent callers get); one Worker with `concurrency: spec.concurrency`
 * whose processor awaits `job.updateProgress(percent)` for each of percents(steps) and returns
 * RESULT; one subscriber, a QueueEvents, counting added (created) + active (started) +
 * progress × steps + completed per job. The time runs from just before the first add until the
 * subscriber has seen the last `completed`, so it includes Redis's round trips and the events
 * stream's delivery, as jobvisor's includes its subscriber's delivery.
 *
 * What is durable when the clock stops: with a 'memory' Redis nothing is on disk (a Redis crash
 * loses every job); with 'aof-always' every write that Redis answered (each add, move to active,
 * progress, completion, event) was fsynced to its AOF before the reply.
 *
 * Settings, as a BullMQ user keeps them by default: default job options (removeOnComplete and
 * removeOnFail false, so every completed job stays in Redis with its return value, as jobvisor
 * retains finished records; attempts 1), Worker defaults other than `concurrency` (lockDuration
 * 30 s, stalledInterval 30 s, drainDelay 5 s, autorun). Each of Queue, Worker, QueueEvents is
 * given connection options and opens its own ioredis connections (the Worker two: a blocking one
 * and a normal one), all with `maxRetriesPerRequest: null` as BullMQ requires for a Worker.
 *
 * The one setting that is not a default: the events stream's maxLen (default ~10 000 entries) is
 * raised to hold a whole run (n × (steps + 5) entries, with room), because BullMQ trims that
 * stream as it writes and a QueueEvents that falls more than maxLen behind loses events without
 * notice; a count of the changes would then be wrong. Raising it changes the stream's memory,
 * not the number of writes or fsyncs. The QueueEvents is ready and reads from the start of the
 * stream (`lastEventId: '0-0'`) before the first add, so it cannot miss the first events either;
 * each run has its own queue name and key prefix, so the stream holds only this run's events.
 *
 * Clean-up: the worker, the QueueEvents, the queue are closed and the queue obliterated (every
 * key of the run deleted), on success and on failure.
 */
import { randomBytes } from 'node:crypto';
import { Queue, QueueEvents, Worker, type Job } from 'bullmq';
import { now, signal } from './util.js';
import { percents, RESULT, type Sample, type WorkloadSpec } from './workload.js';

/** Fails a run when the subscriber has seen no event for this long (instead of hanging). */
const STALL_MS = 60_000;

export async function runBullmq(
  spec: WorkloadSpec,
  connection: { host: string; port: number },
): Promise<Sample> {
  if (connection.port === 6379) throw new Error('bullmq bench: refusing port 6379 (the shared Redis)');
  const steps = percents(spec.progressSteps);
  const id = randomBytes(6).toString('hex');
  const name = `bench-${id}`;
  const prefix = `jvbench-${id}`;
  const redis = { host: connection.host, port: connection.port, maxRetriesPerRequest: null };
  // Per job: added, waiting, active, progress × steps, completed, plus a few drained: ×2 is ample.
  const maxLen = Math.max(10_000, spec.n * (spec.progressSteps + 5) * 2);

  const queueEvents = new QueueEvents(name, { connection: redis, prefix, lastEventId: '0-0' });
  const queue = new Queue<object, typeof RESULT>(name, {
    connection: redis,
    prefix,
    streams: { events: { maxLen } },
  });
  let worker: Worker<object, typeof RESULT> | null = null;

  let changes = 0;
  let finished = 0;
  let lastEventAt = now();
  const failures: Error[] = [];
  const done = signal();
  const fail = (error: Error) => {
    failures.push(error);
    done.resolve();
  };
  const count = () => {
    changes++;
    lastEventAt = now();
  };
  queueEvents.on('added', count);
  queueEvents.on('active', count);
  queueEvents.on('progress', count);
  queueEvents.on('completed', () => {
    count();
    if (++finished === spec.n) done.resolve();
  });
  queueEvents.on('failed', ({ jobId, failedReason }) =>
    fail(new Error(`job ${jobId} failed: ${failedReason}`)),
  );
  queueEvents.on('error', fail);
  queue.on('error', fail);
  const stall = setInterval(() => {
    if (now() - lastEventAt > STALL_MS)
      fail(
        new Error(`bullmq: no event for ${STALL_MS / 1_000} s (${finished} completed, ${changes} changes)`),
      );
  }, 1_000);

  try {
    await Promise.all([queueEvents.waitUntilReady(), queue.waitUntilReady()]);
    worker = new Worker<object, typeof RESULT>(
      name,
      async (job: Job<object, typeof RESULT>) => {
        for (const percent of steps) await job.updateProgress(percent);
        return RESULT;
      },
      { connection: redis, prefix, concurrency: spec.concurrency },
    );
    worker.on('error', fail);
    await worker.waitUntilReady();

    lastEventAt = now();
    const t0 = now();
    const adds: Promise<unknown>[] = [];
    for (let i = 0; i < spec.n; i++) adds.push(queue.add('bench', {}));
    await Promise.all(adds);
    await done.promise;
    const ms = now() - t0;
    if (failures[0]) throw failures[0];
    return { ms, jobs: finished, changes };
  } finally {
    clearInterval(stall);
    await worker?.close();
    await queueEvents.close();
    await queue.obliterate({ force: true });
    await queue.close();
  }
}
