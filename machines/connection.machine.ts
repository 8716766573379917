/**
 * The connection machine: the lifecycle of one live subscription's WebSocket.
 *
 * socket (connecting → open → live) → backingOff → socket … ; closed (final)
 *
 * `socket` invokes the socket actor: entering it opens a socket, leaving it (to back off, or
 * for good) closes that socket. `open` sends the subscribe command, resuming from the client's
 * offset once the subscription has had its first snapshot (or the caller gave `since`). A drop
 * backs off for `reconnectDelay` (exponential in `attempt`, which resets when live); an
 * unauthorized close, a refused subscribe or a socket that cannot be opened closes for good.
 *
 * The machine does no I/O: the client provides the socket actor (which turns socket callbacks
 * and parsed server messages into these events) and `applySnapshot` (which writes its store).
 */
import { assertEvent, assign, fromCallback, sendTo, setup } from 'xstate';
import { exponentialBackoff, type ExponentialBackoff } from './backoff.js';

/** WebSocket close codes the machine reads (the server's, as src/protocol's CLOSE_CODES). */
export const CONNECTION_CLOSE_CODES = Object.freeze({ unauthorized: 4401, tooSlow: 4008 });

export interface ConnectionError {
  readonly code: string;
  readonly message: string;
}

export interface ConnectionInput {
  /** Subscribe with `since` from the first attempt on (the caller resumes after an offset). */
  readonly resume: boolean;
  readonly backoff?: ExponentialBackoff;
}

export interface ConnectionContext {
  /** Reconnect attempts since the subscription was last live (0 before the first drop). */
  readonly attempt: number;
  /** Whether a subscribe resumes from the client's offset: after a first snapshot, or with `since`. */
  readonly resume: boolean;
  /** What the current socket reported before it closed (e.g. a refused handshake), if anything. */
  readonly socketError: string | null;
  /** The last error: a server error, a bad message, why it reconnects or why it closed. */
  readonly error: ConnectionError | null;
  readonly backoff: ExponentialBackoff;
}

/** `Snapshot`: what a SNAPSHOT event carries for `applySnapshot` (the machine never reads it). */
export type ConnectionEvent<Snapshot = unknown> =
  /** The socket is open: the subscribe command can be sent. */
  | { readonly type: 'SOCKET_OPEN' }
  /** The socket reported an error (a close follows). */
  | { readonly type: 'SOCKET_ERROR'; readonly message: string }
  | { readonly type: 'SOCKET_CLOSE'; readonly code: number; readonly reason: string }
  /** No socket could be created (no WebSocket implementation, a bad URL): retrying cannot help. */
  | { readonly type: 'OPEN_FAILED'; readonly message: string }
  /** The subscription's snapshot: its first message, or a resync. */
  | { readonly type: 'SNAPSHOT'; readonly resync: boolean; readonly snapshot: Snapshot }
  /** The server accepted the subscribe command (a resumed subscription gets no snapshot). */
  | { readonly type: 'REPLY' }
  /** The server refused the subscribe command: it would refuse it again. */
  | { readonly type: 'REFUSED'; readonly error: ConnectionError }
  /** Any other error the server sent. */
  | { readonly type: 'SERVER_ERROR'; readonly error: ConnectionError }
  /** A message that does not match the protocol: it may be a change, so resume from the offset. */
  | { readonly type: 'BAD_MESSAGE' }
  /** The caller's `close()`. */
  | { readonly type: 'CLOSE' };

/** What the machine tells its socket actor. */
export type SocketCommand = { readonly type: 'SUBSCRIBE'; readonly resume: boolean };

/** A resync replaces the jobs; so does a first snapshot. A resumed subscription merges into its own. */
function replaceJobs({ context, event }: { context: ConnectionContext; event: { resync: boolean } }) {
  return { replace: event.resync || !context.resume };
}

function failure(code: string, message: string): { error: ConnectionError } {
  return { error: { code, message } };
}

