/** Exponential reconnect backoff with optional jitter. */
import { exponentialBackoff } from '../../machines/backoff.js';

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
  const base = exponentialBackoff(attempt, options);
  if (options.jitter === false) return base;
  const random = options.random ?? Math.random;
  return Math.round(base / 2 + (random() * base) / 2);
}
