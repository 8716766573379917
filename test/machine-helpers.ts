/**
 * Helpers for the model-based and property tests of the job machine: a real job actor on a
 * simulated clock with a probe in place of the handler, an independent oracle of the job
 * contract (docs/ARCHITECTURE.md), and the expected effect of every accepted event.
 */
import { createActor, SimulatedClock, type SnapshotFrom } from 'xstate';
import { expect } from 'vitest';
import { jobMachine } from '../machines/job.machine.js';
import { installActorTimers } from '../src/supervisor/actor-timers.js';
import type {
  HandlerInput,
  JobContext,
  JobDeadlines,
  JobEvent,
  JobInput,
  JobOutcome,
  JobRun,
  JobSpec,
  RejectedEmit,
  RejectionReason,
  RetryPolicy,
} from '../machines/job.types.js';

export type JobSnapshot = SnapshotFrom<typeof jobMachine>;

const FINAL_STATES = ['completed', 'failed', 'cancelled'] as const;

/** `{ pending: 'queued' }` → `pending.queued`; written here so the tests do not reuse the code under test. */
export function nameOf(value: unknown): string {
  if (typeof value === 'string') return value;
  const [entry] = Object.entries(value as Record<string, unknown>);
  return entry ? `${entry[0]}.${nameOf(entry[1])}` : '';
}

export function isFinalName(name: string): boolean {
  return (FINAL_STATES as readonly string[]).includes(name);
}

export interface JobConfig {
  readonly heartbeatTimeoutMs: number;
  readonly timeoutMs: number | null;
  readonly retry: RetryPolicy;
}

const DEFAULT_CONFIG: JobConfig = {
  heartbeatTimeoutMs: 1_000,
  timeoutMs: null,
  retry: { maxRetries: 1, backoffMs: 200, factor: 2, maxBackoffMs: 10_000 },
};

export function jobInput(config: JobConfig = DEFAULT_CONFIG, extra: Partial<JobInput> = {}): JobInput {
  return {
    id: 'job-1',
    type: 'report',
    key: 'report:2026-10',
    input: { month: '2026-10' },
    retry: config.retry,
    heartbeatTimeoutMs: config.heartbeatTimeoutMs,
    timeoutMs: config.timeoutMs,
    createdAt: 0,
    ...extra,
  };
}

/** What the handler probe saw: every launch (entering `running`), which attempts still run, every stop. */
export interface HandlerProbe {
  readonly started: HandlerInput[];
  /** Attempts whose handler is to run: launched, not yet stopped. */
  readonly live: Set<number>;
  readonly aborted: number[];
}

/** The machine's `launchHandler` / `stopHandler`, recording into `probe` (the supervisor's tell the job's cell). */
export function probeActions(probe: HandlerProbe) {
  return {
    launchHandler: ({ context }: { context: JobContext }) => {
      const { spec } = context;
      const { attempt } = context.run;
      probe.started.push({ jobId: spec.id, type: spec.type, key: spec.key, attempt, input: spec.input });
      probe.live.add(attempt);
    },
    stopHandler: ({ context }: { context: JobContext }) => {
      probe.live.delete(context.run.attempt);
      probe.aborted.push(context.run.attempt);
    },
  };
}

/**
 * XState's SimulatedClock, passing every instant as a real clock does: a `set` or `increment`
 * across several timers moves the time to each timer's due time before firing it, so a timer
 * armed by a timer is relative to when that one fired (SimulatedClock alone arms it relative to
 * the target time).
 */
export class SteppingClock extends SimulatedClock {
  readonly #due = new Map<number, number>();

  override setTimeout(fn: (...args: unknown[]) => void, timeout: number): number {
    const id = super.setTimeout((...args: unknown[]) => {
      this.#due.delete(id);
      fn(...args);
    }, timeout);
    this.#due.set(id, this.now() + timeout);
    return id;
  }

  override clearTimeout(id: number): void {
    this.#due.delete(id);
    super.clearTimeout(id);
  }

