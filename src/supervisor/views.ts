/**
 * What readers see: the latest durable view of every job, and the offset it is at. `get`, `list`,
 * `stats`, `waitFor` and the WebSocket snapshot read here; only committed changes are applied, in
 * offset order, so a reader never sees a change that a crash could take back, and a snapshot is
 * exactly the state at `offset`. Live jobs are kept in the order they were created; finished ones
 * in the order they finished, under retention. Every operation is O(1) (pruning O(removed)).
 */
import type { JobStatus } from '../../machines/job.types.js';
import { Deque } from '../common/deque.js';
import { decodeCursor, encodeCursor } from '../store/query.js';
import { CreationOrder } from './creation-order.js';
import type { RetentionPolicy } from './registry.js';
import type { JobView } from '../common/types.js';

const TERMINAL: Readonly<Record<JobStatus, boolean>> = {
  pending: false,
  running: false,
  completed: true,
  failed: true,
  cancelled: true,
};

const SCHEDULED = 'pending.scheduled';

export class JobViews {
  /** The offset of the latest change applied: 0 before the first. */
  offset = 0;
  readonly #live = new Map<string, JobView>();
  /** Jobs here (live and retained) by type and status: read at a metrics scrape. */
  byType(): Map<string, Record<JobStatus, number>> {
    const counts = new Map<string, Record<JobStatus, number>>();
    for (const view of [...this.#live.values(), ...this.#retained.values()]) {
      let own = counts.get(view.type);
      if (!own)
        counts.set(view.type, (own = { pending: 0, running: 0, completed: 0, failed: 0, cancelled: 0 }));
      own[view.status]++;
    }
    return counts;
  }

  readonly #retained = new Map<string, JobView>();
  /** The retained views in finish order: pruning takes from its head in O(records removed). */
  readonly #finishOrder = new Deque<JobView>();
  /** Every job kept, in the order it was created: what a page goes through. */
  readonly #created = new CreationOrder();
  #scheduled = 0;
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

  /** Pending jobs waiting for their scheduled time (`pending.scheduled`), among the live ones. */
  get scheduled(): number {
    return this.#scheduled;
  }

  get counts(): Readonly<Record<JobStatus, number>> {
    return { ...this.#counts };
  }

  get(id: string): JobView | undefined {
    return this.#live.get(id) ?? this.#retained.get(id);
  }

  /** Live jobs first (oldest first), then finished ones in the order they finished. */
  *all(): IterableIterator<JobView> {
    yield* this.#live.values();
    yield* this.#retained.values();
  }

  /** A committed change's view (or a live job read from the store at recovery). */
  apply(view: JobView): void {
    const { id, status } = view;
    const before = this.#live.get(id);
    const finished = before ? undefined : this.#retained.get(id);
    if (before?.state === SCHEDULED) this.#scheduled--;
    if (view.state === SCHEDULED) this.#scheduled++;
    if (before) this.#counts[before.status]--;
    else if (finished) {
      // Retried: live again (its place in the finish order is skipped when reached).
      this.#counts[finished.status]--;
      this.#retained.delete(id);
    } else this.#created.add(view);
    this.#counts[status]++;
    if (!TERMINAL[status]) {
      this.#live.set(id, view);
      return;
    }
    if (before) this.#live.delete(id);
    this.#retained.set(id, view);
    this.#finishOrder.push(view);
  }

  /**
   * A page of the jobs that `matches`, in creation order, after the cursor `after` (the `next` of
   * the page before): no sorting, a binary search to the cursor and a scan from there.
   */
  page(matches: (view: JobView) => boolean, after: string | undefined, limit: number): Page {
    const jobs: JobView[] = [];
    for (const id of this.#created.after(after === undefined ? undefined : decodeCursor(after))) {
      const view = this.get(id);
      if (!view || !matches(view)) continue;
      if (jobs.length === limit) return { jobs, next: encodeCursor(jobs.at(-1)!) };
      jobs.push(view);
    }
    return { jobs, next: null };
  }

  /** A finished job loaded from the store at recovery. */
  restoreFinished(view: JobView): void {
    this.#created.add(view);
    this.#retained.set(view.id, view);
    this.#finishOrder.push(view);
    this.#counts[view.status]++;
  }

  /** Forgets a finished job (removed by request); answers its view, or undefined if none is kept. */
  remove(id: string): JobView | undefined {
    const view = this.#retained.get(id);
    if (!view) return undefined;
    this.#retained.delete(id);
    this.#created.remove(view);
    this.#counts[view.status]--;
    return view; // its place in the finish order is skipped when reached
  }

  /** When the oldest finished view was finished: the next to expire by age; undefined when none is kept. */
  oldestFinish(): number | undefined {
    for (let view = this.#finishOrder.peek(); view; view = this.#finishOrder.peek()) {
      if (this.#retained.get(view.id) === view) return view.finishedAt ?? 0;
      this.#finishOrder.shift(); // left already
    }
    return undefined;
  }

  /** Drops the oldest finished views beyond `maxCount` or older than `maxAgeMs`; answers how many. */
  prune(policy: RetentionPolicy, now: number, forgotten: (view: JobView) => void): number {
    let removed = 0;
    const oldest = now - policy.maxAgeMs;
    for (let view = this.#finishOrder.peek(); view; view = this.#finishOrder.peek()) {
      if (this.#retained.size <= policy.maxCount && (view.finishedAt ?? now) >= oldest) break;
      this.#finishOrder.shift();
      if (this.#retained.get(view.id) !== view) continue;
      this.#retained.delete(view.id);
      this.#created.remove(view);
      this.#counts[view.status]--;
      forgotten(view);
      removed++;
    }
    return removed;
  }
}

export interface Page {
  readonly jobs: JobView[];
  /** The cursor of the next page; null after the last. */
  readonly next: string | null;
}
