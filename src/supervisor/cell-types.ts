/** What a job cell tells and is built with (src/supervisor/job-cell.ts). */
import type { Actor } from 'xstate';
import type { JobMachine } from '../../machines/job.machine.js';
import type { ChangeKind, JobStatus, RejectedEmit } from '../../machines/job.types.js';
import type { Durability } from '../durability/durability.js';
import type { Clock } from '../common/clock.js';
import type { EventSource, JobView } from '../common/types.js';
import type { Launch } from './handler-slot.js';
import type { JobCell } from './job-cell.js';
import type { JobSnapshot } from './job-view.js';

/** An accepted change, as the step that made it left the job. */
export interface CellChange {
  readonly kind: ChangeKind;
  /** The status before it. */
  readonly previous: JobStatus;
  readonly snapshot: JobSnapshot;
  readonly view: JobView;
}

export interface CellHooks {
  /** An accepted change: `seq` moved by one. */
  changed(cell: JobCell, change: CellChange): void;
  rejected(cell: JobCell, rejection: RejectedEmit, source: EventSource): void;
  /** The actor itself failed (a throwing action): reported; the job then fails with `internal_error`. */
  crashed(cell: JobCell, error: unknown): void;
}

/** The durable side as the engine uses it: its changes carry job cells. */
export type JobDurability = Durability<JobCell>;

/** What a cell is built with besides its machine and input. */
export interface CellOptions {
  readonly clock: Clock;
  readonly hooks: CellHooks;
  /** This supervisor's node id: the node of the attempts the cell starts. */
  readonly node: string;
  /** The node of the job's latest attempt before this cell (a restored job); null if none. */
  readonly lastNode?: string | null;
  /** Called with the actor right after it is created, before it starts (inspection taps). */
  readonly onActor?: (cell: JobCell, actor: Actor<JobMachine>) => void;
  /** Runs an attempt's handler; without it (a test), attempts run none. */
  readonly launch?: Launch;
}

/** What a step has to tell, in order, once it is over. */
export type Notice =
  | CellChange
  | { readonly rejection: RejectedEmit; readonly source: EventSource }
  | { readonly crash: unknown }
  | { readonly launch: number }
  | { readonly halt: number };
