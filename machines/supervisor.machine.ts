/**
 * The supervisor machine: the lifecycle of a supervisor and the one mailbox through which the
 * job registry changes. A start is an event here, so the dedup check and the insert happen in
 * one step however many starts arrive at once.
 *
 * starting → (recovering →) accepting → draining (grace → aborting) → stopped
 *
 * `recovering` loads the store and resumes its pending and running jobs; a store that cannot
 * be opened (corrupt, locked, newer schema) stops the supervisor with that error.
 *
 * The registry itself (O(1) maps and queues) lives outside the snapshot: XState copies the
 * children map on every spawn, so jobs are not children of this machine. The actions that
 * touch the registry are named here and implemented by the facade with `.provide()`.
 */
import type { JobInput } from './job.types.js';
import { assign, fromPromise, setup } from 'xstate';

/** A start as the supervisor's mailbox receives it: plain data, its input already validated. */
export interface StartJobRequest {
  readonly type: string;
  readonly input: unknown;
  readonly key?: string;
  readonly onConflict: 'join' | 'reject' | 'replace';
  /** Higher starts first; 0 when not given. */
  readonly priority?: number;
  /** A delayed job: not started before this time (ms since the epoch)… */
  readonly runAt?: number;
  /** …or before this many ms after its creation. */
  readonly delayMs?: number;
  /**
   * A retry by request: the failed or cancelled job to make pending again (its input, restored as
   * it was with a new `retried` change), instead of a new job. Its key is checked as a start's.
   */
  readonly retryOf?: JobInput;
  /**
   * The new job's id, chosen by the engine (a schedule's occurrence: derived from its name and
   * time, so a second creation is refused); a new UUID when not given.
   */
  readonly id?: string;
}

export interface SupervisorInput {
  /** A durable store is configured: its jobs are resumed (`recovering`) before starts are accepted. */
  readonly hasStore: boolean;
}

export interface SupervisorContext {
  readonly graceMs: number;
  readonly hasStore: boolean;
  /** While draining: attempts still running, and handler promises not settled yet. */
  readonly running: number;
  readonly handlers: number;
}

export type SupervisorEvent =
  /** A start; the facade answers request `requestId` when `admitJob` (or `rejectStart`) runs. */
  | { readonly type: 'START_JOB'; readonly requestId: number; readonly request: StartJobRequest }
  /** A job entered `pending.queued` (after a retry backoff, an interruption, or its scheduled time). */
  | { readonly type: 'JOB_QUEUED'; readonly jobId: string }
  /** A job left `running` without finishing (waiting to retry, or interrupted). `handlers`: in flight now. */
  | {
      readonly type: 'JOB_RELEASED';
      readonly jobId: string;
      readonly jobType: string;
      readonly handlers: number;
    }
  /** A job reached a final state. `handlers`: handler promises in flight now. */
  | {
      readonly type: 'JOB_SETTLED';
      readonly jobId: string;
      readonly jobType: string;
      readonly wasRunning: boolean;
      readonly handlers: number;
    }
  /** A handler promise settled; `handlers` are still in flight. */
  | { readonly type: 'HANDLER_SETTLED'; readonly handlers: number }
  /** A pause was lifted: the queued jobs it held may start. */
  | { readonly type: 'RESUMED' }
  /** A job type was registered: queued jobs of that type may start. */
  | { readonly type: 'TYPE_REGISTERED'; readonly jobType: string }
  /** Stop accepting; `running` attempts and `handlers` in flight are what draining waits for. */
  | {
      readonly type: 'SHUTDOWN';
      readonly graceMs: number;
      readonly running: number;
      readonly handlers: number;
    };

/** An effect on the registry or the job actors: the facade provides it (machines/ does no I/O). */
const provided = () => undefined;

