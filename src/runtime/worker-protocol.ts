/**
 * The worker-thread protocol: every message between the supervisor and a pool thread is one of
 * these discriminated unions, validated with zod on arrival. A thread never touches supervisor
 * state; what it reports becomes an event of that job's actor, fenced by attempt.
 */
import * as z from 'zod';

const jobId = z.string().min(1);
const attempt = z.number().int().positive();

/** Supervisor → thread. */
export const toWorkerSchema = z.discriminatedUnion('kind', [
  z.strictObject({
    kind: z.literal('run'),
    jobId,
    attempt,
    type: z.string(),
    key: z.string().nullable(),
    input: z.unknown(),
    module: z.string().min(1),
    exportName: z.string().min(1),
    /** The W3C trace context of its `jobvisor.handler` span (`traceparent`, …), when tracing is on. */
    trace: z.record(z.string(), z.string()).optional(),
  }),
  z.strictObject({ kind: z.literal('abort'), jobId, attempt }),
]);

/** Thread → supervisor. */
export const fromWorkerSchema = z.discriminatedUnion('kind', [
  z.strictObject({ kind: z.literal('ready') }),
  z.strictObject({
    kind: z.literal('progress'),
    jobId,
    attempt,
    percent: z.number(),
    message: z.string().optional(),
  }),
  z.strictObject({ kind: z.literal('heartbeat'), jobId, attempt }),
  z.strictObject({ kind: z.literal('log'), jobId, attempt, message: z.string(), data: z.unknown() }),
  z.strictObject({ kind: z.literal('done'), jobId, attempt, result: z.unknown() }),
  z.strictObject({
    kind: z.literal('failed'),
    jobId,
    attempt,
    error: z.strictObject({
      code: z.string().min(1),
      message: z.string(),
      retryable: z.boolean().optional(),
    }),
  }),
]);

export type ToWorker = z.infer<typeof toWorkerSchema>;
export type FromWorker = z.infer<typeof fromWorkerSchema>;
export type RunMessage = Extract<ToWorker, { kind: 'run' }>;
