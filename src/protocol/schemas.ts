/**
 * The wire protocol: one zod schema per HTTP body and WebSocket message, the single source of
 * truth for the server (validation) and the client SDK (types and parsing). The client imports
 * only this folder, never server or supervisor internals.
 */
import * as z from 'zod';
import { cancelManySchema, MAX_BULK, removeManySchema, retryManySchema } from '../common/bulk.js';
import { missedPolicySchema, scheduleNameSchema, scheduleOptionsSchema } from '../common/repeatable.js';
import { ONE_SCHEDULE_MESSAGE, oneScheduleAtMost, startDelay, wireTime } from '../common/schedule.js';

export const PROTOCOL_VERSION = 1;

/** Limits the server enforces (and documents). */
export const LIMITS = Object.freeze({
  maxBodyBytes: 1_048_576,
  maxFrameBytes: 1_048_576,
  maxJobIds: 1_000,
  /** Rejected events the server keeps for subscribers that arrive (or come back) later. */
  keptRejections: 200,
});

export const jobStatusSchema = z.enum(['pending', 'running', 'completed', 'failed', 'cancelled']);

export const changeKindSchema = z.enum([
  'created',
  'started',
  'progress',
  'due',
  'retried',
  'retrying',
  'requeued',
  'interrupted',
  'completed',
  'failed',
  'cancelled',
]);

export const jobViewSchema = z.object({
  id: z.string(),
  key: z.string().nullable(),
  type: z.string(),
  status: jobStatusSchema,
  /** The job machine's state, dotted (`pending.scheduled`); older servers do not send it. */
  state: z.string().optional(),
  progress: z.number(),
  message: z.string().nullable(),
  attempt: z.number(),
  seq: z.number(),
  createdAt: z.number(),
  startedAt: z.number().nullable(),
  updatedAt: z.number(),
  finishedAt: z.number().nullable(),
  lastHeartbeatAt: z.number().nullable(),
  nextRetryAt: z.number().nullable(),
  input: z.unknown(),
  result: z.unknown(),
  error: z.object({ code: z.string(), message: z.string() }).nullable(),
  /** The node that ran the latest attempt (older servers do not send it). */
  node: z.string().nullable().optional(),
  /** Higher starts first (older servers do not send it: 0). */
  priority: z.number().int().default(0),
  /** A delayed job's time (older servers do not send it: null). */
  runAt: z.number().nullable().default(null),
});
export type WireJob = z.infer<typeof jobViewSchema>;

export const jobChangeSchema = z.object({
  offset: z.number(),
  jobId: z.string(),
  seq: z.number(),
  kind: changeKindSchema,
  at: z.number(),
  job: jobViewSchema,
});
export type WireChange = z.infer<typeof jobChangeSchema>;

/** Every error on the wire: a code from the README's table, a message, and details (zod issues for 400s). */
export const errorBodySchema = z.object({
  error: z.object({ code: z.string(), message: z.string(), details: z.unknown().optional() }),
});
export type ErrorBody = z.infer<typeof errorBodySchema>;

// ---- HTTP -----------------------------------------------------------------------------------

/** POST /jobs */
export const createJobBodySchema = z
  .strictObject({
    type: z.string().min(1).max(200),
    input: z.unknown().optional(),
    key: z.string().min(1).max(500).optional(),
    onConflict: z.enum(['join', 'reject', 'replace']).optional(),
    /** Higher starts first; FIFO within one priority. */
    priority: z.number().int().min(-1_000_000).max(1_000_000).optional(),
    /** A delayed job: not started before this time (ms since the epoch, or an ISO 8601 date-time). */
    runAt: wireTime.optional(),
    /** A delayed job: not started before this many ms from now (the server's clock). */
    delayMs: startDelay.optional(),
  })
  .refine(oneScheduleAtMost, { message: ONE_SCHEDULE_MESSAGE, path: ['delayMs'] });
export type CreateJobBody = z.infer<typeof createJobBodySchema>;

