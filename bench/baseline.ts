/**
 * Variant (b), "the floor": what a careful hand-written tracker does. A plain Map of job records,
 * one promise-chain lock that every mutation goes through, a Node EventEmitter that emits each
 * change (with a copy of the record) to one subscriber, and a semaphore for concurrency 50.
 */
import { randomUUID } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { now, signal } from './util.js';
import { percents, RESULT, type Sample, type WorkloadSpec } from './workload.js';

type Status = 'pending' | 'running' | 'completed' | 'failed';

interface JobRecord {
  readonly id: string;
  status: Status;
  progress: number;
  seq: number;
  createdAt: number;
  startedAt: number | null;
  updatedAt: number;
  finishedAt: number | null;
  result: unknown;
  error: string | null;
}

interface Change {
  readonly jobId: string;
  readonly seq: number;
  readonly kind: string;
  readonly job: Readonly<JobRecord>;
}

interface Ctx {
  progress(percent: number): void;
}

/** A counting semaphore with a FIFO of waiters (head index, so shifting is O(1)). */
class Semaphore {
  #free: number;
  readonly #waiters: (() => void)[] = [];
  #head = 0;

  constructor(slots: number) {
    this.#free = slots;
  }

  acquire(): Promise<void> {
    if (this.#free > 0) {
      this.#free--;
      return Promise.resolve();
    }
    return new Promise((resolve) => this.#waiters.push(resolve));
  }

  release(): void {
    const next = this.#waiters[this.#head];
    if (next) {
      this.#waiters[this.#head++] = undefined as never;
      next();
    } else this.#free++;
  }
}

export class BaselineTracker {
  readonly jobs = new Map<string, JobRecord>();
  readonly events = new EventEmitter();
  readonly #sem: Semaphore;
  #lock: Promise<void> = Promise.resolve();
  lockErrors = 0;

  constructor(concurrency: number) {
    this.#sem = new Semaphore(concurrency);
  }

  /** Every mutation: `lock = lock.then(() => mutate())`. */
  #locked(mutate: () => void): Promise<void> {
    const next = this.#lock.then(mutate);
    this.#lock = next.catch(() => {
      this.lockErrors++;
    });
    return next;
  }

  #emit(job: JobRecord, kind: string): void {
    job.seq++;
    job.updatedAt = Date.now();
    this.events.emit('change', { jobId: job.id, seq: job.seq, kind, job: { ...job } } satisfies Change);
  }

  async start(handler: (ctx: Ctx) => Promise<unknown>): Promise<string> {
    const id = randomUUID();
    await this.#locked(() => {
      const at = Date.now();
      const job: JobRecord = {
        id,
        status: 'pending',
        progress: 0,
        seq: 0,
        createdAt: at,
        startedAt: null,
        updatedAt: at,
        finishedAt: null,
        result: null,
        error: null,
      };
      this.jobs.set(id, job);
      this.#emit(job, 'created');
    });
    void this.#run(id, handler);
    return id;
  }

  async #run(id: string, handler: (ctx: Ctx) => Promise<unknown>): Promise<void> {
    await this.#sem.acquire();
    try {
      await this.#locked(() => {
        const job = this.jobs.get(id);
        if (job?.status !== 'pending') throw new Error(`job ${id} is not pending`);
        job.status = 'running';
        job.startedAt = Date.now();
        this.#emit(job, 'started');
      });
      const ctx: Ctx = {
        progress: (percent) => {
          void this.#locked(() => {
            const job = this.jobs.get(id);
            if (job?.status !== 'running' || percent < job.progress) return;
            job.progress = percent;
            this.#emit(job, 'progress');
          });
        },
      };
      let outcome: { result: unknown } | { error: string };
      try {
        outcome = { result: await handler(ctx) };
      } catch (error) {
        outcome = { error: String(error) };
      }
      await this.#locked(() => {
        const job = this.jobs.get(id);
        if (job?.status !== 'running') return;
        job.finishedAt = Date.now();
        if ('result' in outcome) {
          job.status = 'completed';
          job.progress = 100;
          job.result = outcome.result;
        } else {
          job.status = 'failed';
          job.error = outcome.error;
        }
        this.#emit(job, job.status);
      });
    } finally {
      this.#sem.release();
    }
  }
}

export async function runBaseline(spec: WorkloadSpec): Promise<Sample> {
  const steps = percents(spec.progressSteps);
  const tracker = new BaselineTracker(spec.concurrency);
  const handler = async (ctx: Ctx) => {
    for (const percent of steps) ctx.progress(percent);
    return RESULT;
  };
  let changes = 0;
  let finished = 0;
  const done = signal();
  tracker.events.on('change', (change: Change) => {
    changes++;
    if (change.kind === 'completed' && ++finished === spec.n) done.resolve();
    else if (change.kind === 'failed') throw new Error(`job ${change.jobId} failed`);
  });

  const t0 = now();
  const starts: Promise<string>[] = [];
  for (let i = 0; i < spec.n; i++) starts.push(tracker.start(handler));
  await Promise.all(starts);
  await done.promise;
  const ms = now() - t0;
  if (tracker.lockErrors > 0) throw new Error(`baseline: ${tracker.lockErrors} lock errors`);
  return { ms, jobs: finished, changes };
}
