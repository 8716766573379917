/**
 * Exponential backoff without jitter: `initialMs · 2^attempt`, capped at `maxMs`. The connection
 * machine's default `reconnectDelay`; src/shared/backoff.ts adds the jitter the clients use.
 */
export interface ExponentialBackoff {
  /** First delay (default 250 ms). */
  readonly initialMs?: number;
  /** Cap (default 10 s). */
  readonly maxMs?: number;
}

/** The delay before attempt `attempt` (0 = first retry). */
export function exponentialBackoff(attempt: number, options: ExponentialBackoff = {}): number {
  const initial = Math.max(0, options.initialMs ?? 250);
  const max = Math.max(initial, options.maxMs ?? 10_000);
  return Math.min(max, initial * 2 ** Math.min(attempt, 30));
}
