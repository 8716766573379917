/**
 * The WebSocket side: `ws` in noServer mode on the path /ws (and /inspect, the inspection stream
 * of inspect-endpoint.ts). Checks the token at the upgrade
 * (401 before the handshake), pings every `pingIntervalMs` and terminates peers that did not
 * answer the previous ping, and serialises each change once for all subscribers.
 * Frames above `maxFrameBytes` are refused by `ws` itself, which closes with 1009 (tooLarge).
 */
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocketServer } from 'ws';
import { CLOSE_CODES, LIMITS } from '../protocol/schemas.js';
import type { Supervisor } from '../supervisor/supervisor.js';
import type { JobChange } from '../common/types.js';
import type { TokenCheck } from './auth.js';
import type { HubCounters } from './metrics.js';
import { Connection } from './ws-connection.js';
import { RejectionLog } from './rejection-log.js';
import { InspectEndpoint } from './inspect-endpoint.js';
import { closeSocket, Heartbeat, refuseUpgrade } from './sockets.js';

export interface HubOptions {
  readonly supervisor: Supervisor;
  readonly auth: TokenCheck;
  readonly maxFrameBytes: number;
  readonly pingIntervalMs: number;
  readonly subscriberBufferLimit: number;
}

export class WsHub {
  readonly #options: HubOptions;
  readonly #wss: WebSocketServer;
  readonly #connections = new Set<Connection>();
  readonly #json = new WeakMap<JobChange, string>();
  /** Pings the sockets of /ws and /inspect. */
  readonly #heartbeat: Heartbeat;
  readonly #rejections: RejectionLog;
  /** `/inspect`: the inspection stream for visualisers (src/server/inspect-endpoint.ts). */
  readonly #inspect: InspectEndpoint;
  #slowClosed = 0;
  #coalesced = 0;
  /** Set when close() begins: a socket that comes (back) while the others close is refused. */
  #closing = false;

  constructor(options: HubOptions) {
    this.#options = options;
    this.#wss = new WebSocketServer({ noServer: true, maxPayload: options.maxFrameBytes });
    this.#rejections = new RejectionLog(options.supervisor, LIMITS.keptRejections);
    this.#heartbeat = new Heartbeat(options.pingIntervalMs);
    const { supervisor, subscriberBufferLimit: bufferLimit } = options;
    this.#inspect = new InspectEndpoint({ supervisor, bufferLimit, heartbeat: this.#heartbeat });
  }

  get counters(): HubCounters {
    let subscriptions = 0;
    for (const c of this.#connections) subscriptions += c.subscriptions;
    return {
      connections: this.#connections.size,
      subscriptions,
      slowClosed: this.#slowClosed,
      coalesced: this.#coalesced,
      inspectConnections: this.#inspect.counters.connections,
      inspectSlowClosed: this.#inspect.counters.slowClosed,
    };
  }

  handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    const url = new URL(req.url ?? '/', 'http://localhost');
    if (this.#closing) {
      return refuseUpgrade(socket, 503, 'Service Unavailable', 'shutting_down', 'The server is closing');
    }
    if (url.pathname !== '/ws' && url.pathname !== '/inspect') {
      return refuseUpgrade(socket, 404, 'Not Found', 'not_found', 'Not Found');
    }
    if (!this.#options.auth.allows(req, url, true)) {
      return refuseUpgrade(socket, 401, 'Unauthorized', 'unauthorized', 'Unauthorized');
    }
    if (url.pathname === '/inspect') return this.#inspect.handleUpgrade(req, socket, head, url);
    this.#wss.handleUpgrade(req, socket, head, (ws) => {
      const connection = new Connection(ws, {
        supervisor: this.#options.supervisor,
        subscriberBufferLimit: this.#options.subscriberBufferLimit,
        changeJson: (change) => this.#changeJson(change),
        rejections: this.#rejections,
        tooSlow: (c) => {
          this.#slowClosed++;
          c.dispose();
          c.socket.close(CLOSE_CODES.tooSlow, 'subscriber fell behind: reconnect with since');
        },
        coalesced: () => this.#coalesced++,
      });
      this.#connections.add(connection);
      this.#heartbeat.watch(ws);
      ws.on('close', () => {
        connection.dispose();
        this.#connections.delete(connection);
      });
      ws.on('error', () => ws.terminate());
    });
  }

  /** Closes every socket (1001, going away) and stops pinging; refuses new ones from now on. */
  async close(): Promise<void> {
    this.#closing = true;
    this.#heartbeat.stop();
    this.#rejections.close();
    const inspectors = this.#inspect.close();
    const closed = [...this.#connections].map((c) => {
      c.dispose();
      return closeSocket(c.socket, CLOSE_CODES.shuttingDown, 'server closing');
    });
    await Promise.all([...closed, inspectors]);
    await new Promise<void>((resolve) => this.#wss.close(() => resolve()));
  }

  #changeJson(change: JobChange): string {
    let json = this.#json.get(change);
    if (json === undefined) this.#json.set(change, (json = JSON.stringify(change)));
    return json;
  }
}
