/**
 * Group commit: the changes appended during one turn of the event loop are written in one
 * transaction, and only then told (`committed`, in offset order). Nobody hears of a change before
 * the store made it durable, so an offset anyone saw names that change forever.
 *
 * - A change the store refuses for good (its error names the job: `refusedJob`) is dropped with
 *   every later change of that job; `refused` hears of them, and the rest of the batch is written
 *   at once. One bad change never blocks the others.
 * - Any other failure is transient (a full disk, an I/O error, a lock): the batch stays first in
 *   line and is tried again with backoff; `failed` reports each failure and `health` says so.
 * - A store that answers by message (the SQLite thread) is polled as changes are appended
 *   (`JobStore.poll`), so a commit's end is heard within the turn; the changes appended meanwhile
 *   are then written at once, not a turn later (they have waited a whole commit already).
 * - Callers that answer only once their change is durable await `durable()` or `flushed()`,
 *   for at most `timeoutMs`: then they get `store_unavailable` instead of hanging.
 */
import type { Clock } from '../common/clock.js';
import { JobvisorError, refusedJob } from '../common/errors.js';
import type { ChangeDraft, JobStore } from '../store/port.js';
import type { StoreHealth } from '../common/types.js';

/** The wait before retrying a failed write: `firstMs`, doubling up to `maxMs`. */
export const RETRY = Object.freeze({ firstMs: 50, maxMs: 5_000 });

const STALE = new JobvisorError('store_conflict', 'The change was dropped: another node owns its job now');

export interface Entry<P> {
  /** The order in which the change was appended (1, 2, …); not its offset. */
  readonly ordinal: number;
  readonly draft: ChangeDraft;
  /** What the owner needs to tell the change once it is durable. */
  readonly payload: P;
}

export interface CommitEvents<P> {
  /** A batch is durable: its entries in order, the first of them at offset `first`. */
  committed(entries: readonly Entry<P>[], first: number): void;
  /** The store refused the changes of `jobId` for good: these entries (oldest first) were dropped. */
  refused(jobId: string, entries: readonly Entry<P>[], error: JobvisorError): void;
  /** A write failed: it is retried (a transient failure), or was the last one (at close). */
  failed(error: unknown): void;
  /** Whether an entry must not be written any more (its attempt was abandoned); none: never. */
  readonly stale?: (payload: P) => boolean;
}

export interface WaitOptions {
  readonly own?: boolean;
  readonly bounded?: boolean;
}

interface Waiter {
  readonly ordinal: number;
  /** Waits for its own change: rejected if the store refuses it (not resolved by dropping it). */
  readonly own: boolean;
  readonly resolve: () => void;
  readonly reject: (error: unknown) => void;
  timer: unknown;
}

export class GroupCommit<P> {
  readonly #store: JobStore;
  readonly #clock: Clock;
  readonly #events: CommitEvents<P>;
  readonly #timeoutMs: number;
  /** The node that writes (a store several nodes share fences its writes by it). */
  readonly #writer: (() => string) | undefined;
  #next = 1;
  #pending: Entry<P>[] = [];
  /** The batch being written, if any; the next one waits for it (order is the log's order). */
  #batch: Entry<P>[] | undefined;
  #waiters: Waiter[] = [];
  #scheduled = false;
  #retryTimer: unknown;
  #failures = 0;
  #failingSince: number | null = null;
  #lastError: StoreHealth['lastError'] = null;
  /** Set by `close()`: a failed batch is reported, not retried on a timer. */
  #closed = false;
  #writing: Promise<void> | undefined;
  /** The store's `poll`, if it has one. */
  readonly #poll: (() => void) | undefined;

  constructor(
    store: JobStore,
    clock: Clock,
    events: CommitEvents<P>,
    timeoutMs: number,
    writer?: () => string,
  ) {
    this.#store = store;
    this.#clock = clock;
    this.#events = events;
    this.#timeoutMs = timeoutMs;
    this.#writer = writer;
    this.#poll = store.poll?.bind(store);
  }

  get backlog(): number {
    return this.#pending.length + (this.#batch?.length ?? 0);
  }

  get health(): StoreHealth {
    return {
      state: this.#failures > 0 ? 'failing' : 'ok',
      failingSince: this.#failingSince,
      lastError: this.#lastError,
      backlog: this.backlog,
    };
  }

