/**
 * Validation shared by every boundary: parse with a zod schema or throw a coded error that names
 * every bad value (never replace one silently), and the bounds that timers impose.
 */
import type * as z from 'zod';
import { JobvisorError } from './errors.js';

/** The longest delay a timer can take (setTimeout's limit, about 24.8 days). */
export const MAX_DELAY_MS = 2 ** 31 - 1;

/** Parses with `schema` or throws a coded error whose message names every bad value. */
export function parseOrThrow<S extends z.ZodType>(
  schema: S,
  value: unknown,
  code: 'invalid_options' | 'invalid_request' | 'invalid_input',
  what: string,
): z.output<S> {
  const parsed = schema.safeParse(value);
  if (parsed.success) return parsed.data;
  const issues = parsed.error.issues.map((issue) => ({
    path: issue.path.map(String).join('.'),
    message: issue.message,
  }));
  const summary = issues.map((i) => (i.path ? `${i.path}: ${i.message}` : i.message)).join('; ');
  throw new JobvisorError(code, `${what}: ${summary}`, issues);
}
