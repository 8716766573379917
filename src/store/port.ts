/**
 * The JobStore port: what the supervisor needs from durable storage, in domain verbs. Adapters
 * hide connections and transactions. Every method may be asynchronous, so a networked store
 * (PostgreSQL, several processes sharing one database) fits without changing callers.
 */
import type { ChangeKind, JobDeadlines, JobStatus, RetryPolicy } from '../../machines/job.types.js';
import type { ScheduleSpec } from '../common/repeatable.js';
import type { JobLogEntry, JobView } from '../common/types.js';

/** Everything needed to show a job and to re-create its actor after a restart. */
export interface JobRecord extends JobView {
  /** The machine state, e.g. `pending.queued`, `pending.backoff`, `running`, `completed`. */
  readonly state: string;
  readonly failures: number;
  readonly retry: RetryPolicy;
  readonly heartbeatTimeoutMs: number;
  readonly timeoutMs: number | null;
  readonly deadlines: JobDeadlines;
  readonly lastChange: ChangeKind;
  /** Offset of the job's latest change: orders pending jobs as they were queued. */
  readonly offset: number;
}

/** One committed change, as read back: the change-log entry and the record after it. */
export interface StoredChange {
  readonly offset: number;
  readonly jobId: string;
  readonly seq: number;
  readonly kind: ChangeKind;
  readonly at: number;
  readonly record: JobRecord;
}

/** A job record as the supervisor hands it to `commit`: the store adds the offset it assigns. */
export type JobRecordDraft = Omit<JobRecord, 'offset'>;

/** One accepted change to write. The store assigns its offset when it commits it. */
export interface ChangeDraft {
  readonly jobId: string;
  readonly seq: number;
  readonly kind: ChangeKind;
  readonly at: number;
  readonly record: JobRecordDraft;
}

/** What a store holds when it opens: the position of its log and the jobs to resume. */
export interface StoreSnapshot {
  /** The offset of the last change in the log; 0 for an empty store. */
  readonly lastOffset: number;
  /** Pending and running jobs, in the order they were queued. */
  readonly active: readonly JobRecord[];
  /** The most recent finished jobs (at most `recentLimit`), oldest first. */
  readonly recent: readonly JobRecord[];
}

export interface ListQuery {
  readonly status?: readonly JobStatus[];
  readonly type?: string;
  readonly key?: string;
  /** Return jobs created after this cursor (an opaque string from a previous page). */
  readonly after?: string;
  readonly limit: number;
}

export interface Page<T> {
  readonly items: readonly T[];
  /** Pass as `after` to get the next page; `null` when this was the last one. */
  readonly next: string | null;
}

export interface JobStore {
  /** A short name for messages and metrics: `memory`, `sqlite`, … */
  readonly name: string;
  /** Opens the store (applying migrations) and reads what recovery needs; a second call re-reads. */
  open(options: { readonly recentLimit: number }): Promise<StoreSnapshot>;
  /**
   * Writes a batch of changes in one transaction, all or nothing, and answers the offset it gave
   * the first one: the store assigns the offsets, continuing its log without gaps in batch order
   * (first, first + 1, …), so an offset exists only once its change is durable and is never given
   * twice. A change with `seq` 1 creates its job; it fails with `store_conflict` if another live
   * job holds the key. Any other change applies only if the stored `seq` is `seq - 1`
   * (compare-and-set), else `store_conflict`. The log keeps every change; the job row the latest.
   *
   * A change that can never be written — a conflict, or a record the store cannot encode
   * (`change_not_storable`) — fails the batch with a `JobvisorError` whose `details.jobId` names its
   * job: the supervisor then drops that job's changes and commits the others. Any other error (a
   * full disk, an I/O error, a lock) is taken as transient: the same changes are tried again.
   */
  commit(batch: readonly ChangeDraft[], writer?: string): Promise<number>;
  /**
   * Optional: settles, now, a commit the store has finished but not yet answered (a store on
   * another thread answers by message, which waits for the event loop's next poll phase). The
   * supervisor calls it as it appends each change, so a commit's end is heard within the turn that
   * sees it. Cheap: a read of shared memory.
   */
  poll?(): void;
  get(id: string): Promise<JobRecord | undefined>;
  list(query: ListQuery): Promise<Page<JobRecord>>;
  /** Log entries with `offset > after`, oldest first, at most `limit`. */
  changesSince(after: number, limit: number): Promise<readonly StoredChange[]>;
  /**
   * The change history of one job: its log entries with `offset > after`, oldest first, at most
   * `limit`. Optional for custom stores: without it the supervisor filters `changesSince`.
   */
  changesOf?(jobId: string, after: number, limit: number): Promise<readonly StoredChange[]>;
  /** The first offset still in the log (older ones were expired); `lastOffset + 1` when empty. */
  firstOffset(): Promise<number>;
  /** Forgets finished jobs finished before `before`, and the oldest beyond `maxCount`. */
  expire(policy: { readonly before: number; readonly maxCount: number }): Promise<number>;
  close(): Promise<void>;
  /**
   * Present when several supervisors (nodes) may share the store: then `commit` takes the writing
   * node (`writer`), writes only jobs no other node owns, and makes the writer the owner of a job
   * it leaves running (and nobody the owner of one it leaves pending or finished).
   */
  readonly cluster?: ClusterStore;
  /**
   * Optional: the pauses in force (job type names, and `*` for the whole supervisor), kept across
   * restarts; a store without them keeps pauses in memory only. On a store several nodes share,
   * claims skip paused types (`ClusterStore.claim`).
   */
  paused?(): Promise<readonly string[]>;
  /**
   * Optional: removes these jobs, if finished, with their change history (live ones are left as
   * they are); answers how many it removed. A store without it keeps them until retention.
   */
  remove?(ids: readonly string[]): Promise<number>;
  /** Optional: pauses (`paused: true`) or resumes `scope` (a type, or `*`): durable when it answers. */
  setPaused?(scope: string, paused: boolean): Promise<void>;
  /**
   * Optional: repeatable jobs' schedules, kept across restarts and shared by the nodes of a
   * cluster; a store without them keeps schedules in memory only.
   */
  readonly schedules?: ScheduleStore;
  /**
   * Optional: the jobs' logs (`ctx.log`), removed with their jobs (`remove`, `expire`); a store
   * without them keeps logs in memory only.
   */
  readonly logs?: LogStore;
}

