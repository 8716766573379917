/**
 * Bulk operations: `startMany` (every start validated before any is made, then all admitted in one
 * turn, so their creations are one durable batch) and `cancelMany` (by ids, or by a filter over the
 * live jobs), each answered with per-item outcomes and counts.
 */
import * as z from 'zod';
import { JobvisorError } from '../common/errors.js';
import type { CancelResult, JobStatus, JobView, StartResult } from '../common/types.js';
import { parseOrThrow } from '../common/validation.js';
import { cancelManySchema, MAX_BULK, removeManySchema, retryManySchema } from '../common/bulk.js';

export { cancelManySchema, MAX_BULK, removeManySchema, retryManySchema };

/** How bulk verbs find jobs: the supervisor's `list`. */
type Lister = (filter: { status: JobStatus[]; type?: string; key?: string; limit: number }) => JobView[];

/**
 * The ids a bulk request names: its `ids`, or the jobs its filter finds (of `statuses` when it names
 * no status, and that `keep` keeps), each once.
 */
function targets(
  list: Lister,
  q: { ids?: string[]; status?: JobStatus | JobStatus[]; type?: string; key?: string },
  statuses: JobStatus[],
  keep: (job: JobView) => boolean,
): string[] {
  const ids =
    q.ids ??
    list({
      status: q.status === undefined ? statuses : [q.status].flat(),
      ...(q.type === undefined ? {} : { type: q.type }),
      ...(q.key === undefined ? {} : { key: q.key }),
      limit: 1_000_000,
    })
      .filter(keep)
      .map((job) => job.id);
  return [...new Set(ids)];
}

/** Keeps the jobs that finished before `before` (all when none is given). */
const finishedBefore =
  (before: number | undefined) =>
  (job: JobView): boolean =>
    before === undefined || (job.finishedAt ?? 0) < before;

async function settled<T>(promise: Promise<T>): Promise<PromiseSettledResult<T>> {
  return promise.then(
    (value) => ({ status: 'fulfilled', value }),
    (reason: unknown) => ({ status: 'rejected', reason }),
  );
}

/**
 * The ids whose verb succeeded, and how many failed with each expected code (counted under the name
 * `expected` gives it); any other failure is thrown.
 */
function tally<C extends string>(
  ids: readonly string[],
  outcomes: readonly PromiseSettledResult<unknown>[],
  expected: Readonly<Record<string, C>>,
): { jobIds: string[]; counts: Record<C, number> } {
  const jobIds: string[] = [];
  const counts = Object.fromEntries(Object.values(expected).map((name) => [name, 0])) as Record<C, number>;
  outcomes.forEach((outcome, i) => {
    if (outcome.status === 'fulfilled') return void jobIds.push(ids[i]!);
    const code = outcome.reason instanceof JobvisorError ? outcome.reason.code : undefined;
    const name = code !== undefined && Object.hasOwn(expected, code) ? expected[code] : undefined;
    if (name === undefined) throw outcome.reason;
    counts[name]++;
  });
  return { jobIds, counts };
}

/** One start of a batch: its job, or the coded error that start met (a key held with `reject`, a store down). */
export type StartManyItem =
  StartResult | { readonly error: { readonly code: string; readonly message: string } };

export interface StartManyResult {
  /** In the order of the requests. */
  readonly results: readonly StartManyItem[];
  readonly created: number;
  readonly deduplicated: number;
  readonly failed: number;
}

export type CancelManyRequest = z.input<typeof cancelManySchema>;

export interface CancelManyResult {
  /** Jobs named (ids) or found by the filter. */
  readonly matched: number;
  readonly cancelled: number;
  /** Already finished: left as they were. */
  readonly unchanged: number;
  /** Ids no job has. */
  readonly notFound: number;
  /** The jobs this call cancelled. */
  readonly jobIds: readonly string[];
}

/** What `cancelMany` uses of the supervisor. */
export interface CancelDeps {
  cancel(id: string, reason?: string): Promise<CancelResult>;
  list: Lister;
}

export async function cancelMany(deps: CancelDeps, request: CancelManyRequest): Promise<CancelManyResult> {
  const q = parseOrThrow(cancelManySchema, request, 'invalid_request', 'Invalid bulk cancel');
  const unique = targets(
    (f) => deps.list(f),
    q,
    ['pending', 'running'],
    (job) => q.createdBefore === undefined || job.createdAt < q.createdBefore,
  );
  const outcomes = await Promise.allSettled(unique.map((id) => deps.cancel(id, q.reason)));
  const jobIds: string[] = [];
  let unchanged = 0;
  let notFound = 0;
  outcomes.forEach((outcome, i) => {
    if (outcome.status === 'fulfilled') {
      if (outcome.value.cancelled) jobIds.push(unique[i]!);
      else unchanged++;
    } else if (outcome.reason instanceof JobvisorError && outcome.reason.code === 'job_not_found') notFound++;
    else throw outcome.reason;
  });
  return { matched: unique.length, cancelled: jobIds.length, unchanged, notFound, jobIds };
}

