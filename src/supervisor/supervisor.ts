/**
 * The facade: the public API of a supervisor, over the parts that `wireSupervisor` builds
 * (wiring.ts). Starts go through the supervisor actor's mailbox; events of a job go to that
 * job's own actor; readers see what is durable (`JobViews`). See docs/ARCHITECTURE.md.
 */
import type * as z from 'zod';
import type { Unsubscribe } from '../common/emitter.js';
import type {
  AnyJobTypes,
  AnyTypedStartRequest,
  IfUntyped,
  JobTypeName,
  NoJobTypes,
  TypedJobView,
  TypedStartRequest,
  TypedScheduleOptions,
  TypedStartResult,
  WithJobType,
} from '../common/job-map.js';
import { JobvisorError } from '../common/errors.js';
import { parseOrThrow } from '../common/validation.js';
import type { InspectionSelection } from '../inspection/selection.js';
import type { InspectionObserver } from '../inspection/types.js';
import type {
  CancelResult,
  ChangeListener,
  Handler,
  JobChange,
  JobTypeInfo,
  JobView,
  Lifecycle,
  JobPage,
  ListFilter,
  PageQuery,
  ShutdownResult,
  StartResult,
  Stats,
  SubscribeFilter,
  SupervisorEventMap,
} from '../common/types.js';
import { jobIdSchema, subscribeFilterSchema } from './filters.js';
import { isTerminal } from './job-cell.js';
import {
  resolveOptions,
  shutdownOptionsSchema,
  type RegisterOptions,
  type StartRequest,
  type SupervisorOptions,
  type WorkerHandler,
} from './options.js';
import { admitStart, checkStart } from './admit.js';
import { cancelJob, removeJob, retryJob } from './job-ops.js';
import type { PauseState } from './pauses.js';
import type { FollowLogs, LogPage, LogQuery } from './job-logs.js';
import type { ScheduleOptions, ScheduleView } from '../common/repeatable.js';
import {
  cancelMany,
  checkBatch,
  removeMany,
  retryMany,
  type RetryManyRequest,
  type RetryManyResult,
  type RemoveManyRequest,
  type RemoveManyResult,
  startManyResult,
  type CancelManyRequest,
  type CancelManyResult,
  type StartManyResult,
} from './bulk.js';
import type { NodeRecord } from '../store/port.js';
import { describeType } from './type-info.js';
import { Registry, type RegistryContentType } from 'prom-client';
import { historyOf, lifecycleOf, listOf, nodesOf, pageOf, statsOf } from './reads.js';
import { wireSupervisor, type Parts } from './wiring.js';

export function createSupervisor(options?: SupervisorOptions): Supervisor<NoJobTypes> {
  return new Supervisor(options);
}

declare const JOB_TYPES: unique symbol;

/** The map of job types of a supervisor (chained `register` calls), for `createClient<JobTypesOf<…>>`. */
export type JobTypesOf<S> = S extends Supervisor<infer M> ? M : never;

/**
 * `M`: the job types it knows at compile time (common/job-map.ts) — any name and `unknown` inputs
 * and results unless `register` calls were chained.
 */
export class Supervisor<out M extends AnyJobTypes = NoJobTypes> {
  readonly #parts: Parts;
  /** Never set: the compile-time map of job types (`JobTypesOf`). */
  declare readonly [JOB_TYPES]?: M;

  constructor(options?: SupervisorOptions) {
    this.#parts = wireSupervisor(resolveOptions(options));
    this.#parts.actor.start();
  }

