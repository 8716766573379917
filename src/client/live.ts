/**
 * Live subscriptions over the WebSocket: one socket per subscription, reconnect with backoff,
 * resume with `since: context.offset`, and apply every change at most once, in order.
 *
 * The connection's lifecycle is machines/connection.machine.ts. This file provides its socket
 * actor (socket.ts, the one place that touches a WebSocket) with what the messages mean,
 * `applySnapshot` and the jittered `reconnectDelay`, and shows the machine's state in the store.
 * Changes and rejected events are data, not lifecycle: the socket actor applies them to the store
 * directly, in order.
 */
import { assertEvent, createActor, type ActorOptions, type AnyActorLogic, type SnapshotFrom } from 'xstate';
import { createConnectionMachine, type ConnectionEvent } from '../../machines/connection.machine.js';
import {
  LIMITS,
  type ClientMessage,
  type ServerMessage,
  type Topic,
  type WireChange,
  type WireRejection,
} from '../protocol/schemas.js';
import { backoffDelay, type BackoffOptions } from '../common/backoff.js';
import { JobvisorClientError } from './errors.js';
import { createLiveStore, isNewChange, type LiveStore } from './live-store.js';
import { isolated, notify, resolveOpener, socketActor, statusOf, type SocketOptions } from './socket.js';

export type { WebSocketCtor, WebSocketLike } from './socket.js';

export interface LiveSubscription {
  /** context { jobs, offset, status, error } — UI code can `store.select(...)`. */
  readonly store: LiveStore;
  /** Resolves when the first snapshot has been applied; rejects if the subscription ends before. */
  readonly ready: Promise<void>;
  /** Called once per applied change, in offset order (never twice, never a stale seq). */
  onChange(listener: (change: WireChange) => void): () => void;
  /** Called once per rejected event (needs `rejections: true`), also for the server's recent ones. */
  onRejected(listener: (rejection: WireRejection) => void): () => void;
  close(): void;
}

export interface LiveOptions extends SocketOptions {
  readonly backoff: BackoffOptions;
  /** Runs the reconnect delays (default: the system's timers); tests pass XState's SimulatedClock. */
  readonly clock?: ActorOptions<AnyActorLogic>['clock'];
}

export interface SubscribeOptions {
  /** Resume after this offset instead of starting with a snapshot. */
  readonly since?: number;
  /** Also receive the topic's rejected events (the server's recent ones, then live ones). */
  readonly rejections?: boolean;
}

let subscriptionCounter = 0;

type SnapshotMessage = Extract<ServerMessage, { type: 'snapshot' }>;
type LiveEvent = ConnectionEvent<SnapshotMessage>;

const connectionMachine = createConnectionMachine<SnapshotMessage>();
type ConnectionSnapshot = SnapshotFrom<typeof connectionMachine>;

