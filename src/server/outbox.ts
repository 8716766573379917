/**
 * One socket's outgoing frames. While the socket keeps up, a frame goes straight to `ws.send`.
 * Once its send buffer passes the soft mark, frames wait here instead, and a progress change
 * drops the job's previous progress frame still waiting (only the latest progress matters). The
 * new frame goes to the tail, so frames always leave in offset order (a client applies a change
 * only if its offset is newer than the last one it saw).
 * If the bytes waiting (here and in the socket) still exceed the limit, the socket is closed with
 * CLOSE_CODES.tooSlow: the client reconnects with `since`. Nothing here ever blocks the caller.
 */
import type { WebSocket } from 'ws';

interface Entry {
  /** Null once a newer progress frame of the same job superseded it: skipped when reached. */
  frame: string | null;
  readonly bytes: number;
  /** `subscription\0jobId` of a progress frame that a newer one may replace; null otherwise. */
  readonly coalesceKey: string | null;
}

export interface OutboxEvents {
  /** The socket fell too far behind: close it. */
  tooSlow(): void;
  coalesced(): void;
}

export class Outbox {
  readonly #ws: WebSocket;
  readonly #limit: number;
  readonly #softMark: number;
  readonly #events: OutboxEvents;
  readonly #queue: Entry[] = [];
  #head = 0;
  #queuedBytes = 0;
  /** Waiting progress frames by `subscription\0jobId`: the latest waiting frame of that job. */
  readonly #progress = new Map<string, Entry>();
  #dead = false;
  readonly #written = (): void => this.#flush();

  constructor(ws: WebSocket, limit: number, events: OutboxEvents) {
    this.#ws = ws;
    this.#limit = limit;
    this.#softMark = Math.max(1, Math.floor(limit / 2));
    this.#events = events;
  }

  get waiting(): number {
    return this.#queue.length - this.#head;
  }

  /**
   * Queues or sends a frame. `coalesceKey` marks a progress change; `jobKey` any change of a job
   * (a non-progress change ends coalescing for that job, so its changes stay in order).
   */
  send(frame: string, coalesceKey: string | null = null, jobKey: string | null = null): void {
    if (this.#dead || this.#ws.readyState !== this.#ws.OPEN) return;
    if (this.waiting === 0 && this.#ws.bufferedAmount < this.#softMark) {
      this.#ws.send(frame, this.#written);
      return;
    }
    const bytes = frame.length;
    if (coalesceKey !== null) {
      const previous = this.#progress.get(coalesceKey);
      if (previous) {
        previous.frame = null;
        this.#queuedBytes -= previous.bytes;
        this.#events.coalesced();
      }
    } else if (jobKey !== null) {
      this.#progress.delete(jobKey);
    }
    const entry: Entry = { frame, bytes, coalesceKey };
    this.#queue.push(entry);
    if (coalesceKey !== null) this.#progress.set(coalesceKey, entry);
    this.#queuedBytes += bytes;
    this.#checkLimit();
  }

  /** Drops everything waiting (the socket is closing). */
  discard(): void {
    this.#dead = true;
    this.#queue.length = 0;
    this.#head = 0;
    this.#queuedBytes = 0;
    this.#progress.clear();
  }

  #checkLimit(): void {
    if (this.#queuedBytes + this.#ws.bufferedAmount <= this.#limit) return;
    this.discard();
    this.#events.tooSlow();
  }

  /** After each write completes: move waiting frames to the socket while it is below the mark. */
  #flush(): void {
    if (this.#dead || this.waiting === 0 || this.#ws.readyState !== this.#ws.OPEN) return;
    while (this.waiting > 0 && this.#ws.bufferedAmount < this.#softMark) {
      const entry = this.#queue[this.#head]!;
      this.#queue[this.#head++] = undefined as unknown as Entry;
      if (entry.frame === null) continue; // superseded: its bytes were already released
      this.#queuedBytes -= entry.bytes;
      if (entry.coalesceKey !== null && this.#progress.get(entry.coalesceKey) === entry) {
        this.#progress.delete(entry.coalesceKey);
      }
      this.#ws.send(entry.frame, this.#written);
    }
    if (this.#head > 1_024 && this.#head * 2 > this.#queue.length) {
      this.#queue.splice(0, this.#head);
      this.#head = 0;
    }
  }
}