/** 201 (created) or 200 (deduplicated) answer of POST /jobs. */
export const createJobAnswerSchema = z.object({ job: jobViewSchema, deduplicated: z.boolean() });

/** POST /bulk/start: 1 to 1,000 starts; any bad one refuses the batch (400), nothing is started. */
export const startManyBodySchema = z.strictObject({
  jobs: z.array(createJobBodySchema).min(1).max(MAX_BULK),
});
export type StartManyBody = z.infer<typeof startManyBodySchema>;

/** 200: each start's outcome in order (its job, or its coded error), with counts. */
export const startManyAnswerSchema = z.object({
  results: z.array(
    z.union([
      createJobAnswerSchema,
      z.object({ error: z.object({ code: z.string(), message: z.string() }) }),
    ]),
  ),
  created: z.number(),
  deduplicated: z.number(),
  failed: z.number(),
});
export type StartManyAnswer = z.infer<typeof startManyAnswerSchema>;

/** POST /bulk/cancel: ids, or a filter over the live jobs (status, type, key, createdBefore). */
export const cancelManyBodySchema = cancelManySchema;
export type CancelManyBody = z.input<typeof cancelManyBodySchema>;
export const cancelManyAnswerSchema = z.object({
  matched: z.number(),
  cancelled: z.number(),
  unchanged: z.number(),
  notFound: z.number(),
  jobIds: z.array(z.string()),
});
export type CancelManyAnswer = z.infer<typeof cancelManyAnswerSchema>;

/** POST /jobs/:id/retry: a failed or cancelled job made pending again (as of its `retried` change). */
export const retryAnswerSchema = z.object({ job: jobViewSchema, retried: z.literal(true) });

/** POST /bulk/retry: ids, or a filter over the failed and cancelled jobs (status, type, finishedBefore). */
export const retryManyBodySchema = retryManySchema;
export type RetryManyBody = z.input<typeof retryManyBodySchema>;
export const retryManyAnswerSchema = z.object({
  matched: z.number(),
  retried: z.number(),
  notRetryable: z.number(),
  keyHeld: z.number(),
  notFound: z.number(),
  jobIds: z.array(z.string()),
});
export type RetryManyAnswer = z.infer<typeof retryManyAnswerSchema>;

/** DELETE /jobs/:id: a finished job removed with its history. */
export const removeAnswerSchema = z.object({ job: jobViewSchema, removed: z.literal(true) });

/** POST /bulk/remove: ids, or a filter over the finished jobs (status, type, finishedBefore). */
export const removeManyBodySchema = removeManySchema;
export type RemoveManyBody = z.input<typeof removeManyBodySchema>;
export const removeManyAnswerSchema = z.object({
  matched: z.number(),
  removed: z.number(),
  live: z.number(),
  notFound: z.number(),
  jobIds: z.array(z.string()),
});
export type RemoveManyAnswer = z.infer<typeof removeManyAnswerSchema>;

/** POST /jobs/:id/cancel */
export const cancelBodySchema = z.strictObject({ reason: z.string().max(1_000).optional() });
export const cancelAnswerSchema = z.object({ job: jobViewSchema, cancelled: z.boolean() });

/** GET /jobs?status=running,pending&type=report&key=k&limit=100&after=cursor */
export const listQuerySchema = z.strictObject({
  status: z
    .string()
    .transform((s) => s.split(','))
    .pipe(z.array(jobStatusSchema))
    .optional(),
  type: z.string().min(1).max(200).optional(),
  key: z.string().min(1).max(500).optional(),
  limit: z.coerce.number().int().min(1).max(1_000).default(100),
  after: z.string().min(1).max(1_000).optional(),
});
export const listAnswerSchema = z.object({ jobs: z.array(jobViewSchema), next: z.string().nullable() });

/** GET /jobs/:id/changes?since=0&limit=1000 */
export const changesQuerySchema = z.strictObject({
  since: z.coerce.number().int().min(0).default(0),
  limit: z.coerce.number().int().min(1).max(10_000).default(1_000),
});
export const changesAnswerSchema = z.object({ changes: z.array(jobChangeSchema) });

