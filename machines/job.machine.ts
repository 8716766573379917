/**
 * The job machine: one actor per job, the only writer of that job's record.
 *
 * pending (queued | backoff) → running → completed | failed | cancelled
 *
 * Every accepted change increments `seq` by exactly 1. Every event the current state does not
 * accept reaches the root catch-all, which emits `rejected` with a reason. Timers are XState
 * `after` delays computed from absolute deadlines in the context, so a restored job re-arms them.
 */
import { assign, emit, raise, setup } from 'xstate';
import { isValidPercent, rejectionReason, stateName } from './job.rejection.js';
import type { ChangeKind, JobContext, JobEvent, JobInput, RejectedEmit } from './job.types.js';

type EventOf<T extends JobEvent['type']> = Extract<JobEvent, { type: T }>;

/** The event XState schedules for `after: { watchdog }` of the state `#job.running`. */
const WATCHDOG_EVENT = 'xstate.after.watchdog.job.running';

/** The fields every accepted change updates. */
function bump(context: JobContext, kind: ChangeKind, at: number) {
  return { seq: context.seq + 1, lastChange: kind, updatedAt: at, at };
}

/**
 * When the watchdog of the running attempt fires: the nearer of `deadlines.heartbeatAt` (the
 * heartbeat deadline as of the watchdog's arming) and the job timeout.
 */
function watchdogAt(context: JobContext): number {
  const { heartbeatAt, timeoutAt } = context.deadlines;
  return Math.min(heartbeatAt ?? Infinity, timeoutAt ?? Infinity);
}

/** The heartbeat deadline as of now: a heartbeat timeout after the latest report (or the attempt's start). */
function heartbeatDeadline(context: JobContext): number {
  return (context.lastHeartbeatAt ?? context.startedAt ?? context.at) + context.spec.heartbeatTimeoutMs;
}

/** The time on the actor's clock, when it can tell (a supervisor's actors can); else undefined. */
function clockNow(self: unknown): number | undefined {
  const clock = (self as { clock?: { now?: () => number } }).clock;
  return typeof clock?.now === 'function' ? clock.now() : undefined;
}

export function backoffDelay(context: JobContext): number {
  const { backoffMs, factor, maxBackoffMs } = context.spec.retry;
  return Math.min(maxBackoffMs, backoffMs * factor ** Math.max(0, context.failures - 1));
}

function attemptFailed(context: JobContext, code: string, message: string, at: number, retryable = true) {
  return {
    error: { code, message },
    retryable,
    failures: context.failures + 1,
    at,
    deadlines: { heartbeatAt: null, timeoutAt: null, retryAt: null },
  };
}

