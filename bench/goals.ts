/** The throughput goals (issue "faster than the peers"), as ratios of variants of the same run. */
import type { Goal } from './report.js';
import type { ThroughputFigures } from './throughput.js';
import { median } from './util.js';
import type { Sample } from './workload.js';
import type { VariantName } from './variants.js';

interface Ratio {
  readonly name: string;
  readonly over: VariantName;
  readonly under: VariantName;
  /** The goal on over/under; none: shown for information. */
  readonly atLeast?: number;
  readonly atMost?: number;
}

const RATIOS: readonly Ratio[] = [
  { name: 'jobvisor / BullMQ (no persistence)', over: 'jobvisor', under: 'bullmq', atLeast: 2 },
  { name: 'jobvisor / floor', over: 'jobvisor', under: 'baseline', atLeast: 1 / 20 },
  // A cost ratio: the minimal machine's rate over the job machine's.
  { name: 'job machine cost / minimal machine', over: 'minimalXState', under: 'bareXState', atMost: 1.5 },
  {
    name: 'jobvisor + SQLite (I/O) / BullMQ (appendfsync always)',
    over: 'jobvisorSqliteIo',
    under: 'bullmqAof',
    atLeast: 1,
  },
  {
    name: 'jobvisor + SQLite (I/O) / raw better-sqlite3',
    over: 'jobvisorSqliteIo',
    under: 'rawSqlite',
    atLeast: 0.6,
  },
  { name: 'jobvisor / bare XState', over: 'jobvisor', under: 'bareXState' },
  { name: 'jobvisor + SQLite (never yields) / in memory', over: 'jobvisorSqlite', under: 'jobvisor' },
];

/** A throughput goal: the median of the rounds' ratios, with the ratio of the medians beside it. */
export interface ThroughputGoal extends Goal {
  readonly ofMedians: number;
}

const rate = (s: Sample): number => s.jobs / s.ms;

/**
 * Each goal is the median of the per-round ratios: a round runs every variant back to back, so a
 * machine that speeds up or slows down between rounds moves both sides of a round's ratio alike,
 * where the ratio of the medians can pair one variant's fast round with the other's slow one (as
 * bench/cluster.ts does for PostgreSQL).
 */
export function throughputGoals({ variants }: ThroughputFigures): ThroughputGoal[] {
  return RATIOS.map(({ name, over, under, atLeast, atMost }) => {
    const a = variants[over];
    const b = variants[under];
    const target =
      atLeast !== undefined
        ? `≥ ${atLeast.toFixed(3)}`
        : atMost !== undefined
          ? `≤ ${atMost.toFixed(3)}`
          : '';
    if (!a || !b) return { name, value: NaN, ofMedians: NaN, target: `${target} (skipped)`, met: null };
    const value = median(a.samples.map((s, i) => rate(s) / rate(b.samples[i]!)));
    const met = atLeast !== undefined ? value >= atLeast : atMost !== undefined ? value <= atMost : null;
    return { name, value, ofMedians: a.jobsPerSec / b.jobsPerSec, target, met };
  });
}
