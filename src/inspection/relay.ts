/**
 * Pushes inspection frames to a relay such as `createInspectorServer()` of
 * `@statelyai/inspect/server`: one WebSocket client that reconnects with backoff and keeps the
 * latest frames (at most `maxBuffered`, the oldest dropped) while the relay is down or slow.
 * It never throws and never stops its host: a relay that is down only costs the buffer.
 *
 * Its lifecycle is the relay machine (machines/relay.machine.ts); this file provides what the
 * machine leaves out: the queue of kept frames and the socket actor over a `ws` WebSocket.
 */
import WebSocket from 'ws';
import { assertEvent, createActor, fromCallback, type Actor } from 'xstate';
import { relayMachine, type RelayMachine, type RelaySocketCommand } from '../../machines/relay.machine.js';
import { backoffDelay, type BackoffOptions } from '../common/backoff.js';
import type { Clock } from '../common/clock.js';
import type { Unsubscribe } from '../common/emitter.js';
import { Deque } from '../common/deque.js';
import type { InspectionSelection } from './selection.js';
import type { InspectionObserver } from './types.js';
import { toStatelyJson } from './stately.js';

/** What the relay needs of a WebSocket (`ws`'s `WebSocket` is one). */
export interface RelaySocket {
  /** `WebSocket.CONNECTING` (0), `OPEN` (1), `CLOSING` (2) or `CLOSED` (3). */
  readonly readyState: number;
  /** Bytes queued by `send` and not written to the network yet. */
  readonly bufferedAmount: number;
  /** `written` runs once the frame is written (or has failed). */
  send(data: string, written: (error?: Error) => void): void;
  close(code: number, reason: string): void;
  terminate(): void;
  on(event: 'open' | 'close', listener: () => void): unknown;
  on(event: 'error', listener: (error: Error) => void): unknown;
}

export interface RelayOptions {
  readonly url: string;
  /** Frames kept while disconnected (default 200, as the relay itself keeps). */
  readonly maxBuffered?: number;
  /** Bytes in the socket's send buffer past which frames wait in the buffer (default 1 MiB). */
  readonly highWaterMark?: number;
  readonly backoff?: BackoffOptions;
  /** Connected, or lost (with the error when there is one): once per change. */
  readonly onStatus?: (status: 'open' | 'down', error?: Error) => void;
  /** Time for the backoff and the close timeout (default: the system's, whose timers never keep the process alive). */
  readonly clock?: Clock;
  /** Opens a socket to `url` (default: a `ws` WebSocket). */
  readonly createSocket?: (url: string) => RelaySocket;
}

/** The system's timers, unref'd: a relay that is down never keeps its host running. */
const unrefClock: Clock = Object.freeze({
  now: () => Date.now(),
  setTimeout: (fn: (...args: unknown[]) => void, timeout: number) => setTimeout(fn, timeout).unref(),
  clearTimeout: (id: unknown) => clearTimeout(id as NodeJS.Timeout),
});

/** The latest `max` frames, oldest first; counts the ones dropped to stay within `max`. */
class FrameQueue {
  #frames = new Deque<string>();
  readonly #max: number;
  dropped = 0;

  constructor(max: number) {
    this.#max = max;
  }

  get size(): number {
    return this.#frames.size;
  }

  keep(frame: string): void {
    this.#frames.push(frame);
    if (this.#frames.size > this.#max) {
      this.#frames.shift();
      this.dropped++;
    }
  }

  shift(): string | undefined {
    return this.#frames.shift();
  }

  clear(): void {
    this.#frames = new Deque<string>();
  }
}

/**
 * The machine's `socket` actor: one socket from start to stop. It reports the socket's events,
 * writes kept frames while the send buffer is below `highWaterMark` (again after each write),
 * and terminates a socket that is not closed yet when it is stopped.
 */
function socketActor(open: () => RelaySocket, frames: FrameQueue, highWaterMark: number) {
  return fromCallback<RelaySocketCommand>(({ sendBack, receive }) => {
    const ws = open();
    const flush = (): void => {
      while (frames.size > 0 && ws.readyState === WebSocket.OPEN && ws.bufferedAmount < highWaterMark) {
        ws.send(frames.shift()!, flush);
      }
    };
    ws.on('open', () => sendBack({ type: 'SOCKET_OPEN' }));
    // Also after the actor is stopped: an 'error' with no listener would be thrown.
    ws.on('error', (error) => sendBack({ type: 'SOCKET_ERROR', error }));
    ws.on('close', () => sendBack({ type: 'SOCKET_CLOSED' }));
    receive((command) => {
      flush();
      if (command.type === 'CLOSE_SOCKET') ws.close(1000, 'done');
    });
    return () => {
      if (ws.readyState !== WebSocket.CLOSED) ws.terminate();
    };
  });
}

export class InspectRelay {
  readonly #frames: FrameQueue;
  readonly #actor: Actor<RelayMachine>;

  constructor(options: RelayOptions) {
    const frames = new FrameQueue(options.maxBuffered ?? 200);
    const { url, createSocket = (to: string) => new WebSocket(to) } = options;
    const machine = relayMachine.provide({
      actors: { socket: socketActor(() => createSocket(url), frames, options.highWaterMark ?? 1_048_576) },
      actions: {
        keepFrame: ({ event }) => {
          assertEvent(event, 'FRAME');
          frames.keep(event.frame);
        },
        discardFrames: () => frames.clear(),
      },
      delays: { backoff: ({ context }) => backoffDelay(context.attempt, options.backoff) },
    });
    const actor = createActor(machine, { clock: options.clock ?? unrefClock });
    const { onStatus } = options;
    if (onStatus) actor.on('status', ({ status, error }) => onStatus(status, error));
    // An error would stop the relay, never its host.
    actor.subscribe({ error: () => undefined });
    this.#frames = frames;
    this.#actor = actor.start();
    // A socket that cannot even be created (a URL \`ws\` refuses) is the caller's error, as before.
    const started = this.#actor.getSnapshot();
    if (started.status === 'error')
      throw started.error instanceof Error ? started.error : new Error(String(started.error));
  }

  /** Frames dropped because the buffer was full. */
  get dropped(): number {
    return this.#frames.dropped;
  }

  send(frame: string): void {
    if (this.#actor.getSnapshot().status === 'active') this.#actor.send({ type: 'FRAME', frame });
  }

  /** Sends what it can of the buffer, then closes the socket; no reconnect after this. */
  async close(): Promise<void> {
    const actor = this.#actor;
    if (actor.getSnapshot().status === 'active') actor.send({ type: 'CLOSE' });
    await new Promise<void>((resolve) => actor.subscribe({ complete: resolve, error: () => resolve() }));
  }
}

/** What the relay needs of a supervisor: its `inspect` (supervisor/supervisor.ts). */
export interface Inspectable {
  inspect(observer: InspectionObserver, selection?: InspectionSelection): Unsubscribe;
}

/** Streams the supervisor's inspection frames to a relay until the returned function is called. */
export function relayInspection(
  supervisor: Inspectable,
  options: RelayOptions,
  selection?: InspectionSelection,
): { relay: InspectRelay; close: () => Promise<void> } {
  const relay = new InspectRelay(options);
  const detach: Unsubscribe = supervisor.inspect((event) => {
    const frame = toStatelyJson(event);
    if (frame !== undefined) relay.send(frame);
  }, selection);
  return {
    relay,
    close: () => {
      detach();
      return relay.close();
    },
  };
}
