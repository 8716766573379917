/**
 * Cost of one `start` with 1k / 10k / 100k jobs already in the registry, either live (pending
 * jobs with an actor each) or retained (terminal records kept under retention). One supervisor
 * per population, grown step by step; at each size, batches of awaited starts of jobs that stay
 * pending are timed and the median batch is reported in µs per start. The timed jobs join the
 * population (retained: they are cancelled before the next step).
 */
import type { Supervisor } from '../src/index.js';
import { holdSupervisor, retireAll, startHolds } from './hold.js';
import { collect, median, now, timeWithGc } from './util.js';

export type Population = 'live' | 'retained';

export interface StartCost {
  readonly population: Population;
  readonly size: number;
  /** Median batch. */
  readonly usPerStart: number;
  /** Fastest batch: the least disturbed by other processes. */
  readonly minUsPerStart: number;
  /** Median GC pause time per start, and the median batch time without GC pauses. */
  readonly gcUsPerStart: number;
  readonly exGcUsPerStart: number;
  /** Time to grow the population to this size from the previous step. */
  readonly fillMs: number;
}

interface Batch {
  readonly us: number;
  readonly gcUs: number;
}

async function timeStarts(
  supervisor: Supervisor,
  batch: number,
  batches: number,
): Promise<{ samples: Batch[]; ids: string[] }> {
  const samples: Batch[] = [];
  const ids: string[] = [];
  for (let b = 0; b < batches; b++) {
    await collect(1);
    const { ms, gcMs } = await timeWithGc(async () => {
      for (let i = 0; i < batch; i++) ids.push((await supervisor.start({ type: 'hold' })).job.id);
    });
    samples.push({ us: (ms * 1_000) / batch, gcUs: (gcMs * 1_000) / batch });
  }
  return { samples, ids };
}

export async function measureStartCosts(
  population: Population,
  sizes: readonly number[],
  timing: { batch: number; batches: number },
  log: (cost: StartCost) => void,
): Promise<StartCost[]> {
  const ordered = [...sizes].sort((a, b) => a - b);
  const supervisor = holdSupervisor((ordered.at(-1) ?? 0) + timing.batches * timing.batch * ordered.length);
  const costs: StartCost[] = [];
  const count = (): number => (population === 'live' ? supervisor.stats().live : supervisor.stats().retained);
  try {
    for (const size of ordered) {
      const t0 = now();
      const ids = await startHolds(supervisor, Math.max(0, size - count()));
      if (population === 'retained') await retireAll(supervisor, ids);
      const fillMs = now() - t0;
      const populated = count();
      if (populated < size) throw new Error(`${population} ${size}: the registry holds ${populated}`);
      const timed = await timeStarts(supervisor, timing.batch, timing.batches);
      if (population === 'retained') await retireAll(supervisor, timed.ids);
      const cost: StartCost = {
        population,
        size: populated,
        usPerStart: median(timed.samples.map((b) => b.us)),
        minUsPerStart: Math.min(...timed.samples.map((b) => b.us)),
        gcUsPerStart: median(timed.samples.map((b) => b.gcUs)),
        exGcUsPerStart: median(timed.samples.map((b) => b.us - b.gcUs)),
        fillMs,
      };
      costs.push(cost);
      log(cost);
    }
  } finally {
    await supervisor.shutdown({ graceMs: 0 });
    await collect(); // the next population starts on a clean heap
  }
  return costs;
}