  /** Hands a change to the next batch; answers its ordinal (see `durable`). */
  append(draft: ChangeDraft, payload: P): number {
    const ordinal = this.#next++;
    this.#pending.push({ ordinal, draft, payload });
    this.#schedule();
    this.#poll?.();
    return ordinal;
  }

  /**
   * Resolves once the change appended as `ordinal` (and every one before it) is durable. `own`:
   * the caller waits for that very change, and is rejected with the store's error if it is refused.
   * `bounded` (the default): after `timeoutMs` the wait ends with `store_unavailable`.
   */
  durable(ordinal: number, { own = false, bounded = true }: WaitOptions = {}): Promise<void> {
    if (ordinal < this.#floor()) return Promise.resolve();
    return new Promise<void>((resolve, reject) => {
      const waiter: Waiter = { ordinal, own, resolve, reject, timer: undefined };
      if (bounded) waiter.timer = this.#clock.setTimeout(() => this.#timedOut(waiter), this.#timeoutMs);
      this.#waiters.push(waiter);
    });
  }

  /** Resolves once every change appended so far is durable (or refused). */
  flushed(): Promise<void> {
    return this.durable(this.#next - 1);
  }

  /**
   * The store answered another request (a shared store's lease renewal): with nothing left to
   * write, its writes are not failing any more.
   */
  reachable(): void {
    if (this.backlog > 0 || this.#writing || this.#failures === 0) return;
    this.#failures = 0;
    this.#failingSince = null;
    this.#lastError = null;
  }

  /**
   * Drops the changes whose payload is stale now (`CommitEvents.stale`: an attempt abandoned,
   * another node owns its job): they are never written, and their own waiters get `error`. Also
   * done to each batch before it is written, so that a batch put back after a failure loses them.
   */
  sweep(error: JobvisorError): void {
    this.#pending = this.#withoutStale(this.#pending, error);
    this.#settleWaiters();
  }

  #withoutStale(entries: Entry<P>[], error: JobvisorError): Entry<P>[] {
    const stale = this.#events.stale;
    if (!stale || !entries.some((entry) => stale(entry.payload))) return entries;
    const dropped = new Set<number>();
    const kept = entries.filter((entry) => !stale(entry.payload) || (dropped.add(entry.ordinal), false));
    this.#waiters = this.#waiters.filter((waiter) => {
      if (!waiter.own || !dropped.has(waiter.ordinal)) return true;
      if (waiter.timer !== undefined) this.#clock.clearTimeout(waiter.timer);
      waiter.reject(error);
      return false;
    });
    return kept;
  }

