/**
 * The one place that touches a WebSocket: opening one (the browser's, Node 22's, or the `ws`
 * package's), and the socket actor the connection machine (machines/connection.machine.ts)
 * invokes for each attempt, turning socket callbacks and parsed server messages into its events.
 * Live job subscriptions (live.ts) and log follows (live-logs.ts) share it.
 */
import { fromCallback } from 'xstate';
import type { ConnectionEvent, SocketCommand } from '../../machines/connection.machine.js';
import { serverMessageSchema, type ClientMessage, type ServerMessage } from '../protocol/schemas.js';
import type { LiveStatus } from './live-store.js';

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

/** Where and how a subscription's sockets are opened. */
export interface SocketOptions {
  readonly wsUrl: string;
  readonly token?: string;
  readonly WebSocket?: WebSocketCtor;
}

export type OpenSocket = (url: string, token: string | undefined) => WebSocketLike;

/** Browser / Node 22 `WebSocket` (token as `?token=`), else the `ws` package (token as a header). */
export async function resolveOpener(ctor: WebSocketCtor | undefined): Promise<OpenSocket> {
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

/**
 * One socket, from opening to closing: socket callbacks and parsed server messages become machine
 * events; SUBSCRIBE sends the subscribe command. Stopping it (the machine left `socket`) detaches
 * and closes the socket.
 */
export function socketActor<Snapshot>(
  opener: Promise<OpenSocket>,
  options: SocketOptions,
  subscribeCommand: (resume: boolean) => ClientMessage,
  toEvent: (message: ServerMessage) => ConnectionEvent<Snapshot> | null,
) {
  return fromCallback<SocketCommand, undefined, ConnectionEvent<Snapshot>>(({ sendBack, receive }) => {
    const stopped = new AbortController();
    let socket: WebSocketLike | null = null;
    opener
      .then((openSocket) => {
        if (stopped.signal.aborted) return;
        const ws = openSocket(options.wsUrl, options.token);
        socket = ws;
        ws.onopen = () => sendBack({ type: 'SOCKET_OPEN' });
        ws.onmessage = (event: { data: unknown }) => {
          const message = parseMessage(event.data);
          if (message === undefined) {
            ws.close(4000, 'bad message');
            sendBack({ type: 'BAD_MESSAGE' });
            return;
          }
          const next = toEvent(message);
          if (next !== null) sendBack(next);
        };
        ws.onerror = (event: unknown) => sendBack({ type: 'SOCKET_ERROR', message: errorMessage(event) });
        ws.onclose = (event: { code: number; reason: string }) =>
          sendBack({ type: 'SOCKET_CLOSE', code: event.code, reason: event.reason });
      })
      .catch((error: unknown) => {
        // Opening failed synchronously (bad URL, no WebSocket implementation): retrying cannot help.
        sendBack({ type: 'OPEN_FAILED', message: error instanceof Error ? error.message : String(error) });
      });
    receive((command) => socket?.send(JSON.stringify(subscribeCommand(command.resume))));
    return () => {
      stopped.abort();
      if (socket === null) return;
      socket.onopen = socket.onmessage = socket.onclose = null;
      // `ws` reports closing a socket that is still connecting as an error: nobody listens any more.
      socket.onerror = () => undefined;
      socket.close(1000, 'closed by client');
    };
  });
}

function parseMessage(data: unknown): ServerMessage | undefined {
  let json: unknown;
  try {
    json = JSON.parse(messageText(data));
  } catch {
    return undefined;
  }
  const parsed = serverMessageSchema.safeParse(json);
  return parsed.success ? parsed.data : undefined;
}

/** What a connection machine's snapshot tells, whatever its snapshot payload. */
export interface ConnectionView {
  readonly status: string;
  readonly context: { readonly attempt: number };
  matches(state: 'backingOff' | { socket: 'live' }): boolean;
}

/** The connection's status to show, as the machine's state says. */
export function statusOf(snapshot: ConnectionView): LiveStatus {
  if (snapshot.status !== 'active') return 'closed';
  if (snapshot.matches({ socket: 'live' })) return 'live';
  // `connecting` until the first drop; from then on `reconnecting` until live again.
  return snapshot.matches('backingOff') || snapshot.context.attempt > 0 ? 'reconnecting' : 'connecting';
}

/** Runs `fn`; a caller's callback that throws is logged and never stops the connection. */
export function isolated(name: string, fn: () => void): void {
  try {
    fn();
  } catch (error) {
    console.error(`jobvisor client: ${name} failed`, error);
  }
}

/** Calls each listener; one that throws is logged and never stops the others. */
export function notify<T>(listeners: Set<(value: T) => void>, value: T, name: string): void {
  for (const listener of [...listeners]) isolated(`${name} listener`, () => listener(value));
}
