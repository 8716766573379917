/**
 * The one place where a supervisor's parts are built, bottom-up in dependency order: each part
 * gets what it needs at construction, and nothing reaches for a part built after it. The two
 * late bindings are explicit: the supervisor actor is created last and attached to its `Mailbox`
 * (which the parts built before it send to) and to the inspection taps.
 *
 *   telemetry, job types, fanout, waiters, views, registry   what everything shares
 *   retention → announcer → durability                       telling a durable change
 *   scheduler, runtimes, router, job machine, cells          the engine
 *   admission, replies, supervisor machine → actor           the mailbox's side
 */
import { createActor, type Actor } from 'xstate';
import { jobMachine } from '../../machines/job.machine.js';
import { freshJobLogic } from './fresh-snapshot.js';
import type { JobInput } from '../../machines/job.types.js';
import type { SupervisorMachine } from '../../machines/supervisor.machine.js';
import { Durability } from '../durability/durability.js';
import { Inspection } from '../inspection/taps.js';
import { InFlight } from '../runtime/in-flight.js';
import { InProcessRuntime, type RuntimeHost, type SendToJob } from '../runtime/in-process.js';
import { routeHandlers } from '../runtime/router.js';
import { WorkerPool } from '../runtime/worker-pool.js';
import type { Clock } from '../common/clock.js';
import { ClusterNode } from '../cluster/node.js';
import { Admission, type Admitted } from './admission.js';
import { abandon, clusterHost } from './cluster-host.js';
import { Announcer } from './announcer.js';
import { ChangeRouter } from './change-router.js';
import { Effects } from './effects.js';
import { Fanout } from './fanout.js';
import { checkHandlerEvent, stamped } from './handler-events.js';
import { handlerActions } from './handler-slot.js';
import { JobCell, type JobDurability } from './job-cell.js';
import { JobTypes } from './job-types.js';
import { Mailbox } from './mailbox.js';
import type { ResolvedOptions } from './options.js';
import { recover } from './recovery.js';
import { Registry } from './registry.js';
import { Replies } from './replies.js';
import { Retention } from './retention.js';
import { Scheduler } from './scheduler.js';
import { Pauses } from './pauses.js';
import { Schedules } from './schedules.js';
import { MemorySchedules } from '../store/memory-schedules.js';
import { wireJobLogs, type JobLogs } from './job-logs.js';
import { Tracing } from './tracing.js';
import { SupervisorMetrics } from './metrics.js';
import { lifecycleOf, statsOf } from './reads.js';
import { admitStart, checkStart } from './admit.js';
import { provideSupervisorMachine } from './supervisor-actions.js';
import { Telemetry } from './telemetry.js';
import { JobViews } from './views.js';
import { JobWaiters } from './waiters.js';

/** What the facade works with. */
export interface Parts {
  readonly options: ResolvedOptions;
  readonly clock: Clock;
  readonly telemetry: Telemetry;
  readonly types: JobTypes;
  readonly fanout: Fanout;
  readonly waiters: JobWaiters;
  readonly views: JobViews;
  readonly registry: Registry;
  /** None without a store. */
  readonly durability: JobDurability | undefined;
  readonly scheduler: Scheduler;
  readonly pauses: Pauses;
  readonly schedules: Schedules;
  readonly logs: JobLogs;
  readonly tracing: Tracing;
  readonly metrics: SupervisorMetrics;
  readonly runtime: InProcessRuntime;
  readonly pool: WorkerPool;
  readonly inFlight: InFlight;
  readonly inspection: Inspection;
  readonly admission: Admission;
  readonly replies: Replies<Admitted>;
  /** This node in a cluster, when its store is shared by several nodes (PostgreSQL); else none. */
  readonly cluster: ClusterNode | undefined;
  /** A job cell for this input (a shared store's cancel of a job nobody runs makes one). */
  readonly newCell: (input: JobInput, lastNode?: string | null) => JobCell;
  readonly actor: Actor<SupervisorMachine>;
  /** Settles when recovery is over: resolved, or rejected with the store's error. */
  readonly ready: Promise<void>;
  /** Resolves once the supervisor stopped (job actors stopped, threads and store closed). */
  readonly stopped: Promise<void>;
}

