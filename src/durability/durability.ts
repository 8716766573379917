/**
 * The supervisor's durable side, when it has a store: group commit of every change (told only
 * once durable), the change log reads (history, replay-then-live), the store's retention (when
 * the supervisor's retention forgot jobs, and at open; one expiry at a time), and closing. Background tasks are tracked
 * so that closing waits for them; their failures are reported.
 */
import type { ChangeKind, JobStatus } from '../../machines/job.types.js';
import type { Clock } from '../common/clock.js';
import type { Unsubscribe } from '../common/emitter.js';
import { JobvisorError } from '../common/errors.js';
import { follow, fromStored, readHistory, type FollowRequest, type LiveFeed } from './follow.js';
import { LogFollower } from './follower.js';
import { GroupCommit, type WaitOptions } from './group-commit.js';
import type { StoreHealth } from '../common/types.js';
import {
  CLAIMABLE_CHANGES,
  type ChangeDraft,
  type JobRecord,
  type JobStore,
  type ListQuery,
  type StoreSnapshot,
} from '../store/port.js';
import { toView } from './records.js';
import type { JobChange, JobView } from '../common/types.js';

/** What durability reads of a live job (the engine's job cell). */
export interface DurableCell {
  readonly attempt: number;
  /** Its attempt here was abandoned (a shared store): what it still has unwritten is dropped. */
  readonly abandoned: boolean;
  readonly status: JobStatus;
  /** The ordinals (GroupCommit) of the job's first and of its latest change handed to the store. */
  readonly createdOrdinal: number;
  readonly lastOrdinal: number;
}

/** What a change needs to be told once it is durable. */
export interface Told<C extends DurableCell> {
  readonly cell: C;
  readonly job: JobView;
}

export interface DurabilityHost<C extends DurableCell> {
  readonly fanout: LiveFeed;
  /** The offset of the latest change told. */
  offset(): number;
  /** Tells a committed change (see Announcer). */
  tell(offset: number, kind: ChangeKind, job: JobView): void;
  /**
   * A batch of this node's is durable that queued a job or ended an attempt: a claim may succeed
   * now (a store several nodes share; the limits are counted in the store, so not before).
   */
  claimable?(): void;
  /** The store refused the job's changes for good (the host reports it, or not: a fenced write is expected). */
  refused(cell: C, error: JobvisorError): void;
  currentJobs(filter: { jobId?: string; type?: string }): JobView[];
  listenerFailed(error: unknown, jobId: string): void;
  reportError(error: unknown): void;
}

export interface DurabilityOptions {
  /** How long a caller waits for its change to be durable before `store_unavailable`. */
  readonly timeoutMs: number;
  /** What the store keeps of finished jobs (the supervisor's `retention`). */
  readonly retention: { readonly maxAgeMs: number; readonly maxCount: number };
  /** A store several nodes share: the node whose writes these are (it fences them). */
  readonly writer?: () => string;
}

export class Durability<C extends DurableCell> {
  readonly #store: JobStore;
  readonly #clock: Clock;
  readonly #commits: GroupCommit<Told<C>>;
  readonly #host: DurabilityHost<C>;
  readonly #retention: DurabilityOptions['retention'];
  readonly #tasks = new Set<Promise<void>>();
  /** An expiry runs; `#expireAgain`: another was asked for meanwhile. */
  #expiring = false;
  #expireAgain = false;
  #closed = false;
  /** Tells committed changes in the log's order, this node's and (shared store) the others'. */
  readonly #follower: LogFollower;
  /** The offset of the last change this node committed. */
  #committedThrough = 0;

