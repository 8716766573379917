/**
 * The job machine: one actor per job, the only writer of that job's record.
 *
 * pending (scheduled | queued | backoff) → running → completed | failed | cancelled
 *
 * Every accepted change increments `seq` by exactly 1. Every event the current state does not
 * accept reaches the root catch-all, which emits `rejected` with a reason. Timers are XState
 * `after` delays computed from absolute deadlines in the context, so a restored job re-arms them.
 */
import { assign, emit, raise, setup } from 'xstate';
import { isValidPercent, rejectionReason, stateName } from './job.rejection.js';
import {
  attemptFailed,
  backoffDelay,
  bump,
  ended,
  heartbeatDeadline,
  initialContext,
  movedTo,
  NO_DEADLINES,
  watchdogAt,
} from './job.context.js';
import type { JobContext, JobEvent, JobInput, RejectedEmit } from './job.types.js';

export { backoffDelay };

type EventOf<T extends JobEvent['type']> = Extract<JobEvent, { type: T }>;

/** The event XState schedules for `after: { watchdog }` of the state `#job.running`. */
const WATCHDOG_EVENT = 'xstate.after.watchdog.job.running';

/** The time on the actor's clock, when it can tell (a supervisor's actors can); else undefined. */
function clockNow(self: unknown): number | undefined {
  const clock = (self as { clock?: { now?: () => number } }).clock;
  return typeof clock?.now === 'function' ? clock.now() : undefined;
}

