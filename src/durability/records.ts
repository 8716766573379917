/** Converting between a job actor's snapshot and the record a store keeps, in both directions. */
import type { SnapshotFrom } from 'xstate';
import type { JobMachine } from '../../machines/job.machine.js';
import { freshDeadlines, NO_DEADLINES } from '../../machines/job.context.js';
import type { ChangeKind, JobDeadlines, JobInput } from '../../machines/job.types.js';
import type { JobView } from '../common/types.js';
import type { JobRecord, JobRecordDraft } from '../store/port.js';

/** What a record holds besides the job's view: the machine's state and what it resumes from. */
interface MachineFields {
  readonly state: string;
  readonly failures: number;
  readonly retry: JobInput['retry'];
  readonly heartbeatTimeoutMs: number;
  readonly timeoutMs: number | null;
  readonly deadlines: JobDeadlines;
}

/**
 * The view's fields and the machine's, every one written out (not `...view`): on Node 20 a spread
 * then more properties takes V8's slow path, and this runs for every change a store writes.
 */
function record(view: JobView, m: MachineFields, kind: ChangeKind): JobRecordDraft {
  return {
    id: view.id,
    key: view.key,
    type: view.type,
    status: view.status,
    state: m.state,
    progress: view.progress,
    message: view.message,
    attempt: view.attempt,
    seq: view.seq,
    createdAt: view.createdAt,
    startedAt: view.startedAt,
    updatedAt: view.updatedAt,
    finishedAt: view.finishedAt,
    lastHeartbeatAt: view.lastHeartbeatAt,
    nextRetryAt: view.nextRetryAt,
    input: view.input,
    result: view.result,
    error: view.error,
    node: view.node,
    priority: view.priority,
    runAt: view.runAt,
    failures: m.failures,
    retry: m.retry,
    heartbeatTimeoutMs: m.heartbeatTimeoutMs,
    timeoutMs: m.timeoutMs,
    deadlines: m.deadlines,
    lastChange: kind,
  };
}

/** The record to write after a change; the store adds the offset it gives the change. */
export function toRecord(
  snapshot: SnapshotFrom<JobMachine>,
  view: JobView,
  kind: ChangeKind,
): JobRecordDraft {
  const c = snapshot.context;
  const { spec } = c;
  return record(
    view,
    {
      // A job failed outside its machine (its actor crashed, the store refused it) says `failed`.
      state: view.state,
      failures: c.outcome.failures,
      retry: spec.retry,
      heartbeatTimeoutMs: spec.heartbeatTimeoutMs,
      timeoutMs: spec.timeoutMs,
      deadlines: c.deadlines,
    },
    kind,
  );
}

/**
 * The record of a job just created from `input` (no restore), before its actor exists: what
 * `toRecord` gives for the machine's initial snapshot (`pending.queued`, or `pending.scheduled` with
 * its time as the deadline; no failures).
 */
export function toCreatedRecord(input: JobInput, view: JobView): JobRecordDraft {
  const { retry, heartbeatTimeoutMs, timeoutMs } = input;
  const fields = {
    state: view.state,
    failures: 0,
    retry,
    heartbeatTimeoutMs,
    timeoutMs,
    deadlines: freshDeadlines(input),
  };
  return record(view, fields, 'created');
}

/** The public view of a stored record. */
export function toView(record: JobRecord): JobView {
  return Object.freeze({
    id: record.id,
    key: record.key,
    type: record.type,
    status: record.status,
    state: record.state,
    progress: record.progress,
    message: record.message,
    attempt: record.attempt,
    seq: record.seq,
    createdAt: record.createdAt,
    startedAt: record.startedAt,
    updatedAt: record.updatedAt,
    finishedAt: record.finishedAt,
    lastHeartbeatAt: record.lastHeartbeatAt,
    nextRetryAt: record.nextRetryAt,
    input: record.input,
    result: record.result,
    error: record.error,
    node: record.node ?? null,
    // Records written before priorities have none: 0; before delayed jobs, no runAt.
    priority: record.priority ?? 0,
    runAt: record.runAt ?? null,
  });
}

/**
 * The machine input that resumes a pending or running job at time `now`. A job that was running
 * is resumed as interrupted: its attempt fails as `interrupted` and is retried if attempts remain.
 */
export function resumeInput(
  record: JobRecord,
  now: number,
  options: { due?: boolean; cancelling?: boolean } = {},
): JobInput {
  return {
    id: record.id,
    type: record.type,
    key: record.key,
    input: record.input,
    retry: record.retry,
    heartbeatTimeoutMs: record.heartbeatTimeoutMs,
    timeoutMs: record.timeoutMs,
    createdAt: record.createdAt,
    priority: record.priority ?? 0,
    runAt: record.runAt ?? null,
    restore: {
      attempt: record.attempt,
      failures: record.failures,
      progress: record.progress,
      message: record.message,
      seq: record.seq,
      lastChange: record.lastChange,
      startedAt: record.startedAt,
      updatedAt: record.updatedAt,
      lastHeartbeatAt: record.lastHeartbeatAt,
      error: record.error,
      // `due`: the job was claimed once its retry time came (on the store's clock): no new wait.
      deadlines: {
        heartbeatAt: null,
        timeoutAt: null,
        retryAt: options.due ? null : record.deadlines.retryAt,
      },
      at: now,
      // `cancelling`: taken over with a cancellation asked: it ends cancelled, not retried first.
      resumedFromRunning: record.status === 'running' && !options.cancelling,
    },
  };
}

/**
 * The machine input that makes a failed or cancelled job pending again (a retry by request) at
 * `now`: its id, input, key, priority and history kept, its next attempt `attempt + 1`, a fresh
 * retry budget and no error, under its type's current options; its `retried` change is `seq + 1`.
 */
export function retryInput(
  view: JobView,
  options: Pick<JobInput, 'retry' | 'heartbeatTimeoutMs' | 'timeoutMs'>,
  now: number,
): JobInput {
  return {
    id: view.id,
    type: view.type,
    key: view.key,
    input: view.input,
    retry: options.retry,
    heartbeatTimeoutMs: options.heartbeatTimeoutMs,
    timeoutMs: options.timeoutMs,
    createdAt: view.createdAt,
    priority: view.priority,
    runAt: view.runAt,
    restore: {
      attempt: view.attempt,
      failures: 0,
      progress: 0,
      message: null,
      seq: view.seq + 1,
      lastChange: 'retried',
      startedAt: view.startedAt,
      updatedAt: now,
      lastHeartbeatAt: null,
      error: null,
      deadlines: NO_DEADLINES,
      at: now,
      resumedFromRunning: false,
    },
  };
}
