/**
 * Time, injected. The default reads the system clock; tests pass XState's `SimulatedClock`,
 * which has the same shape, so no test sleeps to wait for a timer.
 */
export interface Clock {
  now(): number;
  setTimeout(fn: (...args: unknown[]) => void, timeout: number): unknown;
  clearTimeout(id: unknown): void;
}

export const systemClock: Clock = Object.freeze({
  now: () => Date.now(),
  setTimeout: (fn: (...args: unknown[]) => void, timeout: number) => setTimeout(fn, timeout),
  clearTimeout: (id: unknown) => clearTimeout(id as NodeJS.Timeout),
});

export function isClock(value: unknown): value is Clock {
  const v = value as Partial<Clock> | null;
  return (
    typeof v === 'object' &&
    v !== null &&
    typeof v.now === 'function' &&
    typeof v.setTimeout === 'function' &&
    typeof v.clearTimeout === 'function'
  );
}