  /** Writes what is left and stops retrying; the store stays open (its owner closes it). */
  async close(): Promise<void> {
    this.#closed = true;
    if (this.#retryTimer !== undefined) this.#clock.clearTimeout(this.#retryTimer);
    this.#retryTimer = undefined;
    while (this.#writing) await this.#writing;
    if (this.#pending.length > 0) await (this.#writing = this.#write());
    for (const waiter of this.#waiters.splice(0)) {
      if (waiter.timer !== undefined) this.#clock.clearTimeout(waiter.timer);
      waiter.reject(this.#unavailable('The store closed before the change was written'));
    }
  }

  /** The smallest ordinal not yet durable: pending entries stay in ordinal order. */
  #floor(): number {
    return (this.#batch?.[0] ?? this.#pending[0])?.ordinal ?? this.#next;
  }

  #schedule(): void {
    if (this.#scheduled || this.#writing || this.#retryTimer !== undefined) return;
    this.#scheduled = true;
    setImmediate(() => {
      this.#scheduled = false;
      // Once closing, close() writes what is left itself; the store may be closed already.
      if (this.#pending.length > 0 && !this.#closed) this.#writing ??= this.#write();
    });
  }

  async #write(): Promise<void> {
    const batch = this.#withoutStale(this.#pending, STALE);
    this.#pending = [];
    if (batch.length === 0) {
      await Promise.resolve(); // after the caller holds this write as `#writing`
      this.#writing = undefined;
      this.#settleWaiters();
      if (this.#pending.length > 0 && !this.#closed) this.#schedule();
      return;
    }
    this.#batch = batch;
    let retryIn: number | undefined;
    try {
      const drafts = batch.map((entry) => entry.draft);
      const first = await (this.#writer
        ? this.#store.commit(drafts, this.#writer())
        : this.#store.commit(drafts));
      this.#batch = undefined;
      this.#failures = 0;
      this.#failingSince = null;
      this.#lastError = null;
      this.#tell(() => this.#events.committed(batch, first));
    } catch (error) {
      this.#batch = undefined;
      const jobId = refusedJob(error);
      if (jobId !== undefined) this.#refuse(jobId, batch, error as JobvisorError);
      else retryIn = this.#failed(batch, error);
    } finally {
      this.#writing = undefined;
      this.#settleWaiters();
      if (retryIn !== undefined) this.#retryAfter(retryIn);
      else if (this.#pending.length > 0 && !this.#closed) {
        // A polled store's commit may end in the middle of a turn: what came meanwhile (it waited a
        // whole commit) is written at once, not after every handler the turn still runs. Another
        // store's answer comes as I/O, and the turn's end follows at once (bigger batches for it).
        if (this.#poll) this.#writing ??= this.#write();
        else this.#schedule();
      }
    }
  }

  /** Drops every change of the refused job (this batch and later ones); the rest goes first again. */
  #refuse(jobId: string, batch: Entry<P>[], error: JobvisorError): void {
    const dropped: Entry<P>[] = [];
    const keep = (entry: Entry<P>) => entry.draft.jobId !== jobId || (dropped.push(entry), false);
    this.#pending = batch.filter(keep).concat(this.#pending.filter(keep));
    const ordinals = new Set(dropped.map((entry) => entry.ordinal));
    this.#waiters = this.#waiters.filter((waiter) => {
      if (!waiter.own || !ordinals.has(waiter.ordinal)) return true;
      if (waiter.timer !== undefined) this.#clock.clearTimeout(waiter.timer);
      waiter.reject(error);
      return false;
    });
    this.#tell(() => this.#events.refused(jobId, dropped, error));
  }

  /** A transient failure: the batch goes back in front; answers the wait before the retry. */
  #failed(batch: Entry<P>[], error: unknown): number | undefined {
    this.#pending = batch.concat(this.#pending);
    this.#failures++;
    this.#failingSince ??= this.#clock.now();
    this.#lastError = describe(error);
    this.#tell(() => this.#events.failed(error));
    if (this.#closed) return undefined;
    return Math.min(RETRY.maxMs, RETRY.firstMs * 2 ** (this.#failures - 1));
  }

  #retryAfter(ms: number): void {
    if (this.#retryTimer !== undefined) return;
    this.#retryTimer = this.#clock.setTimeout(() => {
      this.#retryTimer = undefined;
      this.#schedule();
    }, ms);
  }

  #settleWaiters(): void {
    const floor = this.#floor();
    if (this.#waiters.length === 0) return;
    this.#waiters = this.#waiters.filter((waiter) => {
      if (waiter.ordinal >= floor) return true;
      if (waiter.timer !== undefined) this.#clock.clearTimeout(waiter.timer);
      waiter.resolve();
      return false;
    });
  }

  #timedOut(waiter: Waiter): void {
    const at = this.#waiters.indexOf(waiter);
    if (at < 0) return;
    this.#waiters.splice(at, 1);
    const cause = this.#lastError ? ` (the store: ${this.#lastError.message})` : '';
    waiter.reject(
      this.#unavailable(
        `The change was not durable within ${this.#timeoutMs} ms${cause}; it may still be written: ` +
          'retry with the same key to be safe',
      ),
    );
  }

  #unavailable(message: string): JobvisorError {
    return new JobvisorError('store_unavailable', message, this.#lastError ?? undefined);
  }

  /** Runs the owner's callback; its failure is reported, never left to break the batching. */
  #tell(callback: () => void): void {
    try {
      callback();
    } catch (error) {
      this.#events.failed(error);
    }
  }
}

function describe(error: unknown): { code: string; message: string } {
  if (error instanceof JobvisorError) return { code: error.code, message: error.message };
  return { code: 'internal_error', message: error instanceof Error ? error.message : String(error) };
}
