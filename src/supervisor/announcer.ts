/**
 * Telling a committed change: the readers' views move to its offset, then the subscribers hear
 * of it, then the `waitFor` callers of a job that finished. It is called only once the store made
 * the change durable (at once without a store), in offset order: nobody hears of a change that a
 * crash could take back. A job's end also lets retention forget the oldest finished ones.
 */
import type { ChangeKind } from '../../machines/job.types.js';
import type { Fanout } from './fanout.js';
import { isTerminal } from './job-cell.js';
import type { JobView } from '../common/types.js';
import type { JobViews } from './views.js';
import type { Retention } from './retention.js';
import type { JobWaiters } from './waiters.js';

export class Announcer {
  readonly #views: JobViews;
  readonly #fanout: Fanout;
  readonly #waiters: JobWaiters;
  readonly #retention: Pick<Retention, 'finished'>;

  readonly #told: (kind: ChangeKind, job: JobView) => void;

  /** `told`: hears every change once told (tracing's attempt spans). */
  constructor(
    views: JobViews,
    fanout: Fanout,
    waiters: JobWaiters,
    retention: Pick<Retention, 'finished'>,
    told: (kind: ChangeKind, job: JobView) => void = () => undefined,
  ) {
    this.#views = views;
    this.#fanout = fanout;
    this.#waiters = waiters;
    this.#retention = retention;
    this.#told = told;
  }

  /** The change of `job` (its view after the change) committed at `offset`. */
  tell(offset: number, kind: ChangeKind, job: JobView): void {
    const views = this.#views;
    views.offset = offset;
    views.apply(job);
    if (this.#fanout.wants(job.id, job.type)) {
      this.#fanout.deliver({ offset, jobId: job.id, seq: job.seq, kind, at: job.updatedAt, job });
    }
    this.#told(kind, job);
    if (!isTerminal(job.status)) return;
    this.#waiters.resolve(job.id, job);
    this.#retention.finished();
  }
}
