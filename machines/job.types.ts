/**
 * Types of the job machine: its context, the events it accepts and what it emits.
 * Pure data: no imports from src/, no I/O.
 */

/** The public status of a job; `pending` covers both "queued" and "waiting to retry". */
export type JobStatus = 'pending' | 'running' | 'completed' | 'failed' | 'cancelled';

export const TERMINAL_STATUSES: readonly JobStatus[] = ['completed', 'failed', 'cancelled'];

/** What kind of accepted change produced a new `seq`. */
export type ChangeKind =
  | 'created'
  | 'started'
  | 'progress'
  /** A delayed job's time came: it left `pending.scheduled` for the queue. */
  | 'due'
  /** A failed or cancelled job was retried by request: pending again, its history kept. */
  | 'retried'
  | 'retrying'
  | 'requeued'
  | 'interrupted'
  | 'completed'
  | 'failed'
  | 'cancelled';

/** An error as it is stored on a job: always a code and a message. */
export interface JobErrorInfo {
  readonly code: string;
  readonly message: string;
}

/** The error a FAIL event carries: `retryable: false` skips the remaining retries. */
export interface AttemptError extends JobErrorInfo {
  readonly retryable?: boolean;
}

/** Absolute times (ms since the epoch) at which a timer of the job fires; `null` when not armed. */
export interface JobDeadlines {
  /**
   * When the running attempt's watchdog next checks for a stall: the heartbeat deadline as of the
   * watchdog's arming. Reports do not move it (that would re-arm a timer per report); when it
   * fires after a later report, the watchdog re-arms for that report's deadline.
   */
  readonly heartbeatAt: number | null;
  readonly timeoutAt: number | null;
  /**
   * When the pending job may start next: the end of its retry backoff, or — before its first
   * attempt (attempt 0) — the time it was scheduled for (`pending.scheduled`). One deadline for both,
   * so a store keeps, re-arms and (shared) claims by one "not before" time.
   */
  readonly retryAt: number | null;
}

/** How a job retries: `maxRetries` more attempts after the first, with exponential backoff. */
export interface RetryPolicy {
  readonly maxRetries: number;
  readonly backoffMs: number;
  readonly factor: number;
  readonly maxBackoffMs: number;
}

/** What a job is, fixed at creation. Nested so the context stays small (fast to copy). */
export interface JobSpec {
  readonly id: string;
  readonly type: string;
  readonly key: string | null;
  readonly input: unknown;
  readonly retry: RetryPolicy;
  readonly heartbeatTimeoutMs: number;
  readonly timeoutMs: number | null;
  readonly createdAt: number;
  /** Higher starts first among queued jobs; fixed at creation. */
  readonly priority: number;
  /** When it was scheduled to start (a delayed job); null: as soon as a slot is free. */
  readonly runAt: number | null;
}

/**
 * What every accepted change moves, and the current attempt. Each change builds it anew as one
 * object literal (cheap on V8), so the context's top level stays small.
 */
export interface JobRun {
  /** Incremented by exactly 1 for every accepted change; 1 at creation. */
  readonly seq: number;
  readonly lastChange: ChangeKind;
  readonly updatedAt: number;
  /** The time of the last event the machine processed: its notion of "now". */
  readonly at: number;
  /** The current attempt, 1-based; 0 before the first START. Events are fenced by it. */
  readonly attempt: number;
  readonly progress: number;
  readonly message: string | null;
  readonly startedAt: number | null;
  readonly lastHeartbeatAt: number | null;
}

/** How attempts ended and how the job did: moved only when an attempt or the job ends. */
export interface JobOutcome {
  /** Attempts that ended in failure (stalled, timeout, FAIL); interruptions do not count. */
  readonly failures: number;
  /** Whether the error of the attempt that just failed allows a retry. */
  readonly retryable: boolean;
  readonly result: unknown;
  readonly error: JobErrorInfo | null;
  readonly cancelReason: string | null;
  readonly finishedAt: number | null;
  /** Set on a job restored after a crash while it was running: that attempt fails as `interrupted`. */
  readonly resumedFromRunning: boolean;
}

/**
 * The job's context: four keys, so that the copy XState makes of it on every `assign`
 * (`Object.assign({}, context, update)`) stays within the object's in-object slots. With its 18
 * fields flat, that copy grew a property array field by field: about a tenth of a job's cost in
 * the bare machine, and more garbage per event.
 */
export interface JobContext {
  readonly spec: JobSpec;
  readonly run: JobRun;
  readonly outcome: JobOutcome;
  readonly deadlines: JobDeadlines;
}

/** A job's fields as a restart restores them: flat, as the store keeps them. */
export type JobRestore = Partial<JobRun & JobOutcome & { readonly deadlines: JobDeadlines }>;

/** What a job machine is created from; everything else starts at its initial value. */
export interface JobInput {
  readonly id: string;
  readonly type: string;
  readonly key: string | null;
  readonly input: unknown;
  readonly retry: RetryPolicy;
  readonly heartbeatTimeoutMs: number;
  readonly timeoutMs: number | null;
  readonly createdAt: number;
  /** Higher starts first among queued jobs (default 0). */
  readonly priority?: number;
  /**
   * A delayed job: not started before this time (ms since the epoch). Later than `createdAt`, a
   * fresh job waits in `pending.scheduled` until then; otherwise it is queued at once.
   */
  readonly runAt?: number | null;
  /**
   * Restoring a job after a restart: the fields it had. A stored future `deadlines.retryAt`
   * re-arms the backoff; `resumedFromRunning` fails the attempt that the crash interrupted.
   * `at` must be the current time.
   */
  readonly restore?: JobRestore;
}

/** Every event carries `at`: the time the supervisor's clock gave it. */
export interface Timed {
  readonly at: number;
}

export type JobEvent =
  | ({ readonly type: 'START' } & Timed)
  | ({
      readonly type: 'PROGRESS';
      readonly attempt: number;
      readonly percent: number;
      readonly message?: string;
    } & Timed)
  | ({ readonly type: 'HEARTBEAT'; readonly attempt: number } & Timed)
  | ({ readonly type: 'COMPLETE'; readonly attempt: number; readonly result?: unknown } & Timed)
  | ({ readonly type: 'FAIL'; readonly attempt: number; readonly error: AttemptError } & Timed)
  | ({ readonly type: 'CANCEL'; readonly reason?: string } & Timed)
  | ({ readonly type: 'INTERRUPT'; readonly reason: string } & Timed);

export type JobEventType = JobEvent['type'];

export const JOB_EVENT_TYPES: readonly JobEventType[] = [
  'START',
  'PROGRESS',
  'HEARTBEAT',
  'COMPLETE',
  'FAIL',
  'CANCEL',
  'INTERRUPT',
];

/** Why an event was not applied. */
export type RejectionReason =
  | 'job_final'
  | 'stale_attempt'
  | 'not_running'
  | 'not_queued'
  | 'progress_backwards'
  | 'progress_out_of_range';

/** Emitted by the machine for every event it does not apply. */
export interface RejectedEmit {
  readonly type: 'rejected';
  readonly event: JobEvent;
  readonly state: string;
  readonly reason: RejectionReason;
}

/** What an attempt's handler is launched with (by the job's cell, when the attempt starts). */
export interface HandlerInput {
  readonly jobId: string;
  readonly type: string;
  readonly key: string | null;
  readonly attempt: number;
  readonly input: unknown;
}
