/**
 * Honest machines (part 5 of the issue): the two machines exported from machines/, stepped through
 * as a visualizer steps them, follow the paths the running system follows.
 *
 * 1. The supervisor machine. Every shortest path of its graph is stepped on a bare actor of the
 *    exported, unprovided machine (on a SimulatedClock), and driven on a real supervisor, with and
 *    without a store, by API actions only. After each step the real supervisor's `lifecycle` and
 *    its actor's state (value and context, from `inspect` snapshots) equal the bare actor's.
 * 2. The job machine. Every shortest path of its graph is replayed on one real job of a supervisor
 *    without a store; after each step the job actor's state and context (from `inspect` snapshots),
 *    the events it received, and its JobView equal the bare actor's.
 *
 * How each machine event maps to real actions is written next to the code that performs it.
 */
import {
  createActor,
  SimulatedClock,
  transition,
  type AnyActorRef,
  type EventObject,
  type SnapshotFrom,
} from 'xstate';
import { getShortestPaths } from 'xstate/graph';
import { afterAll, describe, expect, it } from 'vitest';
import { jobMachine } from '../machines/job.machine.js';
import type { HandlerInput, JobEvent } from '../machines/job.types.js';
import { supervisorMachine, type SupervisorEvent } from '../machines/supervisor.machine.js';
import {
  createSupervisor,
  JobFailure,
  JobvisorError,
  memoryStore,
  type HandlerContext,
  type JobStore,
  type JobvisorInspectionEvent,
  type Supervisor,
} from '../src/index.js';
import { deferred, harness, rejectionOf, settle, until, type Deferred } from './helpers.js';
import {
  applyStep,
  eventFor,
  jobInput,
  nameOf,
  probeActions,
  SteppingClock,
  type JobConfig,
  type JobHarness,
  type JobSnapshot,
  type Step,
} from './machine-helpers.js';

type SupervisorSnapshot = SnapshotFrom<typeof supervisorMachine>;
type GraphEvent = EventObject & Record<string, unknown>;

const replayed = { supervisor: 0, job: 0 };
/** Supervisor steps with no event of their own for the real supervisor's actor, and why. */
const withoutEvent = { stopped: 0, interrupted: 0, noop: 0 };

afterAll(() => {
  console.log(
    `machine replay: ${replayed.supervisor} supervisor-machine paths and ${replayed.job} job-machine paths replayed against a real supervisor`,
  );
  console.log(
    `supervisor steps without an event of their own: ${withoutEvent.stopped} after the real supervisor had stopped, ` +
      `${withoutEvent.interrupted} JOB_RELEASED already delivered by the interruption, ${withoutEvent.noop} machine no-ops`,
  );
});

interface NodeLike {
  readonly transitions: ReadonlyMap<string, unknown>;
  readonly states: Readonly<Record<string, NodeLike>>;
}

/** The internal event types of a machine: its `after` timers and what its invoked actors report. */
function internalEventTypes(node: NodeLike): string[] {
  const own = [...node.transitions.keys()].filter((type) => type.startsWith('xstate.'));
  return [...own, ...Object.values(node.states).flatMap(internalEventTypes)];
}

function theOne(types: readonly string[], prefix: string, part = ''): string {
  const found = types.filter((type) => type.startsWith(prefix) && type.includes(part));
  if (found.length !== 1)
    throw new Error(`expected one internal event ${prefix}…${part}, got ${found.join()}`);
  return found[0]!;
}

/** A handler run the test settles; `honours` runs end by themselves when their signal aborts. */
interface Run {
  readonly ctx: HandlerContext;
  readonly done: Deferred<unknown>;
  settled: boolean;
}

function settleRun(run: Run, outcome: { result: unknown } | { error: unknown }): void {
  if (run.settled) return;
  run.settled = true;
  if ('error' in outcome) run.done.reject(outcome.error);
  else run.done.resolve(outcome.result);
}

/** A handler whose runs the test ends; a run of an `honours` handler also ends when its signal aborts. */
function controlledHandler(runs: Run[], honours: boolean) {
  return (ctx: HandlerContext): Promise<unknown> => {
    const run: Run = { ctx, done: deferred<unknown>(), settled: false };
    runs.push(run);
    if (honours) {
      ctx.signal.addEventListener('abort', () => settleRun(run, { error: ctx.signal.reason }), {
        once: true,
      });
    }
    return run.done.promise;
  };
}

/** No job of the replays stalls: the watchdogs that matter are the job machine's own, in part 2. */
const FAR = 1_000_000_000;

// =============================================================================================
// Part 1: the supervisor machine
// =============================================================================================

const SUPERVISOR_INTERNAL = internalEventTypes(supervisorMachine.root);
/** `recover` resolved / rejected; the grace period is over. */
const RECOVERED = theOne(SUPERVISOR_INTERNAL, 'xstate.done.actor.');
const RECOVERY_FAILED = theOne(SUPERVISOR_INTERNAL, 'xstate.error.actor.');
const GRACE_OVER = theOne(SUPERVISOR_INTERNAL, 'xstate.after.');

const GRACE_MS = 1_000;

