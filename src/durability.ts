/**
 * The supervisor's durable side, when it has a store: group commit of every change (told only
 * once durable), the change log reads (history, replay-then-live), throttled expiry, and closing.
 * Background tasks are tracked so that closing waits for them; their failures are reported.
 */
import type { ChangeKind } from '../machines/job.types.js';
import type { Clock } from './clock.js';
import type { Unsubscribe } from './emitter.js';
import { JobvisorError } from './errors.js';
import type { Fanout } from './fanout.js';
import { follow, fromStored, readHistory, type FollowRequest } from './follow.js';
import type { JobCell } from './job-cell.js';
import { GroupCommit, type StoreHealth, type WaitOptions } from './store/group-commit.js';
import type { ChangeDraft, JobStore, StoreSnapshot } from './store/port.js';
import type { JobChange, JobView } from './types.js';

/** What a change needs to be told once it is durable. */
export interface Told {
  readonly cell: JobCell;
  readonly job: JobView;
}

export interface DurabilityHost {
  readonly fanout: Fanout;
  /** The offset of the latest change told. */
  offset(): number;
  /** Tells a committed change (see Announcer). */
  tell(offset: number, kind: ChangeKind, job: JobView): void;
  /** The store refused the job's changes for good. */
  refused(cell: JobCell, error: JobvisorError): void;
  currentJobs(filter: { jobId?: string; type?: string }): JobView[];
  listenerFailed(error: unknown, jobId: string): void;
  reportError(error: unknown): void;
}

export class Durability {
  readonly #store: JobStore;
  readonly #commits: GroupCommit<Told>;
  readonly #host: DurabilityHost;
  readonly #tasks = new Set<Promise<void>>();
  #expiring = false;

  /** `timeoutMs`: how long a caller waits for its change to be durable before `store_unavailable`. */
  constructor(store: JobStore, clock: Clock, host: DurabilityHost, timeoutMs: number) {
    this.#store = store;
    this.#host = host;
    this.#commits = new GroupCommit<Told>(
      store,
      clock,
      {
        committed: (entries, first) => {
          for (let i = 0; i < entries.length; i++) {
            const { draft, payload } = entries[i]!;
            host.tell(first + i, draft.kind, payload.job);
          }
        },
        refused: (_jobId, entries, error) => {
          host.reportError(error);
          const cell = entries[0]?.payload.cell;
          if (cell) host.refused(cell, error);
        },
        failed: (error) => host.reportError(error),
      },
      timeoutMs,
    );
  }

  /** Changes accepted but not yet durable. */
  get backlog(): number {
    return this.#commits.backlog;
  }

  /** Whether writes succeed; `failing` from a failed write until one succeeds again. */
  get health(): StoreHealth {
    return this.#commits.health;
  }

  open(recentLimit: number): Promise<StoreSnapshot> {
    return this.#store.open({ recentLimit });
  }

  /** Hands a change to the next batch; answers its ordinal for `durable()`. */
  append(draft: ChangeDraft, told: Told): number {
    return this.#commits.append(draft, told);
  }

  /** Resolves once the change appended as `ordinal` is durable; see GroupCommit.durable. */
  durable(ordinal: number, options?: WaitOptions): Promise<void> {
    return this.#commits.durable(ordinal, options);
  }

  /** Resolves once every change appended so far is durable. */
  flushed(): Promise<void> {
    return this.#commits.flushed();
  }

  /** While the store fails writes, nothing new is accepted: the caller hears it at once. */
  assertWritable(): void {
    const health = this.#commits.health;
    if (health.state !== 'failing') return;
    const since = new Date(health.failingSince ?? 0).toISOString();
    const message = `The store has been failing writes since ${since}: ${health.lastError?.message ?? 'unknown error'}`;
    throw new JobvisorError('store_unavailable', message, health.lastError);
  }

  /**
   * Resolves once a start's answer is durable: the job it created (rejected if the store refuses
   * it), or — deduplicated, `cell` undefined — everything the answer may show.
   */
  async created(cell: JobCell | undefined): Promise<void> {
    if (cell && cell.createdOrdinal > 0) await this.#commits.durable(cell.createdOrdinal, { own: true });
    else await this.#commits.flushed();
  }

  /**
   * Resolves once the attempt's START is durable, so that its handler may run; rejects when the
   * attempt is over first. The START is handed to the store in the same step that invokes the
   * handler: one microtask later the cell knows its ordinal. No time limit: it waits as long as
   * the attempt lives (the store's close ends the wait).
   */
  async started(cell: () => JobCell | undefined, attempt: number): Promise<void> {
    await Promise.resolve();
    const current = cell();
    if (!current || current.attempt !== attempt || current.status !== 'running') {
      throw new JobvisorError('internal_error', `attempt ${attempt} is over before its start was durable`);
    }
    await this.#commits.durable(current.lastOrdinal, { own: true, bounded: false });
  }

  /** One job's stored changes with `offset > since`, oldest first. */
  async history(jobId: string, since: number, limit: number): Promise<JobChange[]> {
    return (await readHistory(this.#store, jobId, since, limit)).map(fromStored);
  }

  /** Replays the stored changes after `since`, then continues live (see follow.ts). */
  follow(request: FollowRequest): Unsubscribe {
    const host = this.#host;
    return follow(
      {
        store: this.#store,
        fanout: host.fanout,
        liveFrom: host.offset() + 1,
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
