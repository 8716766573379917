/**
 * Commit, then tell, for jobs' logs: lines written in one turn of the event loop go to the store
 * together (one transaction, one append in flight at a time, so lines stay in the order they were
 * written), and only once the store answers their ids are they told to their listeners. A store
 * that fails is tried again every `RETRY_MS` on the injected clock until `timeoutMs` has passed;
 * then the batch is reported and dropped (a job's log is worth less than the store's health).
 */
import type { Clock } from '../common/clock.js';
import type { Unsubscribe } from '../common/emitter.js';
import type { JobLogEntry } from '../common/types.js';
import type { LogLineDraft, LogStore } from '../store/port.js';

const RETRY_MS = 200;
/** Lines per append at most: a handler that logs in a tight loop waits its turn. */
const BATCH = 1_000;

export interface LogWriterOptions {
  /** Lines kept per job (the oldest go). */
  readonly keep: number;
  /** How long a failing store is tried again before a batch is dropped. */
  readonly timeoutMs: number;
  readonly report: (error: unknown) => void;
}

type Listener = (entry: JobLogEntry) => void;

export class LogWriter {
  readonly #store: LogStore;
  readonly #clock: Clock;
  readonly #options: LogWriterOptions;
  #queue: LogLineDraft[] = [];
  /** A drain is scheduled or runs: pushed lines join it. */
  #draining = false;
  readonly #listeners = new Map<string, Set<Listener>>();
  /** Lines pushed, and lines written (or dropped) and told, so far. */
  #pushed = 0;
  #done = 0;
  #waiting: { readonly upto: number; readonly resolve: () => void }[] = [];

  constructor(store: LogStore, clock: Clock, options: LogWriterOptions) {
    this.#store = store;
    this.#clock = clock;
    this.#options = options;
  }

  /** Queues a line: written with the others of this turn. */
  push(line: LogLineDraft): void {
    this.#queue.push(line);
    this.#pushed++;
    if (this.#draining) return;
    this.#draining = true;
    // The lines of this turn together; #drain never rejects (a failing store is reported).
    void new Promise<void>((resolve) => setImmediate(resolve)).then(() => this.#drain());
  }

  /**
   * Resolves once every line pushed so far is durable and told (or dropped) — not waiting for the
   * lines pushed after this call, so a steady stream of lines never keeps it waiting.
   */
  flushed(): Promise<void> {
    if (this.#done >= this.#pushed) return Promise.resolve();
    const upto = this.#pushed;
    return new Promise((resolve) => this.#waiting.push({ upto, resolve }));
  }

  /** Calls `listener` with each durable line of `jobId`, in order, until the returned function is called. */
  subscribe(jobId: string, listener: Listener): Unsubscribe {
    const own = this.#listeners.get(jobId) ?? new Set<Listener>();
    own.add(listener);
    this.#listeners.set(jobId, own);
    return () => {
      own.delete(listener);
      if (own.size === 0 && this.#listeners.get(jobId) === own) this.#listeners.delete(jobId);
    };
  }

  async #drain(): Promise<void> {
    while (this.#queue.length > 0) {
      const batch = this.#queue.slice(0, BATCH);
      this.#queue = this.#queue.slice(batch.length);
      const ids = await this.#append(batch);
      if (ids) batch.forEach((line, i) => this.#tell({ ...line, id: ids[i]! }));
      this.#done += batch.length;
      const done = this.#waiting.filter((w) => w.upto <= this.#done);
      this.#waiting = this.#waiting.filter((w) => w.upto > this.#done);
      for (const w of done) w.resolve();
    }
    this.#draining = false;
  }

  async #append(batch: readonly LogLineDraft[]): Promise<readonly number[] | undefined> {
    const since = this.#clock.now();
    for (;;) {
      try {
        return await this.#store.append(batch, this.#options.keep);
      } catch (error) {
        if (this.#clock.now() - since >= this.#options.timeoutMs) {
          this.#options.report(error);
          return undefined;
        }
        await new Promise<void>((resolve) => this.#clock.setTimeout(() => resolve(), RETRY_MS));
      }
    }
  }

  #tell(entry: JobLogEntry): void {
    for (const listener of [...(this.#listeners.get(entry.jobId) ?? [])]) {
      try {
        listener(entry);
      } catch (error) {
        this.#options.report(error);
      }
    }
  }
}
