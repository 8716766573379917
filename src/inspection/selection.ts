/**
 * Which actors a tap inspects: the supervisor's own actor, and all jobs, none, or those of some
 * types, some ids, and a deterministic sample (by a hash of the job id, so a sampled job is
 * either fully in or fully out).
 */
import * as z from 'zod';
import type { InspectionObserver } from './types.js';

export const jobsSelectionSchema = z.union(
  [
    z.literal('all'),
    z.literal('none'),
    z.strictObject({
      /** Only jobs of these types. */
      types: z.array(z.string().min(1)).min(1).optional(),
      /** Only these jobs. */
      ids: z.array(z.string().min(1)).min(1).optional(),
      /** 0..1: the share of jobs kept, chosen by a hash of the job id. */
      sample: z.number().min(0).max(1).optional(),
    }),
  ],
  { error: "must be 'all', 'none' or { types?, ids?, sample? }" },
);

export const inspectionSelectionSchema = z.strictObject({
  /** Inspect the supervisor's actor (its mailbox: starts, settles, shutdown). Default true. */
  supervisor: z.boolean().default(true),
  /** Which jobs' actors to inspect. Default 'all'. */
  jobs: jobsSelectionSchema.default('all'),
  /** Also deliver `@jobvisor.rejected` events for the selected jobs. Default true. */
  rejections: z.boolean().default(true),
});

export type InspectionSelection = z.input<typeof inspectionSelectionSchema>;
export type ParsedSelection = z.output<typeof inspectionSelectionSchema>;

/** A parsed selection as a predicate. */
export class Selector {
  readonly supervisor: boolean;
  readonly rejections: boolean;
  /** False when no job can match ('none', or a sample of 0): the tap never touches job actors. */
  readonly anyJob: boolean;
  readonly #types: ReadonlySet<string> | null;
  readonly #ids: ReadonlySet<string> | null;
  readonly #sample: number;

  constructor(selection: ParsedSelection) {
    const { jobs } = selection;
    this.supervisor = selection.supervisor;
    this.rejections = selection.rejections;
    const filter = typeof jobs === 'object' ? jobs : {};
    this.#types = filter.types ? new Set(filter.types) : null;
    this.#ids = filter.ids ? new Set(filter.ids) : null;
    this.#sample = jobs === 'none' ? 0 : (filter.sample ?? 1);
    this.anyJob = this.#sample > 0;
  }

  /** Whether the job with this id and type is inspected. */
  selects(jobId: string, type: string): boolean {
    if (!this.anyJob) return false;
    if (this.#types && !this.#types.has(type)) return false;
    if (this.#ids && !this.#ids.has(jobId)) return false;
    return this.#sample >= 1 || sampleRank(jobId) < this.#sample;
  }
}

/** A job id's place in [0, 1): FNV-1a (32 bits) of its UTF-16 code units, divided by 2^32. */
export function sampleRank(jobId: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < jobId.length; i++) {
    hash ^= jobId.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193);
  }
  // A final avalanche (murmur3's fmix32) so that ids differing in their last characters spread well.
  hash ^= hash >>> 16;
  hash = Math.imul(hash, 0x85ebca6b);
  hash ^= hash >>> 13;
  hash = Math.imul(hash, 0xc2b2ae35);
  hash ^= hash >>> 16;
  return (hash >>> 0) / 2 ** 32;
}

/** A function, or an object whose `next` is a function. */
export function isInspectionObserver(value: unknown): value is InspectionObserver {
  if (typeof value === 'function') return true;
  return (
    typeof value === 'object' && value !== null && typeof (value as { next?: unknown }).next === 'function'
  );
}

/** The `inspect` option of `createSupervisor`: an observer attached from the start, and its selection. */
export const inspectOptionSchema = inspectionSelectionSchema.extend({
  observer: z.custom<InspectionObserver>(isInspectionObserver, {
    message: 'observer must be a function or an object with next()',
  }),
});

export type InspectOption = z.input<typeof inspectOptionSchema>;
export type ParsedInspectOption = z.output<typeof inspectOptionSchema>;
