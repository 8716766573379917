/** The public data types of the supervisor facade. Plain, serialisable objects. */
import type {
  ChangeKind,
  JobErrorInfo,
  JobEventType,
  JobStatus,
  RejectionReason,
} from '../../machines/job.types.js';

export type { ChangeKind, JobErrorInfo, JobStatus, RejectionReason };

/** A job as callers see it: a frozen snapshot, safe to serialise and to keep. */
/** A job as readers see it; `I` and `R`: its input and result types, for a typed job (common/job-map.ts). */
export interface JobView<I = unknown, R = unknown> {
  readonly id: string;
  readonly key: string | null;
  readonly type: string;
  readonly status: JobStatus;
  /**
   * The job machine's state as a dotted path (`pending.scheduled`, `pending.queued`,
   * `pending.backoff`, `running`, `completed`, …): the state the job is in right after its change.
   */
  readonly state: string;
  /** 0..100; never decreases within an attempt. */
  readonly progress: number;
  readonly message: string | null;
  /** 1-based attempt number; 0 before the first start. */
  readonly attempt: number;
  /** Incremented by exactly 1 for each change; 1 at creation. */
  readonly seq: number;
  readonly createdAt: number;
  readonly startedAt: number | null;
  readonly updatedAt: number;
  readonly finishedAt: number | null;
  readonly lastHeartbeatAt: number | null;
  /** When a job waiting to retry becomes runnable again. */
  readonly nextRetryAt: number | null;
  readonly input: I;
  /** The handler's result once completed; null before (and for a job that did not complete). */
  readonly result: R | null;
  readonly error: JobErrorInfo | null;
  /** The node (supervisor process) that ran the latest attempt; null before the first. */
  readonly node: string | null;
  /** Higher starts first among queued jobs; fixed at creation (0 by default). */
  readonly priority: number;
  /**
   * A delayed job: the time (ms since the epoch) before which it does not start; null for a job
   * started as soon as a slot is free. Fixed at creation.
   */
  readonly runAt: number | null;
}

/** One accepted change of one job, delivered to subscribers in `seq` order with no gaps. */
export interface JobChange {
  /** Supervisor-wide, gap-free position of this change. */
  readonly offset: number;
  readonly jobId: string;
  readonly seq: number;
  readonly kind: ChangeKind;
  readonly at: number;
  readonly job: JobView;
}

export interface StartResult {
  readonly job: JobView;
  /** True when a pending or running job (or a recent completion) with the same key was returned. */
  readonly deduplicated: boolean;
}

export interface CancelResult {
  readonly job: JobView;
  /** False when the job had already finished: it is returned unchanged. */
  readonly cancelled: boolean;
}

/** Whether an event sent to a job was applied; rejections carry a reason. */
export type Outcome =
  { readonly accepted: true } | { readonly accepted: false; readonly reason: RejectionReason };

/** Who sent an event that was rejected. */
export type EventSource = 'handler' | 'api' | 'supervisor';

export interface Rejection {
  readonly jobId: string;
  readonly jobType: string;
  readonly event: JobEventType;
  readonly attempt: number | null;
  /** The state the job was in, e.g. `running`, `pending.queued`, `completed`. */
  readonly state: string;
  readonly reason: RejectionReason;
  readonly source: EventSource;
  readonly at: number;
}

/** What a handler gets. `progress` and `heartbeat` return false when the job no longer accepts them. */
export interface HandlerContext<I = unknown> {
  readonly jobId: string;
  readonly type: string;
  readonly key: string | null;
  readonly input: I;
  readonly attempt: number;
  /** Aborted when the attempt ends for any reason other than the handler returning. */
  readonly signal: AbortSignal;
  progress(percent: number, message?: string): boolean;
  heartbeat(): boolean;
  /**
   * Appends a line to the job's own log (ordered, per attempt, durable, at most `limits.maxLogLines`
   * per job: the oldest go): a message (a string of at most 4,000 characters) and optional data
   * (JSON within `limits.maxDepth`, at most 16 KB) — anything else throws `invalid_request`.
   * False when the attempt is over.
   */
  log(message: string, data?: unknown): boolean;
}

/** One line of a job's log, as readers see it once it is durable. */
export interface JobLogEntry {
  /** Supervisor-wide, increasing in the order lines were written: a job's lines in its order. */
  readonly id: number;
  readonly jobId: string;
  readonly attempt: number;
  readonly at: number;
  readonly message: string;
  /** The data given with the message; null without. */
  readonly data: unknown;
}

export type Handler<I = unknown, R = unknown> = (ctx: HandlerContext<I>) => R | Promise<R>;

export interface SubscribeFilter {
  readonly jobId?: string;
  readonly type?: string;
  /**
   * Needs a store: first replays the stored changes with `offset > since` (matching the filter),
   * then continues live, with no gap and no duplicate at the seam.
   */
  readonly since?: number;
  /** Called with the current jobs instead of a replay when the changes after `since` were expired. */
  readonly onResync?: (jobs: JobView[]) => void;
}

export interface ListFilter {
  readonly status?: JobStatus | readonly JobStatus[];
  readonly type?: string;
  readonly key?: string;
  /** At most this many, oldest first. */
  readonly limit?: number;
}

