/**
 * A change's record as the SQL stores' change log keeps it (SQLite and PostgreSQL): what the change
 * can move, by position, in one JSON array; what never changes in a job (its id, key, type, creation time, input and policy) is
 * in the job's row and is put back when the change is read. So a large input is written once per
 * job, not once per change, and a progress report costs about 170 bytes of log instead of 600.
 *
 *   [1, status, progress, message, attempt, seq, startedAt, updatedAt, finishedAt, lastHeartbeatAt,
 *    nextRetryAt, result, error, node, state, failures, heartbeatAt, timeoutAt, retryAt, lastChange]
 *
 * The leading 1 is the form's version. A row written before this form holds the whole record as a
 * JSON object, and is read as it is.
 */
import { JobvisorError } from '../common/errors.js';
import type { JobRecord, JobRecordDraft } from './port.js';

const FORM = 1;

type R = JobRecord;
type D = JobRecord['deadlines'];
/** The positional form (see the file comment). */
export type LogRecord = readonly [
  typeof FORM,
  R['status'],
  R['progress'],
  R['message'],
  R['attempt'],
  R['seq'],
  R['startedAt'],
  R['updatedAt'],
  R['finishedAt'],
  R['lastHeartbeatAt'],
  R['nextRetryAt'],
  R['result'],
  R['error'],
  R['node'],
  R['state'],
  R['failures'],
  D['heartbeatAt'],
  D['timeoutAt'],
  D['retryAt'],
  R['lastChange'],
];

/** The log's positional form of a record, written out field by field. */
export function toLogRecord(r: JobRecordDraft): LogRecord {
  const d = r.deadlines;
  return [
    FORM,
    r.status,
    r.progress,
    r.message,
    r.attempt,
    r.seq,
    r.startedAt,
    r.updatedAt,
    r.finishedAt,
    r.lastHeartbeatAt,
    r.nextRetryAt,
    r.result,
    r.error,
    r.node,
    r.state,
    r.failures,
    d.heartbeatAt,
    d.timeoutAt,
    d.retryAt,
    r.lastChange,
  ];
}

/**
 * The whole record of a change read from the log: the positional form with its job's own fields,
 * or a record written whole (an older row) as it is.
 */
export function fromLogRecord(
  stored: unknown,
  offset: number,
  jobId: string,
  job: JobRecord | undefined,
): JobRecord {
  if (!Array.isArray(stored)) return { ...(stored as JobRecord), offset };
  if (stored[0] !== FORM || stored.length !== 20) {
    throw new JobvisorError(
      'store_corrupt',
      `Change ${offset} of job ${jobId} has a record of an unknown form`,
    );
  }
  if (!job) {
    // A job's row and its changes are removed together: a change without its row is not ours.
    throw new JobvisorError('store_corrupt', `Change ${offset} of job ${jobId} has no job row`);
  }
  const v = stored as unknown as LogRecord;
  return {
    id: job.id,
    key: job.key,
    type: job.type,
    status: v[1],
    progress: v[2],
    message: v[3],
    attempt: v[4],
    seq: v[5],
    createdAt: job.createdAt,
    startedAt: v[6],
    updatedAt: v[7],
    finishedAt: v[8],
    lastHeartbeatAt: v[9],
    nextRetryAt: v[10],
    input: job.input,
    result: v[11],
    error: v[12],
    node: v[13],
    state: v[14],
    failures: v[15],
    retry: job.retry,
    heartbeatTimeoutMs: job.heartbeatTimeoutMs,
    timeoutMs: job.timeoutMs,
    deadlines: { heartbeatAt: v[16], timeoutAt: v[17], retryAt: v[18] },
    lastChange: v[19],
    // Fixed at creation, so in the job's row (0 in a row written before priorities).
    priority: job.priority ?? 0,
    runAt: job.runAt ?? null,
    offset,
  };
}
