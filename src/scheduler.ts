/**
 * Slots and the pending queue. Jobs start in FIFO order across all types as slots free up,
 * within the global limit and each type's own limit. Every operation is O(1) in the number of
 * jobs (O(types) to pick the next one).
 */
import { Deque } from './deque.js';
import type { JobCell } from './job-cell.js';

interface Entry {
  readonly cell: JobCell;
  readonly ticket: number;
}

export class Scheduler {
  readonly #queues = new Map<string, Deque<Entry>>();
  readonly #runningByType = new Map<string, number>();
  readonly #limit: number;
  readonly #limitOf: (type: string) => number;
  #running = 0;
  #ticket = 0;
  #queued = 0;

  constructor(limit: number, limitOf: (type: string) => number) {
    this.#limit = limit;
    this.#limitOf = limitOf;
  }

  /** Jobs holding a slot. */
  get running(): number {
    return this.#running;
  }

  /** Queue entries, including ones cancelled since (they are skipped when reached). */
  get queued(): number {
    return this.#queued;
  }

  enqueue(cell: JobCell): void {
    let queue = this.#queues.get(cell.type);
    if (!queue) this.#queues.set(cell.type, (queue = new Deque()));
    queue.push({ cell, ticket: this.#ticket++ });
    this.#queued++;
  }

  /**
   * Takes the oldest queued job that a free slot may run and reserves the slot for it.
   * Entries for which `isRunnable` is false (cancelled meanwhile) are dropped on the way.
   */
  take(isRunnable: (cell: JobCell) => boolean): JobCell | undefined {
    if (this.#running >= this.#limit) return undefined;
    for (;;) {
      let best: Deque<Entry> | undefined;
      let bestTicket = Infinity;
      for (const [type, queue] of this.#queues) {
        const head = this.#dropStale(queue, isRunnable);
        if (!head || head.ticket >= bestTicket) continue;
        if ((this.#runningByType.get(type) ?? 0) >= this.#limitOf(type)) continue;
        best = queue;
        bestTicket = head.ticket;
      }
      if (!best) return undefined;
      const entry = best.shift()!;
      this.#queued--;
      this.#acquire(entry.cell.type);
      return entry.cell;
    }
  }

  release(type: string): void {
    this.#running--;
    this.#runningByType.set(type, (this.#runningByType.get(type) ?? 1) - 1);
  }

  #acquire(type: string): void {
    this.#running++;
    this.#runningByType.set(type, (this.#runningByType.get(type) ?? 0) + 1);
  }

  #dropStale(queue: Deque<Entry>, isRunnable: (cell: JobCell) => boolean): Entry | undefined {
    let head = queue.peek();
    while (head && !isRunnable(head.cell)) {
      queue.shift();
      this.#queued--;
      head = queue.peek();
    }
    return head;
  }
}
