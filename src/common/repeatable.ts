/**
 * Repeatable jobs (`supervisor.schedule(name, …)`): the shape of a schedule as every boundary
 * takes it (library, HTTP, WebSocket, client, CLI) and as the store keeps it. Only the shape is
 * checked here; the cron pattern and the time zone are checked by the supervisor with the cron
 * library (supervisor/occurrences.ts), so the client and the dashboard do not carry it.
 */
import * as z from 'zod';
import { MAX_START_DELAY_MS } from './schedule.js';

/** A schedule's name: it is part of URLs (`/schedules/:name`) and of its occurrences' ids. */
export const scheduleNameSchema = z
  .string()
  .regex(
    /^[A-Za-z0-9][A-Za-z0-9._:-]{0,99}$/,
    'must be 1 to 100 letters, digits, ".", "_", ":" or "-", starting with a letter or a digit',
  );

/** The shortest interval of an `everyMs` schedule. */
export const MIN_EVERY_MS = 100;

/** What happens to occurrences whose time passed while nothing ran (no node, or the process down). */
export const missedPolicySchema = z.enum(['latest', 'skip']);
export type MissedPolicy = z.infer<typeof missedPolicySchema>;

/** `schedule(name, options)`, `PUT /schedules/:name`: a cron pattern or an interval, never both. */
export const scheduleOptionsSchema = z
  .strictObject({
    type: z.string().min(1).max(200),
    input: z.unknown().optional(),
    /** A cron pattern: 5 fields (minute precision) or 6 (seconds first), as croner reads it. */
    cron: z.string().min(1).max(200).optional(),
    /** An interval in ms (at least 100): occurrences at the schedule's anchor + n × everyMs. */
    everyMs: z.number().int().min(MIN_EVERY_MS).max(MAX_START_DELAY_MS).optional(),
    /** The IANA time zone a cron pattern is read in (`Europe/Berlin`); UTC by default. */
    timezone: z.string().min(1).max(100).optional(),
    /** Each occurrence's job key: an occurrence while the previous one still holds it joins it. */
    key: z.string().min(1).max(500).optional(),
    priority: z.number().int().min(-1_000_000).max(1_000_000).optional(),
    /** `latest` (default): one run for the occurrences missed while nothing ran; `skip`: none. */
    missed: missedPolicySchema.optional(),
  })
  .refine((o) => (o.cron === undefined) !== (o.everyMs === undefined), {
    message: 'give cron or everyMs (exactly one)',
    path: ['cron'],
  })
  .refine((o) => o.timezone === undefined || o.cron !== undefined, {
    message: 'timezone applies to a cron pattern only',
    path: ['timezone'],
  });
export type ScheduleOptions = z.input<typeof scheduleOptionsSchema>;

/** A schedule's definition as the store keeps it (JSON). */
export interface ScheduleSpec {
  readonly type: string;
  readonly input: unknown;
  readonly cron: string | null;
  readonly everyMs: number | null;
  readonly timezone: string | null;
  readonly key: string | null;
  readonly priority: number;
  readonly missed: MissedPolicy;
  /** When this definition was set (ms): no occurrence at or before it; an interval counts from it. */
  readonly anchor: number;
}

/** A schedule as callers see it. */
export interface ScheduleView extends ScheduleSpec {
  readonly name: string;
  /** The latest occurrence taken (started, or skipped as missed); null before the first. */
  readonly lastAt: number | null;
  /** The job that occurrence started; null when it was skipped (or before the first). */
  readonly lastJobId: string | null;
  /** The next occurrence after now (or after `lastAt`); null when the pattern has no more. */
  readonly nextAt: number | null;
}
