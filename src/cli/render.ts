/** Terminal output: the progress bar of `watch`, the table of `ls`, one-line job summaries. */
import type { WireJob } from '../protocol/schemas.js';

const BAR_WIDTH = 30;

/** `[##########--------------------]  33% running  message` */
export function progressBar(job: WireJob): string {
  const percent = Math.max(0, Math.min(100, job.progress));
  const filled = Math.round((percent / 100) * BAR_WIDTH);
  const bar = `[${'#'.repeat(filled)}${'-'.repeat(BAR_WIDTH - filled)}]`;
  const text = detail(job);
  return `${bar} ${formatPercent(percent).padStart(4)} ${statusText(job)}${text ? `  ${text}` : ''}`;
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

export function formatDuration(ms: number): string {
  if (ms < 1_000) return `${Math.max(0, Math.round(ms))} ms`;
  if (ms < 60_000) return `${(ms / 1_000).toFixed(1)} s`;
  if (ms < 3_600_000) return `${Math.floor(ms / 60_000)} min ${Math.round((ms % 60_000) / 1_000)} s`;
  return `${Math.floor(ms / 3_600_000)} h ${Math.round((ms % 3_600_000) / 60_000)} min`;
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

export function printLine(line: string): void {
  process.stdout.write(`${line}\n`);
}

/** One JSON document per line (NDJSON), for scripts. */
export function printJson(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value)}\n`);
}