export type RemoveManyRequest = z.input<typeof removeManySchema>;

export interface RemoveManyResult {
  /** Jobs named (ids) or found by the filter. */
  readonly matched: number;
  readonly removed: number;
  /** Pending or running: left as they are. */
  readonly live: number;
  readonly notFound: number;
  /** The jobs this call removed. */
  readonly jobIds: readonly string[];
}

/** What `removeMany` uses of the supervisor. */
export interface RemoveDeps {
  remove(id: string): Promise<{ readonly job: JobView }>;
  list: Lister;
}

export async function removeMany(deps: RemoveDeps, request: RemoveManyRequest): Promise<RemoveManyResult> {
  const q = parseOrThrow(removeManySchema, request, 'invalid_request', 'Invalid bulk removal');
  const unique = targets(
    (f) => deps.list(f),
    q,
    ['completed', 'failed', 'cancelled'],
    finishedBefore(q.finishedBefore),
  );
  // One at a time: each removal is one store transaction, and the answer counts what happened.
  const outcomes: PromiseSettledResult<unknown>[] = [];
  for (const id of unique) outcomes.push(await settled(deps.remove(id)));
  const { jobIds, counts } = tally(unique, outcomes, { job_not_finished: 'live', job_not_found: 'notFound' });
  return {
    matched: unique.length,
    removed: jobIds.length,
    live: counts.live,
    notFound: counts.notFound,
    jobIds,
  };
}

export type RetryManyRequest = z.input<typeof retryManySchema>;

export interface RetryManyResult {
  /** Jobs named (ids) or found by the filter. */
  readonly matched: number;
  readonly retried: number;
  /** Completed or live: left as they are. */
  readonly notRetryable: number;
  /** Another live job holds the key. */
  readonly keyHeld: number;
  readonly notFound: number;
  /** The jobs this call retried. */
  readonly jobIds: readonly string[];
}

/** What `retryMany` uses of the supervisor. */
export interface RetryDeps {
  retry(id: string): Promise<{ readonly job: JobView }>;
  list: Lister;
}

export async function retryMany(deps: RetryDeps, request: RetryManyRequest): Promise<RetryManyResult> {
  const q = parseOrThrow(retryManySchema, request, 'invalid_request', 'Invalid bulk retry');
  const unique = targets((f) => deps.list(f), q, ['failed', 'cancelled'], finishedBefore(q.finishedBefore));
  const outcomes = await Promise.allSettled(unique.map((id) => deps.retry(id)));
  const { jobIds, counts } = tally(unique, outcomes, {
    job_not_retryable: 'notRetryable',
    duplicate_key: 'keyHeld',
    job_not_found: 'notFound',
  });
  return { matched: unique.length, retried: jobIds.length, ...counts, jobIds };
}

/** The answers of a batch's starts, counted. */
export function startManyResult(outcomes: readonly PromiseSettledResult<StartResult>[]): StartManyResult {
  let created = 0;
  let deduplicated = 0;
  let failed = 0;
  const results = outcomes.map((outcome): StartManyItem => {
    if (outcome.status === 'fulfilled') {
      if (outcome.value.deduplicated) deduplicated++;
      else created++;
      return outcome.value;
    }
    failed++;
    const error = outcome.reason instanceof JobvisorError ? outcome.reason : null;
    return {
      error: {
        code: error?.code ?? 'internal_error',
        message: error?.message ?? String(outcome.reason),
      },
    };
  });
  return { results, created, deduplicated, failed };
}

/** A batch: an array of 1 to MAX_BULK starts (each one is checked on its own). */
export const startManySchema = z.array(z.unknown()).min(1).max(MAX_BULK);

/**
 * Validates every start of a batch with `check`; any that fails refuses the whole batch (nothing is
 * made): `invalid_request` naming each bad item by index, with its code and message in `details`.
 */
export function checkBatch<T>(requests: unknown, check: (request: unknown) => T): T[] {
  const list = parseOrThrow(startManySchema, requests, 'invalid_request', 'Invalid batch');
  const problems: { index: number; code: string; message: string }[] = [];
  const checked = list.map((request, index) => {
    try {
      return check(request);
    } catch (error) {
      if (!(error instanceof JobvisorError)) throw error;
      problems.push({ index, code: error.code, message: error.message });
      return undefined as T;
    }
  });
  if (problems.length > 0) {
    const summary = problems.map((p) => `[${p.index}] ${p.message} (${p.code})`).join('; ');
    throw new JobvisorError('invalid_request', `Invalid batch, nothing was started: ${summary}`, problems);
  }
  return checked;
}
