/** Validation and matching of the filters of `list` and `subscribe`. */
import * as z from 'zod';
import type { JobView } from '../common/types.js';

export const jobIdSchema = z.string().min(1).max(200);
export const reasonSchema = z.string().max(1_000);

const statusSchema = z.enum(['pending', 'running', 'completed', 'failed', 'cancelled']);

export const listFilterSchema = z.strictObject({
  status: z.union([statusSchema, z.array(statusSchema)]).optional(),
  type: z.string().optional(),
  key: z.string().optional(),
  limit: z.number().int().positive().max(1_000_000).default(1_000),
});

export type ParsedListFilter = z.output<typeof listFilterSchema>;

/** A page of jobs in creation order: the filter, the cursor (`next` of the page before), its size. */
export const pageQuerySchema = z.strictObject({
  status: z.union([statusSchema, z.array(statusSchema)]).optional(),
  type: z.string().optional(),
  key: z.string().optional(),
  after: z.string().min(1).max(1_000).optional(),
  limit: z.number().int().positive().max(1_000).default(100),
});

export const subscribeFilterSchema = z.strictObject({
  jobId: jobIdSchema.optional(),
  type: z.string().min(1).optional(),
  /** Replay the changes after this offset from the store, then continue live. */
  since: z.number().int().min(0).optional(),
  /** Called instead of a replay when the changes after `since` are past retention. */
  onResync: z.custom<(jobs: unknown[]) => void>((v) => typeof v === 'function').optional(),
});

export const historySchema = z.strictObject({
  since: z.number().int().min(0).default(0),
  limit: z.number().int().min(1).max(100_000).default(1_000),
});

export function matchesList(view: JobView, filter: ParsedListFilter): boolean {
  const { status, type, key } = filter;
  if (
    status !== undefined &&
    !(typeof status === 'string' ? view.status === status : status.includes(view.status))
  )
    return false;
  if (type !== undefined && view.type !== type) return false;
  if (key !== undefined && view.key !== key) return false;
  return true;
}
