/**
 * Exponential reconnect backoff with optional jitter: the relay machine's `backoff` delay, and
 * (through src/common/backoff.ts) the live client's reconnect. Pure: no imports, no I/O.
 */
export interface BackoffOptions {
  /** First delay (default 250 ms). */
  initialMs?: number;
  /** Cap (default 10 s). */
  maxMs?: number;
  /** Randomise each delay to [delay/2, delay] (default true). */
  jitter?: boolean;
  /** Source of randomness for the jitter (default Math.random), injectable for tests. */
  random?: () => number;
}

/** The delay before reconnect attempt `attempt` (0 = first retry). */
export function backoffDelay(attempt: number, options: BackoffOptions = {}): number {
  const initial = Math.max(0, options.initialMs ?? 250);
  const max = Math.max(initial, options.maxMs ?? 10_000);
  const base = Math.min(max, initial * 2 ** Math.min(attempt, 30));
  if (options.jitter === false) return base;
  const random = options.random ?? Math.random;
  return Math.round(base / 2 + (random() * base) / 2);
}