/** The machine, typed for the snapshot its client puts in SNAPSHOT events. */
export function createConnectionMachine<Snapshot = unknown>() {
  return setup({
    types: {
      context: {} as ConnectionContext,
      events: {} as ConnectionEvent<Snapshot>,
      input: {} as ConnectionInput,
      /** The error the subscription ended with; null when the caller closed it. */
      output: {} as ConnectionError | null,
      children: {} as { socket: 'socket' },
    },
    actors: {
      /** Opens one socket and reports on it; closes it when stopped. The client provides it. */
      socket: fromCallback<SocketCommand, undefined, ConnectionEvent<Snapshot>>(() => undefined),
    },
    guards: {
      isResuming: ({ context }) => context.resume,
      /** Closed as unauthorized, or the handshake was answered 401 (how `ws` reports it). */
      isUnauthorized: ({ context, event }) =>
        event.type === 'SOCKET_CLOSE' &&
        (event.code === CONNECTION_CLOSE_CODES.unauthorized || /\b401\b/.test(context.socketError ?? '')),
      isTooSlow: ({ event }) =>
        event.type === 'SOCKET_CLOSE' && event.code === CONNECTION_CLOSE_CODES.tooSlow,
      hadSocketError: ({ context }) => context.socketError !== null,
    },
    delays: {
      reconnectDelay: ({ context }) => exponentialBackoff(context.attempt, context.backoff),
    },
    actions: {
      sendSubscribe: sendTo('socket', ({ context }): SocketCommand => ({
        type: 'SUBSCRIBE',
        resume: context.resume,
      })),
      /** Applies the snapshot; `replace`: its jobs are the topic's, at its offset. The client provides it. */
      applySnapshot: (_args, _params: { replace: boolean }) => undefined,
      forgetSocketError: assign({ socketError: null }),
      recordSocketError: assign(({ event }) => {
        assertEvent(event, 'SOCKET_ERROR');
        return { socketError: event.message };
      }),
      markSubscribed: assign({ resume: true, error: null }),
      resetAttempts: assign({ attempt: 0 }),
      countAttempt: assign(({ context }) => ({ attempt: context.attempt + 1 })),
      recordUnauthorized: assign(({ event }) => {
        assertEvent(event, 'SOCKET_CLOSE');
        return failure('unauthorized', event.reason || 'missing or wrong token');
      }),
      recordTooSlow: assign(({ event }) => {
        assertEvent(event, 'SOCKET_CLOSE');
        return failure('too_slow', event.reason || 'subscriber fell behind; resuming');
      }),
      recordUnreachable: assign(({ context }) =>
        failure('unreachable', context.socketError ?? 'WebSocket error'),
      ),
      recordBadMessage: assign(() => failure('bad_response', 'server message does not match the protocol')),
      recordServerError: assign(({ event }) => {
        assertEvent(event, ['REFUSED', 'SERVER_ERROR']);
        return { error: event.error };
      }),
      recordOpenFailure: assign(({ event }) => {
        assertEvent(event, 'OPEN_FAILED');
        return failure('unreachable', event.message);
      }),
      /** The socket actor threw: as if no socket could be opened. */
      recordSocketCrash: assign(({ event }) => {
        const thrown = (event as { error?: unknown }).error;
        return failure('unreachable', thrown instanceof Error ? thrown.message : String(thrown));
      }),
    },
  }).createMachine({
    id: 'connection',
    // A visualizer may start it without input: a fresh subscription with the default backoff.
    context: ({ input }) => ({
      attempt: 0,
      resume: (input as ConnectionInput | undefined)?.resume ?? false,
      socketError: null,
      error: null,
      backoff: (input as ConnectionInput | undefined)?.backoff ?? {},
    }),
    output: ({ event }) => event.output as ConnectionError | null,
    on: {
      CLOSE: '.closed',
    },
    initial: 'socket',
    states: {
      socket: {
        entry: 'forgetSocketError',
        invoke: {
          id: 'socket',
          src: 'socket',
          onError: { target: 'closed', actions: 'recordSocketCrash' },
        },
        on: {
          SOCKET_ERROR: { actions: 'recordSocketError' },
          SOCKET_CLOSE: [
            { guard: 'isUnauthorized', target: 'closed', actions: 'recordUnauthorized' },
            { guard: 'isTooSlow', target: 'backingOff', actions: 'recordTooSlow' },
            { guard: 'hadSocketError', target: 'backingOff', actions: 'recordUnreachable' },
            { target: 'backingOff' },
          ],
          OPEN_FAILED: { target: 'closed', actions: 'recordOpenFailure' },
          BAD_MESSAGE: { target: 'backingOff', actions: 'recordBadMessage' },
          REFUSED: { target: 'closed', actions: 'recordServerError' },
          SERVER_ERROR: { actions: 'recordServerError' },
        },
        initial: 'connecting',
        states: {
          connecting: {
            on: { SOCKET_OPEN: 'open' },
          },
          /** The subscribe command is sent: waiting for the snapshot (or, resuming, the reply). */
          open: {
            entry: 'sendSubscribe',
            on: {
              SNAPSHOT: {
                target: 'live',
                actions: [{ type: 'applySnapshot', params: replaceJobs }, 'markSubscribed'],
              },
              REPLY: { guard: 'isResuming', target: 'live', actions: 'markSubscribed' },
            },
          },
          live: {
            entry: 'resetAttempts',
            on: {
              SNAPSHOT: {
                actions: [{ type: 'applySnapshot', params: replaceJobs }, 'markSubscribed'],
              },
              REPLY: { guard: 'isResuming', actions: 'markSubscribed' },
            },
          },
        },
      },
      backingOff: {
        after: {
          reconnectDelay: { target: 'socket', actions: 'countAttempt' },
        },
      },
      /** The caller's close() ends without an error; anything else with the error that closed it. */
      closed: {
        type: 'final',
        output: ({ context, event }) => (event.type === 'CLOSE' ? null : context.error),
      },
    },
  });
}

/** The machine as data (its snapshot payload untyped): load it into a visualizer, or provide it. */
export const connectionMachine = createConnectionMachine();

export type ConnectionMachine<Snapshot = unknown> = ReturnType<typeof createConnectionMachine<Snapshot>>;
