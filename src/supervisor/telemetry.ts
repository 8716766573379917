/**
 * What the supervisor counts and reports: rejected events, stalls, timeouts, subscriber errors,
 * and the typed `rejected` / `error` events. Reports never throw into the caller.
 */
import type { RejectedEmit } from '../../machines/job.types.js';
import { TypedEmitter, type Unsubscribe } from '../common/emitter.js';
import { JobvisorError } from '../common/errors.js';
import type { EventSource, HandlerDurations, RejectionReason, SupervisorEventMap } from '../common/types.js';

/** Upper bounds (ms) of the handler-duration histogram buckets; the last bucket is +Inf. */
export const HANDLER_DURATION_BUCKETS_MS: readonly number[] = Object.freeze([
  5, 10, 25, 50, 100, 250, 500, 1_000, 2_500, 5_000, 10_000, 30_000, 60_000, 300_000,
]);

export class Telemetry {
  readonly counters = {
    starts: 0,
    deduplicated: 0,
    rejected: 0,
    stalls: 0,
    timeouts: 0,
    subscriberErrors: 0,
  };
  /** Per bucket of HANDLER_DURATION_BUCKETS_MS, plus one for +Inf (not cumulative). */
  readonly #durationCounts = new Array<number>(HANDLER_DURATION_BUCKETS_MS.length + 1).fill(0);
  #durationSumMs = 0;
  readonly #rejectedByReason: Partial<Record<RejectionReason, number>> = {};
  readonly #events = new TypedEmitter<SupervisorEventMap>((error) =>
    console.error('[jobvisor] an event listener threw:', error),
  );

  on<K extends keyof SupervisorEventMap>(
    name: K,
    listener: (event: SupervisorEventMap[K]) => void,
  ): Unsubscribe {
    return this.#events.on(name, listener);
  }

  get rejectedByReason(): Readonly<Partial<Record<RejectionReason, number>>> {
    return { ...this.#rejectedByReason };
  }

  get handlerDurations(): HandlerDurations {
    return {
      bucketsMs: HANDLER_DURATION_BUCKETS_MS,
      counts: [...this.#durationCounts],
      sumMs: this.#durationSumMs,
      count: this.#durationCounts.reduce((a, b) => a + b, 0),
    };
  }

  /** One handler ran for `ms`: a bucket increment, no allocation. */
  handlerFinished(ms: number): void {
    let i = 0;
    while (i < HANDLER_DURATION_BUCKETS_MS.length && ms > HANDLER_DURATION_BUCKETS_MS[i]!) i++;
    this.#durationCounts[i]!++;
    this.#durationSumMs += ms;
  }

  /** A failed attempt: counts stalls and timeouts by the error's code. */
  attemptFailed(code: string | undefined): void {
    if (code === 'stalled') this.counters.stalls++;
    else if (code === 'timeout') this.counters.timeouts++;
  }

  rejected(jobId: string, jobType: string, rejection: RejectedEmit, source: EventSource): void {
    this.counters.rejected++;
    this.#rejectedByReason[rejection.reason] = (this.#rejectedByReason[rejection.reason] ?? 0) + 1;
    if (this.#events.listenerCount('rejected') === 0) return;
    const { event } = rejection;
    this.#events.emit('rejected', {
      jobId,
      jobType,
      event: event.type,
      attempt: 'attempt' in event ? event.attempt : null,
      state: rejection.state,
      reason: rejection.reason,
      source,
      at: event.at,
    });
  }

  subscriberFailed(error: unknown, jobId: string): void {
    this.counters.subscriberErrors++;
    this.error('subscriber', error, jobId);
  }

  /** Reports an error on the `error` event, or logs it when nobody listens. */
  error(where: SupervisorEventMap['error']['where'], error: unknown, jobId?: string): void {
    if (this.#events.listenerCount('error') === 0) {
      const prefix = `[jobvisor] ${where} error${jobId ? ` (job ${jobId})` : ''}:`;
      // An expected error (a coded JobvisorError: store_locked, store_unavailable, …) says what
      // happened in its message and code; a stack would only bury it. Anything else keeps its stack.
      if (error instanceof JobvisorError && error.code !== 'internal_error')
        console.error(`${prefix} ${error.message} (${error.code})`);
      else console.error(prefix, error);
      return;
    }
    this.#events.emit('error', { where, jobId, error });
  }
}
