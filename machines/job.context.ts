/**
 * The job machine's context (machines/job.types.ts) and its pure updates: the initial context, and
 * the pieces the machine's assigners build a change from. The run and the outcome are rebuilt as
 * whole object literals, never spread: on Node 20 a spread followed by more properties takes V8's
 * slow path, and these run on every event of every job.
 */
import type {
  ChangeKind,
  JobContext,
  JobDeadlines,
  JobErrorInfo,
  JobInput,
  JobOutcome,
  JobRestore,
  JobRun,
} from './job.types.js';

/** No timer armed. Deadlines are replaced whole, never changed in place, so this one is shared. */
export const NO_DEADLINES: JobDeadlines = Object.freeze({
  heartbeatAt: null,
  timeoutAt: null,
  retryAt: null,
});

const NOTHING_RESTORED: JobRestore = Object.freeze({});

/**
 * The run after an accepted change of `kind` at `at` (its `seq` moves by 1); by default the change
 * moves nothing else of the run.
 */
export function bump(
  r: JobRun,
  kind: ChangeKind,
  at: number,
  progress = r.progress,
  message = r.message,
  lastHeartbeatAt = r.lastHeartbeatAt,
): JobRun {
  return {
    seq: r.seq + 1,
    lastChange: kind,
    updatedAt: at,
    at,
    attempt: r.attempt,
    progress,
    message,
    startedAt: r.startedAt,
    lastHeartbeatAt,
  };
}

/** The run at time `at`, with no change of its own (a heartbeat, the watchdog, a failing attempt). */
export function movedTo(r: JobRun, at: number, lastHeartbeatAt = r.lastHeartbeatAt): JobRun {
  return {
    seq: r.seq,
    lastChange: r.lastChange,
    updatedAt: r.updatedAt,
    at,
    attempt: r.attempt,
    progress: r.progress,
    message: r.message,
    startedAt: r.startedAt,
    lastHeartbeatAt,
  };
}

/**
 * When the watchdog of the running attempt fires: the nearer of `deadlines.heartbeatAt` (the
 * heartbeat deadline as of the watchdog's arming) and the job timeout.
 */
export function watchdogAt(context: JobContext): number {
  const { heartbeatAt, timeoutAt } = context.deadlines;
  return Math.min(heartbeatAt ?? Infinity, timeoutAt ?? Infinity);
}

/** The heartbeat deadline as of now: a heartbeat timeout after the latest report (or the attempt's start). */
export function heartbeatDeadline(context: JobContext): number {
  const { run } = context;
  return (run.lastHeartbeatAt ?? run.startedAt ?? run.at) + context.spec.heartbeatTimeoutMs;
}

export function backoffDelay(context: JobContext): number {
  const { backoffMs, factor, maxBackoffMs } = context.spec.retry;
  return Math.min(maxBackoffMs, backoffMs * factor ** Math.max(0, context.outcome.failures - 1));
}

/** The attempt failed at `at` (its run moves to `at`; the seq moves when the retry or the end is decided). */
export function attemptFailed(
  context: JobContext,
  code: string,
  message: string,
  at: number,
  retryable = true,
  resumedFromRunning = context.outcome.resumedFromRunning,
) {
  const o = context.outcome;
  return {
    run: movedTo(context.run, at),
    outcome: {
      failures: o.failures + 1,
      retryable,
      result: o.result,
      error: { code, message },
      cancelReason: o.cancelReason,
      finishedAt: o.finishedAt,
      resumedFromRunning,
    },
    deadlines: NO_DEADLINES,
  };
}

/** The job ended at `at` (its run's change is made by the caller). */
export function ended(
  o: JobOutcome,
  at: number,
  result: unknown,
  error: JobErrorInfo | null,
  cancelReason: string | null,
): JobOutcome {
  return {
    failures: o.failures,
    retryable: o.retryable,
    result,
    error,
    cancelReason,
    finishedAt: at,
    resumedFromRunning: o.resumedFromRunning,
  };
}

/** Whether a fresh job created from `input` waits for a time of its own first (`pending.scheduled`). */
export function isScheduled(input: JobInput): boolean {
  return input.runAt != null && input.runAt > input.createdAt;
}

/** The deadlines of a fresh job: none, or its scheduled time as the time it may start. */
export function freshDeadlines(input: JobInput): JobDeadlines {
  return isScheduled(input) ? { heartbeatAt: null, timeoutAt: null, retryAt: input.runAt! } : NO_DEADLINES;
}

/** The context of a job created from `input`, with the restored fields of a job resumed after a restart. */
export function initialContext(input: JobInput): JobContext {
  const r = input.restore ?? NOTHING_RESTORED;
  return {
    spec: {
      id: input.id,
      type: input.type,
      key: input.key,
      input: input.input,
      retry: input.retry,
      heartbeatTimeoutMs: input.heartbeatTimeoutMs,
      timeoutMs: input.timeoutMs,
      createdAt: input.createdAt,
      priority: input.priority ?? 0,
      runAt: input.runAt ?? null,
    },
    run: {
      seq: r.seq ?? 1,
      lastChange: r.lastChange ?? 'created',
      updatedAt: r.updatedAt ?? input.createdAt,
      at: r.at ?? input.createdAt,
      attempt: r.attempt ?? 0,
      progress: r.progress ?? 0,
      message: r.message ?? null,
      startedAt: r.startedAt ?? null,
      lastHeartbeatAt: r.lastHeartbeatAt ?? null,
    },
    outcome: {
      failures: r.failures ?? 0,
      retryable: r.retryable ?? true,
      result: r.result ?? null,
      error: r.error ?? null,
      cancelReason: r.cancelReason ?? null,
      finishedAt: r.finishedAt ?? null,
      resumedFromRunning: r.resumedFromRunning ?? false,
    },
    deadlines: r.deadlines ?? freshDeadlines(input),
  };
}
