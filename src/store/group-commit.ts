/**
 * Group commit: the changes appended during one turn of the event loop are written in one
 * transaction. Callers that must answer only after durability (start, cancel) await `flushed()`.
 * A failed batch is reported, its waiters are rejected, and it is retried with the next batch,
 * so a transient failure (a full disk that gets space back) loses nothing.
 */
import type { Clock } from '../clock.js';
import { JobvisorError } from '../errors.js';
import type { JobStore, StoredChange } from './port.js';

/** How long a failed batch waits before it is tried again. */
export const RETRY_DELAY_MS = 1_000;

interface Waiter {
  resolve(): void;
  reject(error: unknown): void;
}

export class GroupCommit {
  readonly #store: JobStore;
  readonly #onError: (error: unknown) => void;
  readonly #clock: Clock;
  #retryTimer: unknown;
  #pending: StoredChange[] = [];
  #waiters: Waiter[] = [];
  #scheduled = false;
  /** Set by `close()`: a batch that fails after it is reported, not retried on a timer. */
  #closed = false;
  /** The batch being written, if any; the next one waits for it (order is the log's order). */
  #writing: Promise<void> | undefined;

  constructor(store: JobStore, clock: Clock, onError: (error: unknown) => void) {
    this.#store = store;
    this.#clock = clock;
    this.#onError = onError;
  }

  /** Changes not yet durable. */
  get backlog(): number {
    return this.#pending.length;
  }

  append(change: StoredChange): void {
    this.#pending.push(change);
    this.#schedule();
  }

  /** Resolves once every change appended so far is durable; rejects if its batch fails. */
  flushed(): Promise<void> {
    if (this.#pending.length === 0 && !this.#writing) return Promise.resolve();
    return new Promise<void>((resolve, reject) => {
      this.#waiters.push({ resolve, reject });
      this.#schedule();
    });
  }

  /** Writes what is left and stops retrying; the store stays open (its owner closes it). */
  async close(): Promise<void> {
    this.#closed = true;
    if (this.#retryTimer !== undefined) this.#clock.clearTimeout(this.#retryTimer);
    this.#retryTimer = undefined;
    while (this.#writing) await this.#writing;
    if (this.#pending.length > 0) await (this.#writing = this.#writeBatch());
  }

  #schedule(): void {
    if (this.#scheduled || this.#retryTimer !== undefined) return;
    this.#scheduled = true;
    setImmediate(() => {
      this.#scheduled = false;
      this.#writing ??= this.#writeBatch();
    });
  }

  #scheduleRetry(): void {
    if (this.#retryTimer !== undefined) return;
    this.#retryTimer = this.#clock.setTimeout(() => {
      this.#retryTimer = undefined;
      this.#schedule();
    }, RETRY_DELAY_MS);
  }

  async #writeBatch(): Promise<void> {
    const batch = this.#pending;
    const waiters = this.#waiters;
    this.#pending = [];
    this.#waiters = [];
    let failed = false;
    try {
      if (batch.length > 0) await this.#store.commit(batch);
      for (const waiter of waiters) waiter.resolve();
    } catch (error) {
      // A conflict will never succeed on retry (another writer owns the job or key): report it
      // and drop the batch. Anything else (full disk, lock) is retried after a delay.
      failed = !(error instanceof JobvisorError && error.code === 'store_conflict');
      if (failed) this.#pending = batch.concat(this.#pending);
      this.#onError(error);
      for (const waiter of waiters) waiter.reject(error);
    } finally {
      this.#writing = undefined;
      // After close the store is about to be closed: retrying on a timer would loop against it.
      if (failed) {
        if (!this.#closed) this.#scheduleRetry();
      } else if (this.#pending.length > 0 || this.#waiters.length > 0) this.#schedule();
    }
  }
}
