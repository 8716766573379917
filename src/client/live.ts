/**
 * Live subscriptions over the WebSocket: one socket per subscription, reconnect with backoff,
 * resume with `since: context.offset`, and apply every change at most once, in order.
 */
import {
  CLOSE_CODES,
  LIMITS,
  serverMessageSchema,
  type ClientMessage,
  type ServerMessage,
  type Topic,
  type WireChange,
  type WireRejection,
} from '../protocol/schemas.js';
import { backoffDelay, type BackoffOptions } from '../common/backoff.js';
import { JobvisorClientError } from './errors.js';
import { createLiveStore, isNewChange, type LiveError, type LiveStore } from './live-store.js';

/** What the SDK needs of a WebSocket: the browser `WebSocket`, Node 22's, or the `ws` package's. */
export interface WebSocketLike {
  readonly readyState: number;
  send(data: string): void;
  close(code?: number, reason?: string): void;
  onopen: ((event: never) => void) | null;
  onmessage: ((event: never) => void) | null;
  onclose: ((event: never) => void) | null;
  onerror: ((event: never) => void) | null;
}

export type WebSocketCtor = new (url: string, protocols?: string | string[]) => WebSocketLike;

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

export interface LiveOptions {
  readonly wsUrl: string;
  readonly token?: string;
  readonly WebSocket?: WebSocketCtor;
  readonly backoff: BackoffOptions;
}

export interface SubscribeOptions {
  /** Resume after this offset instead of starting with a snapshot. */
  readonly since?: number;
  /** Also receive the topic's rejected events (the server's recent ones, then live ones). */
  readonly rejections?: boolean;
}

type OpenSocket = (url: string, token: string | undefined) => WebSocketLike;

let subscriptionCounter = 0;

/** Browser / Node 22 `WebSocket` (token as `?token=`), else the `ws` package (token as a header). */
async function resolveOpener(ctor: WebSocketCtor | undefined): Promise<OpenSocket> {
  const explicit = ctor ?? (globalThis as { WebSocket?: WebSocketCtor }).WebSocket;
  if (explicit !== undefined) {
    return (url, token) => {
      if (token === undefined) return new explicit(url);
      const withToken = new URL(url);
      withToken.searchParams.set('token', token);
      return new explicit(withToken.toString());
    };
  }
  const { WebSocket: NodeWebSocket } = await import('ws');
  return (url, token) =>
    new NodeWebSocket(url, token === undefined ? {} : { headers: { authorization: `Bearer ${token}` } });
}