/** A log line to write: the store gives it its id. */
export type LogLineDraft = Omit<JobLogEntry, 'id'>;

/** The jobs' logs: ordered lines, at most `keep` per job (the oldest go). */
export interface LogStore {
  /** Writes the lines in one transaction, in order; answers their ids (increasing). */
  append(lines: readonly LogLineDraft[], keep: number): Promise<readonly number[]>;
  /** A job's lines with `id > after` (of one attempt, if given), oldest first, at most `limit`. */
  read(
    jobId: string,
    query: { readonly after: number; readonly limit: number; readonly attempt?: number },
  ): Promise<readonly JobLogEntry[]>;
}

/** A schedule as the store keeps it: its definition and the latest occurrence taken. */
export interface ScheduleRecord {
  readonly name: string;
  readonly spec: ScheduleSpec;
  /** The latest occurrence taken (ms); null before the first. */
  readonly lastAt: number | null;
  /** The job id that occurrence starts (derived from the name and time); null: skipped as missed. */
  readonly lastJobId: string | null;
  /** When it was taken, on the taker's clock; null before the first. */
  readonly takenAt: number | null;
  /** Whether the taken occurrence's job is durable (false: its taker may have died before creating it). */
  readonly started: boolean;
}

/**
 * The schedules of repeatable jobs. Each occurrence is taken once (`take`: compare-and-set on the
 * latest occurrence), then its job is created, then marked `started`: so across restarts and nodes
 * an occurrence starts at most once, and one taken but never created is found and created (with
 * the same id: a second creation is refused) by whoever reads it later.
 */
export interface ScheduleStore {
  /** Every schedule, by name. */
  list(): Promise<readonly ScheduleRecord[]>;
  /** Creates the schedule or replaces its definition, keeping its latest occurrence. Durable when it answers. */
  put(name: string, spec: ScheduleSpec): Promise<void>;
  /** Removes it; false when there was none. */
  remove(name: string): Promise<boolean>;
  /**
   * Takes occurrence `at` if no later or equal one was taken and the one taken before is started
   * (true), for job `jobId` (null: skipped, and then `started` at once); false when another taker
   * (a node, an earlier run) had it, or the one before waits for its job (it must not be lost).
   */
  take(name: string, at: number, jobId: string | null, takenAt: number): Promise<boolean>;
  /**
   * The job of occurrence `at` is durable: `jobId`, its own, or the job holding the schedule's key
   * that the occurrence joined.
   */
  started(name: string, at: number, jobId: string): Promise<void>;
}

/** A node of a cluster, as the store keeps it. */
export interface NodeRecord {
  readonly id: string;
  readonly label: string;
  readonly startedAt: number;
  /** When its lease ends, on the store's clock (ms since the epoch). */
  readonly leaseUntil: number;
  /** Jobs it owns (claimed or running). */
  readonly jobs: number;
}