const startJob = {
  type: 'START_JOB',
  requestId: 1,
  request: { type: 'work', input: null, onConflict: 'join' },
} as const;
const jobQueued = { type: 'JOB_QUEUED', jobId: 'job' } as const;
const jobReleased = { type: 'JOB_RELEASED', jobId: 'job', jobType: 'work', handlers: 0 } as const;
const handlerSettled = { type: 'HANDLER_SETTLED', handlers: 0 } as const;
const typeRegistered = { type: 'TYPE_REGISTERED', jobType: 'late' } as const;
const jobSettled = (wasRunning: boolean): SupervisorEvent => ({
  type: 'JOB_SETTLED',
  jobId: 'job',
  jobType: 'work',
  wasRunning,
  handlers: 0,
});
const shutdown = (graceMs: number, running: number, handlers: number): SupervisorEvent => ({
  type: 'SHUTDOWN',
  graceMs,
  running,
  handlers,
});
const SHUTDOWNS = [0, GRACE_MS].flatMap((graceMs) =>
  [0, 1].flatMap((running) => [0, 1].map((handlers) => shutdown(graceMs, running, handlers))),
);
const internal = (type: string, extra: Record<string, unknown> = {}) =>
  ({ type, ...extra }) as unknown as SupervisorEvent;

/**
 * The events each state accepts, with payloads. A job that was running ends (JOB_SETTLED with
 * `wasRunning`, JOB_RELEASED) only while attempts run: draining starts none, and SHUTDOWN counted
 * those that did. A job that ends during recovery was pending (a resumed running job fails its
 * interrupted attempt first).
 */
function supervisorEvents(snapshot: SupervisorSnapshot): SupervisorEvent[] {
  const state = nameOf(snapshot.value);
  const common: SupervisorEvent[] = [startJob, jobQueued, jobSettled(false), handlerSettled];
  switch (state) {
    case 'recovering':
      return [
        internal(RECOVERED),
        internal(RECOVERY_FAILED, { error: new Error('store') }),
        jobQueued,
        jobSettled(false),
      ];
    case 'accepting':
      return [...common, jobSettled(true), jobReleased, typeRegistered, ...SHUTDOWNS];
    case 'draining.grace':
    case 'draining.aborting':
      return [
        ...common,
        shutdown(0, 0, 0),
        ...(snapshot.context.running > 0 ? [jobSettled(true), jobReleased] : []),
        ...(state === 'draining.grace' ? [internal(GRACE_OVER)] : []),
      ];
    default:
      return [];
  }
}

function supervisorStepName(event: GraphEvent): string {
  switch (event.type) {
    case RECOVERED:
      return 'recovered';
    case RECOVERY_FAILED:
      return 'recovery failed';
    case GRACE_OVER:
      return 'grace over';
    case 'SHUTDOWN':
      return `SHUTDOWN(grace ${String(event.graceMs)}, running ${String(event.running)}, handlers ${String(event.handlers)})`;
    case 'JOB_SETTLED':
      return event.wasRunning ? 'JOB_SETTLED(was running)' : 'JOB_SETTLED(was pending)';
    default:
      return event.type;
  }
}

/**
 * The graph of each input. A vertex is the state, its context and the event that led there: so
 * every event a state accepts ends some shortest path, those that change nothing included.
 */
const SUPERVISOR_PATHS = new Map(
  [false, true].map((hasStore) => [
    hasStore,
    getShortestPaths(supervisorMachine, {
      input: { hasStore },
      events: supervisorEvents,
      serializeState: (snapshot, event) =>
        JSON.stringify([
          snapshot.value,
          snapshot.context,
          event ? supervisorStepName(event as unknown as GraphEvent) : null,
        ]),
    }),
  ]),
);

type SupervisorPath = NonNullable<ReturnType<typeof SUPERVISOR_PATHS.get>>[number];

/** Steps the bare, unprovided machine through a path; its state after each step (init first). */
function stepBareSupervisor(path: SupervisorPath, hasStore: boolean): SupervisorSnapshot[] {
  const clock = new SimulatedClock();
  const actor = createActor(supervisorMachine, { clock, input: { hasStore } });
  const errors: unknown[] = [];
  actor.subscribe({ error: (error) => errors.push(error) });
  actor.start();
  const states = [actor.getSnapshot()];
  for (const { event } of path.steps.slice(1)) {
    if (event.type === GRACE_OVER) clock.increment(actor.getSnapshot().context.graceMs);
    else actor.send(event);
    states.push(actor.getSnapshot());
  }
  actor.stop();
  expect(errors).toEqual([]);
  // The bare actor follows the graph: same states, same contexts.
  expect(states.map((s) => [s.value, s.context])).toEqual(
    path.steps.map((s) => [s.state.value, s.state.context]),
  );
  return states;
}

/**
 * What the real supervisor is in once a step is over: the bare state, plus the release that the
 * entry action `interruptRunning` causes. Entering `draining.aborting` interrupts every running
 * attempt within the same step, and the running system tells the machine JOB_RELEASED for each
 * (their handlers still in flight); the bare machine, whose actions do nothing, would wait for
 * releases the running system has already delivered.
 */
function afterInterrupts(snapshot: SupervisorSnapshot): SupervisorSnapshot {
  let current = snapshot;
  while (nameOf(current.value) === 'draining.aborting' && current.context.running > 0) {
    const release = { ...jobReleased, jobId: 'interrupted', handlers: current.context.handlers };
    [current] = transition(supervisorMachine, current, release);
  }
  return current;
}

/** A store whose `open()` waits until the test lets it (or fails it), and whose commits it can hold. */
interface HeldStore {
  readonly store: JobStore;
  readonly opening: Deferred<void>;
  holdCommits(): void;
  releaseCommits(): void;
}

function heldStore(inner: JobStore): HeldStore {
  const opening = deferred();
  opening.promise.catch(() => undefined); // observed by open()
  let gate: Deferred<void> | undefined;
  return {
    opening,
    holdCommits: () => void (gate ??= deferred()),
    releaseCommits: () => {
      const held = gate;
      gate = undefined;
      held?.resolve();
    },
    store: {
      name: 'held',
      open: async (options) => {
        await opening.promise;
        return inner.open(options);
      },
      commit: async (batch) => {
        while (gate) await gate.promise;
        return inner.commit(batch);
      },
      get: (id) => inner.get(id),
      list: (query) => inner.list(query),
      changesSince: (after, limit) => inner.changesSince(after, limit),
      changesOf: (jobId, after, limit) => inner.changesOf!(jobId, after, limit),
      firstOffset: () => inner.firstOffset(),
      expire: (policy) => inner.expire(policy),
      close: () => inner.close(),
    },
  };
}

