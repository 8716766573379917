/** What a registered job type looks like from outside: limits, retry policy and its input as JSON Schema. */
import * as z from 'zod';
import type { JobType } from './job-types.js';
import type { JobTypeInfo } from '../common/types.js';

const described = new WeakMap<JobType, JobTypeInfo>();

export function describeType(type: JobType): JobTypeInfo {
  let info = described.get(type);
  if (info) return info;
  const { retry } = type;
  info = Object.freeze({
    name: type.name,
    runsIn: type.worker ? 'worker' : 'process',
    concurrency: Number.isFinite(type.concurrency) ? type.concurrency : null,
    timeoutMs: type.timeoutMs,
    heartbeatTimeoutMs: type.heartbeatTimeoutMs,
    retries: Object.freeze({
      max: retry.maxRetries,
      backoffMs: retry.backoffMs,
      factor: retry.factor,
      maxBackoffMs: retry.maxBackoffMs,
    }),
    inputSchema: type.schema ? inputJsonSchema(type.schema) : null,
  } satisfies JobTypeInfo);
  described.set(type, info);
  return info;
}

/** The schema of what callers send (`io: 'input'`); parts JSON Schema cannot express become `{}`. */
function inputJsonSchema(schema: z.ZodType): Record<string, unknown> | null {
  try {
    return z.toJSONSchema(schema, { io: 'input', unrepresentable: 'any' });
  } catch {
    // e.g. a custom schema type zod cannot describe: the type still works, it just has no description.
    return null;
  }
}