  override set(time: number): void {
    for (;;) {
      const next = Math.min(...this.#due.values());
      if (!(next > this.now() && next < time)) break;
      super.set(next);
    }
    super.set(time);
  }

  override increment(ms: number): void {
    this.set(this.now() + ms);
  }
}

export interface JobHarness {
  readonly actor: ReturnType<typeof createJobActorOnly>;
  readonly clock: SteppingClock;
  readonly probe: HandlerProbe;
  readonly rejections: RejectedEmit[];
  readonly errors: unknown[];
  /** Every snapshot the actor published, in order. */
  readonly snapshots: JobSnapshot[];
  readonly config: JobConfig;
}

function createJobActorOnly(input: JobInput, clock: SteppingClock, probe: HandlerProbe) {
  return createActor(jobMachine.provide({ actions: probeActions(probe) }), { clock, input });
}

/** A started job actor on a simulated clock (set to `now` before the actor starts). */
export function createJob(
  config: JobConfig = DEFAULT_CONFIG,
  options: {
    now?: number;
    input?: Partial<JobInput>;
    /** `actor`: the actor's timers are `ActorTimers`, as a supervisor's job actors' are; default XState's scheduler. */
    timers?: 'xstate' | 'actor';
  } = {},
): JobHarness {
  const clock = new SteppingClock();
  if (options.now !== undefined) clock.set(options.now);
  const probe: HandlerProbe = { started: [], live: new Set(), aborted: [] };
  const actor = createJobActorOnly(jobInput(config, options.input), clock, probe);
  if (options.timers === 'actor' && !installActorTimers(actor, clock))
    throw new Error('ActorTimers could not be installed on this XState');
  const rejections: RejectedEmit[] = [];
  const errors: unknown[] = [];
  const snapshots: JobSnapshot[] = [];
  actor.on('rejected', (rejection) => rejections.push(rejection));
  actor.subscribe({ next: (snapshot) => snapshots.push(snapshot), error: (error) => errors.push(error) });
  actor.start();
  return { actor, clock, probe, rejections, errors, snapshots, config };
}

/**
 * A step the tests can take: an event from outside (stamped with the clock's time), or
 * something only time or the handler can cause.
 */
export type Step = JobEvent | { readonly type: 'WATCHDOG' } | { readonly type: 'BACKOFF_ELAPSED' };

/** A job's fields flat, as the contract below speaks of them (the machine's context nests them). */
export type JobFields = JobRun & JobOutcome & { readonly spec: JobSpec; readonly deadlines: JobDeadlines };

export function fieldsOf(context: JobContext): JobFields {
  return { ...context.run, ...context.outcome, spec: context.spec, deadlines: context.deadlines };
}

/**
 * The heartbeat deadline of the running attempt: a heartbeat timeout after its latest report (or
 * its start). The machine's armed check (`deadlines.heartbeatAt`) may be earlier: it then re-arms.
 */
export function heartbeatDeadlineOf(context: JobContext): number | null {
  if (context.deadlines.heartbeatAt === null) return null;
  const { lastHeartbeatAt, startedAt, at } = context.run;
  return (lastHeartbeatAt ?? startedAt ?? at) + context.spec.heartbeatTimeoutMs;
}

/** When the running attempt's watchdog ends it, and as what (re-arms before that are not changes). */
export function watchdogOf(context: JobContext): { at: number; code: 'stalled' | 'timeout' } {
  const { timeoutAt } = context.deadlines;
  const heartbeatAt = heartbeatDeadlineOf(context);
  const at = Math.min(heartbeatAt ?? Infinity, timeoutAt ?? Infinity);
  return { at, code: timeoutAt !== null && timeoutAt <= (heartbeatAt ?? Infinity) ? 'timeout' : 'stalled' };
}

/**
 * Whether `after` is the watchdog re-arming itself (it fired at its armed check, before the
 * heartbeat deadline a later report moved): no change, the check moved to that deadline.
 */
export function isRearm(before: JobSnapshot, after: JobSnapshot): boolean {
  const b = fieldsOf(before.context);
  const a = fieldsOf(after.context);
  if (nameOf(before.value) !== 'running' || nameOf(after.value) !== 'running') return false;
  if (a.seq !== b.seq || a.attempt !== b.attempt) return false;
  expect(a.deadlines).toEqual({ ...b.deadlines, heartbeatAt: heartbeatDeadlineOf(before.context) });
  expect(a.lastHeartbeatAt).toBe(b.lastHeartbeatAt);
  return true;
}

/** The delay before retry number `failures` (1-based): backoffMs · factor^(failures-1), capped. */
export function expectedBackoff(retry: RetryPolicy, failures: number): number {
  let delay = retry.backoffMs;
  for (let i = 1; i < failures; i++) delay *= retry.factor;
  return Math.min(retry.maxBackoffMs, delay);
}

/** Applies one step to the real actor: events are sent, timers are reached with the clock. */
export function applyStep(job: JobHarness, step: Step): void {
  const { actor, clock } = job;
  const context = actor.getSnapshot().context;
  switch (step.type) {
    case 'WATCHDOG': {
      const { at } = watchdogOf(context);
      expect(Number.isFinite(at)).toBe(true);
      clock.set(Math.max(clock.now(), at));
      return;
    }
    case 'BACKOFF_ELAPSED': {
      const at = context.deadlines.retryAt;
      expect(at).not.toBeNull();
      clock.set(Math.max(clock.now(), at!));
      return;
    }
    default:
      actor.send(step);
  }
}

export type Verdict =
  { readonly accepted: true } | { readonly accepted: false; readonly reason: RejectionReason };

const accept: Verdict = { accepted: true };
const reject = (reason: RejectionReason): Verdict => ({ accepted: false, reason });

/**
 * The contract of docs/ARCHITECTURE.md, written independently of the machine: whether `event` is accepted
 * in `state`, and if not, why. Final states are not asked: a finished actor ignores everything.
 */
export function contractVerdict(state: string, context: JobContext, event: JobEvent): Verdict {
  const running = state === 'running';
  if ('attempt' in event && event.attempt !== context.run.attempt) return reject('stale_attempt');
  switch (event.type) {
    case 'START':
      return state === 'pending.queued' ? accept : reject('not_queued');
    case 'CANCEL':
      return accept;
    case 'INTERRUPT':
    case 'HEARTBEAT':
    case 'COMPLETE':
    case 'FAIL':
      return running ? accept : reject('not_running');
    case 'PROGRESS': {
      if (!running) return reject('not_running');
      const { percent } = event;
      if (!(Number.isFinite(percent) && percent >= 0 && percent <= 100))
        return reject('progress_out_of_range');
      return percent >= context.run.progress ? accept : reject('progress_backwards');
    }
  }
}

const NO_DEADLINES = { heartbeatAt: null, timeoutAt: null, retryAt: null };

/** Checks that `after` is what the contract says `step` does to `before` (an accepted step). */
export function expectApplied(before: JobSnapshot, step: Step, after: JobSnapshot, config: JobConfig): void {
  const b = fieldsOf(before.context);
  const a = fieldsOf(after.context);
  const value = nameOf(after.value);
  // Fields no step may touch.
  expect(a.spec).toBe(b.spec); // what the job is never changes: the very same object
  expect(a.attempt).toBeGreaterThanOrEqual(b.attempt);
  expect(a.progress).toBeGreaterThanOrEqual(0);
  expect(a.progress).toBeLessThanOrEqual(100);

  const failure = (code: string, at: number | null, retryable: boolean) => {
    const failures = b.failures + 1;
    expect(a.failures).toBe(failures);
    expect(a.error?.code).toBe(code);
    expect(a.attempt).toBe(b.attempt);
    expect(a.seq).toBe(b.seq + 1);
    expect(a.deadlines.heartbeatAt).toBeNull();
    expect(a.deadlines.timeoutAt).toBeNull();
    if (retryable && failures <= config.retry.maxRetries) {
      expect(value).toBe('pending.backoff');
      expect(a.lastChange).toBe('retrying');
      expect(a.finishedAt).toBeNull();
      if (at !== null) {
        expect(a.updatedAt).toBe(at);
        expect(a.deadlines.retryAt).toBe(at + expectedBackoff(config.retry, failures));
      } else {
        expect(a.deadlines.retryAt! - a.updatedAt).toBe(expectedBackoff(config.retry, failures));
      }
    } else {
      expect(value).toBe('failed');
      expect(after.status).toBe('done');
      expect(a.lastChange).toBe('failed');
      expect(a.deadlines).toEqual(NO_DEADLINES);
      if (at !== null) expect(a.finishedAt).toBe(at);
      expect(a.finishedAt).toBe(a.updatedAt);
    }
  };

  switch (step.type) {
    case 'START':
      expect(value).toBe('running');
      expect(a).toMatchObject({
        attempt: b.attempt + 1,
        failures: b.failures,
        progress: 0,
        message: null,
        startedAt: step.at,
        updatedAt: step.at,
        seq: b.seq + 1,
        lastChange: 'started',
        deadlines: {
          heartbeatAt: step.at + config.heartbeatTimeoutMs,
          timeoutAt: config.timeoutMs === null ? null : step.at + config.timeoutMs,
          retryAt: null,
        },
      });
      return;
    case 'PROGRESS':
      expect(value).toBe('running');
      expect(a).toMatchObject({
        attempt: b.attempt,
        progress: step.percent,
        message: step.message ?? b.message,
        updatedAt: step.at,
        lastHeartbeatAt: step.at,
        seq: b.seq + 1,
        lastChange: 'progress',
        // The watchdog's armed check stays: it re-arms from lastHeartbeatAt when it fires.
        deadlines: b.deadlines,
      });
      return;
    case 'HEARTBEAT':
      // Not a change: seq, status and progress stay; only the heartbeat deadline moves.
      expect(value).toBe('running');
      expect(a).toMatchObject({
        attempt: b.attempt,
        progress: b.progress,
        seq: b.seq,
        lastChange: b.lastChange,
        updatedAt: b.updatedAt,
        lastHeartbeatAt: step.at,
        deadlines: b.deadlines,
      });
      return;
    case 'COMPLETE':
      expect(value).toBe('completed');
      expect(after.status).toBe('done');
      expect(a).toMatchObject({
        attempt: b.attempt,
        progress: 100,
        result: step.result ?? null,
        error: null,
        finishedAt: step.at,
        updatedAt: step.at,
        seq: b.seq + 1,
        lastChange: 'completed',
        deadlines: NO_DEADLINES,
      });
      return;
    case 'CANCEL':
      expect(value).toBe('cancelled');
      expect(after.status).toBe('done');
      expect(a).toMatchObject({
        attempt: b.attempt,
        progress: b.progress,
        cancelReason: step.reason ?? null,
        finishedAt: step.at,
        updatedAt: step.at,
        seq: b.seq + 1,
        lastChange: 'cancelled',
        deadlines: NO_DEADLINES,
      });
      return;
    case 'INTERRUPT':
      expect(value).toBe('pending.queued');
      expect(a).toMatchObject({
        attempt: b.attempt,
        failures: b.failures,
        message: step.reason,
        updatedAt: step.at,
        seq: b.seq + 1,
        lastChange: 'interrupted',
        deadlines: NO_DEADLINES,
      });
      return;
    case 'FAIL':
      failure(step.error.code, step.at, step.error.retryable !== false);
      expect(a.error?.message).toBe(step.error.message);
      return;
    case 'WATCHDOG': {
      const { at, code } = watchdogOf(before.context);
      failure(code, at, true);
      return;
    }
    case 'BACKOFF_ELAPSED':
      expect(value).toBe('pending.queued');
      expect(a).toMatchObject({
        attempt: b.attempt,
        failures: b.failures,
        updatedAt: b.deadlines.retryAt,
        seq: b.seq + 1,
        lastChange: 'requeued',
        deadlines: NO_DEADLINES,
      });
      return;
  }
}

/** Invariant 6 on the probe: a handler executes exactly while the job is running its attempt. */
export function expectHandlerMatchesState(job: JobHarness): void {
  const snapshot = job.actor.getSnapshot();
  if (nameOf(snapshot.value).startsWith('running')) {
    expect([...job.probe.live]).toEqual([snapshot.context.run.attempt]);
  } else {
    expect([...job.probe.live]).toEqual([]);
  }
}

/** Builds the event of a step kind from the actor's current context, at the clock's time. */
export function eventFor(
  kind: JobEvent['type'],
  context: JobContext,
  at: number,
  variant: { attempt?: number; percent?: number; retryable?: boolean } = {},
): JobEvent {
  const attempt = variant.attempt ?? context.run.attempt;
  switch (kind) {
    case 'START':
      return { type: 'START', at };
    case 'PROGRESS':
      return {
        type: 'PROGRESS',
        attempt,
        percent: variant.percent ?? Math.min(100, context.run.progress + 10),
        message: `step at ${at}`,
        at,
      };
    case 'HEARTBEAT':
      return { type: 'HEARTBEAT', attempt, at };
    case 'COMPLETE':
      return { type: 'COMPLETE', attempt, result: { rows: 42, attempt }, at };
    case 'FAIL':
      return variant.retryable === false
        ? { type: 'FAIL', attempt, error: { code: 'fatal', message: 'bad input', retryable: false }, at }
        : { type: 'FAIL', attempt, error: { code: 'boom', message: 'upstream 503' }, at };
    case 'CANCEL':
      return { type: 'CANCEL', reason: 'user asked', at };
    case 'INTERRUPT':
      return { type: 'INTERRUPT', reason: 'interrupted by shutdown', at };
  }
}
