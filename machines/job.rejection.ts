/**
 * Why the job machine did not apply an event. Called from the machine's catch-all
 * transition, so every event that changes nothing is explained, never silently dropped.
 */
import type { JobContext, JobEvent, RejectionReason } from './job.types.js';

/** The state the machine was in, as a dotted path: `pending.queued`, `running`, … */
export function stateName(value: unknown): string {
  if (typeof value === 'string') return value;
  if (value && typeof value === 'object') {
    // The first (only) key: no entries array, as this runs for every change's view.
    for (const key in value) return `${key}.${stateName((value as Record<string, unknown>)[key])}`;
    return '';
  }
  return String(value);
}

export function isValidPercent(percent: number): boolean {
  return Number.isFinite(percent) && percent >= 0 && percent <= 100;
}

export function rejectionReason(state: string, context: JobContext, event: JobEvent): RejectionReason {
  if ('attempt' in event && event.attempt !== context.run.attempt) return 'stale_attempt';
  const running = state.startsWith('running');
  switch (event.type) {
    case 'START':
      return 'not_queued';
    case 'PROGRESS':
      if (!running) return 'not_running';
      if (!isValidPercent(event.percent)) return 'progress_out_of_range';
      return 'progress_backwards';
    case 'CANCEL':
      return 'job_final';
    default:
      return 'not_running';
  }
}
