/**
 * WebSocket `/inspect`: the supervisor's inspection stream in the frames of `@statelyai/inspect`
 * (one JSON text per event), for `createWebSocketReceiver` or any visualiser. The query selects
 * what is streamed; each open socket holds one tap, detached when it closes (no socket, no cost).
 * A socket whose unsent bytes pass the limit is closed with 4008; dead peers miss a ping and go.
 */
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocketServer, type WebSocket } from 'ws';
import * as z from 'zod';
import { JobvisorError } from '../common/errors.js';
import type { Unsubscribe } from '../common/emitter.js';
import type { InspectionSelection } from '../inspection/selection.js';
import { toStatelyJson } from '../inspection/stately.js';
import { parseOrThrow } from '../common/validation.js';
import { CLOSE_CODES } from '../protocol/schemas.js';
import type { Supervisor } from '../supervisor/supervisor.js';
import { closeSocket, refuseUpgrade, type Heartbeat } from './sockets.js';

export interface InspectEndpointOptions {
  readonly supervisor: Supervisor;
  /** Bytes that may wait in one socket before it is closed with 4008. */
  readonly bufferLimit: number;
  /** Pings the sockets (shared with /ws); stopped by its owner. */
  readonly heartbeat: Heartbeat;
}

const flag = z.enum(['0', '1'], { error: (issue) => `must be 0 or 1, not "${String(issue.input)}"` });
const once = <T extends z.ZodType>(schema: T) =>
  z
    .array(schema)
    .max(1, 'must be given at most once')
    .transform((values) => values[0])
    .optional();
const fraction = z
  .string()
  .regex(/^(?:0|1|0?\.\d+|[01]\.\d+)$/, 'must be a number from 0 to 1')
  .transform(Number)
  .pipe(z.number().max(1, 'must be a number from 0 to 1'));

/** The query, each parameter as the list of its values (`type` and `id` repeat). */
export const inspectQuerySchema = z
  .strictObject({
    token: z.array(z.string()).optional(),
    supervisor: once(flag),
    jobs: once(z.enum(['all', 'none'], { error: (i) => `must be all or none, not "${String(i.input)}"` })),
    type: z.array(z.string().min(1, 'must not be empty')).optional(),
    id: z.array(z.string().min(1, 'must not be empty')).optional(),
    sample: once(fraction),
    rejections: once(flag),
  })
  .superRefine((query, ctx) => {
    if (query.jobs !== undefined && (query.type || query.id || query.sample !== undefined))
      ctx.addIssue({ code: 'custom', path: ['jobs'], message: 'cannot be combined with type, id or sample' });
  })
  .transform((query): InspectionSelection => {
    const filtered = query.type || query.id || query.sample !== undefined;
    return {
      supervisor: query.supervisor !== '0',
      rejections: query.rejections !== '0',
      jobs: filtered ? { types: query.type, ids: query.id, sample: query.sample } : (query.jobs ?? 'all'),
    };
  });

/** The selection a query asks for; a coded `invalid_request` naming the bad parameter otherwise. */
export function parseInspectQuery(params: URLSearchParams): InspectionSelection {
  const lists: Record<string, string[]> = {};
  for (const [name, value] of params) (lists[name] ??= []).push(value);
  return parseOrThrow(inspectQuerySchema, lists, 'invalid_request', 'Invalid inspect query');
}

interface Entry {
  /** The tap's detach; undefined while it attaches and once detached. */
  detach: Unsubscribe | undefined;
  /** No more frames: detached, closing. */
  stopped: boolean;
}

export class InspectEndpoint {
  readonly #options: InspectEndpointOptions;
  readonly #wss = new WebSocketServer({ noServer: true, maxPayload: 64 * 1_024 });
  /** Open sockets, each with its tap's detach. */
  readonly #sockets = new Map<WebSocket, Entry>();
  #slowClosed = 0;

  constructor(options: InspectEndpointOptions) {
    this.#options = options;
  }

  get counters(): { readonly connections: number; readonly slowClosed: number } {
    return { connections: this.#sockets.size, slowClosed: this.#slowClosed };
  }

  /** An upgrade to /inspect whose token was already checked. */
  handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer, url: URL): void {
    let selection: InspectionSelection;
    try {
      selection = parseInspectQuery(url.searchParams);
    } catch (error) {
      const { code, message } = error as JobvisorError;
      return refuseUpgrade(socket, 400, 'Bad Request', code, message);
    }
    this.#wss.handleUpgrade(req, socket, head, (ws) => this.#open(ws, selection));
  }

  /** Closes every inspector socket (1001). */
  async close(): Promise<void> {
    const closed = [...this.#sockets.keys()].map((ws) => {
      this.#detach(ws);
      return closeSocket(ws, CLOSE_CODES.shuttingDown, 'server closing');
    });
    await Promise.all(closed);
    await new Promise<void>((resolve) => this.#wss.close(() => resolve()));
  }

  #open(ws: WebSocket, selection: InspectionSelection): void {
    const { bufferLimit } = this.#options;
    const entry: Entry = { detach: undefined, stopped: false };
    this.#sockets.set(ws, entry);
    this.#options.heartbeat.watch(ws);
    ws.on('close', () => this.#forget(ws));
    ws.on('error', () => ws.terminate());
    // Attaching sends the actor frames of the supervisor and of every selected live job first.
    entry.detach = this.#options.supervisor.inspect((event) => {
      if (entry.stopped || ws.readyState !== ws.OPEN) return;
      const frame = toStatelyJson(event);
      if (frame === undefined) return;
      if (ws.bufferedAmount > bufferLimit) return this.#tooSlow(ws);
      ws.send(frame);
    }, selection);
    if (entry.stopped) this.#detach(ws); // it fell behind while the first frames went out
  }

  #tooSlow(ws: WebSocket): void {
    this.#slowClosed++;
    this.#detach(ws);
    void closeSocket(ws, CLOSE_CODES.tooSlow, 'inspector fell behind');
  }

  #detach(ws: WebSocket): void {
    const entry = this.#sockets.get(ws);
    if (!entry) return;
    entry.stopped = true;
    entry.detach?.();
    entry.detach = undefined;
  }

  #forget(ws: WebSocket): void {
    this.#detach(ws);
    this.#sockets.delete(ws);
  }
}
