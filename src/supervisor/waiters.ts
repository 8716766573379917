/** Callers of `waitFor`, resolved when their job reaches a final state; timeouts use the injected clock. */
import type { Clock } from '../common/clock.js';
import { JobvisorError } from '../common/errors.js';
import { parseOrThrow } from '../common/validation.js';
import { waitOptionsSchema } from './options.js';
import type { JobView } from '../common/types.js';

type Waiter = (view: JobView) => void;

export class JobWaiters {
  readonly #byJob = new Map<string, Set<Waiter>>();
  readonly #clock: Clock;

  constructor(clock: Clock) {
    this.#clock = clock;
  }

  wait(jobId: string, options: { timeoutMs?: number; signal?: AbortSignal }): Promise<JobView> {
    const { timeoutMs, signal } = parseOrThrow(
      waitOptionsSchema,
      options,
      'invalid_options',
      'Invalid waitFor options',
    );
    if (signal?.aborted) return Promise.reject(new JobvisorError('wait_aborted'));
    return new Promise<JobView>((resolve, reject) => {
      let set = this.#byJob.get(jobId);
      if (!set) this.#byJob.set(jobId, (set = new Set()));
      const waiters = set;
      const cleanup = () => {
        waiters.delete(waiter);
        if (waiters.size === 0 && this.#byJob.get(jobId) === waiters) this.#byJob.delete(jobId);
        if (timer !== undefined) this.#clock.clearTimeout(timer);
        signal?.removeEventListener('abort', onAbort);
      };
      const waiter: Waiter = (view) => {
        cleanup();
        resolve(view);
      };
      const onAbort = () => {
        cleanup();
        reject(new JobvisorError('wait_aborted', `Waiting for job ${jobId} was aborted`));
      };
      const timer =
        timeoutMs === undefined
          ? undefined
          : this.#clock.setTimeout(() => {
              cleanup();
              reject(new JobvisorError('wait_timeout', `Job ${jobId} did not finish within ${timeoutMs} ms`));
            }, timeoutMs);
      signal?.addEventListener('abort', onAbort, { once: true });
      waiters.add(waiter);
    });
  }

  resolve(jobId: string, view: JobView): void {
    const set = this.#byJob.get(jobId);
    if (!set) return;
    for (const waiter of [...set]) waiter(view);
  }
}
