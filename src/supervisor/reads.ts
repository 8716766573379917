/**
 * The facade's reads that take more than a line: a page of jobs (through the store's index, or the
 * supervisor's creation order), the retained jobs by filter, a job's stored history, the cluster's
 * nodes with what runs there, and the counts of `stats()`.
 */
import { JobvisorError } from '../common/errors.js';
import type {
  JobChange,
  JobPage,
  JobView,
  Lifecycle,
  ListFilter,
  PageQuery,
  Stats,
} from '../common/types.js';
import { parseOrThrow } from '../common/validation.js';
import type { NodeRecord } from '../store/port.js';
import { historySchema, jobIdSchema, listFilterSchema, matchesList, pageQuerySchema } from './filters.js';
import type { Parts } from './wiring.js';

export async function pageOf(parts: Parts, query: PageQuery): Promise<JobPage> {
  const { status, type, key, after, limit } = parseOrThrow(
    pageQuerySchema,
    query,
    'invalid_request',
    'Invalid page query',
  );
  const { durability, views } = parts;
  const statuses = status === undefined ? undefined : typeof status === 'string' ? [status] : status;
  if (durability) return durability.list({ status: statuses, type, key, after, limit });
  return views.page((v) => matchesList(v, { status, type, key, limit }), after, limit);
}

export function listOf(parts: Parts, filter: ListFilter): JobView[] {
  const parsed = parseOrThrow(listFilterSchema, filter, 'invalid_request', 'Invalid list filter');
  const out: JobView[] = [];
  for (const view of parts.views.all()) {
    if (out.length >= parsed.limit) break;
    if (matchesList(view, parsed)) out.push(view);
  }
  return out;
}

export async function historyOf(
  parts: Parts,
  jobId: string,
  options: { since?: number; limit?: number },
): Promise<JobChange[]> {
  parseOrThrow(jobIdSchema, jobId, 'invalid_request', 'Invalid job id');
  const { since, limit } = parseOrThrow(historySchema, options, 'invalid_request', 'Invalid history options');
  const { durability } = parts;
  if (!durability) {
    throw new JobvisorError('invalid_request', 'history() needs a store to read the change log from');
  }
  return durability.history(jobId, since, limit);
}

export async function nodesOf(parts: Parts): Promise<(NodeRecord & { running: string[] })[]> {
  const nodes = (await parts.cluster?.nodes()) ?? [];
  const running = new Map<string, string[]>(nodes.map((n) => [n.id, []]));
  for (const view of parts.views.all()) {
    if (view.status !== 'running' || view.node === null) continue;
    const ids = running.get(view.node);
    if (ids && ids.length < 100) ids.push(view.id);
  }
  return nodes.map((n) => ({ ...n, running: running.get(n.id) ?? [] }));
}

/** The lifecycle the supervisor's actor is in. */
export function lifecycleOf(actor: Parts['actor']): Lifecycle {
  const value = actor.getSnapshot().value;
  return typeof value === 'string' ? value : 'draining';
}

export function statsOf(parts: Parts, lifecycle: Lifecycle): Stats {
  const { views, scheduler, runtime, pool, telemetry, durability, inspection } = parts;
  return {
    lifecycle,
    paused: parts.pauses.state,
    jobs: views.counts,
    live: views.liveCount,
    retained: views.retainedCount,
    queued: scheduler.queued,
    scheduled: views.scheduled,
    handlersInFlight: runtime.inflight,
    handlersAbandoned: runtime.abandoned,
    threadCount: pool.threadCount,
    ...telemetry.counters,
    rejectedByReason: telemetry.rejectedByReason,
    unflushed: durability?.backlog ?? 0,
    store: durability?.health ?? null,
    offset: views.offset,
    handlerDurations: telemetry.handlerDurations,
    inspectors: inspection.taps,
    cluster: parts.cluster?.status ?? null,
  };
}
