/** Shared test helpers: a fresh supervisor on a simulated clock, deferred promises, change checks. */
import { SimulatedClock } from 'xstate';
import { expect } from 'vitest';
import {
  createSupervisor,
  JobvisorError,
  type HandlerContext,
  type JobChange,
  type Rejection,
  type Supervisor,
  type SupervisorOptions,
} from '../src/index.js';

export interface Harness {
  readonly supervisor: Supervisor;
  readonly clock: SimulatedClock;
  readonly changes: JobChange[];
  readonly rejections: Rejection[];
  readonly errors: unknown[];
}

/** A supervisor on a simulated clock that records every change, rejection and reported error. */
export function harness(options: Omit<SupervisorOptions, 'clock'> = {}): Harness {
  const clock = new SimulatedClock();
  const supervisor = createSupervisor({ ...options, clock });
  const changes: JobChange[] = [];
  const rejections: Rejection[] = [];
  const errors: unknown[] = [];
  supervisor.subscribe((change) => changes.push(change));
  supervisor.on('rejected', (rejection) => rejections.push(rejection));
  supervisor.on('error', (report) => errors.push(report.error));
  return { supervisor, clock, changes, rejections, errors };
}

export interface Deferred<T> {
  readonly promise: Promise<T>;
  resolve(value: T): void;
  reject(error: unknown): void;
}

export function deferred<T = void>(): Deferred<T> {
  let resolve!: (value: T) => void;
  let reject!: (error: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

/** A handler's wait that ends only when its attempt is aborted (rejecting with the signal's reason). */
export function untilAborted(signal: AbortSignal): Promise<never> {
  return new Promise((_resolve, reject) => {
    if (signal.aborted) reject(signal.reason as Error);
    signal.addEventListener('abort', () => reject(signal.reason as Error), { once: true });
  });
}

/** Lets every queued microtask and I/O callback run (no timers involved). */
export function settle(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/** Resolves once `predicate` holds, checking after each turn of the event loop. */
export async function until(predicate: () => boolean, turns = 1_000): Promise<void> {
  for (let i = 0; i < turns; i++) {
    if (predicate()) return;
    await settle();
  }
  throw new Error('condition not reached');
}

/**
 * The change-stream invariants of docs/ARCHITECTURE.md ("The job machine"): per job, `seq` starts at 1 and grows by exactly 1;
 * nothing follows a final change but a `retried` one (a retry by request); progress never decreases
 * within an attempt; offsets are gap-free.
 */
export function expectValidChangeStream(changes: readonly JobChange[]): void {
  const last = new Map<string, JobChange>();
  let offset: number | undefined;
  for (const change of changes) {
    if (offset !== undefined) expect(change.offset).toBe(offset + 1);
    offset = change.offset;
    const previous = last.get(change.jobId);
    expect(change.seq).toBe(previous ? previous.seq + 1 : 1);
    expect(change.job.seq).toBe(change.seq);
    expect(change.job.progress).toBeGreaterThanOrEqual(0);
    expect(change.job.progress).toBeLessThanOrEqual(100);
    if (previous) {
      const final = ['completed', 'failed', 'cancelled'].includes(previous.job.status);
      // Only a failed or cancelled job is retried, and a retry is its only change after the end.
      if (final)
        expect([previous.job.status, change.kind]).toEqual([
          expect.stringMatching(/^(failed|cancelled)$/),
          'retried',
        ]);
      if (change.kind === 'retried') expect(previous.job.status).toMatch(/^(failed|cancelled)$/);
      if (previous.job.attempt === change.job.attempt && change.kind === 'progress') {
        expect(change.job.progress).toBeGreaterThanOrEqual(previous.job.progress);
      }
    }
    last.set(change.jobId, change);
  }
}

export interface Call {
  readonly ctx: HandlerContext;
  readonly done: Deferred<unknown>;
}

/** A handler the test drives: each execution waits until the test resolves or rejects it. */
export function controlled(): { calls: Call[]; handler: (ctx: HandlerContext) => Promise<unknown> } {
  const calls: Call[] = [];
  return {
    calls,
    handler: (ctx) => {
      const done = deferred<unknown>();
      calls.push({ ctx, done });
      return done.promise;
    },
  };
}

/**
 * The coded error a promise rejects with (fails the test if it resolves or rejects with something
 * else): a JobvisorError, or an instance of `type` when given (the client SDK's error class).
 */
export async function rejectionOf(promise: Promise<unknown>): Promise<JobvisorError>;
export async function rejectionOf<E>(
  promise: Promise<unknown>,
  type: new (...args: never[]) => E,
): Promise<E>;
export async function rejectionOf(
  promise: Promise<unknown>,
  type: new (...args: never[]) => unknown = JobvisorError,
): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    expect(error).toBeInstanceOf(type);
    return error;
  }
  throw new Error(`expected the promise to reject with a ${type.name}`);
}

/** The coded error a call throws (fails the test if it returns or throws something else). */
export function thrownBy(fn: () => unknown): JobvisorError {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(JobvisorError);
    return error as JobvisorError;
  }
  throw new Error('expected a JobvisorError to be thrown');
}

/** Credits that handlers wait for, so the test decides when each step happens. */
export class Gate {
  #credits = 0;
  readonly #waiters: (() => void)[] = [];
  wait(): Promise<void> {
    if (this.#credits > 0) {
      this.#credits--;
      return Promise.resolve();
    }
    return new Promise((resolve) => this.#waiters.push(resolve));
  }
  release(n = 1): void {
    for (let i = 0; i < n; i++) {
      const next = this.#waiters.shift();
      if (next) next();
      else this.#credits++;
    }
  }
}
