/**
 * The job registry, the engine's side: live jobs (with an actor) by id, the dedup keys of pending
 * and running jobs, and the keys of recently completed jobs for the idempotency window. It runs
 * ahead of the store; what readers see is `JobViews` (views.ts), which holds only durable changes.
 * Every operation is O(1): the cost of a start does not grow with the number of jobs.
 */
import type { JobCell } from './job-cell.js';
import type { JobView } from '../common/types.js';

export interface RetentionPolicy {
  readonly maxAgeMs: number;
  readonly maxCount: number;
}

interface Recent {
  readonly view: JobView;
  readonly until: number;
}

export class Registry {
  readonly #live = new Map<string, JobCell>();
  readonly #keys = new Map<string, JobCell>();
  /** Keys of recently completed jobs, for the idempotency window. */
  readonly #recentKeys = new Map<string, Recent>();

  get liveCount(): number {
    return this.#live.size;
  }

  add(cell: JobCell): void {
    this.#live.set(cell.id, cell);
    if (cell.key !== null) this.#keys.set(cell.key, cell);
  }

  /** The pending or running job that holds `key`. */
  holder(key: string): JobCell | undefined {
    return this.#keys.get(key);
  }

  /** A job with `key` that completed within its idempotency window. */
  recent(key: string, now: number): JobView | undefined {
    const entry = this.#recentKeys.get(key);
    if (!entry) return undefined;
    if (now < entry.until) return entry.view;
    this.#recentKeys.delete(key);
    return undefined;
  }

  live(id: string): JobCell | undefined {
    return this.#live.get(id);
  }

  *liveCells(): IterableIterator<JobCell> {
    yield* this.#live.values();
  }

  /** A job finished: its actor leaves the registry and frees its key. */
  settle(cell: JobCell, idempotencyMs: number, now: number): void {
    this.#live.delete(cell.id);
    if (cell.key !== null && this.#keys.get(cell.key) === cell) this.#keys.delete(cell.key);
    const view = cell.view;
    if (cell.key !== null && view.status === 'completed' && idempotencyMs > 0) {
      this.#recentKeys.delete(cell.key);
      this.#recentKeys.set(cell.key, { view, until: now + idempotencyMs });
    }
  }

  /**
   * The job left this node without finishing (a shared store: another node may run it now): its
   * actor goes, its key is no longer held here, and it leaves no idempotency record.
   */
  drop(cell: JobCell): void {
    if (this.#live.get(cell.id) !== cell) return;
    this.#live.delete(cell.id);
    if (cell.key !== null && this.#keys.get(cell.key) === cell) this.#keys.delete(cell.key);
  }

  /** A job completed before a restart, whose idempotency window is still open. */
  restoreRecent(view: JobView, until: number): void {
    if (
      view.key !== null &&
      view.status === 'completed' &&
      view.finishedAt !== null &&
      until > view.finishedAt
    ) {
      this.#recentKeys.set(view.key, { view, until });
    }
  }

  /** Retention removed the job: its key no longer deduplicates. */
  forget(view: JobView): void {
    if (view.key !== null && this.#recentKeys.get(view.key)?.view.id === view.id) {
      this.#recentKeys.delete(view.key);
    }
  }
}