export const jobMachine = setup({
  types: {
    context: {} as JobContext,
    events: {} as JobEvent,
    input: {} as JobInput,
    emitted: {} as RejectedEmit,
  },
  guards: {
    isCurrentAttempt: ({ context, event }) => 'attempt' in event && event.attempt === context.run.attempt,
    /** A PROGRESS of the current attempt that does not go backwards (one guard: one check per report). */
    isForwardProgress: ({ context, event }) =>
      event.type === 'PROGRESS' &&
      event.attempt === context.run.attempt &&
      isValidPercent(event.percent) &&
      event.percent >= context.run.progress,
    canRetry: ({ context }) =>
      context.outcome.retryable && context.outcome.failures <= context.spec.retry.maxRetries,
    wasInterrupted: ({ context }) => context.outcome.resumedFromRunning,
    /** A delayed job before its first attempt, its time not come yet. */
    awaitingRunAt: ({ context }) =>
      context.run.attempt === 0 &&
      context.deadlines.retryAt !== null &&
      context.deadlines.retryAt > context.run.at,
    awaitingRetry: ({ context }) =>
      context.deadlines.retryAt !== null && context.deadlines.retryAt > context.run.at,
    timeoutDue: ({ context }) =>
      context.deadlines.timeoutAt !== null && context.deadlines.timeoutAt <= watchdogAt(context),
    stallDue: ({ context }) => heartbeatDeadline(context) <= watchdogAt(context),
  },
  delays: {
    watchdog: ({ context }) => Math.max(0, watchdogAt(context) - context.run.at),
    retryBackoff: ({ context }) =>
      Math.max(0, (context.deadlines.retryAt ?? context.run.at) - context.run.at),
    untilRunAt: ({ context }) => Math.max(0, (context.deadlines.retryAt ?? context.run.at) - context.run.at),
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
      const { run, spec } = context;
      return {
        run: {
          seq: run.seq + 1,
          lastChange: 'started' as const,
          updatedAt: at,
          at,
          attempt: run.attempt + 1,
          progress: 0,
          message: null,
          startedAt: at,
          lastHeartbeatAt: null,
        },
        deadlines: {
          heartbeatAt: at + spec.heartbeatTimeoutMs,
          timeoutAt: spec.timeoutMs === null ? null : at + spec.timeoutMs,
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
      const { run } = context;
      return { run: bump(run, 'progress', at, percent, message ?? run.message, at) };
    }),
    /** Not a change: no `seq`, no subscriber notification; the watchdog will see the new time. */
    recordHeartbeat: assign(({ context, event }) => {
      const { at } = event as EventOf<'HEARTBEAT'>;
      return { run: movedTo(context.run, at, at) };
    }),
    /**
     * Schedules the watchdog again, as `after watchdog` does on entering `running`: the same event,
     * under the same id, so leaving `running` cancels it as it cancels the first.
     */
    armWatchdog: raise({ type: WATCHDOG_EVENT } as unknown as JobEvent, {
      id: WATCHDOG_EVENT,
      delay: 'watchdog',
    }),
    /**
     * The watchdog fired before the heartbeat deadline (a report came in since it was armed): arm
     * it again for that deadline, from the time it fired (read off the actor's clock, so a clock
     * that jumped, as a simulated one does, still fires at the deadline).
     */
    rearmWatchdog: assign(({ context, self }) => {
      const { timeoutAt, retryAt } = context.deadlines;
      return {
        run: movedTo(context.run, Math.max(context.run.at, watchdogAt(context), clockNow(self) ?? 0)),
        deadlines: { heartbeatAt: heartbeatDeadline(context), timeoutAt, retryAt },
      };
    }),
    complete: assign(({ context, event }) => {
      const { at, result } = event as EventOf<'COMPLETE'>;
      return {
        run: bump(context.run, 'completed', at, 100),
        outcome: ended(context.outcome, at, result ?? null, null, context.outcome.cancelReason),
        deadlines: NO_DEADLINES,
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
    recordInterruption: assign(({ context }) =>
      attemptFailed(
        context,
        'interrupted',
        `attempt ${context.run.attempt} was running when the process stopped`,
        context.run.at,
        true,
        false,
      ),
    ),
    scheduleRetry: assign(({ context }) => {
      const at = context.run.at;
      return {
        run: bump(context.run, 'retrying', at),
        deadlines: { heartbeatAt: null, timeoutAt: null, retryAt: at + backoffDelay(context) },
      };
    }),
    requeue: assign(({ context }) => {
      const { heartbeatAt, timeoutAt, retryAt } = context.deadlines;
      return {
        run: bump(context.run, 'requeued', retryAt ?? context.run.at),
        deadlines: { heartbeatAt, timeoutAt, retryAt: null },
      };
    }),
    /** A delayed job's time came: it joins the queue (at its scheduled time, which a restart keeps). */
    markDue: assign(({ context }) => ({
      run: bump(context.run, 'due', context.deadlines.retryAt ?? context.run.at),
      deadlines: NO_DEADLINES,
    })),
    markFailed: assign(({ context }) => {
      const { run, outcome } = context;
      return {
        run: bump(run, 'failed', run.at),
        outcome: ended(outcome, run.at, outcome.result, outcome.error, outcome.cancelReason),
      };
    }),
    markCancelled: assign(({ context, event }) => {
      const { at, reason } = event as EventOf<'CANCEL'>;
      const { outcome } = context;
      return {
        run: bump(context.run, 'cancelled', at),
        outcome: ended(outcome, at, outcome.result, outcome.error, reason ?? null),
        deadlines: NO_DEADLINES,
      };
    }),
    markInterrupted: assign(({ context, event }) => {
      const { at, reason } = event as EventOf<'INTERRUPT'>;
      return {
        run: bump(context.run, 'interrupted', at, context.run.progress, reason),
        deadlines: NO_DEADLINES,
      };
    }),
    reportRejected: emit(({ context, event, self }) => {
      const state = stateName(self.getSnapshot().value);
      return { type: 'rejected' as const, event, state, reason: rejectionReason(state, context, event) };
    }),
  },
}).createMachine({
  id: 'job',
  context: ({ input }) => initialContext(input),
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
          // All false for a fresh job that is not delayed: a supervisor starts such a job's actor
          // from a copy of this initial state (src/supervisor/fresh-snapshot.ts; a delayed one takes
          // XState's path). A guard here that reads something a fresh input can set must come with
          // a case in test/fresh-snapshot.test.ts.
          always: [
            { guard: 'wasInterrupted', target: '#job.attemptFailed', actions: 'recordInterruption' },
            { guard: 'awaitingRunAt', target: 'scheduled' },
            { guard: 'awaitingRetry', target: 'backoff' },
          ],
          on: {
            START: { target: '#job.running', actions: 'startAttempt' },
          },
        },
        /** A delayed job waits for its time (`deadlines.retryAt`, re-armed after a restart). */
        scheduled: {
          after: {
            untilRunAt: { target: 'queued', actions: 'markDue' },
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
