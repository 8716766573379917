/**
 * Where every job change goes. A job actor's accepted change goes to the store (with one) and is
 * told by the `Announcer` once it is durable — at once without a store. The engine reacts at once,
 * in memory: the supervisor's mailbox hears what concerns slots and the registry. In the other
 * direction, events from handlers go to their job's actor, or are rejected.
 */
import type { ChangeKind, JobEvent, JobStatus, RejectedEmit } from '../machines/job.types.js';
import type { SupervisorEvent } from '../machines/supervisor.machine.js';
import type { Announcer } from './announcer.js';
import type { Durability } from './durability.js';
import { isTerminal, type CellHooks, type JobCell } from './job-cell.js';
import type { Registry } from './registry.js';
import { toRecord } from './store/records.js';
import type { Telemetry } from './telemetry.js';
import type { Outcome } from './types.js';
import type { JobViews } from './views.js';

export interface RouterDeps {
  readonly registry: Registry;
  readonly views: JobViews;
  readonly telemetry: Telemetry;
  readonly announcer: Announcer;
  /** None without a store: a change is then committed as soon as it is made. */
  readonly durability: Durability | undefined;
  /** Sends to the supervisor's mailbox. */
  readonly notify: (event: SupervisorEvent) => void;
}

export class ChangeRouter {
  readonly #deps: RouterDeps;

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

  /** Hands the change to the store, to be told once durable; without a store, tells it now. */
  publish(cell: JobCell, kind: ChangeKind): void {
    const { durability, announcer, views } = this.#deps;
    const job = cell.view;
    if (!durability) return announcer.tell(views.offset + 1, kind, job);
    const draft = {
      jobId: cell.id,
      seq: job.seq,
      kind,
      at: job.updatedAt,
      record: toRecord(cell.snapshot, job, kind),
    };
    cell.appended(durability.append(draft, { cell, job }));
  }

  /** An event from a handler: to the job's actor, or rejected (`job_final`) if the job has finished. */
  dispatch(jobId: string, event: JobEvent): Outcome {
    const { registry, views, telemetry } = this.#deps;
    const cell = registry.live(jobId);
    if (cell) return cell.send(event, 'handler');
    const view = views.get(jobId);
    const state = view?.status ?? 'evicted';
    const rejection: RejectedEmit = { type: 'rejected', event, state, reason: 'job_final' };
    telemetry.rejected(jobId, view?.type ?? 'unknown', rejection, 'handler');
    return { accepted: false, reason: 'job_final' };
  }

  #changed(cell: JobCell, kind: ChangeKind, previous: JobStatus): void {
    const { telemetry, notify } = this.#deps;
    const status = cell.status;
    if (kind === 'retrying' || kind === 'failed') telemetry.attemptFailed(cell.view.error?.code);
    if (cell.publishes) this.publish(cell, kind);
    const job = { jobId: cell.id, jobType: cell.type };
    if (isTerminal(status)) {
      notify({ type: 'JOB_SETTLED', ...job, wasRunning: previous === 'running' });
      return;
    }
    if (previous === 'running' && status === 'pending') notify({ type: 'JOB_RELEASED', ...job });
    if (kind === 'requeued' || kind === 'interrupted') notify({ type: 'JOB_QUEUED', jobId: cell.id });
  }
}
