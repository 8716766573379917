/**
 * The supervisor's durable side, when it has a store: group commit of every change, the change
 * log reads (history, replay-then-live), throttled expiry, and closing. Background tasks are
 * tracked so that closing waits for them; their failures are reported, never thrown.
 */
import type { Clock } from './clock.js';
import type { Unsubscribe } from './emitter.js';
import type { Fanout } from './fanout.js';
import { follow, fromStored, readHistory, type FollowRequest } from './follow.js';
import { GroupCommit } from './store/group-commit.js';
import type { JobStore, StoredChange, StoreSnapshot } from './store/port.js';
import type { JobChange, JobView } from './types.js';

export interface DurabilityHost {
  readonly fanout: Fanout;
  /** The offset the next change will get. */
  nextOffset(): number;
  currentJobs(filter: { jobId?: string; type?: string }): JobView[];
  listenerFailed(error: unknown, jobId: string): void;
  reportError(error: unknown): void;
}

export class Durability {
  readonly #store: JobStore;
  readonly #commits: GroupCommit;
  readonly #host: DurabilityHost;
  readonly #tasks = new Set<Promise<void>>();
  #expiring = false;

  constructor(store: JobStore, clock: Clock, host: DurabilityHost) {
    this.#store = store;
    this.#host = host;
    this.#commits = new GroupCommit(store, clock, (error) => host.reportError(error));
  }

  /** Changes accepted but not yet durable. */
  get backlog(): number {
    return this.#commits.backlog;
  }

  open(recentLimit: number): Promise<StoreSnapshot> {
    return this.#store.open({ recentLimit });
  }

  /** Hands a change to the next batch; it is durable once `flushed()` resolves. */
  append(change: StoredChange): void {
    this.#commits.append(change);
  }

  /** Resolves once every change appended so far is durable. */
  flushed(): Promise<void> {
    return this.#commits.flushed();
  }

  /** One job's stored changes with `offset > since`, oldest first. */
  async history(jobId: string, since: number, limit: number): Promise<JobChange[]> {
    await this.#commits.flushed();
    return (await readHistory(this.#store, jobId, since, limit)).map(fromStored);
  }

  /** Replays the stored changes after `since`, then continues live (see follow.ts). */
  follow(request: FollowRequest): Unsubscribe {
    const host = this.#host;
    return follow(
      {
        store: this.#store,
        commits: this.#commits,
        fanout: host.fanout,
        nextOffset: host.nextOffset(),
        currentJobs: (filter) => host.currentJobs(filter),
        listenerFailed: (error, jobId) => host.listenerFailed(error, jobId),
        track: (task) => this.#track(task),
      },
      request,
    );
  }

  /** Forgets expired finished jobs in the store too; at most one expiry runs at a time. */
  expire(before: number, maxCount: number): void {
    if (this.#expiring) return;
    this.#expiring = true;
    const task = this.#commits
      .flushed()
      .then(() => this.#store.expire({ before, maxCount }))
      .then(() => undefined)
      .finally(() => (this.#expiring = false));
    this.#track(task);
  }

  /** After the last handler: write what is left, wait for background tasks, close the store. */
  async close(): Promise<void> {
    await this.#commits.close();
    for (const task of [...this.#tasks]) await task;
    await this.#store.close();
  }

  #track(task: Promise<void>): void {
    const tracked = task.catch((error: unknown) => this.#host.reportError(error));
    this.#tasks.add(tracked);
    void tracked.finally(() => this.#tasks.delete(tracked));
  }
}
