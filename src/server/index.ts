/**
 * `jobvisor/server`: the HTTP API and the WebSocket status stream over one supervisor. Mount
 * `handleRequest`, `handleUpgrade` and `handleClientError` in your own `node:http` server, or call
 * `listen()`.
 * `close()` closes the sockets and the HTTP server, never the supervisor (shut it down yourself).
 */
import { Registry } from 'prom-client';
import { serverMetrics, type MetricsOptions } from './metrics.js';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import * as z from 'zod';
import { JobvisorError } from '../common/errors.js';
import { parseOrThrow } from '../common/validation.js';
import { LIMITS } from '../protocol/schemas.js';
import { Supervisor } from '../supervisor/supervisor.js';
import { TokenCheck } from './auth.js';
import { handleClientError, type ClientError } from './client-error.js';
import { sendError } from './errors.js';
import { route, type RouteContext } from './http-routes.js';
import { dashboardFiles } from './static.js';
import { answerTooLarge } from './too-large.js';
import { WsHub } from './ws-hub.js';

export { InspectRelay, relayInspection } from '../inspection/relay.js';
export type { RelayOptions } from '../inspection/relay.js';
export type { ClientError } from './client-error.js';
export type { MetricsOptions } from './metrics.js';

export interface ServerOptions {
  supervisor: Supervisor;
  /** Bearer token required on every HTTP request and WebSocket upgrade (the CLI: JOBVISOR_TOKEN). */
  token?: string;
  /** Largest accepted request body; default LIMITS.maxBodyBytes (1 MiB). */
  maxBodyBytes?: number;
  /** Largest accepted WebSocket message; larger ones close the socket with 1009. Default 1 MiB. */
  maxFrameBytes?: number;
  /** Ping period; a peer that misses one ping is dropped. Default 30 s. */
  pingIntervalMs?: number;
  /** Bytes that may wait for one slow socket before it is closed with 4008. Default 4 MiB. */
  subscriberBufferLimit?: number;
  /** Serve the live dashboard at `/` (its files need no token; the API still does). Default true. */
  dashboard?: boolean;
  /**
   * `/metrics` (prom-client): `registry`, the application's own to register into (a new one by
   * default); `defaultMetrics`, Node's process metrics (default: on in the server's own registry).
   */
  metrics?: MetricsOptions;
}

export interface JobvisorServer {
  handleRequest(req: IncomingMessage, res: ServerResponse): void;
  handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void;
  /** The `clientError` listener: what Node's HTTP parser refuses gets a coded JSON answer. */
  handleClientError(error: ClientError, socket: Duplex): void;
  listen(port?: number, host?: string): Promise<{ port: number; url: string }>;
  close(): Promise<void>;
}

const optionsSchema = z.strictObject({
  supervisor: z.instanceof(Supervisor),
  token: z.string().min(1).optional(),
  maxBodyBytes: z.number().int().positive().default(LIMITS.maxBodyBytes),
  maxFrameBytes: z.number().int().positive().default(LIMITS.maxFrameBytes),
  pingIntervalMs: z.number().int().positive().max(2_147_483_647).default(30_000),
  subscriberBufferLimit: z
    .number()
    .int()
    .positive()
    .default(4 * 1_048_576),
  dashboard: z.boolean().default(true),
  metrics: z
    .strictObject({
      registry: z
        .instanceof(Registry, { message: 'metrics.registry must be a prom-client Registry' })
        .optional(),
      defaultMetrics: z.boolean().optional(),
    })
    .default({}),
});

export function createJobvisorServer(options: ServerOptions): JobvisorServer {
  const resolved = parseOrThrow(optionsSchema, options, 'invalid_options', 'Invalid server options');
  const auth = new TokenCheck(resolved.token);
  const dashboard = resolved.dashboard ? dashboardFiles() : undefined;
  const hub = new WsHub({ ...resolved, auth });
  const ctx: RouteContext = {
    supervisor: resolved.supervisor,
    maxBodyBytes: resolved.maxBodyBytes,
    hub: () => hub.counters,
    metrics: serverMetrics(resolved.supervisor, () => hub.counters, resolved.metrics),
  };
  let http: Server | undefined;

  const handleRequest = (req: IncomingMessage, res: ServerResponse): void => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    const fail = (error: unknown) => {
      if (error instanceof JobvisorError && error.code === 'payload_too_large')
        answerTooLarge(req, res, error);
      else sendError(res, error);
    };
    if (dashboard?.handle(req, res, url)) return;
    if (!auth.allows(req, url)) {
      fail(new JobvisorError('unauthorized', 'A valid bearer token is required'));
      return;
    }
    route(ctx, req, res, url).catch(fail);
  };

  return {
    handleRequest,
    handleUpgrade: (req, socket, head) => hub.handleUpgrade(req, socket, head),
    handleClientError,
    async listen(port = 0, host = '127.0.0.1') {
      if (http) throw new JobvisorError('invalid_request', 'The server is already listening');
      const server = createServer(handleRequest);
      server.on('clientError', handleClientError);
      server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) =>
        hub.handleUpgrade(req, socket, head),
      );
      http = server;
      await new Promise<void>((resolve, reject) => {
        server.once('error', (error) => {
          http = undefined;
          reject(error);
        });
        server.listen(port, host, () => {
          server.removeAllListeners('error');
          resolve();
        });
      });
      const address = server.address() as AddressInfo;
      const shown = address.family === 'IPv6' ? `[${address.address}]` : address.address;
      return { port: address.port, url: `http://${shown}:${address.port}` };
    },
    async close() {
      // Stop taking connections first, then close the sockets (the hub refuses new ones meanwhile).
      const server = http;
      http = undefined;
      const closed = server?.listening
        ? new Promise<void>((resolve) => server.close(() => resolve()))
        : Promise.resolve();
      await hub.close();
      server?.closeIdleConnections();
      // A connection that has sent no request yet (a browser's speculative one) is not idle to Node
      // and would hold the close until Node's header timeout; requests in flight get a second.
      const deadline = server && setTimeout(() => server.closeAllConnections(), 1_000).unref();
      await closed;
      clearTimeout(deadline);
    },
  };
}
