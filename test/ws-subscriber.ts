/**
 * A raw `ws` subscriber of every job on a node's `/ws`: it keeps each change it receives, in the
 * order received, and can resume on any node with `since` = the highest offset it received.
 */
import WebSocket from 'ws';
import { serverMessageSchema, type WireChange } from '../src/protocol/schemas.js';

export class WsSubscriber {
  readonly changes: WireChange[] = [];
  /** The offset of its first snapshot: every change after it must arrive. */
  from: number | undefined;
  resyncs = 0;
  #socket: WebSocket | undefined;
  #waiters: (() => void)[] = [];

  get highest(): number {
    return this.changes.at(-1)?.offset ?? this.from ?? 0;
  }

  /** Subscribes on `url` (a snapshot the first time, then `since` its highest offset); resolves once subscribed. */
  connect(url: string): Promise<void> {
    const socket = new WebSocket(`${url.replace(/^http/, 'ws')}/ws`);
    this.#socket = socket;
    const since = this.from === undefined ? undefined : this.highest;
    return new Promise((resolve, reject) => {
      socket.on('error', reject);
      socket.on('message', (data: Buffer) => {
        const message = serverMessageSchema.parse(JSON.parse(data.toString('utf8')));
        if (message.type === 'hello') {
          socket.send(JSON.stringify({ type: 'subscribe', id: 'all', topic: { all: true }, since }));
        } else if (message.type === 'reply') {
          if (since !== undefined) resolve();
        } else if (message.type === 'snapshot') {
          if (message.resync) this.resyncs++;
          else this.from ??= message.offset;
          resolve();
        } else if (message.type === 'change') {
          this.changes.push(message.change);
          for (const wake of this.#waiters.splice(0)) wake();
        } else if (message.type === 'error') {
          reject(new Error(`${message.error.code} ${message.error.message}`));
        }
      });
    });
  }

  /** Resolves once a change at `offset` or later arrived. */
  reached(offset: number): Promise<void> {
    if (this.highest >= offset) return Promise.resolve();
    return new Promise((resolve) => {
      const check = () => (this.highest >= offset ? resolve() : this.#waiters.push(check));
      this.#waiters.push(check);
    });
  }

  async disconnect(): Promise<void> {
    const socket = this.#socket;
    if (!socket || socket.readyState === WebSocket.CLOSED) return;
    await new Promise<void>((resolve) => {
      socket.once('close', () => resolve());
      socket.close();
    });
  }
}
