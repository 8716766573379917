/** Small helpers shared by the bench files: timing, medians, GC, formatting. */
import { PerformanceObserver, type PerformanceEntry } from 'node:perf_hooks';
import { setImmediate as nextTurn, setTimeout as sleep } from 'node:timers/promises';

export const now = (): number => performance.now();

export function median(values: readonly number[]): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

const gcFn = (globalThis as { gc?: () => void }).gc;

export const hasGc = typeof gcFn === 'function';

/** Full GC (`passes` times, letting finalizers and timers run between) when `--expose-gc` is on. */
export async function collect(passes = 3): Promise<void> {
  for (let i = 0; i < passes; i++) {
    gcFn?.();
    await nextTurn();
  }
}

export async function heapUsed(): Promise<number> {
  await collect();
  return process.memoryUsage().heapUsed;
}

/** A promise with its resolver outside, for "all jobs finished" signals. */
export function signal(): { promise: Promise<void>; resolve: () => void } {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => (resolve = r));
  return { promise, resolve };
}

/** Resolves when `signal` aborts; what a well-behaved never-ending handler awaits. */
export function untilAborted(signal: AbortSignal): Promise<never> {
  return new Promise<never>((_resolve, reject) => {
    const abort = () => reject(signal.reason instanceof Error ? signal.reason : new Error('aborted'));
    if (signal.aborted) abort();
    else signal.addEventListener('abort', abort, { once: true });
  });
}

export const fmtInt = (value: number): string =>
  Number.isFinite(value) ? Math.round(value).toLocaleString('en-US') : 'n/a';

export const fmt = (value: number, digits = 2): string =>
  Number.isFinite(value) ? value.toFixed(digits) : 'n/a';

/** Runs `fn` and measures its wall time and the GC pauses (scavenges, mark-compact) within it. */
export async function timeWithGc(fn: () => Promise<void>): Promise<{ ms: number; gcMs: number }> {
  const entries: PerformanceEntry[] = [];
  const observer = new PerformanceObserver((list) => entries.push(...list.getEntries()));
  observer.observe({ entryTypes: ['gc'] });
  const t0 = now();
  await fn();
  const t1 = now();
  await sleep(0); // GC entries are delivered on a later turn
  await nextTurn();
  observer.disconnect();
  const gcMs = entries
    .filter((entry) => entry.startTime >= t0 && entry.startTime < t1)
    .reduce((sum, entry) => sum + entry.duration, 0);
  return { ms: t1 - t0, gcMs };
}
