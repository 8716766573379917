/**
 * Retention: finished jobs are forgotten beyond `maxCount` (as soon as one more finishes) and once
 * older than `maxAgeMs` (on a timer of the supervisor's clock, set for the moment the oldest one
 * expires). Reads never prune: `get`, `list` and `stats` only look. The store forgets the same
 * jobs on its side when told (`onForgot` → Durability.expire).
 */
import type { Clock } from '../common/clock.js';
import { MAX_DELAY_MS } from '../common/validation.js';
import type { Registry, RetentionPolicy } from './registry.js';
import type { JobViews } from './views.js';

export class Retention {
  readonly #views: JobViews;
  readonly #registry: Pick<Registry, 'forget'>;
  readonly #clock: Clock;
  readonly #policy: RetentionPolicy;
  #timer: unknown;
  /** When the armed timer fires (clock time). */
  #due = Infinity;
  readonly #forgot = new Set<() => void>();

  constructor(views: JobViews, registry: Pick<Registry, 'forget'>, clock: Clock, policy: RetentionPolicy) {
    this.#views = views;
    this.#registry = registry;
    this.#clock = clock;
    this.#policy = policy;
  }

  /** A job's end became durable, or finished jobs were restored: prune now, and re-arm. */
  finished(): void {
    const now = this.#clock.now();
    const removed = this.#views.prune(this.#policy, now, (view) => this.#registry.forget(view));
    this.#arm(now);
    if (removed > 0) for (const listener of this.#forgot) listener();
  }

  /** Calls `listener` after each prune that forgot jobs (the store forgets them too). */
  onForgot(listener: () => void): void {
    this.#forgot.add(listener);
  }

  /** Stops the timer (at shutdown). */
  close(): void {
    if (this.#timer !== undefined) this.#clock.clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#due = Infinity;
  }

  /** Sets the timer for the moment the oldest finished job is past `maxAgeMs`. */
  #arm(now: number): void {
    const oldest = this.#views.oldestFinish();
    const due = oldest === undefined ? Infinity : oldest + this.#policy.maxAgeMs + 1;
    if (due === this.#due) return;
    this.close();
    if (due === Infinity) return;
    this.#due = due;
    const timer = this.#clock.setTimeout(
      () => {
        this.#timer = undefined;
        this.#due = Infinity;
        this.finished();
      },
      Math.min(MAX_DELAY_MS, Math.max(0, due - now)),
    );
    // A retention timer alone must not keep the process alive.
    (timer as { unref?: () => void } | null)?.unref?.();
    this.#timer = timer;
  }
}