export const supervisorMachine = setup({
  types: {
    context: {} as SupervisorContext,
    events: {} as SupervisorEvent,
    input: {} as SupervisorInput,
  },
  actors: {
    /** Opens the store and resumes its jobs. The facade provides the real implementation. */
    recover: fromPromise<void>(async () => undefined),
  },
  actions: {
    markReady: provided,
    recordRecoveryError: provided,
    admitJob: provided,
    rejectStart: provided,
    enqueueJob: provided,
    releaseSlot: provided,
    settleJob: provided,
    dispatchQueued: provided,
    interruptRunning: provided,
    stopAll: provided,
    /** What draining waits for, as SHUTDOWN tells it. */
    recordShutdown: assign(({ event }) =>
      event.type === 'SHUTDOWN'
        ? { graceMs: event.graceMs, running: event.running, handlers: event.handlers }
        : {},
    ),
    /** A running attempt ended (released or settled); the handlers in flight now. */
    countEnded: assign(({ context, event }) => {
      if (event.type === 'JOB_RELEASED') return { running: context.running - 1, handlers: event.handlers };
      if (event.type === 'JOB_SETTLED')
        return { running: context.running - (event.wasRunning ? 1 : 0), handlers: event.handlers };
      return {};
    }),
    countHandlers: assign(({ event }) =>
      event.type === 'HANDLER_SETTLED' ? { handlers: event.handlers } : {},
    ),
  },
  guards: {
    /** A durable store is configured: its jobs must be resumed before accepting starts. */
    hasStore: ({ context }) => context.hasStore,
    /** No attempt is running and no handler promise is left. */
    isDrained: ({ context }) => context.running <= 0 && context.handlers <= 0,
    hasNoGrace: ({ context }) => context.graceMs === 0,
  },
  delays: {
    grace: ({ context }) => context.graceMs,
  },
}).createMachine({
  id: 'supervisor',
  // A visualizer may start it without input: then as a supervisor without a store.
  context: ({ input }) => ({
    graceMs: 0,
    hasStore: (input as SupervisorInput | undefined)?.hasStore ?? false,
    running: 0,
    handlers: 0,
  }),
  initial: 'starting',
  states: {
    starting: {
      always: [
        { guard: 'hasStore', target: 'recovering' },
        { target: 'accepting', actions: 'markReady' },
      ],
    },
    recovering: {
      invoke: {
        src: 'recover',
        onDone: { target: 'accepting', actions: ['markReady', 'dispatchQueued'] },
        onError: { target: 'stopped', actions: 'recordRecoveryError' },
      },
      on: {
        JOB_QUEUED: { actions: 'enqueueJob' },
        JOB_SETTLED: { actions: 'settleJob' },
      },
    },
    accepting: {
      on: {
        START_JOB: { actions: ['admitJob', 'dispatchQueued'] },
        JOB_QUEUED: { actions: ['enqueueJob', 'dispatchQueued'] },
        JOB_RELEASED: { actions: ['releaseSlot', 'dispatchQueued'] },
        JOB_SETTLED: { actions: ['settleJob', 'dispatchQueued'] },
        // Accepted and ignored: only a draining supervisor counts handlers (the engine does not even
        // send it while accepting: SHUTDOWN carries the count).
        HANDLER_SETTLED: {},
        TYPE_REGISTERED: { actions: 'dispatchQueued' },
        RESUMED: { actions: 'dispatchQueued' },
        SHUTDOWN: { target: 'draining', actions: 'recordShutdown' },
      },
    },
    draining: {
      always: { guard: 'isDrained', target: 'stopped' },
      on: {
        START_JOB: { actions: 'rejectStart' },
        JOB_QUEUED: { actions: 'enqueueJob' },
        JOB_RELEASED: { actions: ['releaseSlot', 'countEnded'] },
        JOB_SETTLED: { actions: ['settleJob', 'countEnded'] },
        HANDLER_SETTLED: { actions: 'countHandlers' },
        SHUTDOWN: {},
      },
      initial: 'grace',
      states: {
        grace: {
          always: { guard: 'hasNoGrace', target: 'aborting' },
          after: { grace: 'aborting' },
        },
        aborting: {
          entry: 'interruptRunning',
        },
      },
    },
    stopped: {
      type: 'final',
      entry: 'stopAll',
    },
  },
});

export type SupervisorMachine = typeof supervisorMachine;
