/** Text for the page: short ids, relative ages, times and JSON. */
import { inLargestUnit } from '../../src/common/schedule.js';

/** The first 8 characters of an id (a UUID's first group). */
export function shortId(id: string): string {
  return id.length > 9 ? `${id.slice(0, 8)}…` : id;
}

/** `4 s`, `3 min`, `2 h 5 min`, `3 d` — how long ago `at` was. */
export function age(at: number, now: number): string {
  const seconds = Math.max(0, Math.floor((now - at) / 1000));
  if (seconds < 60) return `${seconds} s`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 60) return `${minutes} min`;
  const hours = Math.floor(minutes / 60);
  if (hours < 24) return minutes % 60 === 0 ? `${hours} h` : `${hours} h ${minutes % 60} min`;
  return `${Math.floor(hours / 24)} d`;
}

/** `250 ms`, `4 s`, `3 min`, … — how long something took. */
export function duration(ms: number): string {
  return ms < 1000 ? `${Math.max(0, Math.round(ms))} ms` : age(0, ms);
}

/** An interval in the largest unit that divides it: `5 min`, `90 s`, `36 h`, `1500 ms`. */
export function interval(ms: number): string {
  const [amount, unit] = inLargestUnit(ms);
  return `${amount} ${unit === 'm' ? 'min' : unit}`;
}

/** `14:03:07` (today) or `2026-10-01 14:03:07`. */
export function time(at: number | null, now = Date.now()): string {
  if (at === null) return '—';
  const date = new Date(at);
  const clock = date.toLocaleTimeString(undefined, { hour12: false });
  return new Date(now).toDateString() === date.toDateString()
    ? clock
    : `${date.toISOString().slice(0, 10)} ${clock}`;
}

export function percent(progress: number): string {
  return `${Math.round(progress)} %`;
}

/** Pretty JSON; `undefined` (no input or result) as an em dash. */
export function json(value: unknown): string {
  if (value === undefined) return '—';
  try {
    return JSON.stringify(value, null, 2);
  } catch {
    return '(not JSON-serialisable)';
  }
}