export type Lifecycle = 'starting' | 'recovering' | 'accepting' | 'draining' | 'stopped';

export interface Stats {
  readonly lifecycle: Lifecycle;
  /** What is paused: the whole supervisor (`all`) and job types by name. */
  readonly paused: { readonly all: boolean; readonly types: readonly string[] };
  readonly jobs: Readonly<Record<JobStatus, number>>;
  readonly live: number;
  readonly retained: number;
  readonly queued: number;
  /** Pending jobs waiting for their scheduled time (delayed jobs in `pending.scheduled`). */
  readonly scheduled: number;
  readonly handlersInFlight: number;
  /** Handlers whose attempt ended (cancel, stall, timeout) but whose promise has not settled. */
  readonly handlersAbandoned: number;
  /** Live worker threads of the pool (0 until a module handler first runs, and after shutdown). */
  readonly threadCount: number;
  readonly starts: number;
  readonly deduplicated: number;
  readonly rejected: number;
  readonly rejectedByReason: Readonly<Partial<Record<RejectionReason, number>>>;
  readonly stalls: number;
  readonly timeouts: number;
  readonly subscriberErrors: number;
  /** Inspection observers attached now (`inspect()`, the `inspect` option, `/inspect` sockets). */
  readonly inspectors: number;
  /** Changes accepted but not yet durable in the store. */
  readonly unflushed: number;
  /** Whether the store's writes succeed (`failing` from a failed write until one succeeds); null without a store. */
  readonly store: StoreHealth | null;
  /** The offset of the latest durable change (0 before the first). */
  readonly offset: number;
  readonly handlerDurations: HandlerDurations;
  /** This node's lease and claims, when its store is shared by several nodes; null otherwise. */
  readonly cluster: ClusterStatus | null;
}

/** joining → held ⇄ lost → left (see cluster/node.ts). */
export type LeaseState = 'joining' | 'held' | 'lost' | 'left';

export interface ClusterStatus {
  readonly state: LeaseState;
  /** When the lease ends on the store's clock (ms since the epoch); null before the first renewal. */
  readonly leaseUntil: number | null;
  /** The node abandons its attempts at this local time unless a renewal succeeds first. */
  readonly safeUntil: number | null;
  /** The round trip of the latest renewal (ms), null before the first. */
  readonly dbLatencyMs: number | null;
  /** Renewals failed in a row. */
  readonly renewFailures: number;
  /** Jobs this node claimed, took over, and abandoned (fenced) since it started. */
  readonly claimed: number;
  readonly takenOver: number;
  readonly abandoned: number;
}

/** A histogram of handler run times: `counts[i]` handlers took at most `bucketsMs[i]` (and more than the bucket before); the last count is beyond every bucket. */
export interface HandlerDurations {
  readonly bucketsMs: readonly number[];
  readonly counts: readonly number[];
  readonly sumMs: number;
  readonly count: number;
}

/** A registered job type as `supervisor.types()` and GET /types describe it. */
export interface JobTypeInfo {
  readonly name: string;
  /** `worker`: registered as `{ module }`, runs in the worker-thread pool. */
  readonly runsIn: 'process' | 'worker';
  /** Its own concurrency limit; null when only the global limit applies. */
  readonly concurrency: number | null;
  readonly timeoutMs: number | null;
  readonly heartbeatTimeoutMs: number;
  readonly retries: {
    readonly max: number;
    readonly backoffMs: number;
    readonly factor: number;
    readonly maxBackoffMs: number;
  };
  /** The input schema as JSON Schema (what callers send), or null when the type accepts any input. */
  readonly inputSchema: Record<string, unknown> | null;
}

export interface ShutdownResult {
  /** Jobs that were still running at the deadline and were interrupted back to pending. */
  readonly interrupted: number;
  /** Jobs left pending (never started, or interrupted). */
  readonly pending: number;
}

/** The typed events of `supervisor.on(...)`. */
export interface SupervisorEventMap {
  rejected: Rejection;
  error: {
    readonly where: 'subscriber' | 'inspector' | 'handler' | 'store' | 'schedule' | 'internal';
    readonly jobId?: string;
    readonly error: unknown;
  };
}

/** Whether the store's writes succeed: `failing` from a failed write until one succeeds again. */
export interface StoreHealth {
  readonly state: 'ok' | 'failing';
  /** When the current run of failed writes began (clock time); null while writes succeed. */
  readonly failingSince: number | null;
  readonly lastError: { readonly code: string; readonly message: string } | null;
  /** Changes accepted but not yet durable. */
  readonly backlog: number;
}

/** A subscriber of job changes. */
export type ChangeListener = (change: JobChange) => void;

/** `supervisor.page()`: which jobs, after which cursor, how many (1..1000, default 100). */
export interface PageQuery {
  readonly status?: JobStatus | readonly JobStatus[];
  readonly type?: string;
  readonly key?: string;
  /** The `next` of the page before. */
  readonly after?: string;
  readonly limit?: number;
}

/** A page of jobs in creation order. */
export interface JobPage {
  readonly jobs: readonly JobView[];
  /** Pass as `after` for the next page; null after the last one. */
  readonly next: string | null;
}