  /**
   * Registers the handler of a job type, with its input schema and per-type options. Answers this
   * supervisor, typed with the job type added to its map: chain the calls to have `start` checked
   * against each type's schema at compile time (common/job-map.ts).
   */
  register<T extends string, S extends z.ZodType = z.ZodUnknown, R = unknown>(
    type: T,
    handler: Handler<z.output<S>, R>,
    options?: RegisterOptions<S>,
  ): Supervisor<WithJobType<M, T, z.input<S>, z.output<S>, Awaited<R>>>;
  /** A handler on a worker thread: its result's type is not known here. */
  register<T extends string, S extends z.ZodType = z.ZodUnknown>(
    type: T,
    handler: WorkerHandler,
    options?: RegisterOptions<S>,
  ): Supervisor<WithJobType<M, T, z.input<S>, z.output<S>, unknown>>;
  register<T extends string, S extends z.ZodType = z.ZodUnknown, R = unknown>(
    type: T,
    handler: Handler<z.output<S>, R> | WorkerHandler,
    options: RegisterOptions<S> = {},
  ): Supervisor<WithJobType<M, T, z.input<S>, z.output<S>, Awaited<R>>> {
    this.#parts.types.register(type, handler, options);
    this.#parts.actor.send({ type: 'TYPE_REGISTERED', jobType: type });
    this.#parts.schedules.kick(); // its schedules may be due
    // The same supervisor: only its compile-time map of job types grew.
    return this as unknown as Supervisor<WithJobType<M, T, z.input<S>, z.output<S>, Awaited<R>>>;
  }

  /** The registered job types, in registration order. */
  types(): JobTypeInfo[] {
    return this.#parts.types.list().map(describeType);
  }

  /**
   * Resolves once the store is open and its jobs are resumed — in a cluster, once the node has also
   * tried to join (`stats().cluster.state` says whether it holds its lease); rejects with the store's error.
   */
  ready(): Promise<void> {
    return this.#parts.ready;
  }

