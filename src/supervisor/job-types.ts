/** The registered job types: handler, input schema and the per-type options merged with the defaults. */
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import type * as z from 'zod';
import type { RetryPolicy } from '../../machines/job.types.js';
import { JobvisorError } from '../common/errors.js';
import { jsonProblem } from '../common/json-limits.js';
import {
  jobTypeName,
  registerOptionsSchema,
  workerHandlerSchema,
  type RegisterOptions,
  type ResolvedOptions,
} from './options.js';
import { parseOrThrow } from '../common/validation.js';
import type { WorkerModule } from '../runtime/worker-pool.js';
import type { Handler } from '../common/types.js';

export interface JobType {
  readonly name: string;
  /** The in-process handler; undefined when the type runs in the worker pool. */
  readonly handler: Handler | undefined;
  /** The module (file URL) and export a pool thread runs; undefined for in-process handlers. */
  readonly worker: WorkerModule | undefined;
  readonly schema: z.ZodType | undefined;
  readonly concurrency: number;
  readonly retry: RetryPolicy;
  readonly heartbeatTimeoutMs: number;
  readonly timeoutMs: number | null;
  readonly idempotencyMs: number;
}

export class JobTypes {
  readonly #types = new Map<string, JobType>();
  readonly #defaults: ResolvedOptions;

  constructor(defaults: ResolvedOptions) {
    this.#defaults = defaults;
  }

  get(name: string): JobType | undefined {
    return this.#types.get(name);
  }

  /** Every registered type, in registration order. */
  list(): JobType[] {
    return [...this.#types.values()];
  }

  register(name: string, handler: unknown, options: RegisterOptions): void {
    parseOrThrow(jobTypeName, name, 'invalid_options', 'Invalid job type name');
    const worker = typeof handler === 'function' ? undefined : toWorkerModule(name, handler);
    const parsed = parseOrThrow(
      registerOptionsSchema,
      options,
      'invalid_options',
      `Invalid options for job type "${name}"`,
    );
    if (this.#types.has(name)) {
      throw new JobvisorError(
        'type_already_registered',
        `A handler is already registered for job type "${name}"`,
      );
    }
    const defaults = this.#defaults;
    const retries = { ...defaults.retries, ...parsed.retries };
    this.#types.set(
      name,
      Object.freeze({
        name,
        handler: worker ? undefined : (handler as Handler),
        worker,
        schema: parsed.input,
        concurrency: parsed.concurrency ?? Infinity,
        retry: Object.freeze({
          maxRetries: retries.max,
          backoffMs: retries.backoffMs,
          factor: retries.factor,
          maxBackoffMs: retries.maxBackoffMs,
        }),
        heartbeatTimeoutMs: parsed.heartbeatTimeoutMs ?? defaults.heartbeatTimeoutMs,
        timeoutMs: parsed.timeoutMs === undefined ? defaults.timeoutMs : parsed.timeoutMs,
        idempotencyMs: parsed.idempotencyMs ?? defaults.idempotencyMs,
      }),
    );
  }

  /** The registered type of a start request and its parsed input; coded errors otherwise. */
  resolve(name: string, input: unknown): { type: JobType; input: unknown } {
    const type = this.#types.get(name);
    if (!type) throw new JobvisorError('unknown_job_type', `No handler is registered for job type "${name}"`);
    const parsed: unknown = type.schema
      ? parseOrThrow(type.schema, input, 'invalid_input', `Invalid input for job type "${name}"`)
      : (input ?? null);
    const { maxDepth, maxInputBytes } = this.#defaults.limits;
    const problem = jsonProblem(parsed, { maxDepth, maxBytes: maxInputBytes }, 'input');
    if (problem) {
      const option = problem.limit === 'maxBytes' ? 'maxInputBytes' : problem.limit;
      const limit = option === undefined ? '' : ` (limits.${option})`;
      throw new JobvisorError(
        'invalid_input',
        `Invalid input for job type "${name}": ${problem.message}${limit}`,
        {
          limit: option === undefined ? null : `limits.${option}`,
          ...(option === undefined ? {} : { value: this.#defaults.limits[option] }),
        },
      );
    }
    return { type, input: parsed };
  }
}

function toWorkerModule(name: string, handler: unknown): WorkerModule {
  if (typeof handler !== 'object' || handler === null) {
    throw new JobvisorError(
      'invalid_options',
      `The handler of job type "${name}" must be a function or { module, export? }`,
    );
  }
  const parsed = parseOrThrow(
    workerHandlerSchema,
    handler,
    'invalid_options',
    `Invalid worker handler for job type "${name}"`,
  );
  const { module } = parsed;
  const href =
    module instanceof URL
      ? module.href
      : /^[a-z][a-z0-9+.-]+:/i.test(module) && !/^[a-z]:[\\/]/i.test(module)
        ? module
        : pathToFileURL(resolve(module)).href;
  return Object.freeze({ module: href, exportName: parsed.export });
}
