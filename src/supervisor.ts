/**
 * The facade: the only place that wires the machines, the registry and the handler runtime.
 * Starts go through the supervisor actor's mailbox; job events go to each job's own actor.
 * The work is done by the role objects wired here: `Admission` (the registry side of the
 * supervisor machine's actions), `Effects` (what those actions defer to after the step),
 * `recover` (start-up with a store) and `provideSupervisorMachine` (the machine's
 * implementations), over the registry, scheduler, change router and handler runtimes.
 */
import { createActor, type Actor } from 'xstate';
import type * as z from 'zod';
import { jobMachine, type JobMachine } from '../machines/job.machine.js';
import type { JobInput } from '../machines/job.types.js';
import type { SupervisorMachine } from '../machines/supervisor.machine.js';
import { Admission } from './admission.js';
import { Announcer } from './announcer.js';
import type { Clock } from './clock.js';
import type { Unsubscribe } from './emitter.js';
import { Effects } from './effects.js';
import { JobvisorError } from './errors.js';
import { Fanout, type ChangeListener } from './fanout.js';
import { ChangeRouter } from './change-router.js';
import { Durability } from './durability.js';
import { checkHandlerEvent } from './handler-events.js';
import {
  historySchema,
  jobIdSchema,
  listFilterSchema,
  matchesList,
  reasonSchema,
  subscribeFilterSchema,
} from './filters.js';
import { isTerminal, JobCell } from './job-cell.js';
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
  type RegisterOptions,
  type ResolvedOptions,
  type StartRequest,
  type SupervisorOptions,
  type WorkerHandler,
} from './options.js';
import { recover } from './recovery.js';
import { Registry } from './registry.js';
import { InProcessRuntime } from './runtime/in-process.js';
import { routeHandlers } from './runtime/router.js';
import { WorkerPool, type PoolHost } from './runtime/worker-pool.js';
import { Scheduler } from './scheduler.js';
import { provideSupervisorMachine } from './supervisor-actions.js';
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
import { JobViews } from './views.js';
import { JobWaiters } from './waiters.js';

export function createSupervisor(options?: SupervisorOptions): Supervisor {
  return new Supervisor(options);
}

export class Supervisor {
  readonly #options: ResolvedOptions;
  readonly #clock: Clock;
  readonly #types: JobTypes;
  /** The engine's live jobs and keys; it runs ahead of the store. */
  readonly #registry = new Registry();
  /** What readers see: durable changes only. */
  readonly #views = new JobViews();
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
  readonly #effects: Effects;
  readonly #admission: Admission;

