/**
 * The engine's side of a node in a cluster (cluster/node.ts): the jobs it owns are cells here —
 * claimed ones queue for a local slot, taken-over ones resume as interrupted — and a job whose
 * write the store fenced (another node owns it now, or this node's lease lapsed) is abandoned:
 * its actor stops, its handler is aborted, nothing more is written, its slot is free.
 */
import type { JobInput } from '../../machines/job.types.js';
import type { ClusterHost } from '../cluster/node.js';
import type { Clock } from '../common/clock.js';
import type { SupervisorEvent } from '../../machines/supervisor.machine.js';
import { resumeInput } from '../durability/records.js';
import type { JobRecord } from '../store/port.js';
import type { JobCell } from './job-cell.js';
import type { JobTypes } from './job-types.js';
import type { Registry } from './registry.js';
import type { Scheduler } from './scheduler.js';
import type { Telemetry } from './telemetry.js';

export interface ClusterHostDeps {
  readonly node: { readonly id: string; readonly label: string };
  readonly concurrency: number;
  readonly clock: Clock;
  readonly types: Pick<JobTypes, 'list'>;
  readonly registry: Pick<Registry, 'live' | 'liveCells' | 'add' | 'drop'>;
  readonly scheduler: Pick<Scheduler, 'running' | 'queued' | 'remove' | 'runningOf'>;
  readonly telemetry: Pick<Telemetry, 'error'>;
  readonly newCell: (input: JobInput, lastNode?: string | null) => JobCell;
  /** Sends to the supervisor's mailbox. */
  readonly notify: (event: SupervisorEvent) => void;
  readonly inFlight: () => number;
  readonly accepting: () => boolean;
  readonly catchUp: () => void;
  readonly reachable: () => void;
  /** Reads the store's pauses and schedules again (another node may have changed them). */
  readonly refreshShared: () => Promise<void>;
  /** Drops the job's changes not yet written. */
  readonly discard: (jobId: string) => void;
}

/** Abandons the job here (see the file comment); the slot or queue entry it held is freed. */
export function abandon(
  deps: Pick<ClusterHostDeps, 'registry' | 'scheduler' | 'notify' | 'inFlight'>,
  cell: JobCell,
): void {
  const owned = deps.registry.live(cell.id) === cell;
  const wasRunning = cell.status === 'running';
  cell.abandon();
  if (!owned) return;
  deps.registry.drop(cell);
  if (wasRunning) {
    deps.notify({ type: 'JOB_RELEASED', jobId: cell.id, jobType: cell.type, handlers: deps.inFlight() });
  } else deps.scheduler.remove(cell.id);
}

export function clusterHost(deps: ClusterHostDeps): ClusterHost {
  const { registry, scheduler, clock } = deps;
  return {
    node: deps.node,
    concurrency: deps.concurrency,
    freeSlots: () => deps.concurrency - scheduler.running - scheduler.queued,
    typeLimits: () => new Map(deps.types.list().map((t) => [t.name, t.concurrency])),
    runningOf: (type) => scheduler.runningOf(type),
    adopt: (records: readonly JobRecord[], how, cancels) => {
      const now = clock.now();
      for (const record of records) {
        const existing = registry.live(record.id);
        if (existing && !existing.onlyCreates) continue;
        if (existing) {
          registry.drop(existing); // the cell that created it: this one runs it
          existing.stop();
        }
        const cancelling = cancels?.has(record.id) ?? false;
        const input = resumeInput(record, now, { due: how === 'claimed', cancelling });
        const cell = deps.newCell(input, record.node ?? null);
        registry.add(cell);
        cell.start();
        if (cancelling) {
          cell.send({ type: 'CANCEL', reason: cancels!.get(record.id) ?? undefined, at: now }, 'api');
          continue;
        }
        if (cell.isQueued) deps.notify({ type: 'JOB_QUEUED', jobId: cell.id });
      }
    },
    isLocal: (jobId) => {
      const cell = registry.live(jobId);
      return cell !== undefined && !cell.onlyCreates;
    },
    cancel: (jobId, reason) => {
      const cell = registry.live(jobId);
      if (!cell || cell.onlyCreates) return;
      cell.send({ type: 'CANCEL', reason: reason ?? undefined, at: clock.now() }, 'api');
    },
    dropQueued: () => {
      for (const cell of [...registry.liveCells()]) {
        if (cell.onlyCreates || cell.status !== 'pending') continue;
        registry.drop(cell);
        scheduler.remove(cell.id);
        cell.stop();
      }
    },
    abandonAll: () => {
      let count = 0;
      for (const cell of [...registry.liveCells()]) {
        if (cell.onlyCreates) continue;
        abandon(deps, cell);
        count++;
      }
      if (count > 0) {
        deps.telemetry.error(
          'store',
          new Error(
            `the lease may have lapsed: ${count} attempt(s) abandoned here, other nodes take them over`,
          ),
        );
      }
      return count;
    },
    catchUp: deps.catchUp,
    reachable: deps.reachable,
    refreshShared: deps.refreshShared,
    active: deps.accepting,
    reportError: (error) => deps.telemetry.error('store', error),
  };
}
