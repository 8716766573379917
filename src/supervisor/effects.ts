/**
 * The supervisor's deferred effects: what an action of the supervisor machine must do to job
 * actors (create, start, send to, stop) is queued here and run right after the step, when the
 * supervisor's observer drains the queue. Doing it inside the action would be re-entrant: a job
 * actor's own built-in actions would run while XState is still executing the supervisor's
 * custom action, which trips "Custom actions should not call `assign()` directly".
 */
import { Deque } from '../common/deque.js';

export class Effects {
  readonly #queue = new Deque<() => void>();
  readonly #reportError: (error: unknown) => void;
  #draining = false;

  /** `reportError` gets the error of an effect that threw; the effects after it still run. */
  constructor(reportError: (error: unknown) => void) {
    this.#reportError = reportError;
  }

  /** Queues an effect to run after the current step of the supervisor's actor. */
  push(effect: () => void): void {
    this.#queue.push(effect);
  }

  /** Runs the deferred effects in order; effects that send events may defer more. */
  drain(): void {
    if (this.#draining) return;
    this.#draining = true;
    try {
      for (let effect = this.#queue.shift(); effect; effect = this.#queue.shift()) {
        try {
          effect();
        } catch (error) {
          this.#reportError(error);
        }
      }
    } finally {
      this.#draining = false;
    }
  }
}