  constructor(options?: SupervisorOptions) {
    this.#options = resolveOptions(options);
    this.#clock = this.#options.clock;
    this.#types = new JobTypes(this.#options);
    this.#fanout = new Fanout((error, jobId) => this.#telemetry.subscriberFailed(error, jobId));
    this.#waiters = new JobWaiters(this.#clock);
    const announcer = new Announcer(this.#views, this.#fanout, this.#waiters);
    this.#scheduler = new Scheduler(
      this.#options.concurrency,
      // A recovered job whose type is not registered (yet) waits: its type has no slot.
      (type) => this.#types.get(type)?.concurrency ?? 0,
    );
    const host = this.#runtimeHost();
    this.#runtime = new InProcessRuntime(host);
    this.#pool = new WorkerPool(host, this.#options.workers);
    const runHandler = routeHandlers(
      this.#runtime,
      this.#pool,
      (type) => host.workerOf(type) !== undefined,
      (input) => this.#durability?.started(() => this.#registry.live(input.jobId), input.attempt),
    );
    this.#jobMachine = jobMachine.provide({ actors: { runHandler } });
    this.#stopped = new Promise((resolve) => (this.#resolveStopped = resolve));
    this.#ready = new Promise((resolve, reject) => (this.#readyResult = { resolve, reject }));
    this.#ready.catch(() => undefined); // observed through ready(), start() and the error event
    const { store, storeTimeoutMs } = this.#options;
    this.#durability =
      store &&
      new Durability(
        store,
        this.#clock,
        {
          fanout: this.#fanout,
          offset: () => this.#views.offset,
          tell: (offset, kind, job) => announcer.tell(offset, kind, job),
          refused: (cell, error) => {
            if (!cell.refuse(error, this.#views.get(cell.id))) this.#telemetry.error('store', error, cell.id);
            this.#registry.forget(cell.view); // a completion the store refused never deduplicates
          },
          currentJobs: ({ jobId, type }) =>
            this.list({ type, limit: 1_000_000 }).filter((v) => jobId === undefined || v.id === jobId),
          listenerFailed: (error, jobId) => this.#telemetry.subscriberFailed(error, jobId),
          reportError: (error) => this.#telemetry.error('store', error),
        },
        storeTimeoutMs,
      );
    this.#router = new ChangeRouter({
      registry: this.#registry,
      views: this.#views,
      telemetry: this.#telemetry,
      announcer,
      durability: this.#durability,
      notify: (event) => this.#actor.send(event),
    });
    this.#effects = new Effects((error) => this.#telemetry.error('internal', error));
    // What the role objects share; the cell factory reads the inspection taps once they exist.
    const shared = {
      clock: this.#clock,
      types: this.#types,
      registry: this.#registry,
      views: this.#views,
      scheduler: this.#scheduler,
      telemetry: this.#telemetry,
      router: this.#router,
      durability: this.#durability,
      effects: this.#effects,
      newCell: (input: JobInput) =>
        new JobCell(
          this.#jobMachine,
          input,
          this.#clock,
          this.#router.hooks,
          this.#inspection.jobActorCreated,
        ),
    };
    const { retention, idempotencyMs } = this.#options;
    this.#admission = new Admission({ ...shared, retention });
    const machine = provideSupervisorMachine({
      ...shared,
      admission: this.#admission,
      runtime: this.#runtime,
      pool: this.#pool,
      recover: () => recover({ ...shared, maxCount: retention.maxCount, idempotencyMs }),
      ready: this.#readyResult,
      stopped: () => this.#resolveStopped(),
    });
    this.#actor = createActor(machine, { clock: this.#clock });
    // Before the supervisor's actor starts, so that the `inspect` option's observer sees it start.
    this.#inspection = new Inspection(
      {
        supervisorActor: () => this.#actor,
        liveJobs: () => this.#registry.liveCells(),
        liveJob: (id) => this.#registry.live(id),
        onRejected: (listener) => this.#telemetry.on('rejected', listener),
        reportError: (error) => this.#telemetry.error('inspector', error),
      },
      this.#options.inspect,
    );
    this.#actor.subscribe({
      next: () => this.#effects.drain(),
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
   * it answers only once the job is durable (or `store_unavailable` after `storeTimeoutMs`).
   */
  async start(request: StartRequest): Promise<StartResult> {
    const parsed = parseOrThrow(startRequestSchema, request, 'invalid_request', 'Invalid start request');
    const { input } = this.#types.resolve(parsed.type, parsed.input);
    await this.#ready;
    if (this.lifecycle === 'stopped')
      throw new JobvisorError('shutting_down', 'The supervisor has shut down');
    this.#durability?.assertWritable();
    const result = await new Promise<StartResult>((resolve, reject) => {
      this.#actor.send({
        type: 'START_JOB',
        request: { ...parsed, input },
        reply: (answer) => (answer instanceof JobvisorError ? reject(answer) : resolve(answer)),
      });
    });
    if (this.#durability) {
      await this.#durability.created(result.deduplicated ? undefined : this.#registry.live(result.job.id));
      if (!this.#views.get(result.job.id)) {
        throw new JobvisorError('store_unavailable', `Job ${result.job.id} was not stored`);
      }
    }
    return result;
  }

  /** The job as readers see it: its latest durable state. */
  get(id: string): JobView | undefined {
    if (typeof id !== 'string') return undefined;
    this.#admission.prune();
    return this.#views.get(id);
  }

  /** Live jobs first (oldest first), then finished ones in the order they finished. */
  list(filter: ListFilter = {}): JobView[] {
    const parsed = parseOrThrow(listFilterSchema, filter, 'invalid_request', 'Invalid list filter');
    this.#admission.prune();
    const out: JobView[] = [];
    for (const view of this.#views.all()) {
      if (out.length >= parsed.limit) break;
      if (matchesList(view, parsed)) out.push(view);
    }
    return out;
  }

  /**
   * Cancels a pending or running job; a finished job is returned unchanged with `cancelled: false`.
   * With a store, it answers once the cancellation is durable.
   */
  async cancel(id: string, reason?: string): Promise<CancelResult> {
    parseOrThrow(jobIdSchema, id, 'invalid_request', 'Invalid job id');
    if (reason !== undefined) parseOrThrow(reasonSchema, reason, 'invalid_request', 'Invalid cancel reason');
    this.#admission.prune();
    const cell = this.#registry.live(id);
    if (!cell) {
      await this.#durability?.flushed(); // a job that just finished: answer with its durable end
      const view = this.#views.get(id);
      if (!view) throw new JobvisorError('job_not_found', `No job has id "${id}"`);
      return { job: view, cancelled: false };
    }
    this.#durability?.assertWritable();
    const outcome = cell.send({ type: 'CANCEL', reason, at: this.#clock.now() }, 'api');
    // Sent from inside another step of this job (a subscriber cancelling): it runs when that step ends.
    if (outcome.accepted && cell.status !== 'cancelled') await Promise.resolve();
    await this.#durability?.flushed();
    const job = this.#views.get(id) ?? cell.view;
    return { job, cancelled: outcome.accepted && job.status === 'cancelled' };
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

  /**
   * The offset of the latest durable change (0 before the first): what `subscribe({ since })`
   * resumes from. Every offset names one change forever, across restarts.
   */
  get offset(): number {
    return this.#views.offset;
  }

  /**
   * The stored change history of one job (needs a store): its durable changes with
   * `offset > since`, oldest first, at most `limit`.
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
    this.#admission.prune();
    const view = this.#views.get(id);
    if (!view) throw new JobvisorError('job_not_found', `No job has id "${id}"`);
    if (isTerminal(view.status)) return view;
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
    this.#admission.prune();
    return {
      lifecycle: this.lifecycle,
      jobs: this.#views.counts,
      live: this.#views.liveCount,
      retained: this.#views.retainedCount,
      queued: this.#scheduler.queued,
      handlersInFlight: this.#runtime.inflight,
      handlersAbandoned: this.#runtime.abandoned,
      threadCount: this.#pool.threadCount,
      ...this.#telemetry.counters,
      rejectedByReason: this.#telemetry.rejectedByReason,
      unflushed: this.#durability?.backlog ?? 0,
      store: this.#durability?.health ?? null,
      offset: this.#views.offset,
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
    // Once stopped (shut down before, or the store failed to open) the actor is done: XState
    // would only warn about an event sent to a stopped actor.
    if (this.lifecycle !== 'stopped') this.#actor.send({ type: 'SHUTDOWN', graceMs });
    await this.#stopped;
    return { interrupted: this.#admission.interrupted, pending: this.#views.counts.pending };
  }

  #runtimeHost(): PoolHost {
    const { maxDepth, maxResultBytes } = this.#options.limits;
    const resultLimits = { maxDepth, maxBytes: maxResultBytes };
    return {
      handlerOf: (type) => this.#types.get(type)?.handler,
      workerOf: (type) => this.#types.get(type)?.worker,
      keyOf: (jobId) => this.#registry.live(jobId)?.key ?? null,
      dispatch: (jobId, partial) =>
        this.#router.dispatch(jobId, checkHandlerEvent({ ...partial, at: this.#clock.now() }, resultLimits)),
      settled: () => this.#actor.send({ type: 'HANDLER_SETTLED' }),
      reportError: (jobId, error) => this.#telemetry.error('handler', error, jobId),
      handlerFinished: (ms) => this.#telemetry.handlerFinished(ms),
    };
  }
}