export function subscribeLive(
  options: LiveOptions,
  topic: Topic,
  { since, rejections = false }: SubscribeOptions = {},
): LiveSubscription {
  const store = createLiveStore(since ?? 0);
  const changeListeners = new Set<(change: WireChange) => void>();
  const rejectionListeners = new Set<(rejection: WireRejection) => void>();
  /** As many ids as the server replays on a reconnect, so none of those is taken for new. */
  const seenRejections = new RecentIds(LIMITS.keptRejections);
  const subscriptionId = `sub-${++subscriptionCounter}`;

  const subscribeCommand = (resume: boolean): ClientMessage => ({
    type: 'subscribe',
    id: subscriptionId,
    topic,
    ...(resume ? { since: store.getSnapshot().context.offset } : {}),
    ...(rejections ? { rejections: true } : {}),
  });

  /** A server message as an event for the machine; changes and rejections are applied here instead. */
  const toEvent = (message: ServerMessage): LiveEvent | null => {
    switch (message.type) {
      case 'snapshot':
        if (message.subscription !== subscriptionId) return null;
        return { type: 'SNAPSHOT', resync: message.resync, snapshot: message };
      case 'change': {
        if (message.subscription !== subscriptionId) return null;
        const { change } = message;
        const isNew = isNewChange(store.getSnapshot().context, change);
        store.trigger.change({ change });
        if (isNew) notify(changeListeners, change, 'onChange');
        return null;
      }
      case 'rejected': {
        if (message.subscription !== subscriptionId) return null;
        const { rejection } = message;
        if (!seenRejections.add(rejection.id)) return null;
        store.trigger.rejected({ rejection });
        notify(rejectionListeners, rejection, 'onRejected');
        return null;
      }
      case 'error': {
        const error = { code: message.error.code, message: message.error.message };
        // The subscribe command itself was refused: retrying would be refused again.
        return message.id === subscriptionId ? { type: 'REFUSED', error } : { type: 'SERVER_ERROR', error };
      }
      case 'reply':
        // A resumed subscribe (with `since`) gets no snapshot: the reply means it is live again and
        // the missed changes (or a resync snapshot) follow. The machine ignores it otherwise.
        return message.id === subscriptionId ? { type: 'REPLY' } : null;
      case 'hello':
      case 'log':
      case 'logEnd':
        return null;
    }
  };

  const machine = connectionMachine.provide({
    actors: {
      socket: socketActor(resolveOpener(options.WebSocket), options, subscribeCommand, toEvent),
    },
    actions: {
      applySnapshot: ({ event }, { replace }) => {
        assertEvent(event, 'SNAPSHOT');
        const { jobs, offset } = event.snapshot;
        isolated('store subscriber', () => store.trigger.snapshot({ jobs, offset, replace }));
      },
    },
    delays: {
      reconnectDelay: ({ context }) => backoffDelay(context.attempt, options.backoff),
    },
  });
  const { initialMs, maxMs } = options.backoff;
  const actor = createActor(machine, {
    input: { resume: since !== undefined, backoff: { initialMs, maxMs } },
    ...(options.clock === undefined ? {} : { clock: options.clock }),
  });

  const ready = new Promise<void>((resolve, reject) => {
    const end = (error: JobvisorClientError) => {
      reject(error);
      changeListeners.clear();
      rejectionListeners.clear();
    };
    actor.subscribe({
      next(snapshot) {
        isolated('store subscriber', () => showInStore(store, snapshot));
        if (snapshot.matches({ socket: 'live' })) resolve();
        else if (snapshot.status === 'done') {
          const error = snapshot.output ?? {
            code: 'closed',
            message: 'subscription closed before its first snapshot',
          };
          end(new JobvisorClientError(error.code, error.message, 0));
        }
      },
      error(error) {
        isolated('store subscriber', () => store.trigger.status({ status: 'closed' }));
        end(new JobvisorClientError('closed', 'subscription failed', 0, undefined, { cause: error }));
      },
    });
  });
  // A caller who never awaits `ready` must not get an unhandled rejection.
  ready.catch(() => undefined);
  actor.start();

  const isOpen = () => actor.getSnapshot().status === 'active';
  return {
    store,
    ready,
    onChange(listener) {
      if (!isOpen()) return () => undefined;
      changeListeners.add(listener);
      return () => {
        changeListeners.delete(listener);
      };
    },
    onRejected(listener) {
      if (!isOpen()) return () => undefined;
      rejectionListeners.add(listener);
      return () => {
        rejectionListeners.delete(listener);
      };
    },
    close() {
      if (isOpen()) actor.send({ type: 'CLOSE' });
    },
  };
}

/** The store's `status` and `error` as the machine's state says (a snapshot may have set them already). */
function showInStore(store: LiveStore, snapshot: ConnectionSnapshot): void {
  const status = statusOf(snapshot);
  const { error } = snapshot.context;
  const shown = store.getSnapshot().context;
  if (shown.status !== status || shown.error !== error) store.trigger.status({ status, error });
}

/** The latest `capacity` ids seen; `add` answers false for one still remembered. */
class RecentIds {
  readonly #ids = new Set<string>();
  readonly #capacity: number;

  constructor(capacity: number) {
    this.#capacity = capacity;
  }

  add(id: string): boolean {
    if (this.#ids.has(id)) return false;
    this.#ids.add(id);
    if (this.#ids.size > this.#capacity) this.#ids.delete(this.#ids.values().next().value!);
    return true;
  }
}
