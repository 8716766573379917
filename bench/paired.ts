/**
 * Paired comparison of two checkouts on the in-memory workload (bench/jobvisor.ts): each pair runs
 * checkout A then checkout B, each in a fresh process (warm-up, then the median of 5 rounds), and
 * the ratio B / A is taken per pair, so that drift of the machine cancels out. Rates are jobs per
 * second of the process's CPU time (user + system), steadier than wall time on a shared machine. For "did this change
 * slow jobvisor down?": `git worktree add ../base <commit>` (node_modules linked or installed), then
 *
 *   tsx bench/paired.ts ../base . [pairs=8]
 *
 * Env: BENCH_N (jobs per round, default 3000).
 */
import { spawnSync } from 'node:child_process';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { median } from './util.js';

const [a, b, pairsArg] = process.argv.slice(2);
if (!a || !b) throw new Error('usage: tsx bench/paired.ts <checkout A> <checkout B> [pairs]');
const pairs = Number(pairsArg ?? 8);
const child = fileURLToPath(new URL('./paired-child.ts', import.meta.url));

function run(root: string): number {
  const out = spawnSync(process.execPath, ['--expose-gc', '--import', 'tsx', child, resolve(root)], {
    encoding: 'utf8',
    env: process.env,
  });
  if (out.status !== 0) throw new Error(`${root}: ${out.stderr}`);
  return Number(out.stdout.trim());
}

const ratios: number[] = [];
const rates: [number[], number[]] = [[], []];
for (let i = 0; i < pairs; i++) {
  const ra = run(a);
  const rb = run(b);
  rates[0].push(ra);
  rates[1].push(rb);
  ratios.push(rb / ra);
  console.log(
    `pair ${i + 1}/${pairs}: A ${Math.round(ra)} jobs per CPU-s, B ${Math.round(rb)} jobs per CPU-s, B/A ${(rb / ra).toFixed(3)}`,
  );
}
console.log(
  `A ${a}: median ${Math.round(median(rates[0]))} jobs per CPU-s; B ${b}: median ${Math.round(median(rates[1]))} jobs per CPU-s; ` +
    `median of the pair ratios B/A ${median(ratios).toFixed(3)} (min ${Math.min(...ratios).toFixed(3)}, max ${Math.max(...ratios).toFixed(3)})`,
);
