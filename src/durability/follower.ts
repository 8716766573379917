/**
 * Telling committed changes in offset order, whoever committed them. This node's own batches come
 * with their views (`offer`): told at once when they follow the last offset told, as they always do
 * with a store one process owns. When there is a gap — another node of a shared store committed in
 * between — the follower reads the missing changes from the store's log (`wake`, also on a NOTIFY or
 * a poll) and tells them first. So every change is told once, in the log's order, on every node.
 */
import type { ChangeKind } from '../../machines/job.types.js';
import type { JobStore } from '../store/port.js';
import type { JobView } from '../common/types.js';
import { toView } from './records.js';

const PAGE = 1_000;

export interface FollowerHost {
  /** The offset of the latest change told. */
  offset(): number;
  tell(offset: number, kind: ChangeKind, job: JobView): void;
  reportError(error: unknown): void;
}

interface Offered {
  readonly offset: number;
  readonly kind: ChangeKind;
  readonly job: JobView;
}

export class LogFollower {
  readonly #store: JobStore;
  readonly #host: FollowerHost;
  /** This node's committed changes that wait for a gap before them to be told. */
  readonly #stash = new Map<number, Offered>();
  #reading: Promise<void> | undefined;
  #again = false;
  /** Callers waiting until an offset is told. */
  #waiting: { offset: number; resolve: () => void }[] = [];

  constructor(store: JobStore, host: FollowerHost) {
    this.#store = store;
    this.#host = host;
  }

  /** This node's batch, committed at offsets `first`, `first + 1`, …: told now if nothing is missing. */
  offer(changes: readonly { kind: ChangeKind; job: JobView }[], first: number): void {
    if (first === this.#host.offset() + 1 && this.#stash.size === 0 && !this.#reading) {
      for (let i = 0; i < changes.length; i++) this.#tell(first + i, changes[i]!.kind, changes[i]!.job);
      this.#settleWaiting();
      return;
    }
    for (let i = 0; i < changes.length; i++) {
      const { kind, job } = changes[i]!;
      this.#stash.set(first + i, { offset: first + i, kind, job });
    }
    this.wake();
  }

  /** Reads what the log has beyond the last offset told (another node's changes), and tells it. */
  wake(): void {
    if (this.#reading) {
      this.#again = true;
      return;
    }
    this.#reading = this.#catchUp()
      .catch((error: unknown) => this.#host.reportError(error))
      .finally(() => {
        this.#reading = undefined;
        if (this.#again) {
          this.#again = false;
          this.wake();
        }
      });
  }

  /** Resolves once the change at `offset` (and every one before it) has been told. */
  told(offset: number): Promise<void> {
    if (offset <= this.#host.offset()) return Promise.resolve();
    return new Promise((resolve) => this.#waiting.push({ offset, resolve }));
  }

  async #catchUp(): Promise<void> {
    for (;;) {
      this.#drainStash();
      const after = this.#host.offset();
      const page = await this.#store.changesSince(after, PAGE);
      for (const change of page) {
        if (change.offset <= this.#host.offset()) continue;
        const own = this.#stash.get(change.offset);
        this.#stash.delete(change.offset);
        // Our own change keeps the view it was made with; another node's is read from its record.
        this.#tell(change.offset, change.kind, own?.job ?? toView(change.record));
      }
      this.#drainStash();
      this.#settleWaiting();
      if (page.length < PAGE) return;
    }
  }

  /** Tells the stashed changes that now follow the last offset told. */
  #drainStash(): void {
    for (
      let next = this.#stash.get(this.#host.offset() + 1);
      next;
      next = this.#stash.get(this.#host.offset() + 1)
    ) {
      this.#stash.delete(next.offset);
      this.#tell(next.offset, next.kind, next.job);
    }
    for (const offset of this.#stash.keys()) if (offset <= this.#host.offset()) this.#stash.delete(offset);
  }

  #tell(offset: number, kind: ChangeKind, job: JobView): void {
    try {
      this.#host.tell(offset, kind, job);
    } catch (error) {
      this.#host.reportError(error);
    }
  }

  #settleWaiting(): void {
    if (this.#waiting.length === 0) return;
    const told = this.#host.offset();
    this.#waiting = this.#waiting.filter((w) => {
      if (w.offset > told) return true;
      w.resolve();
      return false;
    });
  }
}
