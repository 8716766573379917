/** What the page shows of the live store's jobs: counts, the filtered list, a job's machine state. Pure. */
import type { JobStatus, WireJob } from '../../src/client/index.js';

export const STATUSES: readonly JobStatus[] = ['pending', 'running', 'completed', 'failed', 'cancelled'];

const FINAL: ReadonlySet<JobStatus> = new Set(['completed', 'failed', 'cancelled']);

export function isActive(job: WireJob): boolean {
  return !FINAL.has(job.status);
}

export function countByStatus(jobs: Iterable<WireJob>): Record<JobStatus, number> {
  const counts: Record<JobStatus, number> = { pending: 0, running: 0, completed: 0, failed: 0, cancelled: 0 };
  for (const job of jobs) counts[job.status] += 1;
  return counts;
}

export interface Filters {
  /** '' = every status. */
  readonly status: JobStatus | '';
  /** '' = every type. */
  readonly type: string;
  /** Matched case-insensitively against the id and the key. */
  readonly text: string;
  /** Created within this many ms before now; 0 = any time. */
  readonly within: number;
}

export function matches(job: WireJob, filters: Filters, now: number): boolean {
  if (filters.within > 0 && job.createdAt < now - filters.within) return false;
  if (filters.status !== '' && job.status !== filters.status) return false;
  if (filters.type !== '' && job.type !== filters.type) return false;
  const text = filters.text.trim().toLowerCase();
  if (text === '') return true;
  return job.id.toLowerCase().includes(text) || (job.key ?? '').toLowerCase().includes(text);
}

/** Newest first (by creation, then id). */
export function byNewest(a: Pick<WireJob, 'createdAt' | 'id'>, b: Pick<WireJob, 'createdAt' | 'id'>): number {
  return b.createdAt - a.createdAt || (a.id < b.id ? 1 : a.id > b.id ? -1 : 0);
}

export function visibleJobs(jobs: Iterable<WireJob>, filters: Filters, now: number): WireJob[] {
  return [...jobs].filter((job) => matches(job, filters, now)).sort(byNewest);
}

/**
 * The job machine state a job is in, as the id of a state node under `job.`: a pending job with a
 * retry time waits in `pending.backoff`, a running one is `running`, final states by name.
 */
export function machineState(job: Pick<WireJob, 'status' | 'nextRetryAt' | 'state'>): string {
  // The server says (older servers do not: then worked out from the status).
  if (job.state) return job.state;
  switch (job.status) {
    case 'pending':
      return job.nextRetryAt === null ? 'pending.queued' : 'pending.backoff';
    case 'running':
      return 'running';
    default:
      return job.status;
  }
}
