/** Formats the figures as plain-text tables. */
import type { Config } from './config.js';
import type { MachineInfo } from './machine.js';
import type { StartCost } from './registry-cost.js';
import type { ThroughputFigures } from './throughput.js';
import { VARIANT_NAMES, VARIANTS } from './variants.js';
import { fmt, fmtInt } from './util.js';

export interface MemoryFigures {
  readonly liveCount: number;
  readonly bytesPerLiveJob: number;
  readonly retainedCount: number;
  readonly bytesPerRetainedJob: number;
  readonly bytesPerBareActor: number;
}

export interface Goal {
  readonly name: string;
  readonly value: number;
  readonly target: string;
  /** `null`: a figure shown for information, not a goal. */
  readonly met: boolean | null;
}

function table(headers: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]?.length ?? 0)));
  const line = (cells: readonly string[]) =>
    cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('   ');
  return [line(headers), widths.map((w) => '-'.repeat(w)).join('   '), ...rows.map(line)]
    .map((l) => `  ${l}`)
    .join('\n');
}

export const label = (goal: Goal): string => (goal.met === null ? 'info' : goal.met ? 'PASS' : 'MISS');

export function machineSection(machine: MachineInfo, config: Config, gc: boolean): string {
  return [
    `machine: ${machine.cpu} × ${machine.cores}, ${machine.memoryGb} GB, ${machine.platform}`,
    `node ${machine.node} (V8 ${machine.v8}), load average ${fmt(machine.loadAvg)} at start, --expose-gc: ${gc ? 'yes' : 'NO (memory figures unreliable)'}`,
    `config: N=${config.n}, rounds=${config.rounds} (+${config.warmup} warm-up of ${config.warmupN}, ${config.timedRuns} timed runs each), concurrency=${config.concurrency}, ` +
      `progress steps=${config.progressSteps}, start batches=${config.startBatches}×${config.startBatch}, memory N=${config.memoryN}${config.quick ? ', QUICK' : ''}`,
  ].join('\n');
}

/** The variants as rows (title, what is durable, rates); a skipped one says why. */
export function throughputSection(
  figures: ThroughputFigures,
  goals: readonly (Goal & { readonly ofMedians: number })[],
): string {
  const rows = VARIANT_NAMES.map((name) => {
    const f = figures.variants[name];
    const { title, durable } = VARIANTS[name];
    if (!f) return [title, durable, 'skipped: no redis-server', '', '', ''];
    return [
      title,
      durable,
      fmtInt(f.jobsPerSec),
      fmtInt(f.changesPerSec),
      fmt(f.medianMs, 0),
      `${fmtInt(f.minJobsPerSec)}..${fmtInt(f.maxJobsPerSec)}`,
    ];
  });
  const ratioRows = goals.map((g) => [g.name, fmt(g.value, 3), fmt(g.ofMedians, 3), g.target, label(g)]);
  return [
    table(
      ['variant', 'durable when timed', 'jobs/s', 'changes/s', 'median ms (all timed runs)', 'jobs/s range'],
      rows,
    ),
    '',
    table(["ratio (median of the rounds' ratios)", 'value', 'of medians', 'goal', ''], ratioRows),
  ].join('\n');
}

export function startCostSection(costs: readonly StartCost[], goals: readonly Goal[]): string {
  const rows = costs.map((c) => [
    c.population,
    fmtInt(c.size),
    fmt(c.usPerStart, 1),
    fmt(c.minUsPerStart, 1),
    fmt(c.gcUsPerStart, 1),
    fmt(c.exGcUsPerStart, 1),
    fmt(c.fillMs / 1_000, 1),
  ]);
  const goalRows = goals.map((g) => [g.name, `${fmt(g.value, 2)}×`, g.target, label(g)]);
  return [
    table(
      ['population', 'jobs in registry', 'µs/start median', 'min', 'of which GC', 'excl. GC', 'fill s'],
      rows,
    ),
    '',
    table(['ratio', 'value', 'goal', ''], goalRows),
  ].join('\n');
}

export function memorySection(memory: MemoryFigures): string {
  return table(
    ['job', 'jobs', 'bytes each'],
    [
      [
        'pending job (its cell; the actor is made at START)',
        fmtInt(memory.liveCount),
        fmtInt(memory.bytesPerLiveJob),
      ],
      [
        'retained terminal job (completed record)',
        fmtInt(memory.retainedCount),
        fmtInt(memory.bytesPerRetainedJob),
      ],
      [
        'reference: bare job-machine actor (pending)',
        fmtInt(memory.liveCount),
        fmtInt(memory.bytesPerBareActor),
      ],
    ],
  );
}
