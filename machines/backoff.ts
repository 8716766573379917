/**
 * Exponential reconnect backoff: `initialMs · 2^attempt` capped at `maxMs`, with optional jitter.
 * The relay machine's `backoff` delay and the connection machine's `reconnectDelay` (without
 * jitter by default), and (through src/common/backoff.ts) the clients'. Pure: no imports, no I/O.
 */
export interface ExponentialBackoff {
  /** First delay (default 250 ms). */
  readonly initialMs?: number;
  /** Cap (default 10 s). */
  readonly maxMs?: number;
}

export interface BackoffOptions extends ExponentialBackoff {
  /** Randomise each delay to [delay/2, delay] (default true). */
  readonly jitter?: boolean;
  /** Source of randomness for the jitter (default Math.random), injectable for tests. */
  readonly random?: () => number;
}

/** The delay before attempt `attempt` (0 = first retry), without jitter. */
export function exponentialBackoff(attempt: number, options: ExponentialBackoff = {}): number {
  const initial = Math.max(0, options.initialMs ?? 250);
  const max = Math.max(initial, options.maxMs ?? 10_000);
  return Math.min(max, initial * 2 ** Math.min(attempt, 30));
}

/** The delay before reconnect attempt `attempt` (0 = first retry), jittered unless `jitter: false`. */
export function backoffDelay(attempt: number, options: BackoffOptions = {}): number {
  const base = exponentialBackoff(attempt, options);
  if (options.jitter === false) return base;
  const random = options.random ?? Math.random;
  return Math.round(base / 2 + (random() * base) / 2);
}
