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
import { assign, fromPromise, setup } from 'xstate';
import type { JobvisorError } from '../src/errors.js';
import type { ParsedStartRequest } from '../src/options.js';
import type { StartResult } from '../src/types.js';

export interface SupervisorContext {
  readonly graceMs: number;
}

export type SupervisorEvent =
  | {
      readonly type: 'START_JOB';
      readonly request: ParsedStartRequest;
      readonly reply: (result: StartResult | JobvisorError) => void;
    }
  /** A job entered `pending.queued` (after a retry backoff or an interruption). */
  | { readonly type: 'JOB_QUEUED'; readonly jobId: string }
  /** A job left `running` without finishing (waiting to retry, or interrupted). */
  | { readonly type: 'JOB_RELEASED'; readonly jobId: string; readonly jobType: string }
  /** A job reached a final state. */
  | {
      readonly type: 'JOB_SETTLED';
      readonly jobId: string;
      readonly jobType: string;
      readonly wasRunning: boolean;
    }
  /** A handler promise settled: shutdown may be able to finish. */
  | { readonly type: 'HANDLER_SETTLED' }
  /** A job type was registered: queued jobs of that type may start. */
  | { readonly type: 'TYPE_REGISTERED'; readonly jobType: string }
  | { readonly type: 'SHUTDOWN'; readonly graceMs: number };

/** Placeholder implementation: the facade provides the real one. */
const provided = () => undefined;

export const supervisorMachine = setup({
  types: {
    context: {} as SupervisorContext,
    events: {} as SupervisorEvent,
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
    recordGrace: assign({
      graceMs: ({ event }) => (event.type === 'SHUTDOWN' ? event.graceMs : 0),
    }),
  },
  guards: {
    /** A durable store is configured: its jobs must be resumed before accepting starts. */
    hasStore: () => false,
    /** No job is running and no handler promise is left. */
    isDrained: () => true,
    hasNoGrace: ({ context }) => context.graceMs === 0,
  },
  delays: {
    grace: ({ context }) => context.graceMs,
  },
}).createMachine({
  id: 'supervisor',
  context: { graceMs: 0 },
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
        HANDLER_SETTLED: {},
        TYPE_REGISTERED: { actions: 'dispatchQueued' },
        SHUTDOWN: { target: 'draining', actions: 'recordGrace' },
      },
    },
    draining: {
      always: { guard: 'isDrained', target: 'stopped' },
      on: {
        START_JOB: { actions: 'rejectStart' },
        JOB_QUEUED: { actions: 'enqueueJob' },
        JOB_RELEASED: { actions: 'releaseSlot' },
        JOB_SETTLED: { actions: 'settleJob' },
        HANDLER_SETTLED: {},
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
