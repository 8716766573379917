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
export function encodeRecord(jobId: string, record: JobRecordDraft | readonly unknown[]): string {
  try {
    return JSON.stringify(record);
  } catch (error) {
    const detail = error instanceof Error ? error.message : String(error);
    throw new JobvisorError('change_not_storable', `Job ${jobId}: its record is not JSON: ${detail}`, {
      jobId,
    });
  }
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
