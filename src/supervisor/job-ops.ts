/**
 * The facade's verbs on one existing job: cancel (any live job), retry (a failed or cancelled one:
 * the same job pending again) and remove (a finished one, with its history). Each validates its id,
 * acts through the job's cell or the supervisor's mailbox, and answers once the change is durable.
 */
import { JobvisorError } from '../common/errors.js';
import type { CancelResult, JobView } from '../common/types.js';
import { parseOrThrow } from '../common/validation.js';
import { retryInput } from '../durability/records.js';
import type { StartJobRequest } from '../../machines/supervisor.machine.js';
import { jobIdSchema, reasonSchema } from './filters.js';
import { isTerminal } from './job-cell.js';
import { cancelShared } from './shared-ops.js';
import type { Parts } from './wiring.js';

/** Cancels a pending or running job; a finished one is answered unchanged (`cancelled: false`). */
export async function cancelJob(parts: Parts, id: string, reason: string | undefined): Promise<CancelResult> {
  parseOrThrow(jobIdSchema, id, 'invalid_request', 'Invalid job id');
  if (reason !== undefined) parseOrThrow(reasonSchema, reason, 'invalid_request', 'Invalid cancel reason');
  const { registry, views, durability, clock } = parts;
  const cell = registry.live(id);
  if (parts.cluster && (!cell || cell.onlyCreates)) {
    durability?.assertWritable();
    return cancelShared(parts, id, reason);
  }
  if (!cell) {
    await durability?.flushed(); // a job that just finished: answer with its durable end
    const view = views.get(id);
    if (!view) throw new JobvisorError('job_not_found', `No job has id "${id}"`);
    return { job: view, cancelled: false };
  }
  durability?.assertWritable();
  const outcome = cell.send({ type: 'CANCEL', reason, at: clock.now() }, 'api');
  // Durable, and told here: in a cluster the log follower tells changes in offset order, so the
  // view may lag the commit; the answer must say what readers now see.
  await durability?.created(undefined);
  const job = views.get(id) ?? cell.view;
  return { job, cancelled: outcome.accepted && job.status === 'cancelled' };
}

/** The job `id` as readers see it once everything accepted is durable (also one only the store keeps). */
async function durableJob(parts: Parts, id: string): Promise<JobView> {
  parseOrThrow(jobIdSchema, id, 'invalid_request', 'Invalid job id');
  const { views, durability } = parts;
  await parts.ready;
  await durability?.flushed();
  const job = views.get(id) ?? (await durability?.get(id));
  if (!job) throw new JobvisorError('job_not_found', `No job has id "${id}"`);
  return job;
}

/** A failed or cancelled job made pending again, admitted in the mailbox as a start (its key checked). */
export async function retryJob(parts: Parts, id: string): Promise<{ job: JobView; retried: true }> {
  const job = await durableJob(parts, id);
  if (job.status !== 'failed' && job.status !== 'cancelled')
    throw new JobvisorError(
      'job_not_retryable',
      `Job ${id} is ${job.status}: only a failed or cancelled job is retried`,
    );
  const type = parts.types.get(job.type);
  if (!type)
    throw new JobvisorError('unknown_job_type', `No job type "${job.type}" is registered to retry job ${id}`);
  const { durability, actor, replies, clock } = parts;
  durability?.assertWritable();
  const request: StartJobRequest = {
    type: job.type,
    input: job.input,
    onConflict: 'reject',
    retryOf: retryInput(job, type, clock.now()),
  };
  const { id: requestId, answer } = replies.open();
  actor.send({ type: 'START_JOB', requestId, request });
  const { cell, job: retried } = await answer;
  try {
    await durability?.created(cell);
  } catch (error) {
    // Shared: another node's live job holds the key (the store refused the change).
    if (error instanceof JobvisorError && error.code === 'store_conflict')
      throw new JobvisorError(
        'duplicate_key',
        `Another live job holds key "${job.key ?? ''}": job ${id} is not retried`,
      );
    throw error;
  }
  if (parts.cluster && cell) {
    parts.registry.drop(cell); // it only wrote the retry; a node that claims the job runs it
    cell.stop();
  }
  return { job: retried, retried: true };
}

/** A finished job removed with its history, from the store first, then from what readers see. */
export async function removeJob(parts: Parts, id: string): Promise<{ job: JobView; removed: true }> {
  const job = await durableJob(parts, id);
  if (!isTerminal(job.status))
    throw new JobvisorError(
      'job_not_finished',
      `Job ${id} is ${job.status}: cancel it first, or wait for its end`,
    );
  const { durability, views, registry } = parts;
  durability?.assertWritable();
  await durability?.remove([id]);
  views.remove(id);
  registry.forget(job);
  parts.logs.forgotten();
  return { job, removed: true };
}
