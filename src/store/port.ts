/**
 * The JobStore port: what the supervisor needs from durable storage, in domain verbs. Adapters
 * hide connections and transactions. Every method may be asynchronous, so a networked store
 * (PostgreSQL, several processes sharing one database) fits without changing callers.
 */
import type { ChangeKind, JobDeadlines, JobStatus, RetryPolicy } from '../../machines/job.types.js';
import type { JobView } from '../types.js';

/** Everything needed to show a job and to re-create its actor after a restart. */
export interface JobRecord extends JobView {
  /** The machine state, e.g. `pending.queued`, `pending.backoff`, `running.alive`, `completed`. */
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

/** One accepted change, as written: the change-log entry and the record after it. */
export interface StoredChange {
  readonly offset: number;
  readonly jobId: string;
  readonly seq: number;
  readonly kind: ChangeKind;
  readonly at: number;
  readonly record: JobRecord;
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
   * Writes a batch of changes in one transaction, in offset order. Offsets continue the log
   * without gaps (the first is the last offset + 1, each next + 1), else `store_conflict`.
   * Records are stored as JSON: `input` and `result` must be JSON-safe. A change with `seq` 1 creates
   * its job; it fails with `store_conflict` if another live job holds the key. Any other change
   * applies only if the stored `seq` is `seq - 1` (compare-and-set), else `store_conflict`.
   * The log keeps every change; the job row keeps the latest.
   */
  commit(batch: readonly StoredChange[]): Promise<void>;
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
