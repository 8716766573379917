/**
 * The facade: the only place that wires the machines, the registry and the handler runtime.
 * Starts go through the supervisor actor's mailbox; job events go to each job's own actor.
 */
import { randomUUID } from 'node:crypto';
import { createActor, fromPromise, type Actor } from 'xstate';
import type * as z from 'zod';
import { jobMachine, type JobMachine } from '../machines/job.machine.js';
import type { JobStatus } from '../machines/job.types.js';
import { supervisorMachine, type SupervisorMachine } from '../machines/supervisor.machine.js';
import type { Clock } from './clock.js';
import type { Unsubscribe } from './emitter.js';
import { JobvisorError } from './errors.js';
import { Deque } from './deque.js';
import { Fanout, type ChangeListener } from './fanout.js';
import { ChangeRouter } from './change-router.js';
import { Durability } from './durability.js';
import { resumeInput, toView } from './store/records.js';
import {
  historySchema,
  jobIdSchema,
  listFilterSchema,
  matchesList,
  reasonSchema,
  subscribeFilterSchema,
} from './filters.js';
import { JobCell } from './job-cell.js';
import { Inspection } from './inspection/taps.js';
import type { InspectionSelection } from './inspection/selection.js';
import type { InspectionObserver } from './inspection/types.js';
import { JobTypes } from './job-types.js';
import { describeType } from './type-info.js';
import {
  parseOrThrow,
  resolveOptions,
  shutdownOptionsSchema,
  startRequestSchema,
  type ParsedStartRequest,
  type RegisterOptions,
  type ResolvedOptions,
  type StartRequest,
  type SupervisorOptions,
  type WorkerHandler,
} from './options.js';
import { Registry } from './registry.js';
import { InProcessRuntime } from './runtime/in-process.js';
import { routeHandlers } from './runtime/router.js';
import { WorkerPool, type PoolHost } from './runtime/worker-pool.js';
import { Scheduler } from './scheduler.js';
import { Telemetry } from './telemetry.js';
import type {
  CancelResult,
  Handler,
  JobChange,
  JobTypeInfo,
  JobView,
  Lifecycle,
  ListFilter,
  ShutdownResult,
  StartResult,
  Stats,
  SubscribeFilter,
  SupervisorEventMap,
} from './types.js';
import { JobWaiters } from './waiters.js';

const TERMINAL: ReadonlySet<JobStatus> = new Set(['completed', 'failed', 'cancelled']);

export function createSupervisor(options?: SupervisorOptions): Supervisor {
  return new Supervisor(options);
}

export class Supervisor {
  readonly #options: ResolvedOptions;
  readonly #clock: Clock;
  readonly #types: JobTypes;
  readonly #registry = new Registry();
  readonly #telemetry = new Telemetry();
  readonly #scheduler: Scheduler;
  readonly #fanout: Fanout;
  readonly #waiters: JobWaiters;
  readonly #runtime: InProcessRuntime;
  readonly #pool: WorkerPool;
  readonly #jobMachine: JobMachine;
  readonly #actor: Actor<SupervisorMachine>;
  readonly #inspection: Inspection;
  readonly #stopped: Promise<void>;
  #resolveStopped!: () => void;
  /** The store's side (group commit, log reads, expiry); none without a store. */
  readonly #durability: Durability | undefined;
  /** Settles when recovery is over: resolved, or rejected with the store's error. */
  readonly #ready: Promise<void>;
  #readyResult!: { resolve(): void; reject(error: unknown): void };
  readonly #router: ChangeRouter;
  #interrupted = 0;
  readonly #effects = new Deque<() => void>();
  #draining = false;

