/**
 * Terminal output: the progress bar of `watch`, the tables of `ls` and `schedules`, one-line job
 * summaries, the lines of `logs`.
 */
import type { WireJob, WireLogEntry, WireSchedule } from '../protocol/schemas.js';
import { inLargestUnit } from '../common/schedule.js';

const BAR_WIDTH = 30;

/**
 * `[##########--------------------]  33% running  message`, at most `columns` characters wide (a
 * line wider than the terminal wraps, and redrawing it in place then leaves a line per redraw): the
 * message is cut first (ending in `…`), then the bar narrows; only the percent and the status are
 * always shown. Without `columns` (not a terminal) the line is whole.
 */
export function progressBar(job: WireJob, columns = Infinity): string {
  const percent = Math.max(0, Math.min(100, job.progress));
  const head = `${formatPercent(percent).padStart(4)} ${statusText(job)}`;
  const text = detail(job);
  // The bar's width: 30, or what is left beside the status (at least 10, else no bar at all).
  const room = columns - head.length - 3;
  const width = Math.min(BAR_WIDTH, room);
  const bar = width >= 10 ? barOf(percent, width) : '';
  const line = bar ? `${bar} ${head}` : head;
  // The message only where at least a few of its characters fit; it is what gets cut.
  if (!text || columns - line.length < 5) return clipTo(line, columns);
  return clipTo(`${line}  ${text}`, columns);
}

function barOf(percent: number, width: number): string {
  const filled = Math.round((percent / 100) * width);
  return `[${'#'.repeat(filled)}${'-'.repeat(width - filled)}]`;
}

/** `line` cut to `columns` characters (the last one `…`); whole if it fits. */
function clipTo(line: string, columns: number): string {
  const chars = [...line];
  if (chars.length <= columns) return line;
  if (columns <= 1) return chars.slice(0, Math.max(0, columns)).join('');
  return `${chars.slice(0, columns - 1).join('')}…`;
}

/** One plain line per change, for logs and pipes. */
export function progressLine(job: WireJob): string {
  const text = detail(job);
  return `${job.id} ${statusText(job)} ${formatPercent(job.progress)}${text ? ` ${text}` : ''}`;
}

/** The closing sentence once a job is final. */
export function finalLine(job: WireJob): string {
  const took = job.finishedAt !== null ? ` in ${formatDuration(job.finishedAt - job.createdAt)}` : '';
  const tries = job.attempt > 1 ? ` after ${job.attempt} attempts` : '';
  if (job.status === 'completed') {
    const result = job.result === undefined || job.result === null ? '' : `: ${JSON.stringify(job.result)}`;
    return `job ${job.id} (${job.type}) completed${took}${tries}${result}`;
  }
  if (job.status === 'failed' || job.status === 'cancelled') {
    const why = job.error ? `: ${job.error.message} (${job.error.code})` : '';
    return `job ${job.id} (${job.type}) ${job.status}${took}${tries}${why}`;
  }
  return `job ${job.id} (${job.type}) is ${job.status}`;
}

function isRetrying(job: WireJob): boolean {
  return job.status === 'pending' && job.nextRetryAt !== null;
}

function statusText(job: WireJob): string {
  if (isRetrying(job)) return `retrying (attempt ${job.attempt} failed)`;
  return job.attempt > 1 ? `${job.status} (attempt ${job.attempt})` : job.status;
}

/** The job's message; while it waits to retry, why its last attempt failed. */
function detail(job: WireJob): string {
  if (isRetrying(job) && job.error) return `${job.error.message} (${job.error.code})`;
  return job.message ?? '';
}

function formatPercent(percent: number): string {
  return `${Math.floor(percent)}%`;
}

/**
 * A duration in the largest unit that keeps it short: `850 ms`, `12.3 s`, `1 min 59 s`,
 * `2 h 0 min`. Rounded to the unit shown first, then split, so 119,600 ms reads `2 min 0 s`
 * (not `1 min 60 s`) and 59,960 ms `1 min 0 s` (not `60.0 s`). Negative durations read `0 ms`.
 */
export function formatDuration(ms: number): string {
  const whole = Math.max(0, Math.round(ms));
  if (whole < 1_000) return `${whole} ms`;
  const tenths = Math.round(ms / 100);
  if (tenths < 600) return `${(tenths / 10).toFixed(1)} s`;
  const seconds = Math.round(ms / 1_000);
  if (seconds < 3_600) return `${Math.floor(seconds / 60)} min ${seconds % 60} s`;
  const minutes = Math.round(ms / 60_000);
  return `${Math.floor(minutes / 60)} h ${minutes % 60} min`;
}

/** A left-aligned text table with a header row; cells are truncated to `maxCell` characters. */
export function table(header: readonly string[], rows: readonly (readonly string[])[], maxCell = 40): string {
  const clip = (cell: string) => (cell.length > maxCell ? `${cell.slice(0, maxCell - 1)}…` : cell);
  const all = [header, ...rows].map((row) => row.map(clip));
  const widths = header.map((_, column) => Math.max(...all.map((row) => (row[column] ?? '').length)));
  return all
    .map((row) =>
      row
        .map((cell, column) => cell.padEnd(widths[column] ?? 0))
        .join('  ')
        .trimEnd(),
    )
    .join('\n');
}

/** The rows of `ls`. */
export function jobsTable(jobs: readonly WireJob[], now: number): string {
  return table(
    ['ID', 'TYPE', 'STATUS', 'PROGRESS', 'ATTEMPT', 'KEY', 'UPDATED', 'MESSAGE'],
    jobs.map((job) => [
      job.id,
      job.type,
      job.status,
      formatPercent(job.progress),
      String(job.attempt),
      job.key ?? '',
      `${formatDuration(now - job.updatedAt)} ago`,
      job.error ? `${job.error.code}: ${job.error.message}` : (job.message ?? ''),
    ]),
  );
}

/** The rows of `schedules`: times in UTC, ISO 8601. */
export function schedulesTable(schedules: readonly WireSchedule[]): string {
  const at = (time: number | null) => (time === null ? '—' : new Date(time).toISOString());
  return table(
    ['NAME', 'TYPE', 'SCHEDULE', 'TIME ZONE', 'NEXT', 'LAST', 'LAST JOB'],
    schedules.map((s) => [
      s.name,
      s.type,
      s.cron ?? `every ${everyText(s.everyMs ?? 0)}`,
      s.cron === null ? '' : (s.timezone ?? 'UTC'),
      at(s.nextAt),
      at(s.lastAt),
      s.lastJobId ?? '',
    ]),
  );
}

/** An interval as `--every` takes it (`5m`, `90s`, `1500ms`): in the largest unit that divides it. */
export function everyText(ms: number): string {
  return inLargestUnit(ms).join('');
}

/** A line of a job's log: `time  #attempt  message  data` (the time in UTC, ISO 8601; data as JSON, if any). */
export function logLine(entry: WireLogEntry): string {
  const head = `${new Date(entry.at).toISOString()}  #${entry.attempt}  ${entry.message}`;
  return entry.data === null || entry.data === undefined ? head : `${head}  ${JSON.stringify(entry.data)}`;
}

export function printLine(line: string): void {
  process.stdout.write(`${line}\n`);
}

/** One JSON document per line (NDJSON), for scripts. */
export function printJson(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value)}\n`);
}
