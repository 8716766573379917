/**
 * Time, injected. The default reads the system clock; tests pass XState's `SimulatedClock`,
 * which has the same shape, so no test sleeps to wait for a timer.
 */
export interface Clock {
  now(): number;
  setTimeout(fn: (...args: unknown[]) => void, timeout: number): unknown;
  clearTimeout(id: unknown): void;
}

/** The longest delay Node's `setTimeout` takes (about 24.8 days); a longer one fires at once. */
const MAX_TIMER_MS = 2 ** 31 - 1;

/**
 * A timer longer than `setTimeout` can take (a job delayed by months): a chain of the longest
 * timers it can take, then the rest. Cleared through the handle, whichever link is armed.
 */
class LongTimer {
  #timer: NodeJS.Timeout;

  constructor(fn: () => void, due: number) {
    this.#timer = this.#arm(fn, due);
  }

  #arm(fn: () => void, due: number): NodeJS.Timeout {
    const left = due - Date.now();
    if (left <= MAX_TIMER_MS) return setTimeout(fn, Math.max(0, left));
    return setTimeout(() => {
      this.#timer = this.#arm(fn, due);
    }, MAX_TIMER_MS);
  }

  clear(): void {
    clearTimeout(this.#timer);
  }
}

export const systemClock: Clock = Object.freeze({
  now: () => Date.now(),
  setTimeout: (fn: (...args: unknown[]) => void, timeout: number) =>
    timeout > MAX_TIMER_MS ? new LongTimer(fn, Date.now() + timeout) : setTimeout(fn, timeout),
  clearTimeout: (id: unknown) => {
    if (id instanceof LongTimer) id.clear();
    else clearTimeout(id as NodeJS.Timeout);
  },
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
