/**
 * Options in four steps: documented defaults → one zod schema each → an error that names the
 * bad value → a frozen result. Bad values are never replaced silently.
 */
import { randomUUID } from 'node:crypto';
import { availableParallelism, hostname } from 'node:os';
import * as z from 'zod';
import { isClock, systemClock, type Clock } from '../common/clock.js';
import { isJobStore, type JobStore } from '../store/port.js';
import { MAX_DELAY_MS, parseOrThrow } from '../common/validation.js';
import { ONE_SCHEDULE_MESSAGE, oneScheduleAtMost, startDelay, timeInput } from '../common/schedule.js';
import { inspectOptionSchema } from '../inspection/selection.js';
import { CLUSTER_DEFAULTS } from '../cluster/node.js';

const delayMs = z.number().int().positive().max(MAX_DELAY_MS);

export const DEFAULTS = Object.freeze({
  concurrency: 10,
  heartbeatTimeoutMs: 30_000,
  timeoutMs: null,
  retries: Object.freeze({ max: 0, backoffMs: 1_000, factor: 2, maxBackoffMs: 5 * 60_000 }),
  retention: Object.freeze({ maxAgeMs: 24 * 60 * 60_000, maxCount: 10_000 }),
  idempotencyMs: 0,
  limits: Object.freeze({
    maxDepth: 64,
    maxInputBytes: 1_048_576,
    maxResultBytes: 1_048_576,
    maxLogLines: 1_000,
  }),
  storeTimeoutMs: 10_000,
  workers: Object.freeze({ size: Math.max(1, availableParallelism() - 1), terminateGraceMs: 5_000 }),
});

/** The worker-thread pool of handlers registered as modules. */
export const workersSchema = z.strictObject({
  size: z.number().int().positive().max(1_024).default(DEFAULTS.workers.size),
  terminateGraceMs: z.number().int().min(0).max(MAX_DELAY_MS).default(DEFAULTS.workers.terminateGraceMs),
});

export const retriesSchema = z.strictObject({
  /** Retries after the first attempt; 0 means one attempt only. */
  max: z.number().int().min(0).max(1_000).default(DEFAULTS.retries.max),
  backoffMs: z.number().int().min(0).max(MAX_DELAY_MS).default(DEFAULTS.retries.backoffMs),
  factor: z.number().min(1).max(100).default(DEFAULTS.retries.factor),
  maxBackoffMs: z.number().int().min(0).max(MAX_DELAY_MS).default(DEFAULTS.retries.maxBackoffMs),
});

export const retentionSchema = z.strictObject({
  maxAgeMs: z.number().int().min(0).default(DEFAULTS.retention.maxAgeMs),
  maxCount: z.number().int().min(0).default(DEFAULTS.retention.maxCount),
});

/** What a job's input and result may be: plain JSON within these limits (see json-limits.ts). */
export const limitsSchema = z.strictObject({
  maxDepth: z.number().int().min(1).max(1_000).default(DEFAULTS.limits.maxDepth),
  maxInputBytes: z.number().int().positive().default(DEFAULTS.limits.maxInputBytes),
  maxResultBytes: z.number().int().positive().default(DEFAULTS.limits.maxResultBytes),
  /** Lines of its log a job keeps (`ctx.log`): the oldest go. */
  maxLogLines: z.number().int().min(1).max(100_000).default(DEFAULTS.limits.maxLogLines),
});

const storeSchema = z.custom<JobStore>(isJobStore, {
  message: 'store must be a JobStore (open, commit, get, list, changesSince, firstOffset, expire, close)',
});

const clockSchema = z.custom<Clock>(isClock, {
  message: 'clock must have now(), setTimeout() and clearTimeout()',
});

/** A node's lease and loops, with a store several nodes share (PostgreSQL); see cluster/node.ts. */
/** The fields of `cluster`, before the renewal's default is derived from the lease. */
export const clusterFields = z.strictObject({
  leaseMs: z.number().int().min(300).max(MAX_DELAY_MS).default(CLUSTER_DEFAULTS.leaseMs),
  /** Default: a third of the lease. */
  renewMs: z.number().int().min(50).max(MAX_DELAY_MS).optional(),
  claimIntervalMs: z.number().int().min(10).max(MAX_DELAY_MS).default(CLUSTER_DEFAULTS.claimIntervalMs),
});

export const clusterSchema = clusterFields
  .transform((c) => ({ ...c, renewMs: c.renewMs ?? Math.floor(c.leaseMs / 3) }))
  .refine((c) => c.renewMs * 3 <= c.leaseMs, {
    message: 'renewMs must be at most a third of leaseMs (two renewals may fail before the lease lapses)',
    path: ['renewMs'],
  });

