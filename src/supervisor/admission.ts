/**
 * The registry side of the supervisor machine's actions: admitting a start (the dedup check and
 * the insert), starting queued jobs as slots free up, interrupting running jobs at shutdown,
 * and settling finished jobs. Each runs within one
 * step of the supervisor's mailbox; whatever it must do to job actors is deferred to `effects`.
 */
import { randomUUID } from 'node:crypto';
import type { JobInput } from '../../machines/job.types.js';
import type { ChangeRouter } from './change-router.js';
import type { Clock } from '../common/clock.js';
import type { Effects } from './effects.js';
import { JobvisorError } from '../common/errors.js';
import { isTerminal, type JobCell } from './job-cell.js';
import type { JobTypes } from './job-types.js';
import type { StartJobRequest } from '../../machines/supervisor.machine.js';
import type { Registry } from './registry.js';
import type { Scheduler } from './scheduler.js';
import type { Telemetry } from './telemetry.js';
import type { JobView, StartResult } from '../common/types.js';

export interface AdmissionDeps {
  readonly clock: Clock;
  readonly types: Pick<JobTypes, 'get'>;
  readonly registry: Pick<Registry, 'holder' | 'recent' | 'add' | 'live' | 'liveCells' | 'settle'>;
  readonly scheduler: Pick<Scheduler, 'enqueue' | 'take' | 'release' | 'remove'>;
  readonly telemetry: Pick<Telemetry, 'counters'>;
  readonly router: Pick<ChangeRouter, 'publish'>;
  readonly effects: Pick<Effects, 'push'>;
  /** A job cell for this fresh input (no restore), its actor not created yet. */
  readonly newCell: (input: JobInput) => JobCell;
  /** Whether an inspection tap watches the job: its actor is made at once, so its creation is seen. */
  readonly watched: (cell: JobCell) => boolean;
  /**
   * A store several nodes share: a new job is only created here (its cell leaves once the
   * creation is durable) and runs on whichever node claims it.
   */
  readonly shared: boolean;
}

/** A start's answer inside the engine: with the cell that creates the job, when it made one. */
export interface Admitted extends StartResult {
  readonly cell?: JobCell;
}

export class Admission {
  readonly #deps: AdmissionDeps;
  #interrupted = 0;

  constructor(deps: AdmissionDeps) {
    this.#deps = deps;
  }

  /** How many running jobs shutdown has interrupted. */
  get interrupted(): number {
    return this.#interrupted;
  }