  constructor(options?: SupervisorOptions) {
    this.#options = resolveOptions(options);
    this.#clock = this.#options.clock;
    this.#types = new JobTypes(this.#options);
    this.#fanout = new Fanout((error, jobId) => this.#telemetry.subscriberFailed(error, jobId));
    this.#waiters = new JobWaiters(this.#clock);
    this.#scheduler = new Scheduler(
      this.#options.concurrency,
      // A recovered job whose type is not registered (yet) waits: its type has no slot.
      (type) => this.#types.get(type)?.concurrency ?? 0,
    );
    const host = this.#runtimeHost();
    this.#runtime = new InProcessRuntime(host);
    this.#pool = new WorkerPool(host, this.#options.workers);
    const runHandler = routeHandlers(this.#runtime, this.#pool, (type) => host.workerOf(type) !== undefined);
    this.#jobMachine = jobMachine.provide({ actors: { runHandler } });
    this.#stopped = new Promise((resolve) => (this.#resolveStopped = resolve));
    this.#ready = new Promise((resolve, reject) => (this.#readyResult = { resolve, reject }));
    this.#ready.catch(() => undefined); // observed through ready(), start() and the error event
    const { store } = this.#options;
    this.#durability =
      store &&
      new Durability(store, this.#clock, {
        fanout: this.#fanout,
        nextOffset: () => this.#router.offset + 1,
        currentJobs: ({ jobId, type }) =>
          this.list({ type, limit: 1_000_000 }).filter((v) => jobId === undefined || v.id === jobId),
        listenerFailed: (error, jobId) => this.#telemetry.subscriberFailed(error, jobId),
        reportError: (error) => this.#telemetry.error('store', error),
      });
    this.#router = new ChangeRouter({
      registry: this.#registry,
      telemetry: this.#telemetry,
      fanout: this.#fanout,
      waiters: this.#waiters,
      durability: this.#durability,
      notify: (event) => this.#actor.send(event),
    });
    this.#actor = createActor(this.#provideSupervisorMachine(), { clock: this.#clock });
    // Before the supervisor's actor starts, so that the `inspect` option's observer sees it start.
    this.#inspection = new Inspection(
      {
        supervisorActor: () => this.#actor,
        liveJobs: () => this.#registry.liveCells(),
        liveJob: (id) => this.#registry.live(id),
        onRejected: (listener) => this.#telemetry.on('rejected', listener),
        reportError: (error) => this.#telemetry.error('subscriber', error),
      },
      this.#options.inspect,
    );
    this.#actor.subscribe({
      next: () => this.#drainEffects(),
      error: (error) => this.#telemetry.error('internal', error),
    });
    this.#actor.start();
  }

  /** Registers the handler of a job type, with its input schema and per-type options. */
  register<S extends z.ZodType = z.ZodUnknown>(
    type: string,
    handler: Handler<z.output<S>> | WorkerHandler,
    options: RegisterOptions<S> = {},
  ): this {
    this.#types.register(type, handler, options);
    this.#actor.send({ type: 'TYPE_REGISTERED', jobType: type });
    return this;
  }

  /** The registered job types, in registration order. */
  types(): JobTypeInfo[] {
    return this.#types.list().map(describeType);
  }

  /** Resolves once the store is open and its jobs are resumed; rejects with the store's error. */
  ready(): Promise<void> {
    return this.#ready;
  }

  /**
   * Starts a job, or returns the pending or running job that holds the same key. With a store,
   * it answers only once the job is durable.
   */
  async start(request: StartRequest): Promise<StartResult> {
    const parsed = parseOrThrow(startRequestSchema, request, 'invalid_request', 'Invalid start request');
    const { input } = this.#types.resolve(parsed.type, parsed.input);
    await this.#ready;
    if (this.lifecycle === 'stopped')
      throw new JobvisorError('shutting_down', 'The supervisor has shut down');
    const result = await new Promise<StartResult>((resolve, reject) => {
      this.#actor.send({
        type: 'START_JOB',
        request: { ...parsed, input },
        reply: (answer) => (answer instanceof JobvisorError ? reject(answer) : resolve(answer)),
      });
    });
    await this.#durability?.flushed();
    return result;
  }

  get(id: string): JobView | undefined {
    if (typeof id !== 'string') return undefined;
    this.#prune();
    return this.#registry.view(id);
  }

  /** Live jobs first (oldest first), then finished ones in the order they finished. */
  list(filter: ListFilter = {}): JobView[] {
    const parsed = parseOrThrow(listFilterSchema, filter, 'invalid_request', 'Invalid list filter');
    this.#prune();
    const out: JobView[] = [];
    for (const view of this.#registry.views()) {
      if (out.length >= parsed.limit) break;
      if (matchesList(view, parsed)) out.push(view);
    }
    return out;
  }

  /** Cancels a pending or running job; a finished job is returned unchanged with `cancelled: false`. */
  async cancel(id: string, reason?: string): Promise<CancelResult> {
    parseOrThrow(jobIdSchema, id, 'invalid_request', 'Invalid job id');
    if (reason !== undefined) parseOrThrow(reasonSchema, reason, 'invalid_request', 'Invalid cancel reason');
    this.#prune();
    const cell = this.#registry.live(id);
    if (!cell) {
      const view = this.#registry.view(id);
      if (!view) throw new JobvisorError('job_not_found', `No job has id "${id}"`);
      return { job: view, cancelled: false };
    }
    const outcome = cell.send({ type: 'CANCEL', reason, at: this.#clock.now() }, 'api');
    // Sent from inside another step of this job (a subscriber cancelling): it runs when that step ends.
    if (outcome.accepted && cell.status !== 'cancelled') await Promise.resolve();
    await this.#durability?.flushed();
    return {
      job: this.#registry.view(id) ?? cell.view,
      cancelled: outcome.accepted && cell.status === 'cancelled',
    };
  }

  /** Calls `listener` with every change (or those of one job or type), in `seq` order per job. */
  subscribe(listener: ChangeListener, filter: SubscribeFilter = {}): Unsubscribe {
    if (typeof listener !== 'function')
      throw new JobvisorError('invalid_request', 'The listener must be a function');
    const parsed = parseOrThrow(subscribeFilterSchema, filter, 'invalid_request', 'Invalid subscribe filter');
    const { since, onResync, ...which } = parsed;
    if (since === undefined) return this.#fanout.subscribe(listener, which);
    if (!this.#durability) {
      throw new JobvisorError('invalid_request', 'subscribe({ since }) needs a store to replay from');
    }
    return this.#durability.follow({ listener, since, ...which, onResync });
  }

  /** The offset of the latest change (0 before the first): what `subscribe({ since })` resumes from. */
  get offset(): number {
    return this.#router.offset;
  }

  /**
   * The stored change history of one job (needs a store): its changes with `offset > since`,
   * oldest first, at most `limit`. Changes not yet written are flushed first.
   */
  async history(jobId: string, options: { since?: number; limit?: number } = {}): Promise<JobChange[]> {
    parseOrThrow(jobIdSchema, jobId, 'invalid_request', 'Invalid job id');
    const { since, limit } = parseOrThrow(
      historySchema,
      options,
      'invalid_request',
      'Invalid history options',
    );
    if (!this.#durability) {
      throw new JobvisorError('invalid_request', 'history() needs a store to read the change log from');
    }
    return this.#durability.history(jobId, since, limit);
  }

  /** Resolves with the job once it is completed, failed or cancelled. */
  async waitFor(id: string, options: { timeoutMs?: number; signal?: AbortSignal } = {}): Promise<JobView> {
    this.#prune();
    const view = this.#registry.view(id);
    if (!view) throw new JobvisorError('job_not_found', `No job has id "${id}"`);
    if (TERMINAL.has(view.status)) return view;
    return this.#waiters.wait(id, options);
  }

  on<K extends keyof SupervisorEventMap>(
    name: K,
    listener: (event: SupervisorEventMap[K]) => void,
  ): Unsubscribe {
    return this.#telemetry.on(name, listener);
  }

  /**
   * Streams XState's inspection events (`@xstate.actor`, `.event`, `.snapshot`, …) of the
   * supervisor's actor and of the selected jobs' actors, and `@jobvisor.rejected` events, to
   * `observer` until the returned function is called. Nothing is inspected while no observer is.
   */
  inspect(observer: InspectionObserver, selection?: InspectionSelection): Unsubscribe {
    return this.#inspection.attach(observer, selection, 'invalid_request');
  }

  get lifecycle(): Lifecycle {
    const value = this.#actor.getSnapshot().value;
    return typeof value === 'string' ? value : 'draining';
  }

  stats(): Stats {
    this.#prune();
    return {
      lifecycle: this.lifecycle,
      jobs: this.#registry.counts,
      live: this.#registry.liveCount,
      retained: this.#registry.retainedCount,
      queued: this.#scheduler.queued,
      handlersInFlight: this.#runtime.inflight,
      handlersAbandoned: this.#runtime.abandoned,
      threadCount: this.#pool.threadCount,
      ...this.#telemetry.counters,
      rejectedByReason: this.#telemetry.rejectedByReason,
      unflushed: this.#durability?.backlog ?? 0,
      offset: this.#router.offset,
      handlerDurations: this.#telemetry.handlerDurations,
      inspectors: this.#inspection.taps,
    };
  }

  /**
   * Stops accepting starts, lets running handlers finish for `graceMs`, then interrupts the jobs
   * still running (back to pending, their signals aborted) and resolves once no handler promise is
   * left. Handlers must honour their signal: a handler that never settles keeps shutdown waiting.
   */
  async shutdown(options: { graceMs?: number } = {}): Promise<ShutdownResult> {
    const { graceMs } = parseOrThrow(
      shutdownOptionsSchema,
      options,
      'invalid_options',
      'Invalid shutdown options',
    );
    this.#actor.send({ type: 'SHUTDOWN', graceMs });
    await this.#stopped;
    return { interrupted: this.#interrupted, pending: this.#registry.counts.pending };
  }

  /**
   * The supervisor machine with its actions. An action changes the registry within the step (so
   * the dedup check and the insert are one step); whatever it must do to job actors is deferred
   * and run right after the step, when the supervisor's observer drains the effects.
   */
  #provideSupervisorMachine() {
    return supervisorMachine.provide({
      actors: {
        recover: fromPromise(() => this.#recover()),
      },
      actions: {
        markReady: () => this.#readyResult.resolve(),
        recordRecoveryError: ({ event }) => {
          const error = (event as { error?: unknown }).error;
          this.#telemetry.error('store', error);
          this.#readyResult.reject(error);
        },
        admitJob: ({ event }) => {
          if (event.type === 'START_JOB') event.reply(this.#guarded(() => this.#admit(event.request)));
        },
        rejectStart: ({ event }) => {
          if (event.type === 'START_JOB') event.reply(new JobvisorError('shutting_down'));
        },
        enqueueJob: ({ event }) => {
          const cell = event.type === 'JOB_QUEUED' ? this.#registry.live(event.jobId) : undefined;
          if (cell?.isQueued) this.#scheduler.enqueue(cell);
        },
        releaseSlot: ({ event }) => {
          if (event.type === 'JOB_RELEASED') this.#scheduler.release(event.jobType);
        },
        settleJob: ({ event }) => {
          if (event.type === 'JOB_SETTLED') this.#settle(event.jobId, event.jobType, event.wasRunning);
        },
        dispatchQueued: () => this.#effects.push(() => this.#dispatchQueued()),
        interruptRunning: () => this.#effects.push(() => this.#interruptRunning()),
        stopAll: () =>
          this.#effects.push(() => {
            for (const cell of this.#registry.liveCells()) cell.stop();
            const stopped = () => this.#resolveStopped();
            const threads = this.#pool
              .close()
              .catch((error: unknown) => this.#telemetry.error('internal', error));
            if (!this.#durability) return void threads.then(stopped);
            void Promise.all([threads, this.#durability.close()]).then(stopped, (error: unknown) => {
              this.#telemetry.error('store', error);
              stopped();
            });
          }),
      },
      guards: {
        hasStore: () => this.#durability !== undefined,
        isDrained: () =>
          this.#scheduler.running === 0 && this.#runtime.inflight === 0 && this.#pool.inflight === 0,
      },
    });
  }

  /** Runs the deferred effects in order; effects that send events may defer more. */
  #drainEffects(): void {
    if (this.#draining) return;
    this.#draining = true;
    try {
      for (let effect = this.#effects.shift(); effect; effect = this.#effects.shift()) {
        try {
          effect();
        } catch (error) {
          this.#telemetry.error('internal', error);
        }
      }
    } finally {
      this.#draining = false;
    }
  }

  /** The dedup check and the insert, in one step of the supervisor's mailbox. */
  #admit(request: ParsedStartRequest): StartResult {
    const now = this.#clock.now();
    const type = this.#types.get(request.type)!;
    this.#telemetry.counters.starts++;
    const { key } = request;
    if (key !== undefined) {
      // A holder that just finished keeps the key until its JOB_SETTLED is processed: not a holder.
      const found = this.#registry.holder(key);
      const holder = found && !TERMINAL.has(found.status) ? found : undefined;
      const existing = holder?.view ?? this.#registry.recent(key, now);
      if (existing && request.onConflict === 'join') {
        this.#telemetry.counters.deduplicated++;
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
        this.#effects.push(() => holder.send(cancel, 'supervisor'));
      }
    }
    const input = {
      id: randomUUID(),
      type: type.name,
      key: key ?? null,
      input: request.input,
      retry: type.retry,
      heartbeatTimeoutMs: type.heartbeatTimeoutMs,
      timeoutMs: type.timeoutMs,
      createdAt: now,
    };
    const { hooks } = this.#router;
    const cell = new JobCell(this.#jobMachine, input, this.#clock, hooks, this.#inspection.jobActorCreated);
    this.#registry.add(cell);
    this.#effects.push(() => {
      cell.start();
      this.#router.publish(cell, 'created');
      this.#scheduler.enqueue(cell);
    });
    return { job: cell.view, deduplicated: false };
  }

  #dispatchQueued(): void {
    for (let cell = this.#scheduler.take(isQueued); cell; cell = this.#scheduler.take(isQueued)) {
      const outcome = cell.send({ type: 'START', at: this.#clock.now() }, 'supervisor');
      if (!outcome.accepted) this.#scheduler.release(cell.type);
    }
  }

  #interruptRunning(): void {
    const reason = 'interrupted by shutdown';
    for (const cell of [...this.#registry.liveCells()]) {
      if (cell.status !== 'running') continue;
      const outcome = cell.send({ type: 'INTERRUPT', reason, at: this.#clock.now() }, 'supervisor');
      if (outcome.accepted) this.#interrupted++;
    }
  }

  #settle(jobId: string, jobType: string, wasRunning: boolean): void {
    if (wasRunning) this.#scheduler.release(jobType);
    else this.#scheduler.remove(jobId);
    const cell = this.#registry.live(jobId);
    if (!cell) return;
    this.#effects.push(() => cell.stop());
    this.#registry.settle(cell, this.#types.get(jobType)?.idempotencyMs ?? 0, this.#clock.now());
    this.#prune();
  }

  #prune(): void {
    const now = this.#clock.now();
    const { maxAgeMs, maxCount } = this.#options.retention;
    const removed = this.#registry.prune(this.#options.retention, now);
    if (removed > 0) this.#durability?.expire(now - maxAgeMs, maxCount);
  }

  /**
   * Opens the store and resumes its jobs: finished ones become records again, pending ones are
   * queued in their original order, running ones fail their interrupted attempt (and retry if
   * attempts remain). Keys of live jobs are held again; stored retry deadlines are re-armed.
   */
  async #recover(): Promise<void> {
    if (!this.#durability) return;
    const snapshot = await this.#durability.open(this.#options.retention.maxCount);
    const now = this.#clock.now();
    this.#router.offset = snapshot.lastOffset;
    for (const record of snapshot.recent) {
      const idempotencyMs = this.#types.get(record.type)?.idempotencyMs ?? this.#options.idempotencyMs;
      this.#registry.restoreFinished(toView(record), (record.finishedAt ?? now) + idempotencyMs);
    }
    for (const record of snapshot.active) {
      const cell = new JobCell(
        this.#jobMachine,
        resumeInput(record, now),
        this.#clock,
        this.#router.hooks,
        this.#inspection.jobActorCreated,
      );
      this.#registry.add(cell);
      cell.start();
      if (cell.isQueued) this.#scheduler.enqueue(cell);
    }
    await this.#durability.flushed();
  }

  #runtimeHost(): PoolHost {
    return {
      handlerOf: (type) => this.#types.get(type)?.handler,
      workerOf: (type) => this.#types.get(type)?.worker,
      keyOf: (jobId) => this.#registry.live(jobId)?.key ?? null,
      dispatch: (jobId, partial) => this.#router.dispatch(jobId, { ...partial, at: this.#clock.now() }),
      settled: () => this.#actor.send({ type: 'HANDLER_SETTLED' }),
      reportError: (jobId, error) => this.#telemetry.error('handler', error, jobId),
      handlerFinished: (_type, ms) => this.#telemetry.handlerFinished(ms),
    };
  }

  /** Runs a step inside an action: an error becomes a report and a coded answer, never an actor crash. */
  #guarded<T>(step: () => T): T | JobvisorError {
    try {
      return step();
    } catch (error) {
      if (error instanceof JobvisorError) return error;
      this.#telemetry.error('internal', error);
      return new JobvisorError('internal_error', error instanceof Error ? error.message : String(error));
    }
  }
}

const isQueued = (cell: JobCell): boolean => cell.isQueued;
