/** Bench settings from the environment; `BENCH_QUICK=1` shrinks everything for a smoke run. */
const quick = process.env.BENCH_QUICK === '1';

function int(name: string, fallback: number, min = 1): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw.replaceAll('_', ''));
  if (!Number.isInteger(value) || value < min)
    throw new Error(`${name} must be an integer ≥ ${min}, got "${raw}"`);
  return value;
}

function ints(name: string, fallback: readonly number[]): readonly number[] {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  return raw.split(',').map((part, i) => {
    const value = Number(part.trim().replaceAll('_', ''));
    if (!Number.isInteger(value) || value <= 0) throw new Error(`${name}[${i}] must be a positive integer`);
    return value;
  });
}

const n = int('BENCH_N', quick ? 1_000 : 3_000);
const registrySizes = ints('BENCH_REGISTRY_SIZES', quick ? [1_000, 10_000] : [1_000, 10_000, 100_000]);

export const config = Object.freeze({
  quick,
  /** Jobs per throughput round. */
  n,
  /** Measured rounds per variant (interleaved); the median is reported. */
  rounds: int('BENCH_ROUNDS', quick ? 2 : 5),
  /** Unmeasured rounds per variant before the measured ones. */
  warmup: int('BENCH_WARMUP', quick ? 1 : 3, 0),
  /**
   * Timed runs per round, back to back in the round's process; the round's figure is their sum.
   * One run of the fast variants is shorter than V8's GC cycles (until 2026-12-07 it was 1).
   */
  timedRuns: int('BENCH_TIMED_RUNS', quick ? 1 : 3),
  /** Jobs per warm-up round. */
  warmupN: int('BENCH_WARMUP_N', quick ? Math.min(n, 1_000) : n),
  concurrency: 50,
  progressSteps: 10,
  /** Registry populations for the cost-per-start measurement. */
  registrySizes,
  /**
   * Populations of retained terminal records. Each is built by starting and cancelling jobs, about
   * twice the cost of a live one, so the default stops at 30k to keep the run short; set
   * BENCH_RETAINED_SIZES=1000,10000,100000 for the full check.
   */
  retainedSizes: ints('BENCH_RETAINED_SIZES', quick ? [1_000, 10_000] : [1_000, 10_000, 30_000]),
  /** Starts per timed batch, and batches per population (the median batch is reported). */
  startBatch: int('BENCH_START_BATCH', 1_000),
  startBatches: int('BENCH_START_BATCHES', quick ? 3 : 5),
  /** Jobs per memory measurement. */
  memoryN: int('BENCH_MEM_N', quick ? 2_000 : 10_000),
});

export type Config = typeof config;