  constructor(store: JobStore, clock: Clock, host: DurabilityHost<C>, options: DurabilityOptions) {
    this.#store = store;
    this.#clock = clock;
    this.#host = host;
    this.#retention = options.retention;
    this.#follower = new LogFollower(store, {
      offset: () => host.offset(),
      tell: (offset, kind, job) => host.tell(offset, kind, job),
      reportError: (error) => host.reportError(error),
    });
    this.#commits = new GroupCommit<Told<C>>(
      store,
      clock,
      {
        committed: (entries, first) => {
          this.#committedThrough = first + entries.length - 1;
          this.#follower.offer(
            entries.map(({ draft, payload }) => ({ kind: draft.kind, job: payload.job })),
            first,
          );
          if (host.claimable && entries.some((entry) => CLAIMABLE_CHANGES.has(entry.draft.kind)))
            host.claimable();
        },
        refused: (_jobId, entries, error) => {
          // Each cell whose changes were dropped (a job may have had an abandoned one and a new one).
          const cells = new Set(entries.map((entry) => entry.payload.cell));
          for (const cell of cells) host.refused(cell, error);
          if (cells.size === 0) host.reportError(error);
        },
        stale: (told) => told.cell.abandoned,
        failed: (error) => host.reportError(error),
      },
      options.timeoutMs,
      options.writer,
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

  /** Opens the store, and lets it forget what retention no longer keeps. */
  async open(recentLimit: number): Promise<StoreSnapshot> {
    const snapshot = await this.#store.open({ recentLimit });
    this.expire();
    return snapshot;
  }

  /** Hands a change to the next batch; answers its ordinal for `durable()`. */
  append(draft: ChangeDraft, told: Told<C>): number {
    return this.#commits.append(draft, told);
  }

  /** Resolves once the change appended as `ordinal` is durable; see GroupCommit.durable. */
  durable(ordinal: number, options?: WaitOptions): Promise<void> {
    return this.#commits.durable(ordinal, options);
  }

  /** The store answered (a lease renewal): see GroupCommit.reachable. */
  reachable(): void {
    this.#commits.reachable();
  }

  /** Drops the changes of abandoned attempts not yet written (see GroupCommit.sweep). */
  discard(jobId: string): void {
    this.#commits.sweep(
      new JobvisorError('store_conflict', `Job ${jobId} is owned by another node now`, { jobId }),
    );
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
  async created(cell: C | undefined): Promise<void> {
    if (cell && cell.createdOrdinal > 0) await this.#commits.durable(cell.createdOrdinal, { own: true });
    else await this.#commits.flushed();
    // Durable; and told, so that readers see it (another node's changes may come before it).
    await this.#follower.told(this.#committedThrough);
  }

  /** Reads and tells what other nodes committed (a shared store's NOTIFY, or a poll). */
  catchUp(): void {
    this.#follower.wake();
  }

  /** Resolves once every change up to `offset` (another node's too) has been told here. */
  async toldThrough(offset: number): Promise<void> {
    if (offset > this.#host.offset()) this.#follower.wake();
    await this.#follower.told(offset);
  }

  /** Removes these finished jobs with their history from the store (none: it cannot); answers how many. */
  async remove(ids: readonly string[]): Promise<number> {
    await this.#commits.flushed(); // their ends first
    return (await this.#store.remove?.(ids)) ?? 0;
  }

  /** A job as the store has it, with its offset (the record). */
  record(id: string): Promise<JobRecord | undefined> {
    return this.#store.get(id);
  }

  /**
   * Resolves once the attempt's START is durable, so that its handler may run; rejects when the
   * attempt is over first. The START is handed to the store in the same step that invokes the
   * handler: one microtask later the cell knows its ordinal. No time limit: it waits as long as
   * the attempt lives (the store's close ends the wait).
   */
  async started(cell: () => C | undefined, attempt: number): Promise<void> {
    await Promise.resolve();
    const current = cell();
    if (!current || current.attempt !== attempt || current.status !== 'running') {
      throw new JobvisorError('internal_error', `attempt ${attempt} is over before its start was durable`);
    }
    await this.#commits.durable(current.lastOrdinal, { own: true, bounded: false });
  }

  /** A job as the store has it (also one that left this supervisor's memory). */
  async get(id: string): Promise<JobView | undefined> {
    const record = await this.#store.get(id);
    return record && toView(record);
  }

  /** A page of the stored jobs, in creation order (the store's own index, its own cursor). */
  async list(query: ListQuery): Promise<{ jobs: JobView[]; next: string | null }> {
    const page = await this.#store.list(query);
    return { jobs: page.items.map(toView), next: page.next };
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

  /** The store forgets finished jobs beyond retention, with their history; one expiry at a time. */
  expire(): void {
    if (this.#closed) return; // the next open() expires what is left
    if (this.#expiring) {
      this.#expireAgain = true;
      return;
    }
    this.#expiring = true;
    this.#expireAgain = false;
    const { maxAgeMs, maxCount } = this.#retention;
    const task = this.#store
      .expire({ before: this.#clock.now() - maxAgeMs, maxCount })
      .then(() => undefined)
      .finally(() => {
        this.#expiring = false;
        if (this.#expireAgain) this.expire();
      });
    this.#track(task);
  }

  /** After the last handler: write what is left, wait for background tasks, close the store. */
  async close(): Promise<void> {
    await this.#commits.close();
    this.#closed = true;
    for (const task of [...this.#tasks]) await task;
    await this.#store.close();
  }

  #track(task: Promise<void>): void {
    const tracked = task.catch((error: unknown) => this.#host.reportError(error));
    this.#tasks.add(tracked);
    void tracked.finally(() => this.#tasks.delete(tracked));
  }
}
