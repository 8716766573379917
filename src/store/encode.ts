/**
 * Records as the SQL store adapters keep them (JSON text) in both directions, and what they say of
 * a change they can never write: a conflict, or a record that is not JSON.
 */
import { JobvisorError } from '../common/errors.js';
import { fromLogRecord, toLogRecord } from './log-record.js';
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

/**
 * Change-log rows as stored changes. A row in the log's positional form (log-record.ts) gets the
 * job's own fields from its job's row, which `jobOf` reads (each job once per page).
 */
export function decodeChanges(
  rows: readonly ChangeRow[],
  jobOf: (jobId: string) => JobRecord | undefined,
): StoredChange[] {
  const jobs = new Map<string, JobRecord | undefined>();
  return rows.map((row) => {
    const stored: unknown = JSON.parse(row.record);
    let job: JobRecord | undefined;
    if (Array.isArray(stored)) {
      if (!jobs.has(row.job_id)) jobs.set(row.job_id, jobOf(row.job_id));
      job = jobs.get(row.job_id);
    }
    return {
      offset: row.offset,
      jobId: row.job_id,
      seq: row.seq,
      kind: row.kind,
      at: row.at,
      record: fromLogRecord(stored, row.offset, row.job_id, job),
    };
  });
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

/**
 * A change as the connection writes it: its log record (log-record.ts) as JSON; the whole record as
 * JSON for the job's row, only on the job's last change of the batch (`null` on the others); and
 * the record's fields the rows need.
 */
export interface EncodedChange {
  readonly jobId: string;
  readonly seq: number;
  readonly kind: ChangeDraft['kind'];
  readonly at: number;
  readonly log: string;
  readonly json: string | null;
  readonly record: RowFields;
}

/**
 * Encodes each change's texts, in order: its log record, and the whole record on the job's last
 * change of the batch (null on the others). A record that is not JSON is `change_not_storable` for
 * its job.
 */
function encodeTexts(
  batch: readonly ChangeDraft[],
  each: (change: ChangeDraft, log: string, json: string | null) => void,
): void {
  const last = new Map<string, number>();
  for (let i = 0; i < batch.length; i++) last.set(batch[i]!.jobId, i);
  for (let i = 0; i < batch.length; i++) {
    const change = batch[i]!;
    const { jobId, record } = change;
    each(
      change,
      encodeRecord(jobId, toLogRecord(record)),
      last.get(jobId) === i ? encodeRecord(jobId, record) : null,
    );
  }
}

/** Encodes a batch for the connection; a record that is not JSON is `change_not_storable` for its job. */
export function encodeBatch(batch: readonly ChangeDraft[]): EncodedChange[] {
  const changes: EncodedChange[] = [];
  encodeTexts(batch, ({ jobId, seq, kind, at, record }, log, json) => {
    const { type, key, status, state, createdAt, finishedAt } = record;
    changes.push({
      jobId,
      seq,
      kind,
      at,
      log,
      json,
      record: { type, key, status, state, createdAt, finishedAt },
    });
  });
  return changes;
}

/** The scalar fields of one change in a `PackedBatch`, in order (see `packBatch`). */
const FIELDS = 10;

/**
 * An encoded batch as it crosses to the SQLite thread: each change's scalar fields in one flat
 * array, its JSON texts in two strings, one line per change (JSON.stringify never writes a raw
 * newline: it escapes control characters in strings). Copying a flat array and two strings between
 * threads costs about a third of copying one object per change with its record's fields (about
 * 100 against 300–600 µs for 250 changes, on both threads).
 */
export interface PackedBatch {
  /** Per change: jobId, seq, kind, at, then the record's type, key, status, state, createdAt, finishedAt. */
  readonly fields: readonly (string | number | null)[];
  /** The log records (`EncodedChange.log`), one per line. */
  readonly logs: string;
  /** The whole records (`EncodedChange.json`), one per line; an empty line for `null`. */
  readonly jsons: string;
}

/** `encodeBatch`, packed for the SQLite thread (`unpackBatch` there). */
export function packBatch(batch: readonly ChangeDraft[]): PackedBatch {
  const fields: (string | number | null)[] = [];
  const logs: string[] = [];
  const jsons: string[] = [];
  encodeTexts(batch, ({ jobId, seq, kind, at, record: r }, log, json) => {
    fields.push(jobId, seq, kind, at, r.type, r.key, r.status, r.state, r.createdAt, r.finishedAt);
    logs.push(log);
    jsons.push(json ?? '');
  });
  return { fields, logs: logs.join('\n'), jsons: jsons.join('\n') };
}

/** The changes of a `PackedBatch`, as `encodeBatch` gives them. */
export function unpackBatch({ fields: f, logs, jsons }: PackedBatch): EncodedChange[] {
  const count = f.length / FIELDS;
  if (count === 0) return [];
  const logLines = logs.split('\n');
  const jsonLines = jsons.split('\n');
  if (!Number.isInteger(count) || logLines.length !== count || jsonLines.length !== count) {
    throw new JobvisorError(
      'internal_error',
      `A packed batch of ${f.length} fields has ${logLines.length} log lines`,
    );
  }
  const changes: EncodedChange[] = new Array<EncodedChange>(count);
  for (let i = 0, j = 0; i < count; i++, j += FIELDS) {
    const json = jsonLines[i]!;
    changes[i] = {
      jobId: f[j] as string,
      seq: f[j + 1] as number,
      kind: f[j + 2] as ChangeDraft['kind'],
      at: f[j + 3] as number,
      log: logLines[i]!,
      json: json === '' ? null : json,
      record: {
        type: f[j + 4] as string,
        key: f[j + 5] as string | null,
        status: f[j + 6] as RowFields['status'],
        state: f[j + 7] as string,
        createdAt: f[j + 8] as number,
        finishedAt: f[j + 9] as number | null,
      },
    };
  }
  return changes;
}