/** Builds a supervisor's parts; the actor is created, not started. */
export function wireSupervisor(options: ResolvedOptions): Parts {
  const { clock, store, retention: policy } = options;
  const telemetry = new Telemetry();
  const types = new JobTypes(options);
  const fanout = new Fanout((error, jobId) => telemetry.subscriberFailed(error, jobId));
  const waiters = new JobWaiters(clock);
  const views = new JobViews();
  const registry = new Registry();
  /** Several nodes share the store: jobs run where they are claimed, writes are fenced by owner. */
  const shared = store?.cluster !== undefined;
  const node = options.node;
  let cluster: ClusterNode | undefined;
  const mailbox = new Mailbox();
  const inFlight = new InFlight();

  const retention = new Retention(views, registry, clock, policy);
  const tracing = new Tracing(node.id);
  const metrics = new SupervisorMetrics({
    stats: () => statsOf(parts, lifecycleOf(actor)),
    byType: () => views.byType(),
    node,
  });
  const announcer = new Announcer(views, fanout, waiters, retention, (kind, job) => {
    tracing.told(kind, job);
    metrics.told(kind, job);
  });
  const durability =
    store &&
    new Durability<JobCell>(
      store,
      clock,
      {
        fanout,
        offset: () => views.offset,
        tell: (offset, kind, job) => {
          announcer.tell(offset, kind, job);
          // Another node's completion deduplicates here too, for its type's idempotency window.
          if (shared && kind === 'completed' && job.key !== null && job.finishedAt !== null) {
            const window = types.get(job.type)?.idempotencyMs ?? options.idempotencyMs;
            registry.restoreRecent(job, job.finishedAt + window);
          }
        },
        refused: (cell, error) => {
          const durable = views.get(cell.id);
          // In a cluster a key held on another node, or a write fenced, is expected: no error.
          if (!shared || error.code !== 'store_conflict') telemetry.error('store', error, cell.id);
          // Fenced: another node owns the job now, or this node's lease lapsed. Not a failure.
          if (shared && error.code === 'store_conflict' && durable !== undefined) {
            abandon(
              { registry, scheduler, notify: (e) => mailbox.send(e), inFlight: () => inFlight.count },
              cell,
            );
            // If the store says the job is still this node's, it runs here again (not orphaned).
            cluster?.reclaimOwn();
            return;
          }
          if (!cell.refuse(error, durable)) telemetry.error('store', error, cell.id);
          registry.forget(cell.view); // a completion the store refused never deduplicates
        },
        currentJobs: ({ jobId, type }) =>
          [...views.all()].filter(
            (v) => (jobId === undefined || v.id === jobId) && (type === undefined || v.type === type),
          ),
        listenerFailed: (error, jobId) => telemetry.subscriberFailed(error, jobId),
        reportError: (error) => telemetry.error('store', error),
        ...(shared ? { claimable: () => cluster?.committedClaimable() } : {}),
      },
      {
        timeoutMs: options.storeTimeoutMs,
        retention: policy,
        ...(shared ? { writer: () => node.id } : {}),
      },
    );
  if (durability) retention.onForgot(() => durability.expire());
  retention.onForgot(() => logs.forgotten());

  // A recovered job whose type is not registered (yet) waits: its type has no slot.
  // A pause lifted: the queued jobs it held may start (the mailbox dispatches them).
  const pauses = new Pauses(store, () => mailbox.send({ type: 'RESUMED' }));
  const scheduler = new Scheduler(
    options.concurrency,
    (type) => types.get(type)?.concurrency ?? 0,
    (type) => pauses.isPaused(type),
  );
  const host: RuntimeHost = {
    handlerOf: (type) => types.get(type)?.handler,
    // Only a draining supervisor counts handlers down (SHUTDOWN tells it how many there are).
    settled: (handlers) => {
      if (!mailbox.accepting) mailbox.send({ type: 'HANDLER_SETTLED', handlers });
    },
    reportError: (jobId, error) => telemetry.error('handler', error, jobId),
    handlerFinished: (ms, type) => {
      telemetry.handlerFinished(ms);
      metrics.handlerFinished(type, ms);
    },
    traceParent: (input) => tracing.handlerParent(input.jobId, input.type, input.attempt),
  };
  const runtime = new InProcessRuntime(host, inFlight);
  const pool = new WorkerPool(
    { ...host, workerOf: (type) => types.get(type)?.worker },
    inFlight,
    options.workers,
  );
  const router = new ChangeRouter({
    views,
    telemetry,
    announcer,
    durability,
    // In a cluster a slot freed here is claimed once its change is durable (`claimable` above):
    // the store counts the limits, and before that it still counts the attempt.
    notify: (event) => mailbox.send(event),
    inFlight,
    owns: (cell) => registry.live(cell.id) === cell,
    ...(shared
      ? {
          released: (cell: JobCell) => {
            registry.drop(cell);
            cell.stop();
          },
        }
      : {}),
  });
  const { maxDepth, maxResultBytes } = options.limits;
  const resultLimits = { maxDepth, maxBytes: maxResultBytes };
  const logs = wireJobLogs(store?.logs, (jobId) => views.get(jobId) !== undefined, {
    keep: options.limits.maxLogLines,
    timeoutMs: options.storeTimeoutMs,
    report: (error) => telemetry.error('store', error),
    ...(shared ? { pollMs: options.cluster.claimIntervalMs } : {}),
    clock,
    maxDepth,
    live: (jobId) => registry.live(jobId),
    find: async (jobId) => views.get(jobId) ?? (await durability?.get(jobId)),
    changes: (jobId, listener) => fanout.subscribe((change) => listener(change.job), { jobId }),
  });
  /** The attempt's own job actor, bound once when the attempt starts. */
  const bind = (input: { jobId: string }): SendToJob => {
    const cell = registry.live(input.jobId);
    return (event) => {
      if (event.type === 'LOG') return logs.append(input.jobId, event.attempt, event.message, event.data);
      const checked = checkHandlerEvent(stamped(event, clock.now()), resultLimits);
      if (cell) return cell.send(checked, 'handler');
      return { accepted: false, reason: 'job_final' };
    };
  };
  const launch = routeHandlers({
    inProcess: runtime,
    pool,
    isThreaded: (type) => types.get(type)?.worker !== undefined,
    bind,
    durable: (input) => durability?.started(() => registry.live(input.jobId), input.attempt),
  });
  // Fresh jobs' actors start from a copy of the machine's initial snapshot (fresh-snapshot.ts).
  const machine = freshJobLogic(jobMachine.provide({ actions: handlerActions }));
  const inspection = new Inspection({
    liveJobs: () => registry.liveCells(),
    liveJob: (id) => registry.live(id),
    onRejected: (listener) => telemetry.on('rejected', listener),
    reportError: (error) => telemetry.error('inspector', error),
  });
  const newCell = (input: JobInput, lastNode?: string | null) =>
    new JobCell(machine, input, {
      clock,
      hooks: router.hooks,
      node: node.id,
      lastNode,
      onActor: inspection.jobActorCreated,
      launch,
    });

  const effects = new Effects((error) => telemetry.error('internal', error));
  const admission = new Admission({
    clock,
    types,
    registry,
    scheduler,
    telemetry,
    router,
    effects,
    newCell,
    watched: (cell) => inspection.watches(cell.id, cell.type),
    shared,
  });
  const replies = new Replies<Admitted>();
  let readyResult!: { resolve(): void; reject(error: unknown): void };
  const ready = new Promise<void>((resolve, reject) => (readyResult = { resolve, reject }));
  ready.catch(() => undefined); // observed through ready(), start() and the error event
  let resolveStopped!: () => void;
  const stopped = new Promise<void>((resolve) => (resolveStopped = resolve));
  const recoverDeps = {
    durability,
    clock,
    types,
    registry,
    views,
    scheduler,
    retention,
    maxCount: policy.maxCount,
    idempotencyMs: options.idempotencyMs,
    newCell,
    shared,
  };
  const provided = provideSupervisorMachine({
    admission,
    effects,
    registry,
    scheduler,
    pool,
    retention,
    replies,
    telemetry,
    durability,
    // In a cluster, ready once the node has also tried to join (its first renewal).
    recover: async () => {
      await recover(recoverDeps);
      await pauses.refresh();
      await schedules.refresh();
      await cluster?.start();
    },
    beforeClose: async () => {
      await schedules.stop();
      await logs.flushed(); // the last lines, before the store closes
      await durability?.flushed().catch(() => undefined); // the last changes, under the lease
      await cluster?.stop();
    },
    ready: readyResult,
    stopped: () => resolveStopped(),
  });
  const schedules = new Schedules({
    store: store?.schedules ?? new MemorySchedules(),
    clock,
    start: (spec, id) => {
      const { type, input, priority } = spec;
      const request = checkStart(parts, { type, input, priority, key: spec.key ?? undefined });
      return admitStart(parts, { ...request, id });
    },
    exists: async (id) =>
      views.get(id) !== undefined ||
      registry.live(id) !== undefined ||
      (await durability?.get(id)) !== undefined,
    known: (type) => types.get(type) !== undefined,
    checkInput: (type, input) => void types.resolve(type, input),
    report: (error) => telemetry.error('schedule', error),
  });
  const actor = createActor(provided, { clock, input: { hasStore: durability !== undefined } });
  mailbox.attach(actor);
  if (shared && durability) {
    const host = clusterHost({
      node,
      concurrency: options.concurrency,
      clock,
      types,
      registry,
      scheduler,
      telemetry,
      newCell,
      notify: (event) => mailbox.send(event),
      inFlight: () => inFlight.count,
      accepting: () => actor.getSnapshot().value === 'accepting',
      catchUp: () => durability.catchUp(),
      discard: (jobId) => durability.discard(jobId),
      reachable: () => durability.reachable(),
      refreshShared: async () => {
        await pauses.refresh();
        await schedules.refresh();
      },
    });
    cluster = new ClusterNode(store.cluster, host, clock, options.cluster);
  }
  // Before the actor starts, so that the `inspect` option's observer sees it start.
  inspection.supervisorCreated(actor, options.inspect);
  actor.subscribe({
    next: () => effects.drain(),
    error: (error) => telemetry.error('internal', error),
  });
  const parts: Parts = {
    options,
    clock,
    telemetry,
    types,
    fanout,
    waiters,
    views,
    registry,
    durability,
    scheduler,
    pauses,
    schedules,
    logs,
    tracing,
    metrics,
    runtime,
    pool,
    inFlight,
    inspection,
    admission,
    replies,
    cluster,
    newCell,
    actor,
    ready,
    stopped,
  };
  return parts;
}