/** A line of a job's log (`ctx.log`); `id` is supervisor-wide and increasing: the cursor of `after`. */
export const logEntrySchema = z.object({
  id: z.number(),
  jobId: z.string(),
  attempt: z.number(),
  at: z.number(),
  message: z.string(),
  /** The data given with the message; null without. */
  data: z.unknown(),
});
export type WireLogEntry = z.infer<typeof logEntrySchema>;

/** GET /jobs/:id/logs?after=0&limit=100&attempt=2 (as `supervisor.logs` takes it). */
export const logsQuerySchema = z.strictObject({
  /** Lines with a greater id (the last id read); 0: from the first line kept. */
  after: z.coerce.number().int().min(0).default(0),
  limit: z.coerce.number().int().min(1).max(1_000).default(100),
  /** Only this attempt's lines. */
  attempt: z.coerce.number().int().min(1).optional(),
});
/** `next`: pass it as `after` for the lines after these; null when there were no more (yet). */
export const logsAnswerSchema = z.object({ logs: z.array(logEntrySchema), next: z.number().nullable() });
export type LogsAnswer = z.infer<typeof logsAnswerSchema>;

/** The store's state on /health: `failing` from a failed write until one succeeds again. */
export const storeHealthSchema = z.object({
  state: z.enum(['ok', 'failing']),
  failingSince: z.number().nullable(),
  lastError: z.object({ code: z.string(), message: z.string() }).nullable(),
  /** Changes accepted but not yet durable. */
  backlog: z.number(),
});

/**
 * GET /health: 200 `ok` while the supervisor accepts (or is opening); 503 `unavailable` once it
 * drains, and while its store fails writes (`store` says why).
 */
/** A node's own lease, as it sees it (a store several nodes share). */
export const clusterStatusSchema = z.object({
  state: z.enum(['joining', 'held', 'lost', 'left']),
  leaseUntil: z.number().nullable(),
  safeUntil: z.number().nullable(),
  dbLatencyMs: z.number().nullable(),
  renewFailures: z.number(),
  claimed: z.number(),
  takenOver: z.number(),
  abandoned: z.number(),
});

/** GET /pauses, and the answer of POST /pause and /resume: what is paused now. */
export const pauseStateSchema = z.object({ all: z.boolean(), types: z.array(z.string()) });
export type PauseStateAnswer = z.infer<typeof pauseStateSchema>;

/** POST /pause and /resume: a job type, or none for the whole supervisor. */
export const pauseBodySchema = z.strictObject({ type: z.string().min(1).max(200).optional() });

/** PUT /schedules/:name: a repeatable job's definition, as `supervisor.schedule(name, options)` takes it. */
export const scheduleBodySchema = scheduleOptionsSchema;
export type ScheduleBody = z.input<typeof scheduleBodySchema>;

/** A schedule as the server answers it: its definition, its latest occurrence taken and its next one. */
export const scheduleViewSchema = z.object({
  name: z.string(),
  type: z.string(),
  input: z.unknown(),
  cron: z.string().nullable(),
  everyMs: z.number().nullable(),
  timezone: z.string().nullable(),
  key: z.string().nullable(),
  priority: z.number(),
  missed: missedPolicySchema,
  /** When this definition was set (ms since the epoch). */
  anchor: z.number(),
  /** The latest occurrence taken (started, or skipped as missed); null before the first. */
  lastAt: z.number().nullable(),
  /** The job that occurrence started; null when it was skipped (or before the first). */
  lastJobId: z.string().nullable(),
  /** The next occurrence; null when the pattern has no more. */
  nextAt: z.number().nullable(),
});
export type WireSchedule = z.infer<typeof scheduleViewSchema>;

/** GET /schedules: every schedule, by name. */
export const schedulesAnswerSchema = z.object({ schedules: z.array(scheduleViewSchema) });
/** PUT /schedules/:name (the schedule as set) and DELETE /schedules/:name (the one removed). */
export const scheduleAnswerSchema = z.object({ schedule: scheduleViewSchema });

