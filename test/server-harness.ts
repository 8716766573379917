/** Test helpers for the server: a real server on port 0 with a fresh supervisor, and a `ws` client that waits on messages. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import WebSocket from 'ws';
import { afterEach } from 'vitest';
import * as z from 'zod';
import {
  createSupervisor,
  memoryStore,
  type JobChange,
  type JobStore,
  type Supervisor,
  type SupervisorOptions,
} from '../src/index.js';
import type { ServerMessage, WireChange, WireJob, WireSchedule } from '../src/protocol/schemas.js';
import { createJobvisorServer, type JobvisorServer, type ServerOptions } from '../src/server/index.js';
import { sqliteStore } from '../src/sqlite.js';
import { controlled, type Call } from './helpers.js';

export interface Served {
  readonly supervisor: Supervisor;
  readonly server: JobvisorServer;
  readonly url: string;
  readonly wsUrl: string;
  readonly store: JobStore | undefined;
  /** Every change the supervisor published, as an in-process subscriber saw it. */
  readonly changes: JobChange[];
  /** Executions of the `gated` type, which wait until the test resolves them. */
  readonly gated: Call[];
  /** Executions per job id, all types. */
  readonly executions: Map<string, number>;
  close(): Promise<void>;
}

export interface ServeOptions {
  readonly store?: 'memory' | 'sqlite' | 'none';
  readonly supervisor?: Omit<SupervisorOptions, 'store'>;
  readonly server?: Omit<ServerOptions, 'supervisor'>;
}

/** A supervisor with the job types `echo` (returns its input), `typed` (input `{ n: number }`), `gated` (test-driven). */
async function serve(options: ServeOptions = {}): Promise<Served> {
  const dir = options.store === 'sqlite' ? mkdtempSync(join(tmpdir(), 'jobvisor-server-')) : undefined;
  const store =
    options.store === 'sqlite'
      ? sqliteStore({ path: join(dir!, 'jobs.db') })
      : options.store === 'memory'
        ? memoryStore()
        : undefined;
  const supervisor = createSupervisor({ ...options.supervisor, store });
  const executions = new Map<string, number>();
  const count = (id: string) => executions.set(id, (executions.get(id) ?? 0) + 1);
  const gate = controlled();
  supervisor.register('echo', (ctx) => (count(ctx.jobId), ctx.input));
  supervisor.register('typed', (ctx) => (count(ctx.jobId), ctx.input.n * 2), {
    input: z.object({ n: z.number() }),
  });
  supervisor.register('gated', (ctx) => (count(ctx.jobId), gate.handler(ctx)));
  await supervisor.ready();
  const changes: JobChange[] = [];
  supervisor.subscribe((change) => changes.push(change));
  const server = createJobvisorServer({ ...options.server, supervisor });
  const { url } = await server.listen(0);
  return {
    supervisor,
    server,
    url,
    wsUrl: `${url.replace('http', 'ws')}/ws`,
    store,
    changes,
    gated: gate.calls,
    executions,
    async close() {
      await server.close();
      for (const call of gate.calls) call.done.resolve(null);
      await supervisor.shutdown({ graceMs: 0 });
      if (dir) rmSync(dir, { recursive: true, force: true });
    },
  };
}

/**
 * `serve()` for the tests of one file: call it at module level; every server a test starts with
 * the returned function is closed after that test.
 */
export function servePerTest(): (options?: ServeOptions) => Promise<Served> {
  const started: Served[] = [];
  afterEach(async () => {
    for (const served of started.splice(0)) await served.close();
  });
  return async (options) => {
    const served = await serve(options);
    started.push(served);
    return served;
  };
}

/** Every field a JSON answer may have, typed for the tests (absent ones are undefined at run time). */
export interface WireBody {
  job: WireJob;
  deduplicated: boolean;
  cancelled: boolean;
  jobs: WireJob[];
  next: string | null;
  changes: WireChange[];
  error: { code: string; message: string; details?: unknown };
  status: string;
  schedule: WireSchedule;
  schedules: WireSchedule[];
}

export interface Answer {
  readonly status: number;
  readonly body: WireBody;
  readonly text: string;
  readonly headers: Headers;
}

export async function http(
  served: Pick<Served, 'url'>,
  method: string,
  path: string,
  body?: unknown,
  headers: Record<string, string> = {},
): Promise<Answer> {
  const res = await fetch(`${served.url}${path}`, {
    method,
    headers: { 'content-type': 'application/json', ...headers },
    body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
  });
  const text = await res.text();
  const type = res.headers.get('content-type') ?? '';
  const parsed = (type.includes('json') ? JSON.parse(text) : {}) as WireBody;
  return { status: res.status, body: parsed, text, headers: res.headers };
}

/** A `ws` client that records every server message and lets the test await the next ones. */
export class Client {
  readonly ws: WebSocket;
  readonly messages: ServerMessage[] = [];
  readonly closed: Promise<{ code: number; reason: string }>;
  readonly opened: Promise<void>;
  readonly #wakers: (() => void)[] = [];

  constructor(url: string, options: WebSocket.ClientOptions = {}) {
    this.ws = new WebSocket(url, options);
    this.ws.on('message', (data: Buffer) => {
      this.messages.push(JSON.parse(data.toString('utf8')) as ServerMessage);
      for (const wake of this.#wakers.splice(0)) wake();
    });
    this.opened = new Promise((resolve, reject) => {
      this.ws.once('open', () => resolve());
      this.ws.once('error', reject);
    });
    this.closed = new Promise((resolve) =>
      this.ws.once('close', (code, reason) => resolve({ code, reason: reason.toString() })),
    );
    this.opened.catch(() => undefined);
  }

  static async open(url: string, options?: WebSocket.ClientOptions): Promise<Client> {
    const client = new Client(url, options);
    await client.opened;
    await client.until((m) => m.type === 'hello');
    return client;
  }

  send(message: unknown): void {
    this.ws.send(typeof message === 'string' ? message : JSON.stringify(message));
  }

  /** Resolves with the first message (at or after index `from`) that matches. */
  async until<M extends ServerMessage>(match: (m: ServerMessage) => m is M, from?: number): Promise<M>;
  async until(match: (m: ServerMessage) => boolean, from?: number): Promise<ServerMessage>;
  async until(match: (m: ServerMessage) => boolean, from = 0): Promise<ServerMessage> {
    for (let i = from; ;) {
      for (; i < this.messages.length; i++) if (match(this.messages[i]!)) return this.messages[i]!;
      await new Promise<void>((resolve) => this.#wakers.push(resolve));
    }
  }

  /** The `change` messages received so far (of one subscription, if given). */
  changes(subscription?: string): JobChange[] {
    return this.messages.flatMap((m) =>
      m.type === 'change' && (subscription === undefined || m.subscription === subscription)
        ? [m.change as JobChange]
        : [],
    );
  }

  async close(): Promise<void> {
    if (this.ws.readyState === WebSocket.CLOSED) return;
    this.ws.close();
    await this.closed;
  }
}
