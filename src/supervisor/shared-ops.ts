/**
 * Start and cancel when several nodes share the store. The key's one live job may be on any node,
 * so the store decides: a creation it refuses names the holder, and the start then joins it,
 * refuses as `duplicate_key`, or (replace) has it cancelled wherever it runs and tries again. A
 * cancel reaches a job wherever it is: this node's own cell, a pending job nobody runs (cancelled
 * here, compare-and-set), or a job another node owns (asked through the store; that node cancels
 * it, or whoever takes it over when that node is dead).
 */
import { JobvisorError } from '../common/errors.js';
import type { CancelResult, StartResult } from '../common/types.js';
import { resumeInput, toView } from '../durability/records.js';
import type { StartJobRequest } from '../../machines/supervisor.machine.js';
import { isTerminal } from './job-cell.js';
import type { Parts } from './wiring.js';

/** Rounds of a start whose holder keeps changing under it (replaced, finished) before it gives up. */
const ROUNDS = 20;

function holderOf(error: unknown): string | undefined {
  if (!(error instanceof JobvisorError) || error.code !== 'store_conflict') return undefined;
  const holder = (error.details as { holder?: unknown } | null | undefined)?.holder;
  return typeof holder === 'string' ? holder : undefined;
}

/** One start through the mailbox: the local dedup check, then the store's. */
export async function startShared(parts: Parts, request: StartJobRequest): Promise<StartResult> {
  const { actor, replies, registry, views } = parts;
  const durability = parts.durability!;
  for (let round = 0; round < ROUNDS; round++) {
    const { id, answer } = replies.open();
    actor.send({ type: 'START_JOB', requestId: id, request });
    const { cell, ...result } = await answer;
    if (!cell) {
      // Joined a job this node creates or runs (or one in its idempotency window).
      await durability.created(undefined);
      const job = views.get(result.job.id);
      if (job) return { job, deduplicated: true };
      continue; // its creation was refused: another node's job holds the key
    }
    try {
      await durability.created(cell);
      return { job: views.get(cell.id) ?? result.job, deduplicated: false };
    } catch (error) {
      const holder = holderOf(error);
      if (holder === undefined) throw error;
      const joined = await onHolder(parts, request, holder);
      if (joined) return joined;
    } finally {
      registry.drop(cell); // it only created the job; a node that claims it runs it
      cell.stop();
    }
  }
  throw new JobvisorError(
    'store_conflict',
    `The key "${request.key ?? ''}" kept changing hands: the start was not admitted, try again`,
  );
}

/** Another node's live job holds the key: join it, refuse, or cancel it (replace). Null: try again. */
async function onHolder(parts: Parts, request: StartJobRequest, holder: string): Promise<StartResult | null> {
  const durability = parts.durability!;
  const record = await durability.record(holder);
  if (!record || isTerminal(record.status)) return null; // it finished meanwhile
  if (request.onConflict === 'reject') {
    const message = `Job ${holder} (${record.status}) holds key "${request.key ?? ''}"`;
    throw new JobvisorError('duplicate_key', message, { jobId: holder });
  }
  if (request.onConflict === 'join') {
    await durability.toldThrough(record.offset);
    parts.telemetry.counters.deduplicated++;
    return { job: parts.views.get(holder) ?? toView(record), deduplicated: true };
  }
  await cancelShared(parts, holder, 'replaced by a new job with the same key');
  return null;
}

/**
 * Cancels a job this node does not run. Answers once the job is cancelled (or finished another
 * way), or — its node being dead or slow — after `storeTimeoutMs` with the job as it is: the
 * request is durable, and the job ends cancelled when it is taken over.
 */
export async function cancelShared(
  parts: Parts,
  id: string,
  reason: string | undefined,
): Promise<CancelResult> {
  const { views, waiters, clock, options, cluster } = parts;
  const durability = parts.durability!;
  await durability.flushed();
  const record = await durability.record(id);
  if (!record) throw new JobvisorError('job_not_found', `No job has id "${id}"`);
  if (isTerminal(record.status)) return { job: views.get(id) ?? toView(record), cancelled: false };
  if (record.status === 'pending') {
    // Nobody may run it yet: cancel it here, if the store still has it unowned at this seq.
    const cell = parts.newCell(resumeInput(record, clock.now()));
    cell.onlyCreates = true;
    try {
      cell.start();
      cell.send({ type: 'CANCEL', reason, at: clock.now() }, 'api');
      await durability.durable(cell.lastOrdinal, { own: true });
      await durability.created(undefined);
      const job = views.get(id) ?? cell.view;
      return { job, cancelled: job.status === 'cancelled' };
    } catch (error) {
      if (!(error instanceof JobvisorError) || error.code !== 'store_conflict') throw error;
      // Claimed or changed meanwhile: ask its owner.
    } finally {
      cell.stop();
    }
  }
  // Listen for its end first, so that an end told while asking is not missed.
  const stop = new AbortController();
  const finished = waiters
    .wait(id, { timeoutMs: options.storeTimeoutMs, signal: stop.signal })
    .catch(() => null);
  try {
    const asked = await cluster!.requestCancel(id, reason ?? null);
    if (!asked) {
      // It finished meanwhile: answer with its end, once told here.
      const latest = await durability.record(id);
      if (latest) await durability.toldThrough(latest.offset);
      const job = views.get(id) ?? (latest ? toView(latest) : toView(record));
      return { job, cancelled: false };
    }
    const told = views.get(id);
    const job =
      told && isTerminal(told.status) ? told : ((await finished) ?? views.get(id) ?? toView(record));
    return { job, cancelled: job.status === 'cancelled' };
  } finally {
    stop.abort();
  }
}