export const healthAnswerSchema = z.object({
  status: z.enum(['ok', 'unavailable']),
  lifecycle: z.enum(['starting', 'recovering', 'accepting', 'draining', 'stopped']),
  live: z.number(),
  offset: z.number().optional(),
  store: storeHealthSchema.optional(),
  /** This process: its id (new for each start) and label (host:pid). */
  node: z.object({ id: z.string(), label: z.string() }).optional(),
  /** Its lease, when several nodes share the store; 503 while it is not held. */
  cluster: clusterStatusSchema.optional(),
  /** What is paused (older servers do not say). A paused supervisor is healthy: it answers 200. */
  paused: pauseStateSchema.optional(),
});

/** GET /nodes: the live nodes of the cluster, each with its lease and the jobs running on it. */
export const nodesAnswerSchema = z.object({
  nodes: z.array(
    z.object({
      id: z.string(),
      label: z.string(),
      startedAt: z.number(),
      leaseUntil: z.number(),
      /** Jobs it owns (claimed or running), as the store counts them. */
      jobs: z.number(),
      /** Ids of the jobs running on it, as this node was told (at most 100). */
      running: z.array(z.string()),
    }),
  ),
});
export type NodesAnswer = z.infer<typeof nodesAnswerSchema>;
export type HealthAnswer = z.infer<typeof healthAnswerSchema>;

/** GET /types: the registered job types, what a start form needs to offer them. */
export const jobTypeInfoSchema = z.object({
  name: z.string(),
  runsIn: z.enum(['process', 'worker']),
  /** null: no per-type limit (only the global one). */
  concurrency: z.number().nullable(),
  timeoutMs: z.number().nullable(),
  heartbeatTimeoutMs: z.number(),
  retries: z.object({ max: z.number(), backoffMs: z.number(), factor: z.number(), maxBackoffMs: z.number() }),
  /** The input schema as JSON Schema (draft 2020-12), or null when the type takes any input. */
  inputSchema: z.record(z.string(), z.unknown()).nullable(),
});
export type WireJobType = z.infer<typeof jobTypeInfoSchema>;
export const typesAnswerSchema = z.object({ types: z.array(jobTypeInfoSchema) });

/** An event a job refused (it changed nothing); the server keeps the latest ones for new subscribers. */
export const wireRejectionSchema = z.object({
  /** Unique across server restarts; a client deduplicates by it. */
  id: z.string(),
  jobId: z.string(),
  jobType: z.string(),
  event: z.string(),
  attempt: z.number().nullable(),
  state: z.string(),
  reason: z.string(),
  source: z.enum(['handler', 'api', 'supervisor']),
  at: z.number(),
});
export type WireRejection = z.infer<typeof wireRejectionSchema>;

// ---- WebSocket ------------------------------------------------------------------------------

/** What a subscription follows: one job, a list of jobs, a type, or everything. */
export const topicSchema = z.union([
  z.strictObject({ jobId: z.string().min(1).max(200) }),
  z.strictObject({ jobIds: z.array(z.string().min(1).max(200)).min(1).max(LIMITS.maxJobIds) }),
  z.strictObject({ type: z.string().min(1).max(200) }),
  z.strictObject({ all: z.literal(true) }),
]);
export type Topic = z.infer<typeof topicSchema>;

