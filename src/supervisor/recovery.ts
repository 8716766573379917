/**
 * Recovery at start-up, with a store: opening it, restoring the records of finished jobs, and
 * resuming the pending and running ones as live jobs. Runs as the supervisor machine's
 * `recover` actor, before any start is accepted.
 */
import type { JobInput } from '../../machines/job.types.js';
import type { Clock } from '../common/clock.js';
import type { JobCell, JobDurability } from './job-cell.js';
import type { JobTypes } from './job-types.js';
import type { Registry } from './registry.js';
import type { Scheduler } from './scheduler.js';
import { resumeInput, toView } from '../durability/records.js';
import type { JobViews } from './views.js';
import type { Retention } from './retention.js';

export interface RecoveryDeps {
  /** None without a store: nothing to recover. */
  readonly durability: Pick<JobDurability, 'open' | 'flushed'> | undefined;
  readonly clock: Clock;
  readonly types: Pick<JobTypes, 'get'>;
  readonly registry: Pick<Registry, 'restoreRecent' | 'add'>;
  /** What readers see: the store's jobs as they are, at the store's last offset. */
  readonly views: Pick<JobViews, 'offset' | 'apply' | 'restoreFinished'>;
  readonly scheduler: Pick<Scheduler, 'enqueue'>;
  /** Forgets the restored finished jobs that retention no longer keeps. */
  readonly retention: Pick<Retention, 'finished'>;
  /** How many finished records to restore (the retention's `maxCount`). */
  readonly maxCount: number;
  /** The idempotency window of a finished job whose type is not registered. */
  readonly idempotencyMs: number;
  /** A job cell for this input, its actor not created yet. */
  readonly newCell: (input: JobInput, lastNode?: string | null) => JobCell;
  /**
   * A store several nodes share: the live jobs are shown but not resumed here — pending ones are
   * claimed, and those of a node that died are taken over once its lease ends.
   */
  readonly shared: boolean;
}

/**
 * Opens the store and resumes its jobs: finished ones become records again, pending ones are
 * queued in their original order, running ones fail their interrupted attempt (and retry if
 * attempts remain). Keys of live jobs are held again; stored retry deadlines are re-armed.
 */
export async function recover(deps: RecoveryDeps): Promise<void> {
  const { durability, clock, types, registry, views, scheduler, retention } = deps;
  if (!durability) return;
  const snapshot = await durability.open(deps.maxCount);
  const now = clock.now();
  views.offset = snapshot.lastOffset;
  for (const record of snapshot.recent) {
    const idempotencyMs = types.get(record.type)?.idempotencyMs ?? deps.idempotencyMs;
    const view = toView(record);
    views.restoreFinished(view);
    registry.restoreRecent(view, (record.finishedAt ?? now) + idempotencyMs);
  }
  retention.finished();
  for (const record of snapshot.active) {
    views.apply(toView(record));
    if (deps.shared) continue;
    const cell = deps.newCell(resumeInput(record, now), record.node ?? null);
    registry.add(cell);
    cell.start();
    if (cell.isQueued) scheduler.enqueue(cell);
  }
  await durability.flushed();
}