  /**
   * Starts a job, or returns the pending or running job that holds the same key. With a store,
   * it answers only once the job is durable (or `store_unavailable` after `storeTimeoutMs`).
   */
  // The typed signatures name the map through `this` (JobTypesOf<S>), not `M`: so `M` is used
  // covariantly only, and a typed supervisor is a `Supervisor` wherever one is asked for.
  async start<S extends Supervisor<AnyJobTypes>, K extends JobTypeName<JobTypesOf<S>>>(
    this: S,
    request: TypedStartRequest<JobTypesOf<S>, K>,
  ): Promise<TypedStartResult<JobTypesOf<S>, K>>;
  async start<S extends Supervisor<AnyJobTypes>>(
    this: S,
    request: IfUntyped<JobTypesOf<S>, StartRequest>,
  ): Promise<StartResult>;
  async start(request: StartRequest): Promise<StartResult> {
    return admitStart(this.#parts, checkStart(this.#parts, request));
  }

  /**
   * Starts a batch (at most 1,000): every start is validated first — one bad start refuses the
   * batch and makes nothing (`invalid_request`, each bad one named by index) — then all are admitted
   * in one turn, so their creations are one durable batch; dedup by key as for `start`, also within
   * the batch. Answers each start's outcome in order (its job, or its coded error) with counts.
   */
  async startMany<S extends Supervisor<AnyJobTypes>>(
    this: S,
    requests: readonly AnyTypedStartRequest<JobTypesOf<S>>[],
  ): Promise<StartManyResult>;
  async startMany<S extends Supervisor<AnyJobTypes>>(
    this: S,
    requests: IfUntyped<JobTypesOf<S>, readonly StartRequest[]>,
  ): Promise<StartManyResult>;
  async startMany(requests: readonly StartRequest[]): Promise<StartManyResult> {
    const checked = checkBatch(requests, (request) => checkStart(this.#parts, request as StartRequest));
    const admitted = checked.map((request) => admitStart(this.#parts, request));
    return startManyResult(await Promise.allSettled(admitted));
  }

  /**
   * Cancels the jobs named by `ids`, or the live jobs matching a filter (`status`, `type`, `key`,
   * `createdBefore`; an empty filter is refused), each as `cancel` does. Answers with counts and the
   * ids it cancelled.
   */
  async cancelMany(request: CancelManyRequest): Promise<CancelManyResult> {
    return cancelMany(this, request);
  }

  /**
   * Retries a failed or cancelled job: the same job (its id, input, key and history) becomes pending
   * again with a `retried` change, and runs as attempt + 1 with a fresh retry budget under its type's
   * current options. Its key is re-acquired — `duplicate_key` when another live job holds it.
   * `job_not_retryable` for a completed or live job. Answers once the change is durable.
   */
  async retry(id: string): Promise<{ job: JobView; retried: true }> {
    return retryJob(this.#parts, id);
  }

  /** Retries the jobs named by `ids`, or the failed / cancelled ones matching a filter; with counts. */
  async retryMany(request: RetryManyRequest): Promise<RetryManyResult> {
    return retryMany(this, request);
  }

  /**
   * Removes a finished job with its change history, here and in the store (`job_not_finished` for a
   * pending or running one, `job_not_found` for an unknown one). Its key no longer deduplicates.
   */
  async remove(id: string): Promise<{ job: JobView; removed: true }> {
    return removeJob(this.#parts, id);
  }

  /**
   * Removes the finished jobs named by `ids`, or those matching a filter (`status`: finished ones,
   * `type`, `finishedBefore`), each as `remove` does; answers with counts and the removed ids.
   */
  async removeMany(request: RemoveManyRequest): Promise<RemoveManyResult> {
    return removeMany(this, request);
  }

  /** The job as readers see it: its latest durable state. */
  get(id: string): JobView | undefined {
    if (typeof id !== 'string') return undefined;
    return this.#parts.views.get(id);
  }

  /**
   * The job as readers see it, also one that left this supervisor's memory but is in its store
   * (`job_not_found` nowhere): what `GET /jobs/:id` answers.
   */
  async find(id: string): Promise<JobView | undefined> {
    parseOrThrow(jobIdSchema, id, 'invalid_request', 'Invalid job id');
    return this.#parts.views.get(id) ?? (await this.#parts.durability?.get(id));
  }

  /**
   * One page of jobs in creation order, `next` the cursor of the one after (null after the last):
   * through the store's index with a store, else through the supervisor's own creation order.
   * No page sorts the jobs.
   */
  async page(query: PageQuery = {}): Promise<JobPage> {
    return pageOf(this.#parts, query);
  }

  /** Live jobs first (oldest first), then finished ones in the order they finished. */
  list(filter: ListFilter = {}): JobView[] {
    return listOf(this.#parts, filter);
  }

  /**
   * Cancels a pending or running job; a finished job is returned unchanged with `cancelled: false`.
   * With a store, it answers once the cancellation is durable.
   */
  async cancel(id: string, reason?: string): Promise<CancelResult> {
    return cancelJob(this.#parts, id, reason);
  }

  /**
   * Pauses `type`, or the whole supervisor when no type is given: its pending jobs wait (a delayed
   * one too, once due), running ones go on. Durable: answers the pauses in force once the store
   * holds it, and a restart keeps it; in a cluster, no node claims a paused type's jobs.
   */
  async pause(type?: string): Promise<PauseState> {
    return this.#setPaused(type, true);
  }

  /** Lifts the pause of `type`, or of the whole supervisor: the waiting jobs start as slots free up. */
  async resume(type?: string): Promise<PauseState> {
    return this.#setPaused(type, false);
  }

  /** The pauses in force. */
  paused(): PauseState {
    return this.#parts.pauses.state;
  }

  async #setPaused(type: string | undefined, paused: boolean): Promise<PauseState> {
    await this.#parts.ready;
    return this.#parts.pauses.set(type, paused, (name) => this.#parts.types.get(name) !== undefined);
  }

  /**
   * Creates a repeatable job's schedule, or replaces its definition (`name`: letters, digits and
   * `._:-`): a `cron` pattern (in `timezone`, UTC by default) or an interval (`everyMs`), each
   * occurrence starting a job of `type` with `input` (checked now as a start would be). Each
   * occurrence starts at most once, across restarts and across the nodes of a cluster; occurrences
   * missed while nothing ran: the latest runs once (`missed: 'latest'`, default) or none (`'skip'`).
   * The same definition again changes nothing. Durable when it answers.
   */
  async schedule<S extends Supervisor<AnyJobTypes>, K extends JobTypeName<JobTypesOf<S>>>(
    this: S,
    name: string,
    options: TypedScheduleOptions<JobTypesOf<S>, K>,
  ): Promise<ScheduleView>;
  async schedule<S extends Supervisor<AnyJobTypes>>(
    this: S,
    name: string,
    options: IfUntyped<JobTypesOf<S>, ScheduleOptions>,
  ): Promise<ScheduleView>;
  async schedule(name: string, options: ScheduleOptions): Promise<ScheduleView> {
    await this.#parts.ready;
    return this.#parts.schedules.set(name, options);
  }

  /** Removes a schedule (`schedule_not_found` when none has the name); the jobs it started stay. */
  async unschedule(name: string): Promise<ScheduleView> {
    await this.#parts.ready;
    return this.#parts.schedules.remove(name);
  }

  /** The schedules, by name, each with its latest occurrence taken and its next one. */
  async schedules(): Promise<ScheduleView[]> {
    await this.#parts.ready;
    return this.#parts.schedules.list();
  }

  /** Calls `listener` with every change (or those of one job or type), in `seq` order per job. */
  subscribe(listener: ChangeListener, filter: SubscribeFilter = {}): Unsubscribe {
    if (typeof listener !== 'function')
      throw new JobvisorError('invalid_request', 'The listener must be a function');
    const parsed = parseOrThrow(subscribeFilterSchema, filter, 'invalid_request', 'Invalid subscribe filter');
    const { since, onResync, ...which } = parsed;
    if (since === undefined) return this.#parts.fanout.subscribe(listener, which);
    const { durability } = this.#parts;
    if (!durability) {
      throw new JobvisorError('invalid_request', 'subscribe({ since }) needs a store to replay from');
    }
    return durability.follow({ listener, since, ...which, onResync });
  }

  /**
   * The offset of the latest durable change (0 before the first): what `subscribe({ since })`
   * resumes from. Every offset names one change forever, across restarts.
   */
  get offset(): number {
    return this.#parts.views.offset;
  }

  /**
   * The stored change history of one job (needs a store): its durable changes with
   * `offset > since`, oldest first, at most `limit`.
   */
  async history(jobId: string, options: { since?: number; limit?: number } = {}): Promise<JobChange[]> {
    return historyOf(this.#parts, jobId, options);
  }

  /**
   * A page of a job's log (`ctx.log` lines), oldest first: those with an id after `after` (0 by
   * default), of one `attempt` if given, at most `limit` (100; up to 1,000); `next` is the cursor
   * for the lines after these. Only durable lines. `job_not_found` for an unknown job.
   */
  async logs(jobId: string, query?: LogQuery): Promise<LogPage> {
    return this.#parts.logs.read(jobId, query);
  }

  /**
   * Follows a job's log: `onEntry` gets its stored lines after `after`, then each new one once
   * durable, in order, with no gap and no duplicate; once the job is final and its last lines
   * were told, `onEnd` gets the job. Resolves with the function that stops it.
   */
  async followLogs(jobId: string, follow: FollowLogs): Promise<Unsubscribe> {
    return this.#parts.logs.follow(jobId, follow);
  }

  /**
   * Resolves with the job once it is completed, failed or cancelled. Given the job (as `start`
   * answered it) rather than its id, it answers with that job type's input and result types.
   */
  async waitFor<S extends Supervisor<AnyJobTypes>, K extends JobTypeName<JobTypesOf<S>>>(
    this: S,
    job: { readonly id: string; readonly type: K },
    options?: { timeoutMs?: number; signal?: AbortSignal },
  ): Promise<TypedJobView<JobTypesOf<S>, K>>;
  async waitFor(
    job: string | { readonly id: string },
    options?: { timeoutMs?: number; signal?: AbortSignal },
  ): Promise<JobView>;
  async waitFor(
    target: string | { readonly id: string },
    options: { timeoutMs?: number; signal?: AbortSignal } = {},
  ): Promise<JobView> {
    const id = typeof target === 'object' && target !== null ? target.id : target;
    // A job of another node this node has not been told of yet, or one beyond retention: the store has it.
    const view = this.#parts.views.get(id) ?? (await this.#parts.durability?.get(id));
    if (!view) throw new JobvisorError('job_not_found', `No job has id "${id}"`);
    if (isTerminal(view.status)) return view;
    const told = this.#parts.views.get(id); // told while the store was read
    if (told && isTerminal(told.status)) return told;
    return this.#parts.waiters.wait(id, options);
  }

  on<K extends keyof SupervisorEventMap>(
    name: K,
    listener: (event: SupervisorEventMap[K]) => void,
  ): Unsubscribe {
    return this.#parts.telemetry.on(name, listener);
  }

  /**
   * Streams XState's inspection events (`@xstate.actor`, `.event`, `.snapshot`, …) of the
   * supervisor's actor and of the selected jobs' actors, and `@jobvisor.rejected` events, to
   * `observer` until the returned function is called. Nothing is inspected while no observer is.
   */
  inspect(observer: InspectionObserver, selection?: InspectionSelection): Unsubscribe {
    return this.#parts.inspection.attach(observer, selection, 'invalid_request');
  }

  /** This supervisor process: its id (new for each process start) and a label (host name and pid). */
  get node(): { readonly id: string; readonly label: string } {
    return this.#parts.options.node;
  }

  /**
   * The live nodes of the cluster this supervisor is a node of (its store is shared), each with
   * its lease, the number of jobs it owns and the ids of those running there (as this node was
   * told, at most 100); `[]` for a supervisor on its own.
   */
  async nodes(): Promise<(NodeRecord & { running: string[] })[]> {
    return nodesOf(this.#parts);
  }

  get lifecycle(): Lifecycle {
    return lifecycleOf(this.#parts.actor);
  }

  /**
   * Registers this supervisor's Prometheus metrics (`prom-client`) into `registry` — the
   * application's own, so one scrape has both — or into a new one, and answers it. Gauges are read
   * at each scrape; the per-type counters count from the first registration on.
   */
  metrics(registry: Registry<RegistryContentType> = new Registry()): Registry<RegistryContentType> {
    return this.#parts.metrics.register(registry);
  }

  /** Counts and figures; it only looks (retention runs on its own timer). */
  stats(): Stats {
    return statsOf(this.#parts, this.lifecycle);
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
    const { actor, scheduler, inFlight, admission, views } = this.#parts;
    // While the store opens, the supervisor cannot drain yet: it stops once recovery is over.
    if (this.lifecycle === 'starting' || this.lifecycle === 'recovering') {
      await this.#parts.ready.catch(() => undefined);
    }
    // No occurrence starts from now on (its timer stops at once; a tick under way is awaited below).
    const schedulesStopped = this.#parts.schedules.stop();
    // Once stopped (shut down before, or the store failed to open) the actor is done: XState
    // would only warn about an event sent to a stopped actor.
    if (this.lifecycle !== 'stopped') {
      const draining = this.#parts.cluster?.drain();
      actor.send({ type: 'SHUTDOWN', graceMs, running: scheduler.running, handlers: inFlight.count });
      await draining;
    }
    await schedulesStopped;
    await this.#parts.stopped;
    return { interrupted: admission.interrupted, pending: views.counts.pending };
  }
}
