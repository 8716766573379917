/**
 * The job registry: live jobs (with an actor) by id, dedup keys of pending and running jobs,
 * and compact records of finished jobs under retention. Every operation is O(1) (retention is
 * O(records it removes)): the cost of a start does not grow with the number of jobs.
 */
import type { JobStatus } from '../machines/job.types.js';
import { Deque } from './deque.js';
import type { JobCell } from './job-cell.js';
import type { JobView } from './types.js';

export interface RetentionPolicy {
  readonly maxAgeMs: number;
  readonly maxCount: number;
}

export class Registry {
  readonly #live = new Map<string, JobCell>();
  readonly #keys = new Map<string, JobCell>();
  /** Finished jobs in the order they finished, so the oldest are first. */
  readonly #retained = new Map<string, JobView>();
  /** The same records in finish order: pruning takes from its head in O(records removed). */
  readonly #finishOrder = new Deque<JobView>();
  /** Keys of recently completed jobs, for the idempotency window. */
  readonly #recentKeys = new Map<string, { readonly id: string; readonly until: number }>();
  readonly #counts: Record<JobStatus, number> = {
    pending: 0,
    running: 0,
    completed: 0,
    failed: 0,
    cancelled: 0,
  };

  get liveCount(): number {
    return this.#live.size;
  }

  get retainedCount(): number {
    return this.#retained.size;
  }

  get counts(): Readonly<Record<JobStatus, number>> {
    return { ...this.#counts };
  }

  add(cell: JobCell): void {
    this.#live.set(cell.id, cell);
    if (cell.key !== null) this.#keys.set(cell.key, cell);
    this.#counts[cell.status]++;
  }

  /** The pending or running job that holds `key`. */
  holder(key: string): JobCell | undefined {
    return this.#keys.get(key);
  }

  /** A job with `key` that completed within its idempotency window. */
  recent(key: string, now: number): JobView | undefined {
    const entry = this.#recentKeys.get(key);
    if (!entry) return undefined;
    const view = this.#retained.get(entry.id);
    if (view && now < entry.until) return view;
    this.#recentKeys.delete(key);
    return undefined;
  }

  live(id: string): JobCell | undefined {
    return this.#live.get(id);
  }

  view(id: string): JobView | undefined {
    return this.#live.get(id)?.view ?? this.#retained.get(id);
  }

  *liveCells(): IterableIterator<JobCell> {
    yield* this.#live.values();
  }

  *views(): IterableIterator<JobView> {
    for (const cell of this.#live.values()) yield cell.view;
    yield* this.#retained.values();
  }

  statusChanged(from: JobStatus, to: JobStatus): void {
    this.#counts[from]--;
    this.#counts[to]++;
  }

  /** A job finished: its actor leaves the registry, its record is kept under retention. */
  settle(cell: JobCell, idempotencyMs: number, now: number): void {
    this.#live.delete(cell.id);
    if (cell.key !== null && this.#keys.get(cell.key) === cell) this.#keys.delete(cell.key);
    const view = cell.view;
    this.#retained.set(cell.id, view);
    this.#finishOrder.push(view);
    if (cell.key !== null && view.status === 'completed' && idempotencyMs > 0) {
      this.#recentKeys.delete(cell.key);
      this.#recentKeys.set(cell.key, { id: cell.id, until: now + idempotencyMs });
    }
  }

  /** A finished job loaded from the store at recovery. */
  restoreFinished(view: JobView, idempotencyUntil: number): void {
    this.#retained.set(view.id, view);
    this.#finishOrder.push(view);
    this.#counts[view.status]++;
    if (
      view.key !== null &&
      view.status === 'completed' &&
      view.finishedAt !== null &&
      idempotencyUntil > view.finishedAt
    ) {
      this.#recentKeys.set(view.key, { id: view.id, until: idempotencyUntil });
    }
  }

  /** Drops the oldest finished records beyond `maxCount` or older than `maxAgeMs`. */
  prune(policy: RetentionPolicy, now: number): number {
    let removed = 0;
    const oldest = now - policy.maxAgeMs;
    for (let view = this.#finishOrder.peek(); view; view = this.#finishOrder.peek()) {
      if (this.#retained.size <= policy.maxCount && (view.finishedAt ?? now) >= oldest) break;
      this.#finishOrder.shift();
      const { id } = view;
      if (this.#retained.get(id) !== view) continue;
      this.#retained.delete(id);
      this.#counts[view.status]--;
      if (view.key !== null && this.#recentKeys.get(view.key)?.id === id) this.#recentKeys.delete(view.key);
      removed++;
    }
    return removed;
  }
}