/** Job types of the supervisor replay. */
const T = {
  /** A controlled handler that ignores its signal: it stays in flight after its attempt ends. */
  work: 'work',
  /** A controlled handler that ends when its signal aborts. */
  prompt: 'prompt',
  /** Fail at once and wait to retry: 500 ms (within the grace period), or 50 s. */
  parkedSoon: 'parked-soon',
  parkedLate: 'parked-late',
  instant: 'instant',
  /** Jobs a crashed process left running: one retries 100 ms after recovery, one has no attempt left. */
  resumedRetry: 'resumed-retry',
  resumedFinal: 'resumed-final',
} as const;
const RESUMED_BACKOFF_MS = 100;

function registerTypes(supervisor: Supervisor, runs: Run[]): void {
  const retried = (backoffMs: number) => ({
    heartbeatTimeoutMs: FAR,
    retries: { max: 1_000, backoffMs, factor: 1 },
  });
  const parked = () => {
    throw new JobFailure('parked', 'waits to retry');
  };
  supervisor.register(T.work, controlledHandler(runs, false), retried(FAR));
  supervisor.register(T.prompt, controlledHandler(runs, true), retried(FAR));
  supervisor.register(T.parkedSoon, parked, retried(500));
  supervisor.register(T.parkedLate, parked, retried(50_000));
  supervisor.register(T.instant, () => 'done');
  const resumed = { heartbeatTimeoutMs: FAR, retries: { max: 1, backoffMs: RESUMED_BACKOFF_MS } };
  supervisor.register(T.resumedRetry, controlledHandler(runs, false), resumed);
  supervisor.register(T.resumedFinal, controlledHandler(runs, false), { ...resumed, retries: { max: 0 } });
}

/** A process that dies with jobs of these types running (never shut down): what recovery resumes. */
async function crashedProcess(store: JobStore, types: readonly string[]): Promise<void> {
  const supervisor = createSupervisor({ store, clock: new SimulatedClock() });
  const runs: Run[] = [];
  registerTypes(supervisor, runs);
  for (const type of types) await supervisor.start({ type });
  await until(() => runs.length === types.length); // running: their STARTs are durable
}

/** What the real supervisor's actor should have received for a step (`null`: nothing). */
type Counterpart = { readonly type: string } & Readonly<Record<string, unknown>>;

interface JobState {
  readonly type: string;
  readonly value: string;
  readonly retryAt: number | null;
}

/** A real supervisor driven through a supervisor-machine path, and what its inspection shows. */
class RealSupervisor {
  readonly clock = new SimulatedClock();
  readonly supervisor: Supervisor;
  readonly held: HeldStore | undefined;
  readonly runs: Run[] = [];
  readonly errors: unknown[] = [];
  readonly expectedErrors: unknown[] = [];
  /** Every event the supervisor's actor received, in order. */
  readonly received: GraphEvent[] = [];
  /** The supervisor actor's latest snapshot, and each job actor's latest state. */
  snapshot: SupervisorSnapshot | undefined;
  readonly jobs = new Map<string, JobState>();
  stopping: Promise<unknown> | undefined;
  #shutdownAt = 0;
  /** How many handler runs had been launched when SHUTDOWN was sent. */
  #runsAtShutdown = Infinity;
  #rootId: string | undefined;
  #seen = 0;
  /** The grace period of a shutdown to send when a `prompt` job starts. */
  #shutdownOnStart: number | undefined;

  private constructor(held: HeldStore | undefined) {
    this.held = held;
    this.supervisor = createSupervisor({
      clock: this.clock,
      store: held?.store,
      inspect: { observer: (event) => this.#observe(event), rejections: false },
    });
    this.supervisor.on('error', (report) => this.errors.push(report.error));
    registerTypes(this.supervisor, this.runs);
  }

  /** With a store, the jobs the path's recovery steps need are left behind by a crashed process first. */
  static async create(hasStore: boolean, path: SupervisorPath): Promise<RealSupervisor> {
    if (!hasStore) return new RealSupervisor(undefined);
    const inner = memoryStore();
    const inRecovery = path.steps.filter((s, i) => i > 0 && s.state.value === 'recovering');
    const left = inRecovery.map(({ event }) =>
      event.type === 'JOB_QUEUED' ? T.resumedRetry : T.resumedFinal,
    );
    if (left.length > 0) await crashedProcess(inner, left);
    return new RealSupervisor(heldStore(inner));
  }

  #observe(event: JobvisorInspectionEvent): void {
    this.#seen++;
    if (event.type === '@jobvisor.rejected') return;
    const actor = event.actorRef as AnyActorRef;
    if (actor.sessionId !== event.rootId) return; // the recover promise, handler actors
    this.#rootId ??= event.rootId; // the supervisor is announced first
    const isSupervisor = event.rootId === this.#rootId;
    if (event.type === '@xstate.event') {
      if (isSupervisor) this.received.push(event.event);
      else if (event.event.type === 'START' && this.#shutdownOnStart !== undefined) {
        const type = (actor.getSnapshot() as JobSnapshot).context.spec.type;
        if (type === T.prompt) this.#shutdown(this.#shutdownOnStart);
      }
    } else if (event.type === '@xstate.snapshot') {
      if (isSupervisor) this.snapshot = event.snapshot as SupervisorSnapshot;
      else {
        const { value, context } = event.snapshot as JobSnapshot;
        const state = { type: context.spec.type, value: nameOf(value), retryAt: context.deadlines.retryAt };
        this.jobs.set(context.spec.id, state);
      }
    }
  }

