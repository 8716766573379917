/**
 * The relay machine: the lifecycle of the one WebSocket client through which inspection frames
 * are pushed to a relay such as `createInspectorServer()` of `@statelyai/inspect/server`
 * (src/inspection/relay.ts runs it).
 *
 * live (connecting → open) → backingOff → live …; close: live.closing → closed, or
 * backingOff → closed
 *
 * The socket is the invoked `socket` actor of `live`: it opens on start, sends back
 * SOCKET_OPEN / SOCKET_ERROR / SOCKET_CLOSED, writes the kept frames when told FLUSH, closes when
 * told CLOSE_SOCKET, and is closed for good when `live` is left. The backoff before each
 * reconnect is the `backoff` delay of the attempt counter, which an open socket resets.
 *
 * The kept frames (a bounded queue, the oldest dropped) live outside the context: assigning
 * them would copy the queue on every frame. The machine decides what happens to a frame:
 * kept while the socket is not open (`keepFrame`), written as it comes while it is open
 * (`keepFrame` then FLUSH: the socket writes what its send buffer takes, the rest waits), all
 * of them flushed on open, dropped once closed (`discardFrames`). The relay provides the
 * actions that touch the queue and the socket actor with `.provide()`; machines/ does no I/O.
 */
import { assign, enqueueActions, fromCallback, not, sendTo, setup } from 'xstate';
import { backoffDelay } from './backoff.js';

export type RelayStatus = 'open' | 'down';

export interface RelayContext {
  /** Reconnects since the socket was last open; the backoff grows with it. 0 again on open. */
  readonly attempt: number;
  /** The status last reported, so that each change is reported once. */
  readonly reported: RelayStatus | null;
}

export type RelayEvent =
  /** The socket is open (sent by the socket actor). */
  | { readonly type: 'SOCKET_OPEN' }
  /** The socket failed; a SOCKET_CLOSED follows (sent by the socket actor). */
  | { readonly type: 'SOCKET_ERROR'; readonly error: Error }
  /** The socket is closed, whether it was ever open or not (sent by the socket actor). */
  | { readonly type: 'SOCKET_CLOSED' }
  /** A frame to send. */
  | { readonly type: 'FRAME'; readonly frame: string }
  /** The caller's `close()`: write what can be written, close the socket, no reconnect. */
  | { readonly type: 'CLOSE' };

/** What the machine tells its socket actor. */
export type RelaySocketCommand =
  /** Write the kept frames, oldest first, while the socket is open and its send buffer takes them. */
  | { readonly type: 'FLUSH' }
  /** Write what can be written, then close the socket normally. */
  | { readonly type: 'CLOSE_SOCKET' };

/** Reported once per change: the socket opened, or the relay is lost (with the error when there is one). */
export interface RelayStatusEmit {
  readonly type: 'status';
  readonly status: RelayStatus;
  readonly error?: Error;
}

/** An effect on the queue of kept frames: the relay provides it (machines/ does no I/O). */
const provided = () => undefined;

export const relayMachine = setup({
  types: {
    context: {} as RelayContext,
    events: {} as RelayEvent,
    emitted: {} as RelayStatusEmit,
  },
  actors: {
    /** The socket. The relay provides the real one (src/inspection/relay.ts); this one never connects. */
    socket: fromCallback<RelaySocketCommand>(() => undefined),
  },
  actions: {
    /** Keeps the frame of a FRAME event, the oldest dropped past the bound. */
    keepFrame: provided,
    /** Drops the frames never sent. */
    discardFrames: provided,
    flushFrames: sendTo('socket', { type: 'FLUSH' }),
    closeSocket: sendTo('socket', { type: 'CLOSE_SOCKET' }),
    resetAttempts: assign({ attempt: 0 }),
    countAttempt: assign({ attempt: ({ context }) => context.attempt + 1 }),
    reportOpen: enqueueActions(({ enqueue }) => {
      enqueue.assign({ reported: 'open' });
      enqueue.emit({ type: 'status', status: 'open' });
    }),
    reportDown: enqueueActions(({ enqueue, event }) => {
      enqueue.assign({ reported: 'down' });
      enqueue.emit(
        event.type === 'SOCKET_ERROR'
          ? { type: 'status', status: 'down', error: event.error }
          : { type: 'status', status: 'down' },
      );
    }),
  },
  guards: {
    isReportedDown: ({ context }) => context.reported === 'down',
  },
  delays: {
    /** Before reconnect attempt `attempt` (250 ms doubling up to 10 s, jittered: the relay's defaults). */
    backoff: ({ context }) => backoffDelay(context.attempt),
    /** How long a closing socket may take to confirm before it is terminated. */
    closeTimeout: 1_000,
  },
}).createMachine({
  id: 'relay',
  context: { attempt: 0, reported: null },
  initial: 'live',
  states: {
    live: {
      invoke: { id: 'socket', src: 'socket' },
      initial: 'connecting',
      on: {
        SOCKET_ERROR: { guard: not('isReportedDown'), actions: 'reportDown' },
        SOCKET_CLOSED: [
          { guard: 'isReportedDown', target: 'backingOff' },
          { target: 'backingOff', actions: 'reportDown' },
        ],
        CLOSE: '.closing',
      },
      states: {
        connecting: {
          on: {
            SOCKET_OPEN: { target: 'open', actions: ['resetAttempts', 'reportOpen'] },
            FRAME: { actions: 'keepFrame' },
          },
        },
        open: {
          entry: 'flushFrames',
          on: {
            FRAME: { actions: ['keepFrame', 'flushFrames'] },
          },
        },
        closing: {
          entry: 'closeSocket',
          after: { closeTimeout: '#relay.closed' },
          on: {
            // Nothing is reported once closing, and a second CLOSE changes nothing.
            SOCKET_ERROR: {},
            SOCKET_CLOSED: '#relay.closed',
            CLOSE: {},
          },
        },
      },
    },
    backingOff: {
      after: { backoff: { target: 'live', actions: 'countAttempt' } },
      on: {
        FRAME: { actions: 'keepFrame' },
        CLOSE: 'closed',
      },
    },
    closed: {
      type: 'final',
      entry: 'discardFrames',
    },
  },
});

export type RelayMachine = typeof relayMachine;
