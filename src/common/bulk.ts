/**
 * The shape of a bulk cancel, shared by the library (supervisor/bulk.ts) and the wire
 * (protocol/schemas.ts): ids, or a filter over the live jobs — never both, never neither.
 */
import * as z from 'zod';

/** At most this many starts or ids in one bulk call. */
export const MAX_BULK = 1_000;

const liveStatus = z.enum(['pending', 'running']);

/** Ids, or a filter over finished jobs of `statuses` (status, type, finishedBefore): never both, never neither. */
function finishedJobsSchema<S extends string>(statuses: readonly [S, ...S[]]) {
  const status = z.enum(statuses);
  return z
    .strictObject({
      ids: z.array(z.string().min(1).max(200)).min(1).max(MAX_BULK).optional(),
      status: z.union([status, z.array(status).min(1)]).optional(),
      type: z.string().min(1).max(200).optional(),
      /** Finished before this time (ms since the epoch): jobs older than an age. */
      finishedBefore: z.number().int().min(0).optional(),
    })
    .refine(
      (q) => (q.ids !== undefined) !== [q.status, q.type, q.finishedBefore].some((f) => f !== undefined),
      {
        message: 'give ids, or a filter (status, type, finishedBefore), not both and not neither',
      },
    );
}

/** A bulk removal: ids, or a filter over the finished jobs. */
export const removeManySchema = finishedJobsSchema(['completed', 'failed', 'cancelled']);

/** A bulk retry: ids, or a filter over the failed and cancelled jobs. */
export const retryManySchema = finishedJobsSchema(['failed', 'cancelled']);

export const cancelManySchema = z
  .strictObject({
    /** These jobs… */
    ids: z.array(z.string().min(1).max(200)).min(1).max(MAX_BULK).optional(),
    /** …or the live jobs matching all of these. */
    status: z.union([liveStatus, z.array(liveStatus).min(1)]).optional(),
    type: z.string().min(1).max(200).optional(),
    key: z.string().min(1).max(500).optional(),
    /** Created before this time (ms since the epoch): jobs older than an age. */
    createdBefore: z.number().int().min(0).optional(),
    reason: z.string().max(1_000).optional(),
  })
  .refine(
    (q) => (q.ids !== undefined) !== [q.status, q.type, q.key, q.createdBefore].some((f) => f !== undefined),
    {
      message: 'give ids, or a filter (status, type, key, createdBefore), not both and not neither',
    },
  );
