/**
 * Cost per job by phase, from V8's sampling profiler: start (the start call and its answer),
 * actor creation, START, PROGRESS, COMPLETE (with settling), fan-out to subscribers, store (records,
 * group commit, SQLite), the handler's own code, GC, and V8's unattributed rest. Each checkout runs
 * the workload in a fresh process (bench/phases-child.ts), 3 times; medians per phase are shown.
 *
 *   tsx bench/phases.ts [memory|sqlite-io] [checkout …]     (default: memory .)
 *
 * To compare with an earlier commit: `git worktree add ../base <commit>` (node_modules linked).
 * Env: BENCH_N (jobs per profiled run, default 3000), BENCH_PHASE_RUNS (default 3).
 */
import { spawnSync } from 'node:child_process';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { PHASES, type Attribution, type Phase } from './phase-rules.js';
import { median } from './util.js';

interface ChildOutput {
  readonly n: number;
  readonly cpuUs: number;
  readonly phases: Attribution;
}

const args = process.argv.slice(2);
const variant = args[0] === 'memory' || args[0] === 'sqlite-io' ? args.shift()! : 'memory';
const roots = (args.length > 0 ? args : ['.']).map((r) => resolve(r));
const runs = Number(process.env.BENCH_PHASE_RUNS ?? 3);
const child = fileURLToPath(new URL('./phases-child.ts', import.meta.url));

function profileOnce(root: string): ChildOutput {
  const out = spawnSync(process.execPath, ['--expose-gc', '--import', 'tsx', child, root, variant], {
    encoding: 'utf8',
    env: process.env,
    maxBuffer: 16 * 1024 * 1024,
  });
  if (out.status !== 0) throw new Error(`${root}: ${out.stderr}`);
  return JSON.parse(out.stdout.trim().split('\n').at(-1)!) as ChildOutput;
}

const columns: {
  root: string;
  perJob: Record<Phase | 'total', number>;
  unnamed: Attribution['unnamed'];
  /** CPU µs per job of the profiled run (user + system, with the profiler's own overhead). */
  cpu: number;
}[] = [];
for (const root of roots) {
  const outs: ChildOutput[] = [];
  for (let i = 0; i < runs; i++) outs.push(profileOnce(root));
  const perJob = {} as Record<Phase | 'total', number>;
  for (const phase of PHASES) perJob[phase] = median(outs.map((o) => o.phases.us[phase] / o.n));
  perJob.total = median(outs.map((o) => o.phases.totalUs / o.n));
  columns.push({
    root,
    perJob,
    unnamed: outs[0]!.phases.unnamed,
    cpu: median(outs.map((o) => o.cpuUs / o.n)),
  });
}

console.log(
  `cost per job by phase, µs (${variant}; median of ${runs} profiled runs of ${process.env.BENCH_N ?? 3000} jobs)`,
);
const header = ['phase', ...columns.map((c) => c.root.split('/').at(-1) ?? c.root)];
const rows = [...PHASES, 'total' as const].map((phase) => [
  phase,
  ...columns.map(
    (c) => `${c.perJob[phase].toFixed(1)} (${((100 * c.perJob[phase]) / c.perJob.total).toFixed(0)} %)`,
  ),
]);
const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
rows.push(['CPU µs per job (profiled)', ...columns.map((c) => c.cpu.toFixed(1))]);
for (const row of [header, ...rows])
  console.log(
    row.map((cell, i) => (i === 0 ? cell.padEnd(widths[i]!) : cell.padStart(widths[i]!))).join('   '),
  );
for (const c of columns) {
  console.log(`\nlargest unattributed frames (self time per run), ${c.root}:`);
  for (const u of c.unnamed) console.log(`  ${(u.us / 1_000).toFixed(1)} ms  ${u.frame}`);
}
