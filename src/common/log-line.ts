/**
 * What a line of a job's log (`ctx.log(message, data?)`) may be: a string message of at most
 * 4,000 characters and optional data that is JSON within the depth limit and 16 KB. Checked where
 * the handler runs (in-process, or in its worker thread before the line is posted), so a bad line
 * throws into the handler that wrote it.
 */
import { JobvisorError } from './errors.js';
import { jsonProblem } from './json-limits.js';

export const LOG_LIMITS = Object.freeze({ messageChars: 4_000, dataBytes: 16_384 });

/** The line's data (null without), or `invalid_request` naming what is wrong. */
export function checkLogLine(message: unknown, data: unknown, maxDepth: number): unknown {
  if (typeof message !== 'string' || message.length > LOG_LIMITS.messageChars) {
    throw new JobvisorError(
      'invalid_request',
      `ctx.log(message, data): message must be a string of at most ${LOG_LIMITS.messageChars} characters`,
    );
  }
  if (data === undefined || data === null) return null;
  const problem = jsonProblem(data, { maxDepth, maxBytes: LOG_LIMITS.dataBytes }, 'the log data');
  if (problem) throw new JobvisorError('invalid_request', `ctx.log(message, data): ${problem.message}`);
  return data;
}
