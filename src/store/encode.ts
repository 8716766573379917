/** What every store adapter says of a change it can never write: a conflict, or a record that is not JSON. */
import { JobvisorError } from '../common/errors.js';
import type { JobRecordDraft } from './port.js';

/** `store_conflict` naming the job (and, for a key held by another live job, that job). */
export function storeConflict(jobId: string, message: string, holder?: string): JobvisorError {
  return new JobvisorError('store_conflict', message, holder === undefined ? { jobId } : { jobId, holder });
}

/** The record as JSON, or `change_not_storable` naming the job (a BigInt, a cycle, too deep). */
export function encodeRecord(jobId: string, record: JobRecordDraft): string {
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