  /**
   * A retry: the finished job made pending again, if no live job holds its key (`duplicate_key`
   * then). In one step of the mailbox, as a start's check and insert.
   */
  #retry(input: JobInput): Admitted {
    const { registry, effects, router, scheduler, shared } = this.#deps;
    const { key } = input;
    const found = key === null ? undefined : registry.holder(key);
    if (found && !isTerminal(found.status) && found.id !== input.id) {
      const message = `Job ${found.id} (${found.status}) holds key "${key}": job ${input.id} is not retried`;
      throw new JobvisorError('duplicate_key', message, { jobId: found.id });
    }
    if (registry.live(input.id)) throw new JobvisorError('job_not_retryable', `Job ${input.id} is live`);
    const cell = this.#deps.newCell(input);
    registry.add(cell);
    if (shared) cell.onlyCreates = true;
    // The restored job's view needs its actor, which no supervisor action may create (XState warns
    // of the restored machine's `assign`s run inside this step): made in the effect after the step,
    // and the answer is that view (the `retried` change's), whatever the job did since.
    let retried: JobView | undefined;
    effects.push(() => {
      retried = cell.view;
      router.publish(cell, 'retried', cell.snapshot, retried);
      if (!shared) scheduler.enqueue(cell);
    });
    return {
      get job() {
        return retried ?? cell.view;
      },
      deduplicated: false,
      cell,
    };
  }

  /** The dedup check and the insert, in one step of the supervisor's mailbox. */
  admit(request: StartJobRequest): Admitted {
    if (request.retryOf) return this.#retry(request.retryOf);
    const { clock, types, registry, telemetry, effects, router, scheduler } = this.#deps;
    const now = clock.now();
    const type = types.get(request.type)!;
    telemetry.counters.starts++;
    const { key } = request;
    // An occurrence of a schedule whose job is here already (live): that job.
    const same = request.id === undefined ? undefined : registry.live(request.id);
    if (same) return { job: same.view, deduplicated: true };
    if (key !== undefined) {
      // A holder that just finished keeps the key until its JOB_SETTLED is processed: not a holder.
      const found = registry.holder(key);
      const holder = found && !isTerminal(found.status) ? found : undefined;
      const existing = holder?.view ?? registry.recent(key, now);
      if (existing && request.onConflict === 'join') {
        telemetry.counters.deduplicated++;
        return { job: existing, deduplicated: true };
      }
      if (existing && request.onConflict === 'reject') {
        const message = `Job ${existing.id} (${existing.status}) holds key "${key}"`;
        throw new JobvisorError('duplicate_key', message, { jobId: existing.id });
      }
      if (holder) {
        const cancel = {
          type: 'CANCEL',
          reason: 'replaced by a new job with the same key',
          at: now,
        } as const;
        effects.push(() => holder.send(cancel, 'supervisor'));
      }
    }
    const cell = this.#deps.newCell({
      id: request.id ?? randomUUID(),
      type: type.name,
      key: key ?? null,
      input: request.input,
      retry: type.retry,
      heartbeatTimeoutMs: type.heartbeatTimeoutMs,
      timeoutMs: type.timeoutMs,
      createdAt: now,
      priority: request.priority ?? 0,
      runAt: runAtOf(request, now),
    });
    registry.add(cell);
    const { shared } = this.#deps;
    if (shared) cell.onlyCreates = true;
    // The job's actor is made when first needed (its START, a cancel, a tap): a pending job is its cell.
    // A delayed job's actor is made at once here (its timer is armed); shared, the claimer's arms it.
    const scheduled = cell.scheduled;
    effects.push(() => {
      if (this.#deps.watched(cell) || (scheduled && !shared)) cell.start();
      router.publish(cell, 'created', undefined, cell.view);
      // A delayed job joins the queue when its time comes (its `due` change: JOB_QUEUED).
      if (!shared && !scheduled) scheduler.enqueue(cell);
    });
    return { job: cell.view, deduplicated: false, cell };
  }

  /** Starts queued jobs while slots are free (an effect: it sends to job actors). */
  dispatchQueued(): void {
    const { scheduler, clock } = this.#deps;
    for (let cell = scheduler.take(isQueued); cell; cell = scheduler.take(isQueued)) {
      const outcome = cell.send({ type: 'START', at: clock.now() }, 'supervisor');
      if (!outcome.accepted) scheduler.release(cell.type);
    }
  }

  /** Sends the running jobs back to pending at the end of the grace period (an effect). */
  interruptRunning(): void {
    const { registry, clock } = this.#deps;
    const reason = 'interrupted by shutdown';
    for (const cell of [...registry.liveCells()]) {
      if (cell.status !== 'running') continue;
      const outcome = cell.send({ type: 'INTERRUPT', reason, at: clock.now() }, 'supervisor');
      if (outcome.accepted) this.#interrupted++;
    }
  }

  /** A job reached a final state: frees its slot or queue entry and keeps its record. */
  settle(jobId: string, jobType: string, wasRunning: boolean): void {
    const { scheduler, registry, effects, types, clock } = this.#deps;
    if (wasRunning) scheduler.release(jobType);
    else scheduler.remove(jobId);
    const cell = registry.live(jobId);
    if (!cell) return;
    effects.push(() => cell.stop());
    registry.settle(cell, types.get(jobType)?.idempotencyMs ?? 0, clock.now());
  }
}

const isQueued = (cell: JobCell): boolean => cell.isQueued;

/**
 * When a start created at `now` may run: its `runAt`, or `delayMs` after `now`. A time already come
 * is no delay (null): the job is queued at once, as an undelayed one (and copies the initial snapshot).
 */
function runAtOf(request: StartJobRequest, now: number): number | null {
  const at = request.runAt ?? (request.delayMs === undefined ? undefined : now + request.delayMs);
  return at !== undefined && at > now ? at : null;
}
