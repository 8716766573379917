/**
 * The implementations of the supervisor machine's effects: its registry actions and `recover`
 * actor, provided with `.provide()` (its guards and delays are the machine's own). An action
 * changes the registry within the step (so the dedup check and the insert are one step); whatever
 * it must do to job actors is deferred and run right after the step, when the supervisor's
 * observer drains the effects.
 */
import type { JobDurability } from './job-cell.js';
import { fromPromise } from 'xstate';
import { supervisorMachine, type SupervisorMachine } from '../../machines/supervisor.machine.js';
import type { Admission, Admitted } from './admission.js';
import type { Effects } from './effects.js';
import { JobvisorError } from '../common/errors.js';
import type { Registry } from './registry.js';
import type { WorkerPool } from '../runtime/worker-pool.js';
import type { Replies } from './replies.js';
import type { Retention } from './retention.js';
import type { Scheduler } from './scheduler.js';
import type { Telemetry } from './telemetry.js';

export interface SupervisorActionsDeps {
  readonly admission: Pick<Admission, 'admit' | 'dispatchQueued' | 'interruptRunning' | 'settle'>;
  readonly effects: Pick<Effects, 'push'>;
  readonly registry: Pick<Registry, 'live' | 'liveCells'>;
  readonly scheduler: Pick<Scheduler, 'enqueue' | 'release'>;
  readonly pool: Pick<WorkerPool, 'close'>;
  readonly retention: Pick<Retention, 'close'>;
  /** The answers owed to `start` callers, by the request id of their START_JOB. */
  readonly replies: Replies<Admitted>;
  readonly telemetry: Pick<Telemetry, 'error'>;
  /** None without a store. */
  readonly durability: Pick<JobDurability, 'close'> | undefined;
  /** Opens the store and resumes its jobs. */
  readonly recover: () => Promise<void>;
  /** Before the store closes, once the last handler settled (a cluster node leaves). */
  readonly beforeClose: () => Promise<void>;
  /** Settles `ready()`. */
  readonly ready: { resolve(): void; reject(error: unknown): void };
  /** Resolves `shutdown()`, once the job actors are stopped and the threads and store closed. */
  readonly stopped: () => void;
}

/** The supervisor machine with its actions. */
export function provideSupervisorMachine(deps: SupervisorActionsDeps): SupervisorMachine {
  const { admission, effects, registry, scheduler, telemetry } = deps;
  return supervisorMachine.provide({
    actors: {
      recover: fromPromise(() => deps.recover()),
    },
    actions: {
      markReady: () => deps.ready.resolve(),
      recordRecoveryError: ({ event }) => {
        const error = (event as { error?: unknown }).error;
        telemetry.error('store', error);
        deps.ready.reject(error);
      },
      admitJob: ({ event }) => {
        if (event.type !== 'START_JOB') return;
        const answer = guarded(telemetry, () => admission.admit(event.request));
        if (answer instanceof JobvisorError) deps.replies.reject(event.requestId, answer);
        else deps.replies.resolve(event.requestId, answer);
      },
      rejectStart: ({ event }) => {
        if (event.type === 'START_JOB')
          deps.replies.reject(event.requestId, new JobvisorError('shutting_down'));
      },
      enqueueJob: ({ event }) => {
        const cell = event.type === 'JOB_QUEUED' ? registry.live(event.jobId) : undefined;
        if (cell?.isQueued) scheduler.enqueue(cell);
      },
      releaseSlot: ({ event }) => {
        if (event.type === 'JOB_RELEASED') scheduler.release(event.jobType);
      },
      settleJob: ({ event }) => {
        if (event.type === 'JOB_SETTLED') admission.settle(event.jobId, event.jobType, event.wasRunning);
      },
      dispatchQueued: () => effects.push(() => admission.dispatchQueued()),
      interruptRunning: () => effects.push(() => admission.interruptRunning()),
      stopAll: () => effects.push(() => stopAll(deps)),
    },
  });
}

/** Stops the job actors, then closes the threads and the store; their failures are reported. */
function stopAll(deps: SupervisorActionsDeps): void {
  const { registry, pool, durability, telemetry, stopped, retention } = deps;
  retention.close();
  for (const cell of registry.liveCells()) cell.stop();
  const threads = pool.close().catch((error: unknown) => telemetry.error('internal', error));
  if (!durability) return void threads.then(stopped);
  const closing = deps.beforeClose().then(() => durability.close());
  void Promise.all([threads, closing]).then(stopped, (error: unknown) => {
    telemetry.error('store', error);
    stopped();
  });
}

/** Runs a step inside an action: an error becomes a report and a coded answer, never an actor crash. */
function guarded<T>(telemetry: Pick<Telemetry, 'error'>, step: () => T): T | JobvisorError {
  try {
    return step();
  } catch (error) {
    if (error instanceof JobvisorError) return error;
    telemetry.error('internal', error);
    return new JobvisorError('internal_error', error instanceof Error ? error.message : String(error));
  }
}
