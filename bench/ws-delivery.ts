/**
 * WebSocket change-to-receipt latency as the goal states it: 100 subscribers in another process
 * (bench/ws-subscribers.ts), 1,000 jobs in flight on the server (running, holding their slots),
 * while further jobs are started 10 at a time, each batch's changes delivered to every subscriber
 * before the next. Latency: the change's `at` (stamped when the job's machine took the event) to
 * its receipt by a client, p50/p99 over every delivered change. Nothing is durable (in memory).
 *
 *   tsx bench/ws-delivery.ts     (BENCH_QUICK=1: 200 jobs)
 */
import { fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { createSupervisor } from '../src/index.js';
import { createJobvisorServer } from '../src/server/index.js';
import { untilAborted } from './util.js';

export interface WsDeliveryFigures {
  readonly inFlight: number;
  readonly jobs: number;
  readonly subscribers: number;
  readonly delivered: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
}

type FromChild = { ready?: true; reached?: number; latencies?: number[]; received?: number };

export async function measureWsDelivery(spec: {
  inFlight: number;
  jobs: number;
  subscribers: number;
}): Promise<WsDeliveryFigures> {
  const supervisor = createSupervisor({ concurrency: spec.inFlight + 10 });
  supervisor.register('hold', (ctx) => untilAborted(ctx.signal), { heartbeatTimeoutMs: 2 ** 31 - 1 });
  supervisor.register('noop', () => null);
  const server = createJobvisorServer({ supervisor, subscriberBufferLimit: 1_024 * 1_048_576 });
  const { url } = await server.listen(0);
  for (let i = 0; i < spec.inFlight; i++) await supervisor.start({ type: 'hold' });
  const child = fork(
    fileURLToPath(new URL('./ws-subscribers.ts', import.meta.url)),
    [`${url.replace('http', 'ws')}/ws`, String(spec.subscribers)],
    { execArgv: ['--import', 'tsx'] },
  );
  // The child's answers, in order: each `next()` takes the next one.
  const waiting: { resolve: (m: FromChild) => void; reject: (e: Error) => void }[] = [];
  child.on('message', (message: FromChild) => waiting.shift()?.resolve(message));
  child.on('exit', (code) => {
    for (const w of waiting.splice(0)) w.reject(new Error(`the subscribers' process exited (${code})`));
  });
  const next = (): Promise<FromChild> => new Promise((resolve, reject) => waiting.push({ resolve, reject }));
  try {
    await next(); // ready: every client has its snapshot
    let target = 0;
    for (let i = 0; i < spec.jobs; i += 10) {
      const size = Math.min(10, spec.jobs - i);
      target += size * 3 * spec.subscribers; // created, started, completed
      const reached = next();
      child.send({ expect: target });
      await Promise.all(Array.from({ length: size }, () => supervisor.start({ type: 'noop' })));
      await reached;
    }
    const result = next();
    child.send({ done: true });
    const { latencies = [], received = 0 } = await result;
    latencies.sort((a, b) => a - b);
    const at = (q: number) =>
      latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))] ?? NaN;
    return { ...spec, delivered: received, p50Ms: at(0.5), p99Ms: at(0.99) };
  } finally {
    child.kill();
    await server.close();
    await supervisor.shutdown({ graceMs: 0 });
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const quick = process.env.BENCH_QUICK === '1';
  const f = await measureWsDelivery({ inFlight: 1_000, jobs: quick ? 200 : 1_000, subscribers: 100 });
  console.log(
    `WebSocket: ${f.inFlight} jobs in flight, ${f.jobs} more started 10 at a time, ${f.subscribers} subscribers in another process: ` +
      `${f.delivered} changes delivered, latency p50 ${f.p50Ms} ms, p99 ${f.p99Ms} ms (goal p99 < 20 ms)`,
  );
}
