/**
 * The boundary between a handler (in-process or in a thread) and its job: what a handler reports
 * must be storable, so that one bad report fails only its own job and never a batch of the store.
 * A result that is not JSON within the limits fails the attempt as `result_not_serializable`
 * (not retried: the same handler would return the same); a progress message must be a short
 * string; an error's code and message are bounded.
 */
import type { JobEvent } from '../../machines/job.types.js';
import { JobvisorError } from '../common/errors.js';
import { jsonProblem, type JsonLimits } from '../common/json-limits.js';

/** The longest progress message, and the longest error code and message a job keeps. */
export const TEXT_LIMITS = Object.freeze({ message: 1_000, errorCode: 200, errorMessage: 4_000 });

/**
 * The event to send for what a handler reported: unchanged, a COMPLETE turned into a FAIL, or a
 * FAIL with its error bounded. A bad progress message throws `invalid_request` into the handler.
 */
export function checkHandlerEvent(event: JobEvent, result: JsonLimits): JobEvent {
  switch (event.type) {
    case 'PROGRESS': {
      const { message } = event;
      if (message === undefined || (typeof message === 'string' && message.length <= TEXT_LIMITS.message)) {
        return event;
      }
      throw new JobvisorError(
        'invalid_request',
        `ctx.progress(percent, message): message must be a string of at most ${TEXT_LIMITS.message} characters`,
      );
    }
    case 'COMPLETE': {
      const problem = jsonProblem(event.result ?? null, result, 'the result');
      if (problem === undefined) return event;
      const limit =
        problem.limit === undefined
          ? ''
          : ` (limits.${problem.limit === 'maxDepth' ? 'maxDepth' : 'maxResultBytes'})`;
      const error = { code: 'result_not_serializable', message: problem.message + limit, retryable: false };
      return { type: 'FAIL', attempt: event.attempt, error, at: event.at };
    }
    case 'FAIL': {
      const { code, message } = event.error;
      if (code.length <= TEXT_LIMITS.errorCode && message.length <= TEXT_LIMITS.errorMessage) return event;
      const error = {
        ...event.error,
        code: code.length <= TEXT_LIMITS.errorCode ? code : 'handler_error',
        message: cut(message, TEXT_LIMITS.errorMessage),
      };
      return { ...event, error };
    }
    default:
      return event;
  }
}

/**
 * A handler's report with its time, built as a literal per type: on Node 20 (V8 11) spreading an
 * object and adding a property takes a slow path, and this runs for every progress report.
 */
export function stamped(event: HandlerReport, at: number): JobEvent {
  switch (event.type) {
    case 'PROGRESS':
      return event.message === undefined
        ? { type: 'PROGRESS', attempt: event.attempt, percent: event.percent, at }
        : { type: 'PROGRESS', attempt: event.attempt, percent: event.percent, message: event.message, at };
    case 'HEARTBEAT':
      return { type: 'HEARTBEAT', attempt: event.attempt, at };
    case 'COMPLETE':
      return { type: 'COMPLETE', attempt: event.attempt, result: event.result, at };
    case 'FAIL':
      return { type: 'FAIL', attempt: event.attempt, error: event.error, at };
  }
}

/** What a handler reports: an attempt's event without its time. */
type HandlerReport = DistributiveOmit<Extract<JobEvent, { attempt: number }>, 'at'>;
type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;

function cut(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`;
}
