/**
 * What the WebSocket endpoints (/ws and /inspect) share: refusing an upgrade before the handshake,
 * one ping timer for every socket, and closing a socket with a deadline.
 */
import type { Duplex } from 'node:stream';
import type { WebSocket } from 'ws';

/** Answers an upgrade with a coded JSON error (`{ error: { code, message } }`) and ends the socket. */
export function refuseUpgrade(
  socket: Duplex,
  status: number,
  statusText: string,
  code: string,
  message: string,
): void {
  const body = JSON.stringify({ error: { code, message } });
  socket.end(
    `HTTP/1.1 ${status} ${statusText}\r\nConnection: close\r\nContent-Type: application/json\r\n` +
      `Content-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
  );
}

/**
 * Closes `ws` and resolves once it is closed. A peer that does not answer the close handshake
 * within a second is cut off.
 */
export function closeSocket(ws: WebSocket, code: number, reason: string): Promise<void> {
  return new Promise((resolve) => {
    if (ws.readyState === ws.CLOSED) return resolve();
    const deadline = setTimeout(() => ws.terminate(), 1_000).unref();
    ws.once('close', () => {
      clearTimeout(deadline);
      resolve();
    });
    ws.close(code, reason);
  });
}

/**
 * Pings every watched socket each `intervalMs` and terminates those that did not answer the
 * previous ping. A socket is forgotten when it closes.
 */
export class Heartbeat {
  /** Watched sockets, and whether each answered the last ping. */
  readonly #alive = new Map<WebSocket, boolean>();
  readonly #timer: NodeJS.Timeout;

  constructor(intervalMs: number) {
    this.#timer = setInterval(() => this.#beat(), intervalMs);
    this.#timer.unref();
  }

  watch(ws: WebSocket): void {
    this.#alive.set(ws, true);
    ws.on('pong', () => {
      if (this.#alive.has(ws)) this.#alive.set(ws, true);
    });
    ws.once('close', () => this.#alive.delete(ws));
  }

  stop(): void {
    clearInterval(this.#timer);
  }

  #beat(): void {
    for (const [ws, alive] of this.#alive) {
      if (!alive) {
        ws.terminate();
        continue;
      }
      this.#alive.set(ws, false);
      ws.ping();
    }
  }
}