export interface ClaimRequest {
  readonly node: string;
  /** At most this many jobs: the node's free slots. */
  readonly max: number;
  /** The types the node runs, each with its cluster-wide limit (Infinity: only the global one). */
  readonly types: ReadonlyMap<string, number>;
  /** Attempts running (or claimed) at once across the cluster, at most. */
  readonly concurrency: number;
}

/**
 * The changes worth a claim in a cluster: a job is pending and nobody's, or one left its attempt
 * and freed its place under the cluster-wide limits.
 */
export const CLAIMABLE_CHANGES: ReadonlySet<ChangeKind> = new Set<ChangeKind>([
  'created',
  'due',
  'retried',
  'requeued',
  'retrying',
  'interrupted',
  'completed',
  'failed',
  'cancelled',
]);

/** What the store tells a listening node. */
export type ClusterEvent =
  /**
   * A commit up to `offset`; `claimable`: it left a job pending or freed a place under the limits
   * (worth a claim); `writer`: the node that wrote it (null: a writer that is no node).
   */
  | {
      readonly type: 'committed';
      readonly offset: number;
      readonly claimable: boolean;
      readonly writer: string | null;
    }
  /** Somebody asked to cancel a job (its owner acts on it). */
  | { readonly type: 'cancel'; readonly jobId: string }
  /** The listening connection was lost and is back: what it may have missed must be read. */
  | { readonly type: 'reconnected' };

/** A job taken over from a node whose lease ended. */
export interface TakenOver {
  readonly record: JobRecord;
  /** A cancellation somebody asked for while it ran there; null if none. */
  readonly cancelRequested: string | null;
}

/** The verbs of a store several nodes share (PostgreSQL): leases, claims, takeover, cancel requests. */
export interface ClusterStore {
  /**
   * Joins or renews: the node's lease ends `leaseMs` from now on the store's clock; answers both
   * times, and (optional) how many nodes hold a lease now, this one included.
   */
  renew(
    node: { readonly id: string; readonly label: string },
    leaseMs: number,
  ): Promise<{ until: number; now: number; nodes?: number }>;
  /** Leaves the cluster (at shutdown): what it had claimed and not started is free at once. */
  leave(nodeId: string): Promise<void>;
  /** Frees the pending jobs the node claimed and did not start (it is draining): others may claim them. */
  release(nodeId: string): Promise<void>;
  /** Claims pending jobs in FIFO order within the cluster-wide limits; the node owns them now. */
  claim(request: ClaimRequest): Promise<readonly JobRecord[]>;
  /**
   * Optional: a store that can claim in a commit's own round trip, after the commit's writes, asks
   * `want` at each commit of the node's that ends attempts or queues jobs, and hands what it claimed
   * to `claimed` once the commit returns, before the commit is told.
   */
  claimWithCommits?(
    want: () => ClaimRequest | undefined,
    claimed: (records: readonly JobRecord[], request: ClaimRequest) => void,
  ): void;
  /**
   * Takes over, for `nodeId`, up to `max` live jobs of nodes whose lease ended; `own`: instead, the
   * live jobs `nodeId` itself still owns (it abandoned them when it lost its lease).
   */
  takeover(nodeId: string, max: number, options?: { readonly own?: boolean }): Promise<readonly TakenOver[]>;
  /** Asks the owner of a live job to cancel it (the owner is woken); false when it is not live. */
  requestCancel(jobId: string, reason: string | null): Promise<boolean>;
  /** The cancellations asked for jobs `nodeId` owns. */
  cancelRequests(
    nodeId: string,
  ): Promise<readonly { readonly jobId: string; readonly reason: string | null }[]>;
  /**
   * Listens for the store's events until the returned function is called; every `checkMs` (default
   * 5 s) it proves that it still listens, and reconnects (then says `reconnected`) when it does not.
   */
  listen(
    listener: (event: ClusterEvent) => void,
    options?: { readonly checkMs?: number },
  ): Promise<() => Promise<void>>;
  nodes(): Promise<readonly NodeRecord[]>;
}

const STORE_METHODS = [
  'open',
  'commit',
  'get',
  'list',
  'changesSince',
  'firstOffset',
  'expire',
  'close',
] as const;

export function isJobStore(value: unknown): value is JobStore {
  if (typeof value !== 'object' || value === null) return false;
  const v = value as Record<string, unknown>;
  return STORE_METHODS.every((m) => typeof v[m] === 'function');
}
