/**
 * When a schedule's occurrences fall: a cron pattern read by `croner` (in its time zone), or an
 * interval counted from the schedule's anchor. Also the id of an occurrence's job, derived from
 * the schedule's name and the occurrence's time, so every node and every restart names it alike.
 */
import { createHash } from 'node:crypto';
import { Cron } from 'croner';
import { JobvisorError } from '../common/errors.js';
import type { ScheduleSpec } from '../common/repeatable.js';

export interface Occurrences {
  /** The first occurrence strictly after `after`, or null when the pattern has no more. */
  next(after: number): number | null;
  /** The latest occurrence at or before `at` and after the anchor, or null. */
  latest(at: number): number | null;
}

/** The cron pattern in its time zone; `invalid_request` naming what is wrong. */
function cronOf(pattern: string, timezone: string | null): Cron {
  let cron: Cron;
  try {
    cron = new Cron(pattern, { timezone: timezone ?? 'UTC', paused: true });
  } catch (error) {
    const why = error instanceof Error ? error.message : String(error);
    throw new JobvisorError('invalid_request', `Invalid cron pattern "${pattern}": ${why}`, {
      path: 'cron',
    });
  }
  if (timezone !== null) {
    try {
      new Intl.DateTimeFormat('en', { timeZone: timezone });
    } catch {
      throw new JobvisorError(
        'invalid_request',
        `Unknown time zone "${timezone}" (an IANA name: Europe/Berlin)`,
        {
          path: 'timezone',
        },
      );
    }
  }
  return cron;
}

export function occurrencesOf(spec: ScheduleSpec): Occurrences {
  const { anchor } = spec;
  if (spec.everyMs !== null) {
    const every = spec.everyMs;
    return {
      next: (after) => anchor + (Math.max(0, Math.floor((after - anchor) / every)) + 1) * every,
      latest: (at) => {
        const n = Math.floor((at - anchor) / every);
        return n >= 1 ? anchor + n * every : null;
      },
    };
  }
  const cron = cronOf(spec.cron!, spec.timezone);
  return {
    next: (after) => cron.nextRun(new Date(Math.max(after, anchor)))?.getTime() ?? null,
    latest: (at) => {
      const found = cron.previousRuns(1, new Date(at + 1))[0]?.getTime();
      return found !== undefined && found > anchor ? found : null;
    },
  };
}

/** Checks a spec's pattern and time zone (throws `invalid_request`); the first occurrence after `now`. */
export function checkOccurrences(spec: ScheduleSpec, now: number): number | null {
  return occurrencesOf(spec).next(now);
}

/** The id of occurrence `at`'s job: a UUID (version 8) from the schedule's name and the time. */
export function occurrenceId(name: string, at: number): string {
  const hex = createHash('sha256').update(`jobvisor.schedule\0${name}\0${at}`).digest('hex');
  const variant = ((parseInt(hex[16]!, 16) & 0x3) | 0x8).toString(16);
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-8${hex.slice(13, 16)}-${variant}${hex.slice(17, 20)}-${hex.slice(20, 32)}`;
}
