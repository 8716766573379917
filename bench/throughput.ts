/**
 * The throughput comparison: every variant runs the same workload, warm-up rounds first, then
 * measured rounds interleaved (the order rotates each round so no variant always goes first),
 * with a full GC between runs. The median round of each variant is reported.
 */
import { runBareXState } from './bare-xstate.js';
import { runBaseline } from './baseline.js';
import { runJobvisorSqlite, runJobvisorSqliteIo } from './jobvisor-sqlite.js';
import { runJobvisorWeighed } from './memory.js';
import { collect, median } from './util.js';
import { checkSample, type Sample, type Variant, type WorkloadSpec } from './workload.js';

export const VARIANTS = {
  baseline: runBaseline,
  bareXState: runBareXState,
  jobvisor: runJobvisorWeighed,
  jobvisorSqlite: runJobvisorSqlite,
  jobvisorSqliteIo: runJobvisorSqliteIo,
} as const satisfies Record<string, Variant>;

export type VariantName = keyof typeof VARIANTS;

export interface VariantFigures {
  readonly samples: readonly Sample[];
  readonly medianMs: number;
  readonly jobsPerSec: number;
  readonly changesPerSec: number;
  readonly minJobsPerSec: number;
  readonly maxJobsPerSec: number;
  /** jobvisor only: median heap bytes per retained completed job. */
  readonly bytesPerRetained?: number;
}

/** Heap bytes per retained completed record, from each measured jobvisor round. */
const weighed = (sample: Sample): number | undefined =>
  'bytesPerRetained' in sample && typeof sample.bytesPerRetained === 'number'
    ? sample.bytesPerRetained
    : undefined;

const rate = (count: number, ms: number): number => (count * 1_000) / ms;

function summarise(samples: readonly Sample[]): VariantFigures {
  const medianMs = median(samples.map((s) => s.ms));
  const jobs = samples.map((s) => rate(s.jobs, s.ms));
  const first = samples[0]!;
  const bytes = samples.map(weighed).filter((b) => b !== undefined);
  return {
    ...(bytes.length > 0 ? { bytesPerRetained: median(bytes) } : {}),
    samples,
    medianMs,
    jobsPerSec: rate(first.jobs, medianMs),
    changesPerSec: rate(first.changes, medianMs),
    minJobsPerSec: Math.min(...jobs),
    maxJobsPerSec: Math.max(...jobs),
  };
}

export async function measureThroughput(
  spec: WorkloadSpec,
  options: { rounds: number; warmup: number; warmupN: number },
  log: (line: string) => void,
): Promise<Record<VariantName, VariantFigures>> {
  const names = Object.keys(VARIANTS) as VariantName[];
  const warm = { ...spec, n: options.warmupN };
  for (let w = 0; w < options.warmup; w++)
    for (const name of names) {
      checkSample(name, warm, await VARIANTS[name](warm));
      await collect();
    }
  const samples = Object.fromEntries(names.map((name) => [name, [] as Sample[]])) as Record<
    VariantName,
    Sample[]
  >;
  for (let round = 0; round < options.rounds; round++) {
    const order = names.map((_, i) => names[(i + round) % names.length]!);
    const line: string[] = [];
    for (const name of order) {
      const sample = checkSample(name, spec, await VARIANTS[name](spec));
      samples[name].push(sample);
      line.push(`${name} ${Math.round(rate(sample.jobs, sample.ms))} jobs/s`);
      await collect();
    }
    log(`  round ${round + 1}/${options.rounds}: ${line.join(', ')}`);
  }
  return Object.fromEntries(names.map((name) => [name, summarise(samples[name])])) as Record<
    VariantName,
    VariantFigures
  >;
}
