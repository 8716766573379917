/**
 * Delivers job changes to subscribers: all changes, one job's, or one type's. Indexed so that a
 * change costs O(matching subscribers), and isolated so that a throwing subscriber never stops
 * delivery to the others.
 */
import type { Unsubscribe } from '../common/emitter.js';
import type { ChangeListener, JobChange, SubscribeFilter } from '../common/types.js';

export type { ChangeListener };

export class Fanout {
  readonly #all = new Set<ChangeListener>();
  readonly #byJob = new Map<string, Set<ChangeListener>>();
  readonly #byType = new Map<string, Set<ChangeListener>>();
  readonly #onError: (error: unknown, jobId: string) => void;

  constructor(onError: (error: unknown, jobId: string) => void) {
    this.#onError = onError;
  }

  subscribe(listener: ChangeListener, filter: SubscribeFilter = {}): Unsubscribe {
    if (filter.jobId !== undefined) return add(this.#byJob, filter.jobId, listener, filter.type);
    if (filter.type !== undefined) return add(this.#byType, filter.type, listener);
    const wrapped = (change: JobChange) => listener(change);
    this.#all.add(wrapped);
    return () => {
      this.#all.delete(wrapped);
    };
  }

  /** Whether any subscriber wants changes of this job: lets the caller skip building them. */
  wants(jobId: string, type: string): boolean {
    return this.#all.size > 0 || this.#byJob.has(jobId) || this.#byType.has(type);
  }

  deliver(change: JobChange): void {
    this.#call(this.#all, change);
    const byJob = this.#byJob.get(change.jobId);
    if (byJob) this.#call(byJob, change);
    const byType = this.#byType.get(change.job.type);
    if (byType) this.#call(byType, change);
  }

  #call(listeners: Set<ChangeListener>, change: JobChange): void {
    for (const listener of listeners) {
      try {
        listener(change);
      } catch (error) {
        this.#onError(error, change.jobId);
      }
    }
  }
}

/** Adds a listener under `key`; a job subscription may also be narrowed by type. */
function add(
  index: Map<string, Set<ChangeListener>>,
  key: string,
  listener: ChangeListener,
  type?: string,
): Unsubscribe {
  const wrapped: ChangeListener =
    type === undefined
      ? (change) => listener(change)
      : (change) => change.job.type === type && listener(change);
  let set = index.get(key);
  if (!set) index.set(key, (set = new Set()));
  set.add(wrapped);
  return () => {
    set.delete(wrapped);
    if (set.size === 0 && index.get(key) === set) index.delete(key);
  };
}