export const jobMachine = setup({
  types: {
    context: {} as JobContext,
    events: {} as JobEvent,
    input: {} as JobInput,
    emitted: {} as RejectedEmit,
  },
  guards: {
    isCurrentAttempt: ({ context, event }) => 'attempt' in event && event.attempt === context.attempt,
    /** A PROGRESS of the current attempt that does not go backwards (one guard: one check per report). */
    isForwardProgress: ({ context, event }) =>
      event.type === 'PROGRESS' &&
      event.attempt === context.attempt &&
      isValidPercent(event.percent) &&
      event.percent >= context.progress,
    canRetry: ({ context }) => context.retryable && context.failures <= context.spec.retry.maxRetries,
    wasInterrupted: ({ context }) => context.resumedFromRunning,
    awaitingRetry: ({ context }) =>
      context.deadlines.retryAt !== null && context.deadlines.retryAt > context.at,
    timeoutDue: ({ context }) =>
      context.deadlines.timeoutAt !== null && context.deadlines.timeoutAt <= watchdogAt(context),
    stallDue: ({ context }) => heartbeatDeadline(context) <= watchdogAt(context),
  },
  delays: {
    watchdog: ({ context }) => Math.max(0, watchdogAt(context) - context.at),
    retryBackoff: ({ context }) => Math.max(0, (context.deadlines.retryAt ?? context.at) - context.at),
  },
  actions: {
    /**
     * Entering `running`: the attempt's handler is to run. The supervisor provides the effect (the
     * job's cell launches the handler once the step is over); here it does nothing.
     */
    launchHandler: () => undefined,
    /** Leaving `running`, by any transition: the attempt's handler is aborted (provided likewise). */
    stopHandler: () => undefined,
    startAttempt: assign(({ context, event }) => {
      const { at } = event as EventOf<'START'>;
      // Literals, not a spread of bump(): on Node 20 a spread then more properties takes V8's slow path.
      return {
        seq: context.seq + 1,
        lastChange: 'started' as const,
        updatedAt: at,
        at,
        attempt: context.attempt + 1,
        progress: 0,
        message: null,
        startedAt: at,
        lastHeartbeatAt: null,
        deadlines: {
          heartbeatAt: at + context.spec.heartbeatTimeoutMs,
          timeoutAt: context.spec.timeoutMs === null ? null : at + context.spec.timeoutMs,
          retryAt: null,
        },
      };
    }),
    /**
     * Not a timer move: the watchdog stays armed for `deadlines.heartbeatAt` and, when it fires,
     * re-arms from `lastHeartbeatAt` if a report came in since (`rearmWatchdog`). So a progress
     * report neither leaves `running` nor cancels and re-schedules a timer.
     */
    recordProgress: assign(({ context, event }) => {
      const { at, percent, message } = event as EventOf<'PROGRESS'>;
      return {
        seq: context.seq + 1,
        lastChange: 'progress' as const,
        updatedAt: at,
        at,
        progress: percent,
        message: message ?? context.message,
        lastHeartbeatAt: at,
      };
    }),
    /** Not a change: no `seq`, no subscriber notification; the watchdog will see the new time. */
    recordHeartbeat: assign(({ event }) => {
      const { at } = event as EventOf<'HEARTBEAT'>;
      return { at, lastHeartbeatAt: at };
    }),
    /**
     * The watchdog fired before the heartbeat deadline (a report came in since it was armed): arm
     * it again for that deadline, from the time it fired (read off the actor's clock, so a clock
     * that jumped, as a simulated one does, still fires at the deadline).
     */
    /**
     * Schedules the watchdog again, as `after watchdog` does on entering `running`: the same event,
     * under the same id, so leaving `running` cancels it as it cancels the first.
     */
    armWatchdog: raise({ type: WATCHDOG_EVENT } as unknown as JobEvent, {
      id: WATCHDOG_EVENT,
      delay: 'watchdog',
    }),
    rearmWatchdog: assign(({ context, self }) => {
      const { timeoutAt, retryAt } = context.deadlines;
      return {
        at: Math.max(context.at, watchdogAt(context), clockNow(self) ?? 0),
        deadlines: { heartbeatAt: heartbeatDeadline(context), timeoutAt, retryAt },
      };
    }),
    complete: assign(({ context, event }) => {
      const { at, result } = event as EventOf<'COMPLETE'>;
      return {
        seq: context.seq + 1,
        lastChange: 'completed' as const,
        updatedAt: at,
        at,
        progress: 100,
        result: result ?? null,
        error: null,
        finishedAt: at,
        deadlines: { heartbeatAt: null, timeoutAt: null, retryAt: null },
      };
    }),
    recordFailure: assign(({ context, event }) => {
      const { at, error } = event as EventOf<'FAIL'>;
      return attemptFailed(context, error.code, error.message, at, error.retryable !== false);
    }),
    recordStall: assign(({ context }) =>
      attemptFailed(
        context,
        'stalled',
        `no heartbeat or progress for ${context.spec.heartbeatTimeoutMs} ms`,
        watchdogAt(context),
      ),
    ),
    recordTimeout: assign(({ context }) =>
      attemptFailed(
        context,
        'timeout',
        `the attempt ran longer than ${context.spec.timeoutMs} ms`,
        watchdogAt(context),
      ),
    ),
    recordInterruption: assign(({ context }) => ({
      ...attemptFailed(
        context,
        'interrupted',
        `attempt ${context.attempt} was running when the process stopped`,
        context.at,
      ),
      resumedFromRunning: false,
    })),
    scheduleRetry: assign(({ context }) => ({
      ...bump(context, 'retrying', context.at),
      deadlines: { heartbeatAt: null, timeoutAt: null, retryAt: context.at + backoffDelay(context) },
    })),
    requeue: assign(({ context }) => {
      const at = context.deadlines.retryAt ?? context.at;
      return { ...bump(context, 'requeued', at), deadlines: { ...context.deadlines, retryAt: null } };
    }),
    markFailed: assign(({ context }) => ({
      ...bump(context, 'failed', context.at),
      finishedAt: context.at,
    })),
    markCancelled: assign(({ context, event }) => {
      const { at, reason } = event as EventOf<'CANCEL'>;
      return {
        ...bump(context, 'cancelled', at),
        finishedAt: at,
        cancelReason: reason ?? null,
        deadlines: { heartbeatAt: null, timeoutAt: null, retryAt: null },
      };
    }),
    markInterrupted: assign(({ context, event }) => {
      const { at, reason } = event as EventOf<'INTERRUPT'>;
      return {
        ...bump(context, 'interrupted', at),
        message: reason,
        deadlines: { heartbeatAt: null, timeoutAt: null, retryAt: null },
      };
    }),
    reportRejected: emit(({ context, event, self }) => {
      const state = stateName(self.getSnapshot().value);
      return { type: 'rejected' as const, event, state, reason: rejectionReason(state, context, event) };
    }),
  },
}).createMachine({
  id: 'job',
  context: ({ input }) => ({
    spec: {
      id: input.id,
      type: input.type,
      key: input.key,
      input: input.input,
      retry: input.retry,
      heartbeatTimeoutMs: input.heartbeatTimeoutMs,
      timeoutMs: input.timeoutMs,
      createdAt: input.createdAt,
    },
    attempt: 0,
    failures: 0,
    progress: 0,
    message: null,
    seq: 1,
    lastChange: 'created',
    startedAt: null,
    updatedAt: input.createdAt,
    finishedAt: null,
    lastHeartbeatAt: null,
    deadlines: { heartbeatAt: null, timeoutAt: null, retryAt: null },
    result: null,
    error: null,
    retryable: true,
    cancelReason: null,
    at: input.createdAt,
    resumedFromRunning: false,
    ...input.restore,
  }),
  on: {
    '*': { actions: 'reportRejected' },
  },
  initial: 'pending',
  states: {
    pending: {
      initial: 'queued',
      on: {
        CANCEL: { target: 'cancelled', actions: 'markCancelled' },
      },
      states: {
        queued: {
          always: [
            { guard: 'wasInterrupted', target: '#job.attemptFailed', actions: 'recordInterruption' },
            { guard: 'awaitingRetry', target: 'backoff' },
          ],
          on: {
            START: { target: '#job.running', actions: 'startAttempt' },
          },
        },
        backoff: {
          after: {
            retryBackoff: { target: 'queued', actions: 'requeue' },
          },
        },
      },
    },
    running: {
      entry: 'launchHandler',
      exit: 'stopHandler',
      after: {
        watchdog: [
          { guard: 'timeoutDue', target: 'attemptFailed', actions: 'recordTimeout' },
          { guard: 'stallDue', target: 'attemptFailed', actions: 'recordStall' },
          // Re-armed in place: re-entering `running` would stop and launch the handler again.
          { actions: ['rearmWatchdog', 'armWatchdog'] },
        ],
      },
      on: {
        PROGRESS: { guard: 'isForwardProgress', actions: 'recordProgress' },
        HEARTBEAT: { guard: 'isCurrentAttempt', actions: 'recordHeartbeat' },
        COMPLETE: { guard: 'isCurrentAttempt', target: 'completed', actions: 'complete' },
        FAIL: { guard: 'isCurrentAttempt', target: 'attemptFailed', actions: 'recordFailure' },
        CANCEL: { target: 'cancelled', actions: 'markCancelled' },
        INTERRUPT: { target: '#job.pending.queued', actions: 'markInterrupted' },
      },
    },
    /** Transient: decides between a retry and giving up, in the same step as the failure. */
    attemptFailed: {
      always: [
        { guard: 'canRetry', target: '#job.pending.backoff', actions: 'scheduleRetry' },
        { target: 'failed', actions: 'markFailed' },
      ],
    },
    completed: { type: 'final' },
    failed: { type: 'final' },
    cancelled: { type: 'final' },
  },
});

export type JobMachine = typeof jobMachine;
