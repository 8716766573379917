/**
 * Argument parsing for the CLI: `node:util` `parseArgs` (strict) for the shape, one zod schema per
 * command for the values. Any problem is a `UsageError` (exit code 2) whose message names the option.
 */
import { parseArgs, type ParseArgsConfig } from 'node:util';
import * as z from 'zod';
import { DURATION_HINT, parseDuration, wireTime } from '../common/schedule.js';
import { MAX_BULK } from '../common/bulk.js';

export class UsageError extends Error {
  override readonly name = 'UsageError';
}

export type OptionSpec = NonNullable<ParseArgsConfig['options']>;

/** Options every client command takes (`--url`, `--token`, `--json`), defaults from the environment. */
export const clientOptions = {
  url: { type: 'string' },
  token: { type: 'string' },
  json: { type: 'boolean', default: false },
  help: { type: 'boolean', short: 'h', default: false },
} as const satisfies OptionSpec;

const httpUrl = z
  .string()
  .trim()
  .pipe(z.url({ protocol: /^https?$/, error: 'must be an http(s) URL, e.g. http://127.0.0.1:3000' }));

/** `--token`, else JOBVISOR_TOKEN (an empty one counts as unset). */
export function tokenField(env: NodeJS.ProcessEnv) {
  return z
    .string()
    .min(1, 'must not be empty')
    .optional()
    .transform((t) => t ?? (env.JOBVISOR_TOKEN || undefined));
}

export function clientFields(env: NodeJS.ProcessEnv) {
  return {
    url: httpUrl.prefault(env.JOBVISOR_URL ?? 'http://127.0.0.1:3000'),
    token: tokenField(env),
    json: z.boolean(),
    help: z.boolean(),
  };
}

/** A decimal integer given as a string (`--port 3000`), within bounds. */
export function intString(min: number, max: number) {
  return z
    .string()
    .regex(/^\d+$/, `must be an integer from ${min} to ${max}`)
    .transform(Number)
    .pipe(z.number().int().min(min, `must be at least ${min}`).max(max, `must be at most ${max}`));
}

/** A duration (`1500`, `90s`, `5m`, `1.5h`, `2d`; a bare number is ms), as whole ms within `max`. */
export function durationText(max: number) {
  return z
    .string()
    .transform((text, ctx) => {
      const ms = parseDuration(text);
      if (ms !== null) return ms;
      ctx.addIssue({ code: 'custom', message: `must be ${DURATION_HINT}` });
      return z.NEVER;
    })
    .pipe(z.number().max(max, `must be at most ${max} ms`));
}

/** A time: ms since the epoch, or an ISO 8601 date-time with its offset (`2026-12-24T18:00:00Z`). */
export const timeText = z
  .string()
  .transform((text) => (/^\d+$/.test(text) ? Number(text) : text))
  .pipe(wireTime);

/** Comma-separated job statuses (`--status pending,running`), each one of `statuses`. */
export function statusList<S extends string>(statuses: readonly [S, ...S[]]) {
  return z
    .string()
    .transform((text) => text.split(','))
    .pipe(z.array(z.enum(statuses, `must be ${statuses.join(', ')} (comma-separated)`)));
}

/** Job ids as positional arguments: at most a bulk call's worth. */
export const jobIdList = z.array(z.string().min(1)).max(MAX_BULK, `at most ${MAX_BULK} ids`);

/** A JSON text, parsed. */
export const jsonText = z.string().transform((text, ctx) => {
  try {
    return JSON.parse(text) as unknown;
  } catch (error) {
    ctx.addIssue({ code: 'custom', message: `is not valid JSON (${(error as Error).message})` });
    return z.NEVER;
  }
});

/** Exactly one positional argument, named in the message when it is missing. */
export function onePositional(name: string) {
  return z.array(z.string()).transform((list, ctx) => {
    const [first, extra] = list;
    if (first === undefined || first === '') ctx.addIssue({ code: 'custom', message: `${name} is required` });
    else if (extra !== undefined) ctx.addIssue({ code: 'custom', message: `unexpected argument "${extra}"` });
    else return first;
    return z.NEVER;
  });
}

/** No positional arguments. */
export const noPositionals = z.array(z.string()).max(0, 'this command takes no arguments, only options');

/** `parseArgs`, strict, positionals allowed; unknown options and missing values are usage errors. */
export function parseArgv(argv: readonly string[], options: OptionSpec): ReturnType<typeof parseArgs> {
  try {
    return parseArgs({ args: [...argv], options, allowPositionals: true, strict: true });
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
}

/** Parses `argv` with `parseArgv`, then validates `{ ...values, positionals }` with `schema`. */
export function parseCommand<S extends z.ZodType>(
  argv: readonly string[],
  options: OptionSpec,
  schema: S,
): z.output<S> {
  const parsed = parseArgv(argv, options);
  const result = schema.safeParse({ ...parsed.values, positionals: parsed.positionals });
  if (!result.success) throw new UsageError(formatIssues(result.error));
  return result.data;
}

function formatIssues(error: z.ZodError): string {
  return error.issues
    .map((issue) => {
      const head = issue.path[0];
      if (head === undefined || head === 'positionals') return issue.message;
      return `--${String(head).replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}: ${issue.message}`;
    })

    .join('; ');
}
