/**
 * One round of one throughput variant in a fresh process (bench/throughput.ts): `warmups` warm-up
 * runs of `warmupN` jobs, then `timedRuns` measured runs back to back; prints their summed Sample
 * as JSON on its last line. The
 * warm-up brings the process to its steady state (V8 optimises a path after it has run it many
 * times; jobvisor with SQLite needs about 10,000 jobs, its thread included), as a server that has
 * run for a while is. No full GC is forced in between (until 2026-12-07 one was): a server never
 * forces one, and the next run paid for it, growing the heap the forced GC had given back — in fresh
 * processes alternating the two: 20–35 % of the run's time for the SQLite variants, 12–20 % for
 * BullMQ with `appendfsync always`, 6–21 % for BullMQ without persistence (5 pairs), nothing
 * measurable for raw better-sqlite3. jobvisor in memory kept three forced right before its timed
 * run for a while longer (its weighing of retained records was part of the run) and ran at about
 * half its speed for it: what a variant weighs is now measured after the timed run (`weigh`). The
 * warm-up's garbage is collected during the timed run, as a server's is.
 *
 *   tsx --expose-gc bench/variant-child.ts <variant> <n> <concurrency> <steps> <warmupN> <warmups> <timedRuns>
 */
import { VARIANTS, type VariantName } from './variants.js';
import { checkSample, type Sample } from './workload.js';

const [name, n, concurrency, steps, warmupN, warmups, timedRuns] = process.argv.slice(2);
const variant = VARIANTS[name as VariantName];
if (!variant) throw new Error(`unknown variant ${name}`);
const spec = { n: Number(n), concurrency: Number(concurrency), progressSteps: Number(steps) };
const warm = { ...spec, n: Number(warmupN) };
for (let i = 0; warm.n > 0 && i < Number(warmups ?? 1); i++)
  checkSample(name!, warm, await variant.run(warm));
// The timed runs back to back, summed: one run of a fast variant is shorter than V8's GC cycles
// (the floor's 3,000 jobs take about 30 ms, jobvisor's about 400), so whether a cycle fell in it
// decided its figure; a few runs in a row hold their share of every GC.
let sample: Sample = { ms: 0, jobs: 0, changes: 0 };
for (let i = 0; i < Number(timedRuns ?? 1); i++) {
  const run = checkSample(name!, spec, await variant.run(spec));
  sample = { ms: sample.ms + run.ms, jobs: sample.jobs + run.jobs, changes: sample.changes + run.changes };
}
// Untimed, after the timed run: what the variant weighs (full GCs) must not shrink the heap the run starts on.
const weighed = 'weigh' in variant ? await variant.weigh(spec) : {};
// Exit once the line is out: a peer's client may keep a handle open.
process.stdout.write(`${JSON.stringify({ ...sample, ...weighed })}\n`, () => process.exit(0));
