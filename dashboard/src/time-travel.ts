/**
 * Time travel: a change picked in a job's history shows the machine diagram in the state the job
 * had right after that change (`job.state`, or worked out from its status for older servers), with
 * the event that led there — until "Back to now" (or the dialog closes).
 */
import type { WireChange } from '../../src/client/index.js';
import { machineState } from './jobs.js';

/** The machine event (or timer) that made a change of this kind. */
export function eventOf(change: Pick<WireChange, 'kind' | 'job'>): string {
  const code = change.job.error?.code;
  switch (change.kind) {
    case 'created':
      return 'the job was created (its initial state)';
    case 'due':
      return 'the timer after untilRunAt (its scheduled time came)';
    case 'started':
      return 'START';
    case 'progress':
      return 'PROGRESS';
    case 'retrying':
    case 'failed':
      return code === 'stalled' || code === 'timeout' ? `the watchdog timer (${code})` : 'FAIL';
    case 'requeued':
      return 'the timer after retryBackoff';
    case 'interrupted':
      return 'INTERRUPT';
    case 'completed':
      return 'COMPLETE';
    case 'cancelled':
      return 'CANCEL';
    case 'retried':
      return 'a retry by request (the job was restored, pending again)';
  }
}

/** The caption of the diagram for a picked change. */
export function pickedCaption(change: WireChange): string {
  return `State machine — after change #${change.seq} (${change.kind}, by ${eventOf(change)}) this job was in ${machineState(change.job)}`;
}
