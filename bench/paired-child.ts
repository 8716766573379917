/** One process of bench/paired.ts: the in-memory workload of the checkout in argv[2]; prints jobs/s. */
import { pathToFileURL } from 'node:url';
import { join } from 'node:path';

const root = process.argv[2]!;
const url = pathToFileURL(join(root, 'bench/jobvisor.ts')).href;
const { runJobvisorRetaining } = (await import(url)) as typeof import('./jobvisor.js');
const spec = { n: Number(process.env.BENCH_N ?? 3_000), concurrency: 50, progressSteps: 10 };
await runJobvisorRetaining({ ...spec, n: 1_000 }); // warm-up
// Jobs per second of CPU time (user + system) of this process: less shaken than wall time by
// what else the machine runs.
const rates: number[] = [];
for (let i = 0; i < 5; i++) {
  (globalThis as { gc?: () => void }).gc?.();
  const cpu = process.cpuUsage();
  const sample = await runJobvisorRetaining(spec);
  const used = process.cpuUsage(cpu);
  rates.push((sample.jobs * 1e6) / (used.user + used.system));
}
rates.sort((x, y) => x - y);
console.log(rates[2]);
