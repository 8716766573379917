/**
 * When a delayed job may start, as every boundary takes it: `runAt` (a time) or `delayMs` (from
 * now), never both. The library, HTTP, the WebSocket, the client and the CLI share these schemas.
 */
import * as z from 'zod';

/** The last time a JavaScript `Date` can hold (ms since the epoch). */
export const MAX_TIME_MS = 8.64e15;

/** The longest delay a job may be started with: ten years. */
export const MAX_START_DELAY_MS = 10 * 365 * 24 * 3_600_000;

/** A time on the wire: ms since the epoch, or an ISO 8601 date-time with its offset (`…Z`, `…+01:00`). */
export const wireTime = z.union(
  [z.number().int().min(0).max(MAX_TIME_MS), z.iso.datetime({ offset: true })],
  {
    error:
      'must be a time: ms since the epoch, or an ISO 8601 date-time with its offset (2026-12-24T18:00:00Z)',
  },
);

/** A time in the library: as on the wire, or a valid `Date`. */
export const timeInput = z.union([wireTime, z.date()]);

export const startDelay = z.number().int().min(0).max(MAX_START_DELAY_MS);

/** ms since the epoch of a time given as a number, a `Date` or an ISO string (already validated). */
export function toEpochMs(time: number | string | Date): number {
  if (typeof time === 'number') return time;
  return typeof time === 'string' ? Date.parse(time) : time.getTime();
}

/** The refinement both schemas of a start share: a time or a delay, not both. */
export function oneScheduleAtMost(value: { runAt?: unknown; delayMs?: unknown }): boolean {
  return value.runAt === undefined || value.delayMs === undefined;
}

export const ONE_SCHEDULE_MESSAGE = 'give runAt or delayMs, not both';

const UNIT_MS = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 } as const;
const DURATION = /^(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)?$/;

/** The form of a duration a person types (the CLI's `--delay`, the dashboard's Delay). */
export const DURATION_HINT = 'a duration such as 1500 (ms), 90s, 5m, 1.5h or 2d';

const LARGEST_FIRST = [
  ['d', 86_400_000],
  ['h', 3_600_000],
  ['m', 60_000],
  ['s', 1_000],
] as const;

/** `ms` in the largest unit that divides it: `[5, 'm']`, `[90, 's']`, `[1500, 'ms']` (as `parseDuration` reads). */
export function inLargestUnit(ms: number): readonly [number, 'd' | 'h' | 'm' | 's' | 'ms'] {
  for (const [unit, size] of LARGEST_FIRST) if (ms >= size && ms % size === 0) return [ms / size, unit];
  return [ms, 'ms'];
}

/** Whole ms of a duration a person typed (`1500`, `90s`, `5m`, `1.5h`, `2d`); null when it is not one. */
export function parseDuration(text: string): number | null {
  const match = DURATION.exec(text.trim());
  if (!match) return null;
  return Math.round(Number(match[1]) * UNIT_MS[(match[2] ?? 'ms') as keyof typeof UNIT_MS]);
}
