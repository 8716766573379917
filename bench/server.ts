/**
 * Server bench: HTTP creates/s at concurrency 50, and WebSocket changes/s delivered to 100
 * subscribers with the delivery latency (the change's `at` → receipt by the client), p50/p99.
 * Clients run in the same process as the server (loopback): they compete for the same CPU, so
 * these figures are a floor for a server whose clients live elsewhere.
 */
import { Agent, request } from 'node:http';
import WebSocket from 'ws';
import { createSupervisor, type Supervisor } from '../src/index.js';
import { createJobvisorServer, type JobvisorServer } from '../src/server/index.js';
import { now } from './util.js';

export interface ServerBenchSpec {
  readonly httpCreates: number;
  readonly httpConcurrency: number;
  readonly wsJobs: number;
  readonly wsSubscribers: number;
}

export interface ServerFigures {
  readonly httpCreatesPerSec: number;
  readonly wsChangesPerSec: number;
  readonly wsDelivered: number;
  readonly wsLatencyP50Ms: number;
  readonly wsLatencyP99Ms: number;
}

async function running(): Promise<{ supervisor: Supervisor; server: JobvisorServer; url: string }> {
  const supervisor = createSupervisor({ concurrency: 50 });
  supervisor.register('noop', () => null);
  const server = createJobvisorServer({ supervisor, subscriberBufferLimit: 1_024 * 1_048_576 });
  const { url } = await server.listen(0);
  return { supervisor, server, url };
}

async function stop(supervisor: Supervisor, server: JobvisorServer): Promise<void> {
  await server.close();
  await supervisor.shutdown({ graceMs: 1_000 });
}

export async function measureHttpCreates(n: number, concurrency: number): Promise<number> {
  const { supervisor, server, url } = await running();
  const body = JSON.stringify({ type: 'noop', input: { bench: true } });
  const agent = new Agent({ keepAlive: true, maxSockets: concurrency });
  const post = () =>
    new Promise<number>((resolve, reject) => {
      const req = request(
        `${url}/jobs`,
        { method: 'POST', agent, headers: { 'content-type': 'application/json' } },
        (res) => {
          res.resume();
          res.on('end', () => resolve(res.statusCode ?? 0));
        },
      );
      req.on('error', reject);
      req.end(body);
    });
  let next = 0;
  let failed = 0;
  const worker = async () => {
    while (next < n) {
      next++;
      if ((await post()) !== 201) failed++;
    }
  };
  const t0 = now();
  await Promise.all(Array.from({ length: concurrency }, worker));
  const seconds = (now() - t0) / 1_000;
  agent.destroy();
  await stop(supervisor, server);
  if (failed > 0) throw new Error(`${failed} creates failed`);
  return n / seconds;
}

export async function measureWsDelivery(
  jobs: number,
  subscribers: number,
): Promise<Omit<ServerFigures, 'httpCreatesPerSec'>> {
  const { supervisor, server, url } = await running();
  const latencies: number[] = [];
  const expected = jobs * 3 * subscribers; // created, started, completed
  let received = 0;
  let target = 0;
  let reached: () => void = () => undefined;
  const sockets = await Promise.all(
    Array.from({ length: subscribers }, async () => {
      const ws = new WebSocket(`${url.replace('http', 'ws')}/ws`);
      await new Promise<void>((resolve, reject) => {
        ws.once('error', reject);
        ws.on('message', (data: Buffer) => {
          const message = JSON.parse(data.toString('utf8')) as { type: string; change?: { at: number } };
          if (message.type === 'snapshot') resolve();
          if (message.type !== 'change' || !message.change) return;
          latencies.push(Date.now() - message.change.at);
          if (++received === target) reached();
        });
        ws.once('open', () => ws.send(JSON.stringify({ type: 'subscribe', id: 's', topic: { all: true } })));
      });
      return ws;
    }),
  );
  const t0 = now();
  // Batches of 10 starts; the next batch starts once every subscriber has every change of this
  // one, so the latency is a 10-job burst's (not an ever-growing backlog's).
  for (let i = 0; i < jobs; i += 10) {
    const size = Math.min(10, jobs - i);
    target = received + size * 3 * subscribers;
    const delivered = new Promise<void>((resolve) => (reached = resolve));
    await Promise.all(Array.from({ length: size }, () => supervisor.start({ type: 'noop' })));
    await delivered;
  }
  if (received !== expected) throw new Error(`delivered ${received} of ${expected} changes`);
  const seconds = (now() - t0) / 1_000;
  for (const ws of sockets) ws.close();
  await stop(supervisor, server);
  latencies.sort((a, b) => a - b);
  const at = (q: number) =>
    latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))] ?? NaN;
  return {
    wsChangesPerSec: received / seconds,
    wsDelivered: received,
    wsLatencyP50Ms: at(0.5),
    wsLatencyP99Ms: at(0.99),
  };
}

export async function measureServer(spec: ServerBenchSpec): Promise<ServerFigures> {
  const httpCreatesPerSec = await measureHttpCreates(spec.httpCreates, spec.httpConcurrency);
  const ws = await measureWsDelivery(spec.wsJobs, spec.wsSubscribers);
  return { httpCreatesPerSec, ...ws };
}

export function serverSection(spec: ServerBenchSpec, f: ServerFigures): string {
  const int = (v: number) => Math.round(v).toLocaleString('en-US');
  return [
    `  HTTP POST /jobs, ${int(spec.httpCreates)} creates at concurrency ${spec.httpConcurrency}: ${int(f.httpCreatesPerSec)} creates/s`,
    `  WebSocket, ${int(spec.wsJobs)} jobs (10 at a time, each batch delivered before the next) × 3 changes to ${spec.wsSubscribers} subscribers: ` +
      `${int(f.wsChangesPerSec)} changes/s delivered (${int(f.wsDelivered)}), ` +
      `latency p50 ${f.wsLatencyP50Ms} ms, p99 ${f.wsLatencyP99Ms} ms`,
  ].join('\n');
}

export function serverSpec(quick: boolean): ServerBenchSpec {
  return {
    httpCreates: quick ? 1_000 : 5_000,
    httpConcurrency: 50,
    wsJobs: quick ? 200 : 1_000,
    wsSubscribers: 100,
  };
}
