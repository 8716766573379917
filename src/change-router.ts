/**
 * Where every job change goes. A job actor's accepted change gets its supervisor-wide offset and
 * reaches, in order: the status counts, the store (durable by the next flush), the subscribers,
 * the `waitFor` callers, and the supervisor's mailbox for what concerns slots and the registry.
 * In the other direction, events from handlers go to their job's actor, or are rejected.
 */
import type { ChangeKind, JobEvent, JobStatus, RejectedEmit } from '../machines/job.types.js';
import type { SupervisorEvent } from '../machines/supervisor.machine.js';
import type { Durability } from './durability.js';
import type { Fanout } from './fanout.js';
import { isTerminal, type CellHooks, type JobCell } from './job-cell.js';
import type { Registry } from './registry.js';
import { toRecord } from './store/records.js';
import type { Telemetry } from './telemetry.js';
import type { Outcome } from './types.js';
import type { JobWaiters } from './waiters.js';

export interface RouterDeps {
  readonly registry: Registry;
  readonly telemetry: Telemetry;
  readonly fanout: Fanout;
  readonly waiters: JobWaiters;
  readonly durability: Durability | undefined;
  /** Sends to the supervisor's mailbox. */
  readonly notify: (event: SupervisorEvent) => void;
}

export class ChangeRouter {
  readonly #deps: RouterDeps;
  /** The offset of the latest change: gap-free across the supervisor, continued after a restart. */
  offset = 0;

  constructor(deps: RouterDeps) {
    this.#deps = deps;
  }

  /** What each job cell reports to. */
  readonly hooks: CellHooks = {
    changed: (cell, kind, previous) => this.#changed(cell, kind, previous),
    rejected: (cell, rejection, source) =>
      this.#deps.telemetry.rejected(cell.id, cell.type, rejection, source),
    crashed: (cell, error) => this.#deps.telemetry.error('internal', error, cell.id),
  };

  /** Gives the change its offset, hands it to the store and to the subscribers. */
  publish(cell: JobCell, kind: ChangeKind): void {
    const offset = ++this.offset;
    const { fanout, durability } = this.#deps;
    const wanted = fanout.wants(cell.id, cell.type);
    if (!wanted && !durability) return;
    const job = cell.view;
    const change = { offset, jobId: cell.id, seq: job.seq, kind, at: job.updatedAt };
    durability?.append({ ...change, record: toRecord(cell.snapshot, job, offset) });
    if (wanted) fanout.deliver({ ...change, job });
  }

  /** An event from a handler: to the job's actor, or rejected (`job_final`) if the job has finished. */
  dispatch(jobId: string, event: JobEvent): Outcome {
    const { registry, telemetry } = this.#deps;
    const cell = registry.live(jobId);
    if (cell) return cell.send(event, 'handler');
    const view = registry.view(jobId);
    const state = view?.status ?? 'evicted';
    const rejection: RejectedEmit = { type: 'rejected', event, state, reason: 'job_final' };
    telemetry.rejected(jobId, view?.type ?? 'unknown', rejection, 'handler');
    return { accepted: false, reason: 'job_final' };
  }

  #changed(cell: JobCell, kind: ChangeKind, previous: JobStatus): void {
    const { registry, telemetry, waiters, notify } = this.#deps;
    const status = cell.status;
    if (status !== previous) registry.statusChanged(previous, status);
    if (kind === 'retrying' || kind === 'failed') telemetry.attemptFailed(cell.view.error?.code);
    this.publish(cell, kind);
    const job = { jobId: cell.id, jobType: cell.type };
    if (isTerminal(status)) {
      notify({ type: 'JOB_SETTLED', ...job, wasRunning: previous === 'running' });
      waiters.resolve(cell.id, cell.view);
      return;
    }
    if (previous === 'running' && status === 'pending') notify({ type: 'JOB_RELEASED', ...job });
    if (kind === 'requeued' || kind === 'interrupted') notify({ type: 'JOB_QUEUED', jobId: cell.id });
  }
}
