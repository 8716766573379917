/** What callers see of a live job: its status and its frozen `JobView`, from the actor's snapshot. */
import type { SnapshotFrom } from 'xstate';
import type { JobMachine } from '../../machines/job.machine.js';
import { TERMINAL_STATUSES, type JobInput, type JobStatus } from '../../machines/job.types.js';
import { isScheduled } from '../../machines/job.context.js';
import { stateName } from '../../machines/job.rejection.js';
import type { JobView } from '../common/types.js';

export type JobSnapshot = SnapshotFrom<JobMachine>;

const TERMINAL: ReadonlySet<JobStatus> = new Set(TERMINAL_STATUSES);

/** Completed, failed or cancelled: the job will not change again. */
export function isTerminal(status: JobStatus): boolean {
  return TERMINAL.has(status);
}

export function statusOf(value: JobSnapshot['value']): JobStatus {
  if (typeof value === 'string') return value === 'attemptFailed' ? 'running' : value;
  return 'running' in value ? 'running' : 'pending';
}

/** The view of a job that was just created, before its actor exists. */
export function initialView(input: JobInput, node: string | null): JobView {
  return Object.freeze({
    id: input.id,
    key: input.key,
    type: input.type,
    status: 'pending',
    state: isScheduled(input) ? 'pending.scheduled' : 'pending.queued',
    progress: 0,
    message: null,
    attempt: 0,
    seq: 1,
    createdAt: input.createdAt,
    startedAt: null,
    updatedAt: input.createdAt,
    finishedAt: null,
    lastHeartbeatAt: null,
    nextRetryAt: null,
    input: input.input,
    result: null,
    error: null,
    node,
    priority: input.priority ?? 0,
    runAt: input.runAt ?? null,
  });
}

export function toView(snapshot: JobSnapshot, status: JobStatus, node: string | null): JobView {
  const { spec, run, outcome, deadlines } = snapshot.context;
  return Object.freeze({
    id: spec.id,
    key: spec.key,
    type: spec.type,
    status,
    state: stateName(snapshot.value),
    progress: run.progress,
    message: run.message,
    attempt: run.attempt,
    seq: run.seq,
    createdAt: spec.createdAt,
    startedAt: run.startedAt,
    updatedAt: run.updatedAt,
    finishedAt: outcome.finishedAt,
    lastHeartbeatAt: run.lastHeartbeatAt,
    // Before the first attempt the deadline is a delayed job's scheduled time (its `runAt`), no retry.
    nextRetryAt: run.attempt === 0 ? null : deadlines.retryAt,
    input: spec.input,
    result: outcome.result,
    error: outcome.error,
    node,
    priority: spec.priority,
    runAt: spec.runAt,
  });
}