  #shutdown(graceMs: number): void {
    this.#shutdownOnStart = undefined;
    this.#shutdownAt = this.clock.now();
    this.#runsAtShutdown = this.runs.length;
    this.stopping = this.supervisor.shutdown({ graceMs });
  }

  /** Lets the supervisor run until a whole turn of the event loop passes with nothing happening. */
  async quiesce(): Promise<void> {
    for (let turn = 0; turn < 200; turn++) {
      const seen = this.#seen + this.runs.length;
      await settle();
      if (seen === this.#seen + this.runs.length) return;
    }
    throw new Error('the supervisor did not come to rest');
  }

  #jobsIn(state: (value: string) => boolean, types?: readonly string[]): string[] {
    return [...this.jobs].flatMap(([id, job]) =>
      state(job.value) && (!types || types.includes(job.type)) ? [id] : [],
    );
  }

  #runOf(jobId: string): Run | undefined {
    return this.runs.find((run) => run.ctx.jobId === jobId && !run.settled);
  }

  get inFlight(): number {
    return this.runs.filter((run) => !run.settled).length;
  }

  /** Starts a job that fails at once and waits out its retry backoff. */
  async #park(type: string): Promise<string> {
    const { job } = await this.supervisor.start({ type });
    await this.quiesce();
    expect(this.jobs.get(job.id)?.value).toBe('pending.backoff');
    return job.id;
  }

  /** Performs the real counterpart of one machine step; answers what the supervisor's actor should get. */
  async take(
    event: GraphEvent,
    before: SupervisorSnapshot,
    target: SupervisorSnapshot,
    rest: readonly GraphEvent[],
  ): Promise<Counterpart | null> {
    if (this.supervisor.lifecycle === 'stopped') return this.#whenStopped(event);
    const state = nameOf(before.value);
    if (state === 'recovering') return this.#recovering(event);
    if (state === 'accepting') return this.#accepting(event, rest);
    const answer = await this.#draining(event, before, target);
    if (target.status === 'done') {
      // The step leaves nothing in flight: every handler still running settles too.
      for (const run of this.runs) settleRun(run, { result: 'late' });
      await this.stopping;
    }
    return answer;
  }

  /**
   * A supervisor that stopped within an earlier step (the release of an interrupted attempt with no
   * handler in flight stopped it) takes no more events; a start is refused as it is while draining.
   */
  async #whenStopped(event: GraphEvent): Promise<null> {
    withoutEvent.stopped++;
    if (event.type === 'START_JOB') {
      expect((await rejectionOf(this.supervisor.start({ type: T.instant }))).code).toBe('shutting_down');
    }
    return null;
  }

  async #recovering(event: GraphEvent): Promise<Counterpart> {
    const held = this.held!;
    switch (event.type) {
      case RECOVERED:
        // The store opens and the resumed jobs are written: recovery is over.
        held.releaseCommits();
        held.opening.resolve();
        await this.supervisor.ready();
        return { type: RECOVERED };
      case RECOVERY_FAILED: {
        const error = new JobvisorError('store_unavailable', 'the store cannot be opened');
        this.expectedErrors.push(error);
        held.opening.reject(error);
        await this.supervisor.ready().catch(() => undefined);
        return { type: RECOVERY_FAILED };
      }
      case 'JOB_QUEUED': {
        // Recovery resumes the crashed process's job, which waits to retry; its retry comes due
        // while recovery still waits for the store to write what it resumed.
        held.holdCommits();
        held.opening.resolve();
        await until(() => this.#jobsIn((v) => v === 'pending.backoff', [T.resumedRetry]).length === 1);
        this.clock.increment(RESUMED_BACKOFF_MS);
        return { type: 'JOB_QUEUED' };
      }
      case 'JOB_SETTLED':
        // Recovery resumes a job that has no attempt left: it fails its interrupted attempt.
        held.holdCommits();
        held.opening.resolve();
        return { type: 'JOB_SETTLED', wasRunning: false };
      default:
        throw new Error(`no real counterpart for ${event.type} in recovering`);
    }
  }

  async #accepting(event: GraphEvent, rest: readonly GraphEvent[]): Promise<Counterpart | null> {
    const { supervisor, clock } = this;
    switch (event.type) {
      case 'START_JOB':
        await supervisor.start({ type: T.instant });
        return { type: 'START_JOB' };
      case 'JOB_QUEUED': {
        // A job that waits to retry comes due (and is started again at once).
        const id = await this.#park(T.parkedSoon);
        clock.set(this.jobs.get(id)!.retryAt!);
        return { type: 'JOB_QUEUED' };
      }
      case 'JOB_RELEASED':
        // A job's first attempt fails: it leaves `running` to wait for its retry.
        await this.#park(T.parkedSoon);
        return { type: 'JOB_RELEASED' };
      case 'JOB_SETTLED':
        if (event.wasRunning)
          await supervisor.start({ type: T.instant }); // a job completes
        else await supervisor.cancel(await this.#park(T.parkedSoon)); // a job waiting to retry is cancelled
        return { type: 'JOB_SETTLED', wasRunning: event.wasRunning as boolean };
      case 'HANDLER_SETTLED': {
        // A handler settles (its job completed): an accepting supervisor is not told (its machine
        // takes HANDLER_SETTLED and changes nothing; handlers are counted once it drains).
        const from = this.received.length;
        await supervisor.start({ type: T.instant });
        await this.quiesce();
        expect(this.received.slice(from).map((e) => e.type)).toEqual(['START_JOB', 'JOB_SETTLED']);
        withoutEvent.noop++;
        return null;
      }
      case 'TYPE_REGISTERED':
        supervisor.register(`late-${clock.now()}`, () => null);
        return { type: 'TYPE_REGISTERED' };
      case 'SHUTDOWN':
        return this.#shutdownInto(event as Extract<SupervisorEvent, { type: 'SHUTDOWN' }>, rest);
      default:
        throw new Error(`no real counterpart for ${event.type} in accepting`);
    }
  }

  /**
   * shutdown({ graceMs }) in a situation with exactly `running` attempts and `handlers` handler
   * promises in flight:
   * - running 1, handlers 1: a `work` job whose handler runs;
   * - running 0, handlers 1: a `work` job cancelled while its handler runs (it ignores its signal);
   * - running 1, handlers 0: an attempt that has started but whose handler has not been launched
   *   yet. With a store that is every attempt until its START is durable; without one the window is
   *   inside the job actor's START step, so the shutdown is sent from an inspection observer of
   *   that step. The handler (a `prompt` one) is launched right after, untold to the supervisor.
   * Jobs waiting to retry are parked first when later steps need a pending job.
   */
  async #shutdownInto(
    { graceMs, running, handlers }: Extract<SupervisorEvent, { type: 'SHUTDOWN' }>,
    rest: readonly GraphEvent[],
  ): Promise<Counterpart> {
    const { supervisor } = this;
    if (rest.some((e) => e.type === 'JOB_QUEUED' || (e.type === 'JOB_SETTLED' && !e.wasRunning))) {
      await this.#park(T.parkedSoon);
      await this.#park(T.parkedLate);
    }
    if (handlers > 0) {
      const { job } = await supervisor.start({ type: T.work });
      await until(() => this.#runOf(job.id) !== undefined);
      if (running === 0) await supervisor.cancel(job.id);
    }
    if (running > 0 && handlers === 0) {
      this.#shutdownOnStart = graceMs;
      void supervisor.start({ type: T.prompt }).catch(() => undefined); // may be refused if it stops first
      await until(() => this.stopping !== undefined);
    } else {
      this.#shutdown(graceMs);
    }
    return { type: 'SHUTDOWN', graceMs, running, handlers };
  }

  async #draining(
    event: GraphEvent,
    before: SupervisorSnapshot,
    target: SupervisorSnapshot,
  ): Promise<Counterpart | null> {
    const { supervisor, clock } = this;
    const running = this.#jobsIn((v) => v.startsWith('running'), [T.work, T.prompt]);
    const parked = this.#jobsIn((v) => v.startsWith('pending'), [T.parkedSoon, T.parkedLate]);
    switch (event.type) {
      case 'START_JOB':
        expect((await rejectionOf(supervisor.start({ type: T.instant }))).code).toBe('shutting_down');
        return { type: 'START_JOB' };
      case 'SHUTDOWN':
        void supervisor.shutdown({ graceMs: 0 }); // answered once stopped, like the first
        return { type: 'SHUTDOWN' };
      case GRACE_OVER:
        clock.set(this.#shutdownAt + before.context.graceMs);
        return { type: GRACE_OVER };
      case 'JOB_QUEUED': {
        // The earliest parked job comes due: within the grace period, the one parked for 500 ms.
        const due = parked
          .map((id) => this.jobs.get(id)!.retryAt)
          .filter((at): at is number => at !== null)
          .sort((a, b) => a - b)[0];
        expect(due).toBeDefined();
        if (nameOf(before.value) === 'draining.grace') {
          expect(due).toBeLessThan(this.#shutdownAt + before.context.graceMs);
        }
        clock.set(due!);
        return { type: 'JOB_QUEUED' };
      }
      case 'JOB_SETTLED':
        if (!event.wasRunning) {
          await supervisor.cancel(parked[0]!);
          return { type: 'JOB_SETTLED', wasRunning: false };
        }
        if (running.length > 0) {
          // The running attempt completes (with a store, once its START is durable and it runs).
          await until(() => this.#runOf(running[0]!) !== undefined);
          settleRun(this.#runOf(running[0]!)!, { result: 'done' });
          return { type: 'JOB_SETTLED', wasRunning: true };
        }
        {
          // Interrupted already (see afterInterrupts): the job that was running ends from pending.
          const [interrupted] = this.#jobsIn((v) => v === 'pending.queued', [T.work, T.prompt]);
          await supervisor.cancel(interrupted!);
          return { type: 'JOB_SETTLED', wasRunning: false };
        }
      case 'JOB_RELEASED':
        if (running.length > 0) {
          // The running attempt fails and waits to retry.
          await until(() => this.#runOf(running[0]!) !== undefined);
          settleRun(this.#runOf(running[0]!)!, { error: new JobFailure('again', 'try again') });
          return { type: 'JOB_RELEASED' };
        }
        // Interrupted already: the interruption released it, within the step that began aborting.
        withoutEvent.interrupted++;
        return null;
      case 'HANDLER_SETTLED': {
        if (before.context.handlers === 0) {
          // The machine counts no handler in flight: it changes nothing, and nothing real
          // corresponds (a running attempt's handler that settles ends the attempt, another event).
          expect([target.value, target.context]).toEqual([
            afterInterrupts(before).value,
            afterInterrupts(before).context,
          ]);
          withoutEvent.noop++;
          return null;
        }
        const abandoned = this.runs.find((run) => !run.settled && !running.includes(run.ctx.jobId));
        if (!abandoned) throw new Error('HANDLER_SETTLED: no handler in flight outside a running attempt');
        settleRun(abandoned, { result: 'late' });
        return { type: 'HANDLER_SETTLED' };
      }
      default:
        throw new Error(`no real counterpart for ${event.type} in ${nameOf(before.value)}`);
    }
  }

  /** The real supervisor is where the machine says, as `lifecycle` and as its actor's snapshot. */
  expectAt(target: SupervisorSnapshot, where: string): void {
    const { value, context } = target;
    expect(this.supervisor.lifecycle, where).toBe(typeof value === 'string' ? value : 'draining');
    expect(this.snapshot?.value, where).toEqual(value);
    expect(this.snapshot?.status, where).toBe(target.status);
    const real = this.snapshot!.context;
    expect([real.graceMs, real.hasStore], where).toEqual([context.graceMs, context.hasStore]);
    expect(real.running, where).toBe(context.running);
    // A handler launched after SHUTDOWN counted them (only in `#shutdownInto`'s running 1,
    // handlers 0) is in the real count once an event carries it, never in the machine's.
    const untold = this.runs.slice(this.#runsAtShutdown).filter((run) => !run.settled).length;
    expect([context.handlers, context.handlers + untold], where).toContain(real.handlers);
    expect(this.supervisor.stats().handlersInFlight, where).toBe(this.inFlight);
    expect(this.errors, where).toEqual(this.expectedErrors);
  }

  async close(): Promise<void> {
    for (const run of this.runs) settleRun(run, { result: 'late' });
    this.held?.opening.resolve();
    this.held?.releaseCommits();
    await this.supervisor.ready().catch(() => undefined); // a shutdown during recovery would be lost
    await this.supervisor.shutdown({ graceMs: 0 });
  }
}

describe.each([
  ['without a store', false],
  ['with a store', true],
])('supervisor machine: shortest paths replayed on a real supervisor %s', (_name, hasStore) => {
  const paths = SUPERVISOR_PATHS.get(hasStore)!;

  it('the graph reaches every state of the machine', () => {
    const states = new Set(paths.map((p) => nameOf(p.state.value)));
    const expected = ['accepting', 'draining.aborting', 'draining.grace', 'stopped'];
    expect([...states].sort()).toEqual(hasStore ? [...expected, 'recovering'].sort() : expected);
    expect(paths.length).toBeGreaterThan(50);
  });

  it.each(
    paths.map(
      (path) =>
        [
          path.steps
            .slice(1)
            .map((s) => supervisorStepName(s.event))
            .join(' → ') || 'init',
          path,
        ] as const,
    ),
  )('%s', async (_title, path) => {
    const bare = stepBareSupervisor(path, hasStore);
    const real = await RealSupervisor.create(hasStore, path);
    try {
      await real.quiesce();
      real.expectAt(afterInterrupts(bare[0]!), 'init');
      for (let i = 1; i < path.steps.length; i++) {
        const { event } = path.steps[i]!;
        const where = `step ${i}: ${supervisorStepName(event)}`;
        const target = afterInterrupts(bare[i]!);
        const from = real.received.length;
        const counterpart = await real.take(
          event,
          bare[i - 1]!,
          target,
          path.steps.slice(i + 1).map((s) => s.event),
        );
        await real.quiesce();
        const received = real.received.slice(from);
        if (counterpart) expect(received, where).toContainEqual(expect.objectContaining(counterpart));
        const began = (s: SupervisorSnapshot) => nameOf(s.value) === 'draining.aborting';
        if (began(bare[i]!) && !began(bare[i - 1]!) && bare[i]!.context.running > 0) {
          // The interruption that afterInterrupts accounts for did happen, in this step, after the
          // event that began aborting.
          const start = received.findLastIndex((e) => e.type === event.type);
          expect(
            received.slice(start).filter((e) => e.type === 'JOB_RELEASED'),
            where,
          ).toHaveLength(bare[i]!.context.running);
        }
        real.expectAt(target, where);
      }
    } finally {
      await real.close();
    }
    replayed.supervisor++;
  });
});

// =============================================================================================
// Part 2: the job machine
// =============================================================================================

const JOB_INTERNAL = internalEventTypes(jobMachine.root);
const WATCHDOG_EVENT = theOne(JOB_INTERNAL, 'xstate.after.', 'running');
const BACKOFF_EVENT = theOne(JOB_INTERNAL, 'xstate.after.', 'backoff');

/** A vertex: the state plus the context fields that change what can happen next. */
function jobVertex(snapshot: JobSnapshot): string {
  const c = snapshot.context;
  return JSON.stringify([
    nameOf(snapshot.value),
    c.outcome.failures,
    c.run.attempt > 0,
    c.outcome.error?.code ?? null,
    c.run.lastChange,
  ]);
}

/** Realistic events for the graph: payloads built from the vertex's own context. */
function jobEvents(snapshot: JobSnapshot): JobEvent[] {
  const c = snapshot.context;
  const at = c.run.at + 10;
  const external: JobEvent[] = [
    eventFor('START', c, at),
    eventFor('PROGRESS', c, at),
    eventFor('HEARTBEAT', c, at),
    eventFor('COMPLETE', c, at),
    eventFor('FAIL', c, at),
    eventFor('FAIL', c, at, { retryable: false }),
    eventFor('CANCEL', c, at),
    eventFor('INTERRUPT', c, at),
  ];
  const timers = [{ type: WATCHDOG_EVENT }, { type: BACKOFF_EVENT }];
  return [...external, ...(timers as unknown as JobEvent[])];
}

function jobStepName(event: GraphEvent): string {
  if (event.type === WATCHDOG_EVENT) return 'watchdog';
  if (event.type === BACKOFF_EVENT) return 'backoff elapsed';
  const e = event as unknown as JobEvent;
  return e.type === 'FAIL' && e.error.retryable === false ? 'FAIL(non-retryable)' : e.type;
}

const JOB_CONFIGS: Record<string, JobConfig> = {
  'stall, 1 retry': {
    heartbeatTimeoutMs: 1_000,
    timeoutMs: null,
    retry: { maxRetries: 1, backoffMs: 200, factor: 2, maxBackoffMs: 10_000 },
  },
  'timeout, 2 retries, capped backoff': {
    heartbeatTimeoutMs: 5_000,
    timeoutMs: 1_000,
    retry: { maxRetries: 2, backoffMs: 150, factor: 3, maxBackoffMs: 300 },
  },
  'no retries': {
    heartbeatTimeoutMs: 300,
    timeoutMs: 2_000,
    retry: { maxRetries: 0, backoffMs: 1_000, factor: 2, maxBackoffMs: 10_000 },
  },
};

/**
 * A bare job actor of the machine this file imports, on its own SimulatedClock, in the shape of
 * machine-helpers' harness (so its `applyStep` drives it), with the same handler probe.
 */
function bareJob(config: JobConfig): JobHarness {
  const clock = new SteppingClock();
  const probe = { started: [] as HandlerInput[], live: new Set<number>(), aborted: [] as number[] };
  const actor = createActor(jobMachine.provide({ actions: probeActions(probe) }), {
    clock,
    input: jobInput(config),
  });
  const errors: unknown[] = [];
  actor.subscribe({ error: (error) => errors.push(error) });
  actor.start();
  return { actor, clock, probe, rejections: [], errors, snapshots: [], config };
}

/** The bare actor's step for a graph step, with the time passing between events (as the model test does). */
function bareStep(event: GraphEvent, job: JobHarness): Step {
  if (event.type === WATCHDOG_EVENT) return { type: 'WATCHDOG' };
  if (event.type === BACKOFF_EVENT) return { type: 'BACKOFF_ELAPSED' };
  const e = event as unknown as JobEvent;
  job.clock.increment(7);
  const retryable = e.type === 'FAIL' ? e.error.retryable : undefined;
  return eventFor(e.type, job.actor.getSnapshot().context, job.clock.now(), { retryable });
}

/** The event the real job actor receives for a step. */
function receivedFor(step: Step): string {
  switch (step.type) {
    case 'WATCHDOG':
      return WATCHDOG_EVENT;
    case 'BACKOFF_ELAPSED':
      return BACKOFF_EVENT;
    default:
      return step.type;
  }
}

function statusOfValue(value: JobSnapshot['value']): string {
  const name = nameOf(value);
  return name.startsWith('pending') ? 'pending' : name.startsWith('running') ? 'running' : name;
}

const JOB = 'report';
const BLOCKER = 'blocker';

/**
 * One real job of a supervisor without a store, whose single slot is held by a blocker job while
 * the job waits: so the job is queued (not started at once) whenever the machine says so, and a
 * START is the supervisor dispatching it when the blocker finishes.
 */
class RealJob {
  readonly clock = new SimulatedClock();
  readonly supervisor = createSupervisor({ clock: this.clock, concurrency: 1 });
  readonly runs: Run[] = [];
  readonly blockers: Run[] = [];
  readonly errors: unknown[] = [];
  readonly rejections: unknown[] = [];
  /** Event types the job's actor received, and its latest snapshot. */
  readonly received: string[] = [];
  snapshot: JobSnapshot | undefined;
  jobId = '';
  stopping: Promise<unknown> | undefined;

  constructor(config: JobConfig) {
    const { supervisor } = this;
    const { maxRetries: max, backoffMs, factor, maxBackoffMs } = config.retry;
    supervisor.register(BLOCKER, controlledHandler(this.blockers, false), { heartbeatTimeoutMs: FAR });
    supervisor.register(JOB, controlledHandler(this.runs, false), {
      heartbeatTimeoutMs: config.heartbeatTimeoutMs,
      timeoutMs: config.timeoutMs,
      retries: { max, backoffMs, factor, maxBackoffMs },
    });
    supervisor.on('error', (report) => this.errors.push(report.error));
    supervisor.on('rejected', (rejection) => this.rejections.push(rejection));
    supervisor.inspect((event) => this.#observe(event), {
      supervisor: false,
      jobs: { types: [JOB] },
      rejections: false,
    });
  }

  #observe(event: JobvisorInspectionEvent): void {
    if (event.type === '@jobvisor.rejected' || event.actorRef.sessionId !== event.rootId) return;
    if (event.type === '@xstate.event') this.received.push(event.event.type);
    if (event.type === '@xstate.snapshot') this.snapshot = event.snapshot as JobSnapshot;
  }

  /** xstate.init: the job is created while a blocker holds the slot: pending.queued. */
  async create(): Promise<void> {
    await this.#block();
    this.jobId = (await this.supervisor.start({ type: JOB })).job.id;
    await settle();
  }

  /** Starts a blocker and lets everything run: it runs if the slot is free, else it queues. */
  async #block(): Promise<void> {
    await this.supervisor.start({ type: BLOCKER });
    await settle();
  }

  #run(attempt: number): Run {
    const run = this.runs.find((r) => r.ctx.attempt === attempt && !r.settled);
    expect(run, `a handler runs attempt ${attempt}`).toBeDefined();
    return run!;
  }

  /** The real counterpart of a bare step (already applied to `bare`, whose time the real clock follows). */
  async take(step: Step, before: JobSnapshot, bare: JobHarness): Promise<void> {
    const { supervisor, clock } = this;
    const attempt = before.context.run.attempt;
    if (step.type === 'WATCHDOG' || step.type === 'BACKOFF_ELAPSED') {
      clock.set(bare.clock.now()); // the timer of the job's own actor fires
      return;
    }
    clock.set(step.at);
    switch (step.type) {
      case 'START': {
        // A new blocker queues behind the job; the running one finishes, so the job is dispatched.
        const running = this.blockers.find((run) => !run.settled)!;
        await this.#block();
        settleRun(running, { result: 'unblocked' });
        return;
      }
      case 'PROGRESS':
        expect(this.#run(attempt).ctx.progress(step.percent, step.message)).toBe(true);
        return;
      case 'HEARTBEAT':
        expect(this.#run(attempt).ctx.heartbeat()).toBe(true);
        return;
      case 'COMPLETE':
        settleRun(this.#run(attempt), { result: step.result });
        return;
      case 'FAIL': {
        const { code, message, retryable } = step.error;
        settleRun(this.#run(attempt), { error: new JobFailure(code, message, { retryable }) });
        return;
      }
      case 'CANCEL':
        expect((await supervisor.cancel(this.jobId, step.reason)).cancelled).toBe(true);
        return;
      case 'INTERRUPT':
        // The running system interrupts a job only when it shuts down (the path ends here).
        this.stopping = supervisor.shutdown({ graceMs: 0 });
        return;
    }
  }

  /** The real job is the bare one: state, context, JobView. */
  expectLike(bare: JobSnapshot, where: string): void {
    const real = this.snapshot!;
    expect(nameOf(real.value), where).toBe(nameOf(bare.value));
    expect(real.status, where).toBe(bare.status);
    const { spec: _realSpec, ...realContext } = real.context;
    const { spec: _bareSpec, ...bareContext } = bare.context;
    expect(realContext, where).toEqual(bareContext);
    const view = this.supervisor.get(this.jobId)!;
    const { attempt, progress, seq } = bare.context.run;
    expect([view.status, view.attempt, view.progress, view.seq], where).toEqual([
      statusOfValue(bare.value),
      attempt,
      progress,
      seq,
    ]);
    expect(this.errors, where).toEqual([]);
    expect(this.rejections, where).toEqual([]);
  }

  async close(): Promise<void> {
    for (const run of [...this.runs, ...this.blockers]) settleRun(run, { result: 'late' });
    await (this.stopping ?? this.supervisor.shutdown({ graceMs: 0 }));
  }
}

for (const [name, config] of Object.entries(JOB_CONFIGS)) {
  describe(`job machine (${name}): shortest paths replayed on a real job`, () => {
    const paths = getShortestPaths(jobMachine, {
      input: jobInput(config),
      events: jobEvents,
      serializeState: jobVertex,
    });

    it.each(
      paths.map(
        (path) =>
          [
            path.steps
              .slice(1)
              .map((s) => jobStepName(s.event as unknown as GraphEvent))
              .join(' → ') || 'init',
            path,
          ] as const,
      ),
    )('%s', async (_title, path) => {
      const bare = bareJob(config);
      const real = new RealJob(config);
      try {
        await real.create();
        expect(real.received).toEqual(['xstate.init']);
        real.expectLike(bare.actor.getSnapshot(), 'init');
        for (const [i, { event, state }] of path.steps.entries()) {
          if (i === 0) continue;
          const where = `step ${i}: ${jobStepName(event as unknown as GraphEvent)}`;
          const before = bare.actor.getSnapshot();
          const step = bareStep(event as unknown as GraphEvent, bare);
          applyStep(bare, step);
          expect(jobVertex(bare.actor.getSnapshot()), where).toBe(jobVertex(state));
          const from = real.received.length;
          await real.take(step, before, bare);
          await until(() => real.received.length > from);
          await settle();
          expect(real.received.slice(from), where).toEqual([receivedFor(step)]);
          real.expectLike(bare.actor.getSnapshot(), where);
        }
        expect(bare.errors).toEqual([]);
      } finally {
        await real.close();
      }
      replayed.job++;
    });
  });
}

// =============================================================================================
// Found on the way: the running system around the machines, where no machine path goes
// =============================================================================================

describe('found while replaying', () => {
  // SHUTDOWN is not an event of `recovering`: the machine drops it, and so does the running
  // supervisor's actor. Supervisor.shutdown() once sent it anyway and then waited for a stop that
  // never came, while the supervisor went on to `accepting`; it now waits for recovery first.
  it('shutdown() called while the store opens stops the supervisor once recovery is over', async () => {
    const held = heldStore(memoryStore());
    const supervisor = createSupervisor({ store: held.store, clock: new SimulatedClock() });
    expect(supervisor.lifecycle).toBe('recovering');
    let stopped = false;
    const stopping = supervisor.shutdown({ graceMs: 0 }).then(() => (stopped = true));
    held.opening.resolve();
    await supervisor.ready();
    try {
      await until(() => stopped, 50);
      expect(supervisor.lifecycle).toBe('stopped');
    } finally {
      await supervisor.shutdown({ graceMs: 0 }); // accepted now: it stops, and the first call returns too
      await stopping;
    }
  });

  // The job machine expects a COMPLETE or a FAIL from every handler that ends. A handler whose
  // result throws when read (a getter, a Proxy) once left its job `running` with no handler
  // until the watchdog stalled it: checking the result threw inside the runtime. Now it fails
  // the attempt as result_not_serializable at once.
  it('a handler whose result throws when read fails its attempt at once', async () => {
    const h = harness();
    h.supervisor.register('unreadable', () => ({
      get rows(): number {
        throw new Error('unreadable');
      },
    }));
    const { job } = await h.supervisor.start({ type: 'unreadable' });
    try {
      await until(() => h.supervisor.stats().handlersInFlight === 0);
      await settle();
      expect(h.supervisor.get(job.id)?.status).toBe('failed');
    } finally {
      await h.supervisor.shutdown({ graceMs: 0 });
    }
  });
});