/** Client → server. Every command carries a correlation `id`, echoed in the answer. */
export const clientMessageSchema = z.discriminatedUnion('type', [
  z.strictObject({
    type: z.literal('subscribe'),
    id: z.string().min(1).max(100),
    topic: topicSchema,
    /** Resume: replay the changes after this offset (or get a resync when they are gone). */
    since: z.number().int().min(0).optional(),
    /** Also send the topic's rejected events: the server's recent ones first, then live ones. */
    rejections: z.boolean().optional(),
  }),
  /** Follows a job's log: the lines after `after` (0: every line kept), then each new one, then `logEnd`. */
  z.strictObject({
    type: z.literal('logs'),
    id: z.string().min(1).max(100),
    jobId: z.string().min(1).max(200),
    after: z.number().int().min(0).optional(),
  }),
  z.strictObject({
    type: z.literal('unsubscribe'),
    id: z.string().min(1).max(100),
    subscription: z.string(),
  }),
  z.strictObject({ type: z.literal('start'), id: z.string().min(1).max(100), job: createJobBodySchema }),
  z.strictObject({
    type: z.literal('cancel'),
    id: z.string().min(1).max(100),
    jobId: z.string().min(1).max(200),
    reason: z.string().max(1_000).optional(),
  }),
  z.strictObject({
    type: z.literal('startMany'),
    id: z.string().min(1).max(100),
    jobs: startManyBodySchema.shape.jobs,
  }),
  z.strictObject({
    type: z.literal('cancelMany'),
    id: z.string().min(1).max(100),
    query: cancelManyBodySchema,
  }),
  z.strictObject({
    type: z.literal('retry'),
    id: z.string().min(1).max(100),
    jobId: z.string().min(1).max(200),
  }),
  z.strictObject({
    type: z.literal('retryMany'),
    id: z.string().min(1).max(100),
    query: retryManyBodySchema,
  }),
  z.strictObject({
    type: z.literal('remove'),
    id: z.string().min(1).max(100),
    jobId: z.string().min(1).max(200),
  }),
  z.strictObject({
    type: z.literal('removeMany'),
    id: z.string().min(1).max(100),
    query: removeManyBodySchema,
  }),
  z.strictObject({
    type: z.enum(['pause', 'resume']),
    id: z.string().min(1).max(100),
    jobType: z.string().min(1).max(200).optional(),
  }),
  z.strictObject({ type: z.literal('schedules'), id: z.string().min(1).max(100) }),
  z.strictObject({
    type: z.literal('schedule'),
    id: z.string().min(1).max(100),
    name: scheduleNameSchema,
    options: scheduleBodySchema,
  }),
  z.strictObject({
    type: z.literal('unschedule'),
    id: z.string().min(1).max(100),
    name: scheduleNameSchema,
  }),
]);
export type ClientMessage = z.infer<typeof clientMessageSchema>;

/** Server → client. */
export const serverMessageSchema = z.discriminatedUnion('type', [
  z.object({ type: z.literal('hello'), protocol: z.literal(PROTOCOL_VERSION), offset: z.number() }),
  /** Answer to a command, with the command's `id`. */
  z.object({ type: z.literal('reply'), id: z.string(), result: z.unknown() }),
  z.object({ type: z.literal('error'), id: z.string().nullable(), error: errorBodySchema.shape.error }),
  /** First message of a subscription (and of a resync): the current jobs of the topic. */
  z.object({
    type: z.literal('snapshot'),
    subscription: z.string(),
    offset: z.number(),
    jobs: z.array(jobViewSchema),
    resync: z.boolean(),
  }),
  z.object({ type: z.literal('change'), subscription: z.string(), change: jobChangeSchema }),
  /** Only for subscriptions with `rejections: true`; not part of the replayable change log. */
  z.object({ type: z.literal('rejected'), subscription: z.string(), rejection: wireRejectionSchema }),
  /** A line of the job a `logs` subscription follows, in order, once the store holds it. */
  z.object({ type: z.literal('log'), subscription: z.string(), entry: logEntrySchema }),
  /** The job is final and every line it wrote was sent: the `logs` subscription is over. */
  z.object({ type: z.literal('logEnd'), subscription: z.string(), job: jobViewSchema }),
]);
export type ServerMessage = z.infer<typeof serverMessageSchema>;

/** WebSocket close codes the server uses (4000–4999 are application codes). */
export const CLOSE_CODES = Object.freeze({
  unauthorized: 4401,
  /** The client fell too far behind: reconnect with `since` to resume. */
  tooSlow: 4008,
  tooLarge: 1009,
  shuttingDown: 1001,
});
