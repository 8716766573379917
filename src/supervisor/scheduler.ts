/**
 * Slots and the pending queue. Jobs start highest priority first and, within one priority, in
 * FIFO order across all types, as slots free up, within the global limit and each type's own
 * limit; a paused type's jobs wait in their queue. Each type's queue is a heap: O(log n) per
 * operation in the number of queued jobs (O(types) to pick the next one).
 */
import { Heap } from '../common/heap.js';
import type { JobCell } from './job-cell.js';

interface Entry {
  /** Null once the job left the queue another way (cancelled): skipped when reached. */
  cell: JobCell | null;
  readonly priority: number;
  readonly ticket: number;
}

/** Whether `a` starts before `b`: higher priority, then the older ticket. */
const before = (a: Entry, b: Entry): boolean =>
  a.priority !== b.priority ? a.priority > b.priority : a.ticket < b.ticket;

export class Scheduler {
  readonly #queues = new Map<string, Heap<Entry>>();
  /** Queued entries by job id, so a cancelled job's cell is released at once. */
  readonly #entries = new Map<string, Entry>();
  readonly #runningByType = new Map<string, number>();
  readonly #limit: number;
  readonly #limitOf: (type: string) => number;
  readonly #paused: (type: string) => boolean;
  #running = 0;
  #ticket = 0;
  #queued = 0;

  /** `paused`: whether a type's queued jobs must wait (supervisor/pauses.ts); none by default. */
  constructor(
    limit: number,
    limitOf: (type: string) => number,
    paused: (type: string) => boolean = () => false,
  ) {
    this.#limit = limit;
    this.#limitOf = limitOf;
    this.#paused = paused;
  }

  /** Jobs holding a slot. */
  get running(): number {
    return this.#running;
  }

  /** Jobs of `type` holding a slot. */
  runningOf(type: string): number {
    return this.#runningByType.get(type) ?? 0;
  }

  /** Jobs waiting for a slot. */
  get queued(): number {
    return this.#queued;
  }

  enqueue(cell: JobCell): void {
    let queue = this.#queues.get(cell.type);
    if (!queue) this.#queues.set(cell.type, (queue = new Heap(before)));
    const entry: Entry = { cell, priority: cell.priority, ticket: this.#ticket++ };
    queue.push(entry);
    this.#entries.set(cell.id, entry);
    this.#queued++;
  }

  /** Forgets a queued job that finished without starting (cancelled): its cell can be freed. */
  remove(jobId: string): void {
    const entry = this.#entries.get(jobId);
    if (!entry) return;
    entry.cell = null;
    this.#entries.delete(jobId);
    this.#queued--;
  }

  /**
   * Takes the first queued job (highest priority, then oldest) that a free slot may run and
   * reserves the slot for it. Entries for which `isRunnable` is false (cancelled meanwhile) are
   * dropped on the way.
   */
  take(isRunnable: (cell: JobCell) => boolean): JobCell | undefined {
    if (this.#running >= this.#limit) return undefined;
    let best: Heap<Entry> | undefined;
    let bestHead: Entry | undefined;
    for (const [type, queue] of this.#queues) {
      if (this.#paused(type)) continue;
      const head = this.#dropStale(queue, isRunnable);
      if (!head || (bestHead && !before(head, bestHead))) continue;
      if ((this.#runningByType.get(type) ?? 0) >= this.#limitOf(type)) continue;
      best = queue;
      bestHead = head;
    }
    if (!best) return undefined;
    const cell = best.shift()!.cell!;
    this.#entries.delete(cell.id);
    this.#queued--;
    this.#acquire(cell.type);
    return cell;
  }

  release(type: string): void {
    this.#running--;
    this.#runningByType.set(type, (this.#runningByType.get(type) ?? 1) - 1);
  }

  #acquire(type: string): void {
    this.#running++;
    this.#runningByType.set(type, (this.#runningByType.get(type) ?? 0) + 1);
  }

  #dropStale(queue: Heap<Entry>, isRunnable: (cell: JobCell) => boolean): Entry | undefined {
    let head = queue.peek();
    while (head && (head.cell === null || !isRunnable(head.cell))) {
      queue.shift();
      if (head.cell !== null) {
        this.#entries.delete(head.cell.id);
        this.#queued--;
      }
      head = queue.peek();
    }
    return head;
  }
}
