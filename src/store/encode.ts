/**
 * Records as the SQL store adapters keep them (JSON text) in both directions, and what they say of
 * a change they can never write: a conflict, or a record that is not JSON.
 */
import { JobvisorError } from '../common/errors.js';
import type { ChangeDraft, JobRecord, JobRecordDraft, StoredChange } from './port.js';

/** A job row as the adapters read it: its record and the offset of its latest change. */
export interface JobRow {
  record: string;
  offset: number;
}

/** A change-log row. */
export interface ChangeRow {
  offset: number;
  job_id: string;
  seq: number;
  kind: StoredChange['kind'];
  at: number;
  record: string;
}

/** The record of a row; its offset is the row's (files of older versions also kept it in the JSON). */
function parse(json: string, offset: number): JobRecord {
  const record = JSON.parse(json) as { offset: number };
  record.offset = offset;
  return record as JobRecord;
}

export function decodeJob(row: JobRow): JobRecord {
  return parse(row.record, row.offset);
}

export function decodeChange(row: ChangeRow): StoredChange {
  return {
    offset: row.offset,
    jobId: row.job_id,
    seq: row.seq,
    kind: row.kind,
    at: row.at,
    record: parse(row.record, row.offset),
  };
}

/** `store_conflict` naming the job (and, for a key held by another live job, that job). */
export function storeConflict(jobId: string, message: string, holder?: string): JobvisorError {
  return new JobvisorError('store_conflict', message, holder === undefined ? { jobId } : { jobId, holder });
}

/** The record as JSON, or `change_not_storable` naming the job (a BigInt, a cycle, too deep). */
export function encodeRecord(jobId: string, record: Partial<JobRecordDraft>): string {
  try {
    return JSON.stringify(record);
  } catch (error) {
    const detail = error instanceof Error ? error.message : String(error);
    throw new JobvisorError('change_not_storable', `Job ${jobId}: its record is not JSON: ${detail}`, {
      jobId,
    });
  }
}

/**
 * What never changes in a job's record (its identity and how it runs): a store that keeps it in the
 * job's row writes a change's record without it (`slimRecord`) and puts it back when it reads the
 * change (`withJobFields`), so that a large input is written once per job, not once per change.
 */
type JobFields = Pick<
  JobRecord,
  'id' | 'key' | 'type' | 'createdAt' | 'input' | 'retry' | 'heartbeatTimeoutMs' | 'timeoutMs'
>;

/** A change's record without the job's own fields (see `JobFields`), field by field: no spread. */
export function slimRecord(r: JobRecordDraft): Omit<JobRecordDraft, keyof JobFields> {
  return {
    status: r.status,
    progress: r.progress,
    message: r.message,
    attempt: r.attempt,
    seq: r.seq,
    startedAt: r.startedAt,
    updatedAt: r.updatedAt,
    finishedAt: r.finishedAt,
    lastHeartbeatAt: r.lastHeartbeatAt,
    nextRetryAt: r.nextRetryAt,
    result: r.result,
    error: r.error,
    node: r.node,
    state: r.state,
    failures: r.failures,
    deadlines: r.deadlines,
    lastChange: r.lastChange,
  };
}

/** Whether a change's record was written slim (older rows hold every field). */
export function isSlim(record: JobRecord): boolean {
  return record.id === undefined;
}

/** Puts the job's own fields, read from its row's record, back into a slim change record. */
export function withJobFields(record: JobRecord, job: JobRecord): void {
  const r = record as { -readonly [K in keyof JobFields]: JobFields[K] };
  r.id = job.id;
  r.key = job.key;
  r.type = job.type;
  r.createdAt = job.createdAt;
  r.input = job.input;
  r.retry = job.retry;
  r.heartbeatTimeoutMs = job.heartbeatTimeoutMs;
  r.timeoutMs = job.timeoutMs;
}

/** A batch's next change of a job follows its previous one (`seq` + 1); a job's first has a valid seq. */
export function checkNextSeq(jobId: string, previous: number | undefined, seq: number): void {
  if (previous !== undefined && seq !== previous + 1) {
    throw storeConflict(jobId, `Job ${jobId} is at seq ${previous}, not ${seq - 1}`);
  }
  if (previous === undefined && !(Number.isSafeInteger(seq) && seq >= 1)) {
    throw storeConflict(jobId, `Job ${jobId}: invalid seq ${seq}`);
  }
}

/** What the rows of a job need of its record besides the JSON. */
export type RowFields = Pick<
  JobRecordDraft,
  'type' | 'key' | 'status' | 'state' | 'createdAt' | 'finishedAt'
>;

/** A change as the connection writes it: its record as JSON, and the record's fields the rows need. */
export interface EncodedChange {
  readonly jobId: string;
  readonly seq: number;
  readonly kind: ChangeDraft['kind'];
  readonly at: number;
  readonly json: string;
  readonly record: RowFields;
}

/** Encodes a change for the connection; a record that is not JSON is `change_not_storable` for its job. */
export function encodeChange(change: ChangeDraft): EncodedChange {
  const { jobId, record } = change;
  const json = encodeRecord(jobId, record);
  const { type, key, status, state, createdAt, finishedAt } = record;
  return {
    jobId,
    seq: change.seq,
    kind: change.kind,
    at: change.at,
    json,
    record: { type, key, status, state, createdAt, finishedAt },
  };
}
