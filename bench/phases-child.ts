/**
 * One process of bench/phases.ts: runs the workload of the checkout in argv[2] (argv[3]: `memory`
 * or `sqlite-io`) once to warm up, then once under V8's sampling profiler (node:inspector, 100 µs
 * interval), and prints the profile's samples attributed to phases, as JSON.
 */
import { Session } from 'node:inspector/promises';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { attribute } from './phase-rules.js';

const root = process.argv[2]!;
const variant = process.argv[3] ?? 'memory';
const load = async <T>(path: string): Promise<T> => (await import(pathToFileURL(join(root, path)).href)) as T;
const { runJobvisorRetaining } = await load<typeof import('./jobvisor.js')>('bench/jobvisor.ts');
const { sqliteStore } = await load<typeof import('../src/sqlite.js')>('src/sqlite.ts');

const n = Number(process.env.BENCH_N ?? 3_000);
const spec = { n, concurrency: 50, progressSteps: 10 };

async function once(count: number): Promise<void> {
  if (variant === 'memory') {
    await runJobvisorRetaining({ ...spec, n: count });
    return;
  }
  const dir = mkdtempSync(join(tmpdir(), 'jobvisor-phases-'));
  try {
    const store = sqliteStore({ path: join(dir, 'bench.db') });
    await runJobvisorRetaining({ ...spec, n: count }, undefined, { store, awaitsIo: true });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

await once(1_000);
(globalThis as { gc?: () => void }).gc?.();
const session = new Session();
session.connect();
await session.post('Profiler.enable');
await session.post('Profiler.setSamplingInterval', { interval: 100 });
await session.post('Profiler.start');
const cpu = process.cpuUsage();
await once(n);
const used = process.cpuUsage(cpu);
const { profile } = await session.post('Profiler.stop');
session.disconnect();
console.log(JSON.stringify({ n, cpuUs: used.user + used.system, phases: attribute(profile, root) }));