export const supervisorOptionsSchema = z.strictObject({
  concurrency: z.number().int().positive().default(DEFAULTS.concurrency),
  heartbeatTimeoutMs: delayMs.default(DEFAULTS.heartbeatTimeoutMs),
  timeoutMs: delayMs.nullable().default(DEFAULTS.timeoutMs),
  retries: retriesSchema.prefault({}),
  retention: retentionSchema.prefault({}),
  idempotencyMs: z.number().int().min(0).default(DEFAULTS.idempotencyMs),
  clock: clockSchema.default(systemClock),
  /** Where jobs are kept durably; none by default (the registry lives in memory only). */
  store: storeSchema.optional(),
  /** How long `start` and `cancel` wait for their change to be durable before `store_unavailable`. */
  storeTimeoutMs: delayMs.default(DEFAULTS.storeTimeoutMs),
  limits: limitsSchema.prefault({}),
  /** An inspection observer attached from the start (see `supervisor.inspect`); none by default. */
  inspect: inspectOptionSchema.optional(),
  workers: workersSchema.prefault({}),
  /** This supervisor process in a cluster: a new id for each process start, and a label for people. */
  node: z
    .strictObject({
      id: z
        .string()
        .min(1)
        .max(100)
        .default(() => randomUUID()),
      label: z
        .string()
        .min(1)
        .max(200)
        .default(() => `${hostname()}:${process.pid}`),
    })
    .prefault({}),
  /** The lease and the loops of this node, when its store is shared by several nodes. */
  cluster: clusterSchema.prefault({}),
});

export type SupervisorOptions = z.input<typeof supervisorOptionsSchema>;
export type ResolvedOptions = Readonly<z.output<typeof supervisorOptionsSchema>>;

const zodSchema = z.custom<z.ZodType>((v) => v instanceof z.ZodType, {
  message: 'input must be a zod schema',
});

/** Per-type options; unset fields fall back to the supervisor's. */
export const registerOptionsSchema = z.strictObject({
  input: zodSchema.optional(),
  concurrency: z.number().int().positive().optional(),
  heartbeatTimeoutMs: delayMs.optional(),
  timeoutMs: delayMs.nullable().optional(),
  retries: retriesSchema.partial().optional(),
  idempotencyMs: z.number().int().min(0).optional(),
});

export type RegisterOptions<S extends z.ZodType = z.ZodType> = Omit<
  z.input<typeof registerOptionsSchema>,
  'input'
> & { input?: S };

/** A handler that runs in a worker thread: the module's export (default `default`) is called there. */
export const workerHandlerSchema = z.strictObject({
  module: z.union([z.instanceof(URL), z.string().min(1)]),
  export: z.string().min(1).default('default'),
});

export type WorkerHandler = z.input<typeof workerHandlerSchema>;

export const jobTypeName = z
  .string()
  .min(1)
  .max(200)
  .regex(/^[A-Za-z0-9_.:-]+$/, 'letters, digits and _ . : - only');

/** A job's priority: an integer, higher first (0 by default). */
export const PRIORITY_RANGE = 1_000_000;
export const jobPriority = z.number().int().min(-PRIORITY_RANGE).max(PRIORITY_RANGE);

export const startRequestSchema = z
  .strictObject({
    type: jobTypeName,
    input: z.unknown().optional(),
    key: z.string().min(1).max(500).optional(),
    onConflict: z.enum(['join', 'reject', 'replace']).default('join'),
    /** Higher starts first; FIFO within one priority. */
    priority: jobPriority.default(0),
    /** A delayed job: not started before this time (ms since the epoch, a `Date`, an ISO string). */
    runAt: timeInput.optional(),
    /** A delayed job: not started before this many ms from now. */
    delayMs: startDelay.optional(),
  })
  .refine(oneScheduleAtMost, { message: ONE_SCHEDULE_MESSAGE, path: ['delayMs'] });

export type StartRequest = z.input<typeof startRequestSchema>;
export type ParsedStartRequest = z.output<typeof startRequestSchema>;

export const shutdownOptionsSchema = z.strictObject({
  graceMs: z.number().int().min(0).max(MAX_DELAY_MS).default(10_000),
});

export const waitOptionsSchema = z.strictObject({
  timeoutMs: delayMs.optional(),
  signal: z.instanceof(AbortSignal).optional(),
});

export function resolveOptions(options: SupervisorOptions = {}): ResolvedOptions {
  return Object.freeze(
    parseOrThrow(supervisorOptionsSchema, options, 'invalid_options', 'Invalid supervisor options'),
  );
}