function messageText(data: unknown): string {
  if (typeof data === 'string') return data;
  if (data instanceof ArrayBuffer) return new TextDecoder().decode(new Uint8Array(data));
  if (ArrayBuffer.isView(data))
    return new TextDecoder().decode(new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
  return String(data);
}

function errorMessage(event: unknown): string {
  if (
    typeof event === 'object' &&
    event !== null &&
    'message' in event &&
    typeof event.message === 'string'
  ) {
    return event.message;
  }
  return 'WebSocket error';
}

export function subscribeLive(
  options: LiveOptions,
  topic: Topic,
  { since, rejections = false }: SubscribeOptions = {},
): LiveSubscription {
  const store = createLiveStore(since ?? 0);
  const rejectionListeners = new Set<(rejection: WireRejection) => void>();
  /** As many ids as the server replays on a reconnect, so none of those is taken for new. */
  const seenRejections = new RecentIds(LIMITS.keptRejections);
  const subscriptionId = `sub-${++subscriptionCounter}`;
  const listeners = new Set<(change: WireChange) => void>();
  let opener: Promise<OpenSocket> | undefined;
  let socket: WebSocketLike | null = null;
  let timer: ReturnType<typeof setTimeout> | undefined;
  let attempt = 0;
  let closed = false;
  /** After the first snapshot (or with a caller's `since`), every subscribe resumes from the offset. */
  let resume = since !== undefined;
  let handshakeError: string | null = null;

  let settled = false;
  let resolveReady!: () => void;
  let rejectReady!: (error: unknown) => void;
  const ready = new Promise<void>((resolve, reject) => {
    resolveReady = resolve;
    rejectReady = reject;
  });
  // A caller who never awaits `ready` must not get an unhandled rejection.
  ready.catch(() => undefined);

  const settleReady = (error?: LiveError) => {
    if (settled) return;
    settled = true;
    if (error === undefined) resolveReady();
    else rejectReady(new JobvisorClientError(error.code, error.message, 0));
  };

  /** Ends the subscription for good (close(), unauthorized, a rejected subscribe). */
  const finish = (error: LiveError | null) => {
    if (closed) return;
    closed = true;
    if (timer !== undefined) clearTimeout(timer);
    timer = undefined;
    const current = socket;
    socket = null;
    if (current !== null) {
      current.onopen = current.onmessage = current.onerror = current.onclose = null;
      current.close(1000, 'closed by client');
    }
    store.trigger.status({ status: 'closed', ...(error === null ? {} : { error }) });
    settleReady(error ?? { code: 'closed', message: 'subscription closed before its first snapshot' });
    listeners.clear();
    rejectionListeners.clear();
  };

  const scheduleReconnect = (error: LiveError | null) => {
    if (closed) return;
    store.trigger.status({ status: 'reconnecting', ...(error === null ? {} : { error }) });
    const delay = backoffDelay(attempt++, options.backoff);
    timer = setTimeout(() => {
      timer = undefined;
      connect();
    }, delay);
  };

  const handle = (message: ServerMessage) => {
    switch (message.type) {
      case 'snapshot': {
        if (message.subscription !== subscriptionId) return;
        store.trigger.snapshot({
          jobs: message.jobs,
          offset: message.offset,
          replace: message.resync || !resume,
        });
        resume = true;
        attempt = 0;
        settleReady();
        return;
      }
      case 'change': {
        if (message.subscription !== subscriptionId) return;
        const { change } = message;
        const isNew = isNewChange(store.getSnapshot().context, change);
        store.trigger.change({ change });
        if (isNew) notify(listeners, change, 'onChange');
        return;
      }
      case 'rejected': {
        if (message.subscription !== subscriptionId) return;
        const { rejection } = message;
        if (!seenRejections.add(rejection.id)) return;
        store.trigger.rejected({ rejection });
        notify(rejectionListeners, rejection, 'onRejected');
        return;
      }
      case 'error': {
        const error = { code: message.error.code, message: message.error.message };
        // The subscribe command itself was refused: retrying would be refused again.
        if (message.id === subscriptionId) finish(error);
        else store.trigger.status({ status: store.getSnapshot().context.status, error });
        return;
      }
      case 'reply': {
        // A resumed subscribe (with `since`) gets no snapshot: the reply means it is live again and
        // the missed changes (or a resync snapshot) follow.
        if (message.id !== subscriptionId || !resume) return;
        store.trigger.status({ status: 'live', error: null });
        attempt = 0;
        settleReady();
        return;
      }
      case 'hello':
        return;
    }
  };

  const open = (openSocket: OpenSocket) => {
    if (closed) return;
    handshakeError = null;
    const ws = openSocket(options.wsUrl, options.token);
    socket = ws;
    ws.onopen = () => {
      if (socket !== ws) return;
      const command: ClientMessage = {
        type: 'subscribe',
        id: subscriptionId,
        topic,
        ...(resume ? { since: store.getSnapshot().context.offset } : {}),
        ...(rejections ? { rejections: true } : {}),
      };
      ws.send(JSON.stringify(command));
    };
    ws.onmessage = (event: { data: unknown }) => {
      if (socket !== ws) return;
      let json: unknown;
      try {
        json = JSON.parse(messageText(event.data));
      } catch {
        json = undefined;
      }
      const parsed = serverMessageSchema.safeParse(json);
      if (!parsed.success) {
        // A message we cannot read may be a change we would miss: resume from the offset instead.
        store.trigger.status({
          status: store.getSnapshot().context.status,
          error: { code: 'bad_response', message: 'server message does not match the protocol' },
        });
        ws.close(4000, 'bad message');
        return;
      }
      handle(parsed.data);
    };
    ws.onerror = (event: unknown) => {
      if (socket !== ws) return;
      handshakeError = errorMessage(event);
    };
    ws.onclose = (event: { code: number; reason: string }) => {
      if (socket !== ws) return;
      socket = null;
      if (event.code === CLOSE_CODES.unauthorized || /\b401\b/.test(handshakeError ?? '')) {
        finish({ code: 'unauthorized', message: event.reason || 'missing or wrong token' });
        return;
      }
      const error =
        event.code === CLOSE_CODES.tooSlow
          ? { code: 'too_slow', message: event.reason || 'subscriber fell behind; resuming' }
          : handshakeError !== null
            ? { code: 'unreachable', message: handshakeError }
            : null;
      scheduleReconnect(error);
    };
  };

  const connect = () => {
    if (closed) return;
    opener ??= resolveOpener(options.WebSocket);
    opener.then(open).catch((error: unknown) => {
      // Opening failed synchronously (bad URL, no WebSocket implementation): retrying cannot help.
      finish({ code: 'unreachable', message: error instanceof Error ? error.message : String(error) });
    });
  };

  connect();

  return {
    store,
    ready,
    onChange(listener) {
      if (closed) return () => undefined;
      listeners.add(listener);
      return () => {
        listeners.delete(listener);
      };
    },
    onRejected(listener) {
      if (closed) return () => undefined;
      rejectionListeners.add(listener);
      return () => {
        rejectionListeners.delete(listener);
      };
    },
    close() {
      finish(null);
    },
  };
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

/** Calls each listener; one that throws is logged and never stops the others. */
function notify<T>(listeners: Set<(value: T) => void>, value: T, name: string): void {
  for (const listener of [...listeners]) {
    try {
      listener(value);
    } catch (error) {
      console.error(`jobvisor client: ${name} listener failed`, error);
    }
  }
}
