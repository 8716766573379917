/**
 * Where every job change goes, once the step of the job's actor that made it is over: to the
 * store (with one), to be told by the `Announcer` once it is durable — at once without a store.
 * The engine reacts at once, in memory: the supervisor's mailbox hears what concerns slots and the
 * registry. (Events from handlers do not pass here: each handler sends to its own job's actor.)
 */
import type { ChangeKind } from '../../machines/job.types.js';
import type { SupervisorEvent } from '../../machines/supervisor.machine.js';
import type { Announcer } from './announcer.js';
import {
  isTerminal,
  type CellChange,
  type CellHooks,
  type JobCell,
  type JobDurability,
  type JobSnapshot,
} from './job-cell.js';
import type { JobView } from '../common/types.js';
import { toCreatedRecord, toRecord } from '../durability/records.js';
import type { Telemetry } from './telemetry.js';
import type { JobViews } from './views.js';
import type { InFlight } from '../runtime/in-flight.js';

export interface RouterDeps {
  readonly views: JobViews;
  readonly telemetry: Telemetry;
  readonly announcer: Announcer;
  /** None without a store: a change is then committed as soon as it is made. */
  readonly durability: JobDurability | undefined;
  /** Sends to the supervisor's mailbox. */
  readonly notify: (event: SupervisorEvent) => void;
  /** Handler runs in flight: what a drain waits for, told with each job that ends. */
  readonly inFlight: Pick<InFlight, 'count'>;
  /** Whether the cell is the one the registry holds for its job (not a cell that only cancels it). */
  readonly owns: (cell: JobCell) => boolean;
  /**
   * A store several nodes share: the job left this node without finishing (back to pending:
   * waiting to retry, or interrupted) — any node may claim it now; this one lets its cell go.
   */
  readonly released?: (cell: JobCell) => void;
}

/** Changes after which a job in a shared store is pending and nobody's (the store frees it). */
const RELEASING: ReadonlySet<ChangeKind> = new Set(['retrying', 'interrupted']);

export class ChangeRouter {
  readonly #deps: RouterDeps;

  constructor(deps: RouterDeps) {
    this.#deps = deps;
  }

  /** What each job cell reports to. */
  readonly hooks: CellHooks = {
    changed: (cell, change) => this.#changed(cell, change),
    rejected: (cell, rejection, source) =>
      this.#deps.telemetry.rejected(cell.id, cell.type, rejection, source),
    crashed: (cell, error) => this.#deps.telemetry.error('internal', error, cell.id),
  };

  /**
   * Hands the change to the store, to be told once durable; without a store, tells it now. No
   * snapshot: the creation of a job whose actor does not exist yet (it is made when first needed).
   */
  publish(cell: JobCell, kind: ChangeKind, snapshot: JobSnapshot | undefined, job: JobView): void {
    const { durability, announcer, views } = this.#deps;
    if (!durability) return announcer.tell(views.offset + 1, kind, job);
    const draft = {
      jobId: cell.id,
      seq: job.seq,
      kind,
      at: job.updatedAt,
      record: snapshot ? toRecord(snapshot, job, kind) : toCreatedRecord(cell.input, job),
    };
    cell.appended(durability.append(draft, { cell, job }));
  }

  #changed(cell: JobCell, { kind, previous, snapshot, view }: CellChange): void {
    const { telemetry, notify, inFlight } = this.#deps;
    const { status } = view;
    if (kind === 'retrying' || kind === 'failed') telemetry.attemptFailed(view.error?.code);
    if (cell.publishes) this.publish(cell, kind, snapshot, view);
    if (!this.#deps.owns(cell)) return; // a cell that only cancels its job: nothing of this node's changed
    const jobId = cell.id;
    const jobType = cell.type;
    if (isTerminal(status)) {
      const wasRunning = previous === 'running';
      notify({ type: 'JOB_SETTLED', jobId, jobType, wasRunning, handlers: inFlight.count });
      return;
    }
    if (previous === 'running' && status === 'pending') {
      notify({ type: 'JOB_RELEASED', jobId, jobType, handlers: inFlight.count });
    }
    const { released } = this.#deps;
    if (released && status === 'pending' && RELEASING.has(kind)) return released(cell);
    if (kind === 'requeued' || kind === 'interrupted' || kind === 'due')
      notify({ type: 'JOB_QUEUED', jobId: cell.id });
  }
}
