/**
 * Pushes inspection frames to a relay such as `createInspectorServer()` of
 * `@statelyai/inspect/server`: one WebSocket client that reconnects with backoff and keeps the
 * latest frames (at most `maxBuffered`, the oldest dropped) while the relay is down or slow.
 * It never throws and never stops its host: a relay that is down only costs the buffer.
 */
import WebSocket from 'ws';
import { backoffDelay, type BackoffOptions } from '../common/backoff.js';
import type { Unsubscribe } from '../common/emitter.js';
import { Deque } from '../common/deque.js';
import type { InspectionSelection } from './selection.js';
import type { InspectionObserver } from './types.js';
import { toStatelyJson } from './stately.js';

export interface RelayOptions {
  readonly url: string;
  /** Frames kept while disconnected (default 200, as the relay itself keeps). */
  readonly maxBuffered?: number;
  /** Bytes in the socket's send buffer past which frames wait in the buffer (default 1 MiB). */
  readonly highWaterMark?: number;
  readonly backoff?: BackoffOptions;
  /** Connected, or lost (with the error when there is one): once per change. */
  readonly onStatus?: (status: 'open' | 'down', error?: Error) => void;
}

export class InspectRelay {
  readonly #options: RelayOptions;
  readonly #buffer = new Deque<string>();
  #ws: WebSocket | undefined;
  #open = false;
  #attempt = 0;
  #timer: NodeJS.Timeout | undefined;
  #closed = false;
  #reported: 'open' | 'down' | undefined;
  #dropped = 0;
  /** After each write: move waiting frames on while the socket keeps up. */
  readonly #written = (): void => this.#flush();

  constructor(options: RelayOptions) {
    this.#options = options;
    this.#connect();
  }

  /** Frames dropped because the buffer was full. */
  get dropped(): number {
    return this.#dropped;
  }

  send(frame: string): void {
    if (this.#closed) return;
    const ws = this.#ws;
    if (this.#open && ws && this.#buffer.size === 0 && ws.bufferedAmount < this.#highWaterMark) {
      ws.send(frame, this.#written);
      return;
    }
    this.#buffer.push(frame);
    if (this.#buffer.size > (this.#options.maxBuffered ?? 200)) {
      this.#buffer.shift();
      this.#dropped++;
    }
  }

  /** Sends what it can of the buffer, then closes the socket; no reconnect after this. */
  async close(): Promise<void> {
    this.#closed = true;
    clearTimeout(this.#timer);
    const ws = this.#ws;
    if (!ws || ws.readyState === WebSocket.CLOSED) return;
    const closed = new Promise<void>((resolve) => ws.once('close', () => resolve()));
    if (ws.readyState === WebSocket.OPEN) this.#flush();
    ws.close(1000, 'done');
    const kill = setTimeout(() => ws.terminate(), 1_000).unref();
    await closed;
    clearTimeout(kill);
  }

  get #highWaterMark(): number {
    return this.#options.highWaterMark ?? 1_048_576;
  }

  #connect(): void {
    if (this.#closed) return;
    const ws = new WebSocket(this.#options.url);
    this.#ws = ws;
    ws.on('open', () => {
      this.#open = true;
      this.#attempt = 0;
      this.#report('open');
      this.#flush();
    });
    ws.on('error', (error) => this.#closed || this.#report('down', error));
    ws.on('close', () => {
      this.#open = false;
      if (this.#closed) return;
      this.#report('down');
      const delay = backoffDelay(this.#attempt++, this.#options.backoff);
      this.#timer = setTimeout(() => this.#connect(), delay);
      this.#timer.unref();
    });
  }

  #flush(): void {
    const ws = this.#ws;
    if (!ws || ws.readyState !== WebSocket.OPEN) return;
    while (this.#buffer.size > 0 && ws.bufferedAmount < this.#highWaterMark) {
      ws.send(this.#buffer.shift()!, this.#written);
    }
  }

  #report(status: 'open' | 'down', error?: Error): void {
    if (this.#reported === status) return;
    this.#reported = status;
    this.#options.onStatus?.(status, error);
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
