/**
 * Model-based tests of the job machine (docs/ARCHITECTURE.md, "The job machine (contract)").
 *
 * 1. Every shortest path of the machine's graph (xstate/graph, timers included as their
 *    internal events) is replayed on a real actor on a SimulatedClock, with
 *    realistic payloads built from the actor's live context; every step is checked against an
 *    oracle of the contract written independently of the machine.
 * 2. Every (state, event) pair outside the contract is rejected with the right reason and
 *    changes nothing; final states ignore everything.
 * 3. Invariants 1, 3, 4, 6, 7, on the machine and at the facade.
 */
import { describe, expect, it, vi } from 'vitest';
import { getShortestPaths } from 'xstate/graph';
import { jobMachine } from '../machines/job.machine.js';
import type { JobContext, JobEvent } from '../machines/job.types.js';
import { JobFailure, type HandlerContext } from '../src/index.js';
import { deferred, harness, settle, until, expectValidChangeStream } from './helpers.js';
import {
  applyStep,
  contractVerdict,
  createJob,
  eventFor,
  fieldsOf,
  expectApplied,
  expectHandlerMatchesState,
  expectedBackoff,
  heartbeatDeadlineOf,
  isFinalName,
  jobInput,
  nameOf,
  type JobConfig,
  type JobHarness,
  type JobSnapshot,
  type Step,
} from './machine-helpers.js';

// ---------------------------------------------------------------------------------------------
// The graph
// ---------------------------------------------------------------------------------------------

/** Internal event types of the machine: `after` timers and the handler's error. */
function internalEventTypes(): string[] {
  const types: string[] = [];
  const visit = (node: typeof jobMachine.root) => {
    for (const type of node.transitions.keys()) if (type.startsWith('xstate.')) types.push(type);
    for (const child of Object.values(node.states)) visit(child);
  };
  visit(jobMachine.root);
  return types;
}

const INTERNAL = internalEventTypes();
const WATCHDOG_EVENT = INTERNAL.find((t) => t.startsWith('xstate.after.') && t.includes('running'));
const BACKOFF_EVENT = INTERNAL.find((t) => t.startsWith('xstate.after.') && t.includes('backoff'));

/** A vertex of the graph: the state plus the context fields that change what can happen next. */
function vertex(snapshot: JobSnapshot): string {
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
function graphEvents(snapshot: JobSnapshot): JobEvent[] {
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
  const internal = [WATCHDOG_EVENT, BACKOFF_EVENT].map((type) => ({ type }));
  return [...external, ...(internal as unknown as JobEvent[])];
}

/** Turns a graph step back into a step for the real actor, built from the actor's context. */
function realStep(graphEvent: { type: string; error?: unknown }, job: JobHarness): Step {
  if (graphEvent.type === WATCHDOG_EVENT) return { type: 'WATCHDOG' };
  if (graphEvent.type === BACKOFF_EVENT) return { type: 'BACKOFF_ELAPSED' };
  const event = graphEvent as JobEvent;
  job.clock.increment(7); // time passes between events, far less than any timer
  const retryable = event.type === 'FAIL' ? event.error.retryable : undefined;
  return eventFor(event.type, job.actor.getSnapshot().context, job.clock.now(), { retryable });
}

/** A short name for a graph step, for test titles. */
function stepLabel(event: { type: string }): string {
  if (event.type === WATCHDOG_EVENT) return 'watchdog';
  if (event.type === BACKOFF_EVENT) return 'backoff elapsed';
  const e = event as JobEvent;
  return e.type === 'FAIL' && e.error.retryable === false ? 'FAIL(non-retryable)' : e.type;
}

const CONFIGS: Record<string, JobConfig> = {
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

describe('job machine graph', () => {
  it('the machine has the internal events the replay relies on', () => {
    expect(WATCHDOG_EVENT).toBeDefined();
    expect(BACKOFF_EVENT).toBeDefined();
    // The handler is no child actor: the machine has no error event of one to take.
    expect(INTERNAL.filter((t) => t.startsWith('xstate.error.actor.'))).toEqual([]);
  });

  for (const [name, config] of Object.entries(CONFIGS)) {
    const paths = getShortestPaths(jobMachine, {
      input: jobInput(config),
      events: graphEvents,
      serializeState: vertex,
    });

    describe(`shortest paths (${name})`, () => {
      it('reach every state of the contract', () => {
        const reached = new Set(paths.map((p) => nameOf(p.state.value)));
        expect([...reached].sort()).toEqual(
          ['cancelled', 'completed', 'failed', 'pending.backoff', 'pending.queued', 'running'].filter(
            (s) => config.retry.maxRetries > 0 || s !== 'pending.backoff',
          ),
        );
        const codes = new Set(paths.map((p) => p.state.context.outcome.error?.code));
        expect(codes).toContain(
          config.timeoutMs !== null && config.timeoutMs < config.heartbeatTimeoutMs ? 'timeout' : 'stalled',
        );
        expect(paths.length).toBeGreaterThanOrEqual(10);
      });

      it.each(
        paths.map(
          (p) =>
            [
              p.steps
                .slice(1)
                .map((s) => stepLabel(s.event))
                .join(' → '),
              nameOf(p.state.value),
              p,
            ] as const,
        ),
      )('replays %s ⇒ %s on a real actor', (_title, _state, path) => {
        const job = createJob(config);
        const [init, ...steps] = path.steps;
        expect(init!.event.type).toBe('xstate.init');
        expect(vertex(job.actor.getSnapshot())).toBe(vertex(init!.state));
        let seqChanges = 0;
        for (const step of steps) {
          const before = job.actor.getSnapshot();
          const real = realStep(step.event, job);
          applyStep(job, real);
          const after = job.actor.getSnapshot();
          expect(vertex(after)).toBe(vertex(step.state));
          expectApplied(before, real, after, job.config);
          expectHandlerMatchesState(job);
          if (after.context.run.seq !== before.context.run.seq) seqChanges++;
        }
        const final = job.actor.getSnapshot();
        expect(nameOf(final.value)).toBe(nameOf(path.state.value));
        expect(final.status).toBe(isFinalName(nameOf(final.value)) ? 'done' : 'active');
        // Every step of a shortest path is a change: seq counts them, with no gap.
        expect(seqChanges).toBe(steps.length);
        expect(final.context.run.seq).toBe(1 + steps.length);
        expect(job.probe.started.map((s) => s.attempt)).toEqual(
          Array.from({ length: final.context.run.attempt }, (_, i) => i + 1),
        );
        expect(job.rejections).toEqual([]);
        expect(job.errors).toEqual([]);
      });
    });
  }

  /** Paths the graph leaves out: heartbeats do not change a vertex, and long timer chains. */
  const SCENARIOS: Record<string, { config: JobConfig; steps: MakeStep[]; end: string }> = {
    'heartbeats keep a job alive past its heartbeat timeout, then it stalls, retries and completes': {
      config: CONFIGS['stall, 1 retry']!,
      end: 'completed',
      steps: [
        ext('START'),
        tick(900),
        ext('HEARTBEAT'),
        tick(900),
        ext('HEARTBEAT'),
        tick(900),
        ext('PROGRESS', { percent: 30 }),
        () => ({ type: 'WATCHDOG' }),
        () => ({ type: 'BACKOFF_ELAPSED' }),
        ext('START'),
        ext('PROGRESS', { percent: 5 }), // a new attempt starts again from 0
        ext('COMPLETE'),
      ],
    },
    'heartbeats do not extend the job timeout': {
      config: { heartbeatTimeoutMs: 400, timeoutMs: 1_000, retry: CONFIGS['no retries']!.retry },
      end: 'failed',
      steps: [
        ext('START'),
        tick(300),
        ext('HEARTBEAT'),
        tick(300),
        ext('HEARTBEAT'),
        tick(300),
        ext('HEARTBEAT'),
        () => ({ type: 'WATCHDOG' }),
      ],
    },
    'three failures with exponential, capped backoff, then failed': {
      config: {
        heartbeatTimeoutMs: 1_000,
        timeoutMs: null,
        retry: { maxRetries: 2, backoffMs: 100, factor: 4, maxBackoffMs: 250 },
      },
      end: 'failed',
      steps: [
        ext('START'),
        ext('FAIL'),
        () => ({ type: 'BACKOFF_ELAPSED' }),
        ext('START'),
        () => ({ type: 'WATCHDOG' }),
        () => ({ type: 'BACKOFF_ELAPSED' }),
        ext('START'),
        ext('FAIL'),
      ],
    },
    'an interrupted job starts a new attempt without counting a failure': {
      config: CONFIGS['stall, 1 retry']!,
      end: 'completed',
      steps: [
        ext('START'),
        ext('PROGRESS', { percent: 60 }),
        ext('INTERRUPT'),
        ext('START'),
        ext('INTERRUPT'),
        ext('START'),
        ext('COMPLETE'),
      ],
    },
    'a job cancelled while waiting out its backoff': {
      config: CONFIGS['timeout, 2 retries, capped backoff']!,
      end: 'cancelled',
      steps: [ext('START'), () => ({ type: 'WATCHDOG' }), tick(50), ext('CANCEL')],
    },
  };

  it.each(Object.entries(SCENARIOS))('scenario: %s', (_name, scenario) => {
    const job = createJob(scenario.config);
    for (const make of scenario.steps) {
      const before = job.actor.getSnapshot();
      const step = make(job);
      if (step === null) continue;
      applyStep(job, step);
      const after = job.actor.getSnapshot();
      expectApplied(before, step, after, job.config);
      expectHandlerMatchesState(job);
    }
    expect(nameOf(job.actor.getSnapshot().value)).toBe(scenario.end);
    expect(job.rejections).toEqual([]);
    expect(job.errors).toEqual([]);
  });
});

/** Makes the next step from the live job; `null` when it only let time pass. */
type MakeStep = (job: JobHarness) => Step | null;

/** A scenario step: an external event of `kind`, built from the live context at the clock's time. */
function ext(kind: JobEvent['type'], variant: { percent?: number; retryable?: boolean } = {}) {
  return (job: JobHarness): Step => {
    job.clock.increment(5);
    return eventFor(kind, job.actor.getSnapshot().context, job.clock.now(), variant);
  };
}

/** A scenario step that only lets time pass (no timer may fire: checked). */
function tick(ms: number): MakeStep {
  return (job) => {
    const seq = job.actor.getSnapshot().context.run.seq;
    job.clock.increment(ms);
    expect(job.actor.getSnapshot().context.run.seq).toBe(seq);
    return null;
  };
}

// ---------------------------------------------------------------------------------------------
// Rejections: every (state, event) pair outside the contract
// ---------------------------------------------------------------------------------------------

const MATRIX_CONFIG: JobConfig = {
  heartbeatTimeoutMs: 1_000,
  timeoutMs: null,
  retry: { maxRetries: 2, backoffMs: 500, factor: 2, maxBackoffMs: 10_000 },
};

/** How to bring a fresh job into each reachable state (each step checked on the way). */
const REACH: Record<string, { state: string; steps: MakeStep[] }> = {
  'pending.queued (new)': { state: 'pending.queued', steps: [] },
  'pending.queued (interrupted)': {
    state: 'pending.queued',
    steps: [ext('START'), ext('PROGRESS', { percent: 40 }), ext('INTERRUPT')],
  },
  'pending.queued (requeued after a failure)': {
    state: 'pending.queued',
    steps: [ext('START'), ext('PROGRESS', { percent: 40 }), ext('FAIL'), () => ({ type: 'BACKOFF_ELAPSED' })],
  },
  'pending.backoff': {
    state: 'pending.backoff',
    steps: [ext('START'), ext('PROGRESS', { percent: 40 }), ext('FAIL')],
  },
  'running (attempt 1)': {
    state: 'running',
    steps: [ext('START'), ext('PROGRESS', { percent: 40 })],
  },
  'running (attempt 2)': {
    state: 'running',
    steps: [
      ext('START'),
      () => ({ type: 'WATCHDOG' }),
      () => ({ type: 'BACKOFF_ELAPSED' }),
      ext('START'),
      ext('PROGRESS', { percent: 30 }),
    ],
  },
  completed: { state: 'completed', steps: [ext('START'), ext('PROGRESS', { percent: 40 }), ext('COMPLETE')] },
  'failed (non-retryable)': { state: 'failed', steps: [ext('START'), ext('FAIL', { retryable: false })] },
  'cancelled (while running)': {
    state: 'cancelled',
    steps: [ext('START'), ext('PROGRESS', { percent: 40 }), ext('CANCEL')],
  },
  'cancelled (while queued)': { state: 'cancelled', steps: [ext('CANCEL')] },
};

/** Runs `fn` without XState's development warning about events sent to a finished actor. */
function quietly(fn: () => void): void {
  const warn = vi.spyOn(console, 'warn').mockImplementation(() => undefined);
  try {
    fn();
  } finally {
    warn.mockRestore();
  }
}

/** Shuts a harness's supervisor down once (a second shutdown would hit the stopped actor). */
async function shutdown(h: ReturnType<typeof harness>): Promise<void> {
  if (h.supervisor.lifecycle !== 'stopped') await h.supervisor.shutdown({ graceMs: 0 });
}

function reach(name: string): JobHarness {
  const job = createJob(MATRIX_CONFIG);
  for (const make of REACH[name]!.steps) {
    const before = job.actor.getSnapshot();
    const step = make(job);
    if (step === null) continue;
    applyStep(job, step);
    expectApplied(before, step, job.actor.getSnapshot(), job.config);
  }
  expect(nameOf(job.actor.getSnapshot().value)).toBe(REACH[name]!.state);
  expect(job.rejections).toEqual([]);
  return job;
}

/** Every event type, with the variants the contract treats differently. */
const VARIANTS: Record<string, (c: JobContext, at: number) => JobEvent> = {
  START: (c, at) => eventFor('START', c, at),
  'PROGRESS forward': (c, at) => eventFor('PROGRESS', c, at, { percent: c.run.progress + 10 }),
  'PROGRESS equal': (c, at) => eventFor('PROGRESS', c, at, { percent: c.run.progress }),
  'PROGRESS 100': (c, at) => eventFor('PROGRESS', c, at, { percent: 100 }),
  'PROGRESS backwards': (c, at) => eventFor('PROGRESS', c, at, { percent: Math.max(0, c.run.progress - 10) }),
  'PROGRESS > 100': (c, at) => eventFor('PROGRESS', c, at, { percent: 100.5 }),
  'PROGRESS < 0': (c, at) => eventFor('PROGRESS', c, at, { percent: -1 }),
  'PROGRESS NaN': (c, at) => eventFor('PROGRESS', c, at, { percent: Number.NaN }),
  'PROGRESS Infinity': (c, at) => eventFor('PROGRESS', c, at, { percent: Infinity }),
  'PROGRESS stale attempt': (c, at) => eventFor('PROGRESS', c, at, { attempt: c.run.attempt - 1, percent: 90 }),
  'PROGRESS future attempt': (c, at) => eventFor('PROGRESS', c, at, { attempt: c.run.attempt + 1, percent: 90 }),
  'PROGRESS stale attempt and out of range': (c, at) =>
    eventFor('PROGRESS', c, at, { attempt: c.run.attempt - 1, percent: Number.NaN }),
  HEARTBEAT: (c, at) => eventFor('HEARTBEAT', c, at),
  'HEARTBEAT stale attempt': (c, at) => eventFor('HEARTBEAT', c, at, { attempt: c.run.attempt - 1 }),
  COMPLETE: (c, at) => eventFor('COMPLETE', c, at),
  'COMPLETE stale attempt': (c, at) => eventFor('COMPLETE', c, at, { attempt: c.run.attempt - 1 }),
  'COMPLETE future attempt': (c, at) => eventFor('COMPLETE', c, at, { attempt: c.run.attempt + 1 }),
  FAIL: (c, at) => eventFor('FAIL', c, at),
  'FAIL non-retryable': (c, at) => eventFor('FAIL', c, at, { retryable: false }),
  'FAIL stale attempt': (c, at) => eventFor('FAIL', c, at, { attempt: c.run.attempt - 1 }),
  CANCEL: (c, at) => eventFor('CANCEL', c, at),
  'CANCEL without reason': (_c, at) => ({ type: 'CANCEL', at }),
  INTERRUPT: (c, at) => eventFor('INTERRUPT', c, at),
};

/** Expected verdicts written out for the states that matter most (checks the oracle itself). */
const SPOT_CHECKS: [string, string, string][] = [
  ['running (attempt 1)', 'PROGRESS backwards', 'progress_backwards'],
  ['running (attempt 1)', 'PROGRESS > 100', 'progress_out_of_range'],
  ['running (attempt 1)', 'PROGRESS NaN', 'progress_out_of_range'],
  ['running (attempt 1)', 'START', 'not_queued'],
  ['running (attempt 2)', 'COMPLETE stale attempt', 'stale_attempt'],
  ['running (attempt 2)', 'PROGRESS stale attempt and out of range', 'stale_attempt'],
  ['pending.backoff', 'START', 'not_queued'],
  ['pending.backoff', 'HEARTBEAT', 'not_running'],
  ['pending.backoff', 'PROGRESS forward', 'not_running'],
  ['pending.queued (new)', 'INTERRUPT', 'not_running'],
  ['pending.queued (interrupted)', 'COMPLETE', 'not_running'],
  ['pending.queued (requeued after a failure)', 'FAIL', 'not_running'],
];

describe('every (state, event) pair outside the contract is rejected', () => {
  const cases = Object.keys(REACH).flatMap((state) =>
    Object.keys(VARIANTS).map((variant): [string, string] => [state, variant]),
  );

  it('the oracle agrees with the written-out expectations', () => {
    for (const [state, variant, reason] of SPOT_CHECKS) {
      const job = reach(state);
      const c = job.actor.getSnapshot().context;
      const verdict = contractVerdict(REACH[state]!.state, c, VARIANTS[variant]!(c, job.clock.now() + 1));
      expect(verdict, `${state} × ${variant}`).toEqual({ accepted: false, reason });
    }
  });

  it('the matrix covers every rejection reason and every accepted event type', () => {
    const reasons = new Set<string>();
    const accepted = new Set<string>();
    for (const [state, variant] of cases) {
      if (isFinalName(REACH[state]!.state)) continue;
      const job = reach(state);
      const c = job.actor.getSnapshot().context;
      const event = VARIANTS[variant]!(c, job.clock.now() + 1);
      const verdict = contractVerdict(REACH[state]!.state, c, event);
      if (verdict.accepted) accepted.add(event.type);
      else reasons.add(verdict.reason);
    }
    expect([...reasons].sort()).toEqual(
      ['not_queued', 'not_running', 'progress_backwards', 'progress_out_of_range', 'stale_attempt'].sort(),
    );
    expect([...accepted].sort()).toEqual([
      'CANCEL',
      'COMPLETE',
      'FAIL',
      'HEARTBEAT',
      'INTERRUPT',
      'PROGRESS',
      'START',
    ]);
  });

  it.each(cases)('%s × %s', (state, variant) => {
    const job = reach(state);
    const before = job.actor.getSnapshot();
    const probeBefore = { started: job.probe.started.length, aborted: [...job.probe.aborted] };
    job.clock.increment(3);
    const event = VARIANTS[variant]!(before.context, job.clock.now());
    const name = nameOf(before.value);

    if (isFinalName(name)) {
      // Invariant 1: a finished job is done and ignores everything, silently at this level
      // (the facade answers `job_final`, tested below).
      expect(before.status).toBe('done');
      quietly(() => job.actor.send(event));
      expect(job.actor.getSnapshot()).toBe(before);
      expect(job.rejections).toEqual([]);
      expect(job.probe.started.length).toBe(probeBefore.started);
      return;
    }

    const verdict = contractVerdict(name, before.context, event);
    applyStep(job, event);
    const after = job.actor.getSnapshot();
    if (verdict.accepted) {
      expect(job.rejections).toEqual([]);
      expectApplied(before, event, after, job.config);
    } else {
      // Invariant 5: rejected, never silently dropped; and nothing changed.
      expect(job.rejections).toHaveLength(1);
      expect(job.rejections[0]!.event).toBe(event);
      expect(job.rejections[0]!.reason).toBe(verdict.reason);
      expect(job.rejections[0]!.state).toBe(name);
      expect(after.value).toEqual(before.value);
      expect(after.context).toEqual(before.context);
      expect(after.context.run.seq).toBe(before.context.run.seq);
      expect(job.probe.started.length).toBe(probeBefore.started);
      expect(job.probe.aborted).toEqual(probeBefore.aborted);
    }
    expectHandlerMatchesState(job);
    expect(job.errors).toEqual([]);
  });
});

// ---------------------------------------------------------------------------------------------
// Invariants
// ---------------------------------------------------------------------------------------------

describe('invariant 1: final states are absorbing', () => {
  it.each(['completed', 'failed (non-retryable)', 'cancelled (while running)', 'cancelled (while queued)'])(
    '%s: no event and no amount of time changes the job',
    (state) => {
      const job = reach(state);
      const before = job.actor.getSnapshot();
      const snapshots = job.snapshots.length;
      quietly(() => {
        for (const make of Object.values(VARIANTS)) job.actor.send(make(before.context, job.clock.now()));
      });
      job.clock.increment(10 * 60_000);
      expect(job.actor.getSnapshot()).toBe(before);
      expect(job.snapshots).toHaveLength(snapshots);
      expect(job.probe.live.size).toBe(0);
      expect(job.rejections).toEqual([]);
    },
  );

  it('at the facade, a handler reporting after its job is final gets false and a job_final rejection', async () => {
    const h = harness({ heartbeatTimeoutMs: 1_000 });
    const gate = deferred();
    const contexts: HandlerContext[] = [];
    h.supervisor.register('slow', async (ctx) => {
      contexts.push(ctx);
      await gate.promise;
      const progressed = ctx.progress(50, 'late');
      const beat = ctx.heartbeat();
      return { progressed, beat };
    });
    h.supervisor.register('quick', (ctx) => {
      contexts.push(ctx);
      return 'done';
    });
    try {
      const slow = await h.supervisor.start({ type: 'slow' });
      await until(() => contexts.length === 1);
      const cancelled = await h.supervisor.cancel(slow.job.id, 'user asked');
      expect(cancelled.cancelled).toBe(true);
      gate.resolve();
      await until(() => h.rejections.some((r) => r.event === 'COMPLETE'));
      const late = h.rejections.filter((r) => r.jobId === slow.job.id);
      expect(late.map((r) => [r.event, r.reason, r.source, r.state])).toEqual([
        ['PROGRESS', 'job_final', 'handler', 'cancelled'],
        ['HEARTBEAT', 'job_final', 'handler', 'cancelled'],
        ['COMPLETE', 'job_final', 'handler', 'cancelled'],
      ]);
      expect(h.supervisor.get(slow.job.id)).toMatchObject({ status: 'cancelled', progress: 0, result: null });

      const quick = await h.supervisor.start({ type: 'quick' });
      const done = await h.supervisor.waitFor(quick.job.id);
      expect(done.status).toBe('completed');
      const leaked = contexts[1]!;
      expect(leaked.progress(100)).toBe(false);
      expect(leaked.heartbeat()).toBe(false);
      expect(
        h.rejections.filter((r) => r.jobId === quick.job.id).map((r) => [r.event, r.reason, r.state]),
      ).toEqual([
        ['PROGRESS', 'job_final', 'completed'],
        ['HEARTBEAT', 'job_final', 'completed'],
      ]);
      expect(h.supervisor.get(quick.job.id)).toEqual(done);
      expect(h.supervisor.stats().rejectedByReason.job_final).toBe(5);
      expectValidChangeStream(h.changes);
      expect(h.errors).toEqual([]);
    } finally {
      gate.resolve();
      await shutdown(h);
    }
  });
});

describe('invariant 3: progress never decreases within an attempt and stays within 0..100', () => {
  it('accepts only forward, in-range progress; a new attempt starts again from 0', () => {
    const job = createJob(MATRIX_CONFIG);
    const send = (percent: number) => {
      job.clock.increment(1);
      const event = eventFor('PROGRESS', job.actor.getSnapshot().context, job.clock.now(), { percent });
      job.actor.send(event);
      return job.actor.getSnapshot().context.run.progress;
    };
    applyStep(job, eventFor('START', job.actor.getSnapshot().context, job.clock.now()));
    const seen = [10, 5, 10, 101, -3, Number.NaN, 55.5, Infinity, 54, 100, 99].map(send);
    expect(seen).toEqual([10, 10, 10, 10, 10, 10, 55.5, 55.5, 55.5, 100, 100]);
    expect(job.rejections.map((r) => r.reason)).toEqual([
      'progress_backwards',
      'progress_out_of_range',
      'progress_out_of_range',
      'progress_out_of_range',
      'progress_out_of_range',
      'progress_backwards',
      'progress_backwards',
    ]);
    applyStep(job, eventFor('FAIL', job.actor.getSnapshot().context, job.clock.now()));
    applyStep(job, { type: 'BACKOFF_ELAPSED' });
    applyStep(job, eventFor('START', job.actor.getSnapshot().context, job.clock.now()));
    expect(fieldsOf(job.actor.getSnapshot().context)).toMatchObject({ attempt: 2, progress: 0 });
    expect(send(20)).toBe(20);
  });
});

describe('invariant 4: events from another attempt are rejected', () => {
  it('a handler of attempt 1 cannot touch attempt 2', () => {
    const job = reach('running (attempt 2)');
    const before = job.actor.getSnapshot();
    const at = job.clock.now();
    const stale: JobEvent[] = [
      { type: 'PROGRESS', attempt: 1, percent: 99, at },
      { type: 'HEARTBEAT', attempt: 1, at },
      { type: 'COMPLETE', attempt: 1, result: 'old', at },
      { type: 'FAIL', attempt: 1, error: { code: 'old', message: 'old' }, at },
    ];
    for (const event of stale) job.actor.send(event);
    expect(job.rejections.map((r) => [r.event.type, r.reason])).toEqual(
      stale.map((e) => [e.type, 'stale_attempt']),
    );
    expect(job.actor.getSnapshot().context).toEqual(before.context);
    expect(job.probe.live).toEqual(new Set([2]));
  });
});

describe('invariant 6: leaving running aborts the handler', () => {
  const exits: [string, (job: JobHarness) => Step][] = [
    ['COMPLETE', ext('COMPLETE')],
    ['FAIL (retry)', ext('FAIL')],
    ['FAIL (final)', ext('FAIL', { retryable: false })],
    ['CANCEL', ext('CANCEL')],
    ['INTERRUPT', ext('INTERRUPT')],
    ['stall', () => ({ type: 'WATCHDOG' })],
  ];

  it.each(exits)('%s stops the handler of that attempt', (_name, exit) => {
    const job = createJob(MATRIX_CONFIG);
    applyStep(job, ext('START')(job));
    for (let i = 0; i < 5; i++) applyStep(job, ext(i % 2 ? 'HEARTBEAT' : 'PROGRESS')(job));
    // Progress and heartbeats stay in `running`: the handler is neither stopped nor launched again.
    expect(job.probe.started).toHaveLength(1);
    expect(job.probe.aborted).toEqual([]);
    applyStep(job, exit(job));
    expect(job.probe.aborted).toEqual([1]);
    expect(job.probe.live.size).toBe(0);
    expectHandlerMatchesState(job);
  });

  it('a timeout stops the handler', () => {
    const job = createJob({ ...MATRIX_CONFIG, timeoutMs: 500 });
    applyStep(job, ext('START')(job));
    job.clock.increment(499);
    expect(job.probe.aborted).toEqual([]);
    job.clock.increment(1);
    expect(job.actor.getSnapshot().context.outcome.error?.code).toBe('timeout');
    expect(job.probe.aborted).toEqual([1]);
  });

  it('at the facade, ctx.signal aborts on cancel, stall, timeout and shutdown, not on return', async () => {
    const h = harness({ heartbeatTimeoutMs: 1_000 });
    const contexts = new Map<string, HandlerContext>();
    const hang = (ctx: HandlerContext) =>
      new Promise<never>((_resolve, reject) => {
        contexts.set(ctx.jobId, ctx);
        ctx.signal.addEventListener('abort', () => reject(ctx.signal.reason as Error), { once: true });
      });
    h.supervisor.register('hang', hang);
    h.supervisor.register('timed', hang, { timeoutMs: 500, heartbeatTimeoutMs: 10_000 });
    h.supervisor.register('ok', (ctx) => {
      contexts.set(ctx.jobId, ctx);
      return 1;
    });
    try {
      const toCancel = (await h.supervisor.start({ type: 'hang' })).job.id;
      const toTimeout = (await h.supervisor.start({ type: 'timed' })).job.id;
      const ok = (await h.supervisor.start({ type: 'ok' })).job.id;
      await until(() => contexts.size === 3);
      await h.supervisor.waitFor(ok);
      expect(contexts.get(ok)!.signal.aborted).toBe(false);

      await h.supervisor.cancel(toCancel);
      expect(contexts.get(toCancel)!.signal.aborted).toBe(true);

      h.clock.increment(500);
      expect(h.supervisor.get(toTimeout)).toMatchObject({ status: 'failed', error: { code: 'timeout' } });
      expect(contexts.get(toTimeout)!.signal.aborted).toBe(true);

      const toStall = (await h.supervisor.start({ type: 'hang' })).job.id;
      await until(() => contexts.has(toStall));
      h.clock.increment(999);
      expect(contexts.get(toStall)!.signal.aborted).toBe(false);
      h.clock.increment(1);
      expect(h.supervisor.get(toStall)).toMatchObject({ status: 'failed', error: { code: 'stalled' } });
      expect(contexts.get(toStall)!.signal.aborted).toBe(true);

      const toInterrupt = (await h.supervisor.start({ type: 'hang' })).job.id;
      await until(() => contexts.has(toInterrupt));
      const result = await h.supervisor.shutdown({ graceMs: 0 });
      expect(result).toEqual({ interrupted: 1, pending: 1 });
      expect(contexts.get(toInterrupt)!.signal.aborted).toBe(true);
      expect(h.supervisor.get(toInterrupt)).toMatchObject({ status: 'pending' });
      expect(h.supervisor.stats()).toMatchObject({
        handlersInFlight: 0,
        handlersAbandoned: 0,
        stalls: 1,
        timeouts: 1,
      });
      expectValidChangeStream(h.changes);
      expect(h.errors).toEqual([]);
    } finally {
      await shutdown(h);
    }
  });

  it('a ctx.signal first read after the attempt ended is aborted already, with the reason, and stays one object', async () => {
    const h = harness();
    const gate = deferred<void>();
    let ctxOf: HandlerContext | undefined;
    h.supervisor.register('later', async (ctx) => {
      ctxOf = ctx;
      await gate.promise; // never touches ctx.signal before its attempt is over
      return null;
    });
    try {
      const { job } = await h.supervisor.start({ type: 'later' });
      await until(() => ctxOf !== undefined);
      await h.supervisor.cancel(job.id);
      const signal = ctxOf!.signal;
      expect(signal.aborted).toBe(true);
      expect((signal.reason as { code?: string }).code).toBe('internal_error');
      expect(ctxOf!.signal).toBe(signal);
      gate.resolve();
      await until(() => h.supervisor.stats().handlersInFlight === 0);
      expect(h.supervisor.stats().handlersAbandoned).toBe(0);
    } finally {
      await shutdown(h);
    }
  });
});

describe('invariant 7: deadlines are absolute times in the record', () => {
  it('START, PROGRESS, HEARTBEAT and a failure store absolute deadlines', () => {
    const job = createJob(
      { ...MATRIX_CONFIG, timeoutMs: 5_000 },
      { now: 1_000_000, input: { createdAt: 1_000_000 } },
    );
    job.clock.increment(100);
    applyStep(job, eventFor('START', job.actor.getSnapshot().context, job.clock.now()));
    expect(job.actor.getSnapshot().context.deadlines).toEqual({
      heartbeatAt: 1_001_100,
      timeoutAt: 1_005_100,
      retryAt: null,
    });
    job.clock.increment(400);
    applyStep(job, eventFor('HEARTBEAT', job.actor.getSnapshot().context, job.clock.now()));
    // A report moves the heartbeat deadline, not the watchdog's armed check (no timer per report).
    expect(job.actor.getSnapshot().context.deadlines.heartbeatAt).toBe(1_001_100);
    expect(heartbeatDeadlineOf(job.actor.getSnapshot().context)).toBe(1_001_500);
    job.clock.increment(500);
    applyStep(job, eventFor('PROGRESS', job.actor.getSnapshot().context, job.clock.now()));
    expect(heartbeatDeadlineOf(job.actor.getSnapshot().context)).toBe(1_002_000);
    // The check fires at 1_001_100, finds a later report, and re-arms for its deadline: no change.
    const seq = job.actor.getSnapshot().context.run.seq;
    job.clock.set(1_001_100);
    expect(fieldsOf(job.actor.getSnapshot().context)).toMatchObject({
      seq,
      deadlines: { heartbeatAt: 1_002_000, timeoutAt: 1_005_100, retryAt: null },
    });
    expect(nameOf(job.actor.getSnapshot().value)).toBe('running');
    applyStep(job, { type: 'WATCHDOG' });
    expect(job.clock.now()).toBe(1_002_000);
    expect(fieldsOf(job.actor.getSnapshot().context)).toMatchObject({
      error: { code: 'stalled' },
      deadlines: {
        heartbeatAt: null,
        timeoutAt: null,
        retryAt: 1_002_000 + expectedBackoff(MATRIX_CONFIG.retry, 1),
      },
    });
    // The record survives a JSON round trip with its deadlines.
    const persisted = JSON.parse(JSON.stringify(job.actor.getPersistedSnapshot())) as { context: JobContext };
    expect(persisted.context.deadlines.retryAt).toBe(1_002_500);
  });

  it('a job restored with a future retryAt re-arms its backoff timer', () => {
    const restore = {
      attempt: 1,
      failures: 1,
      seq: 3,
      error: { code: 'stalled', message: 'no heartbeat' },
      deadlines: { heartbeatAt: null, timeoutAt: null, retryAt: 2_000 },
    };
    const job = createJob(MATRIX_CONFIG, { input: { restore } });
    expect(nameOf(job.actor.getSnapshot().value)).toBe('pending.backoff');
    expect(fieldsOf(job.actor.getSnapshot().context)).toMatchObject(restore);
    job.clock.increment(1_999);
    expect(nameOf(job.actor.getSnapshot().value)).toBe('pending.backoff');
    job.clock.increment(1);
    expect(fieldsOf(job.actor.getSnapshot().context)).toMatchObject({
      seq: 4,
      lastChange: 'requeued',
      updatedAt: 2_000,
      attempt: 1,
      failures: 1,
      deadlines: { retryAt: null },
    });
    expect(nameOf(job.actor.getSnapshot().value)).toBe('pending.queued');
    // The restored job carries on with its next attempt.
    applyStep(job, eventFor('START', job.actor.getSnapshot().context, job.clock.now()));
    expect(job.actor.getSnapshot().context.run.attempt).toBe(2);
    expect(job.rejections).toEqual([]);
  });

  it('a job restored after a restart (restore.at = now) fires its retry at the stored absolute time', () => {
    // Created at t=1 000, failed, retry due at t=60 000; the process restarts at t=50 000.
    const restore = {
      attempt: 1,
      failures: 1,
      seq: 3,
      at: 50_000,
      deadlines: { heartbeatAt: null, timeoutAt: null, retryAt: 60_000 },
    };
    const job = createJob(MATRIX_CONFIG, { now: 50_000, input: { createdAt: 1_000, restore } });
    expect(nameOf(job.actor.getSnapshot().value)).toBe('pending.backoff');
    job.clock.set(59_999);
    expect(nameOf(job.actor.getSnapshot().value)).toBe('pending.backoff');
    job.clock.set(60_000);
    expect(nameOf(job.actor.getSnapshot().value)).toBe('pending.queued');
    expect(fieldsOf(job.actor.getSnapshot().context)).toMatchObject({
      seq: 4,
      lastChange: 'requeued',
      updatedAt: 60_000,
    });
  });

  it('a job restored after its retry time has passed is queued at once', () => {
    const restore = {
      attempt: 1,
      failures: 1,
      seq: 3,
      at: 50_000,
      deadlines: { heartbeatAt: null, timeoutAt: null, retryAt: 40_000 },
    };
    const job = createJob(MATRIX_CONFIG, { now: 50_000, input: { createdAt: 1_000, restore } });
    expect(nameOf(job.actor.getSnapshot().value)).toBe('pending.queued');
    expect(job.actor.getSnapshot().context.run.seq).toBe(3);
    applyStep(job, eventFor('START', job.actor.getSnapshot().context, job.clock.now()));
    expect(fieldsOf(job.actor.getSnapshot().context)).toMatchObject({ attempt: 2, seq: 4, startedAt: 50_000 });
  });

  it.each([
    [2, 'pending.backoff', 'retrying'],
    [0, 'failed', 'failed'],
  ] as const)(
    'a job restored while it was running fails that attempt as interrupted (maxRetries %i → %s)',
    (maxRetries, state, lastChange) => {
      const restore = {
        attempt: 1,
        failures: 0,
        seq: 5,
        progress: 40,
        at: 50_000,
        resumedFromRunning: true,
        deadlines: { heartbeatAt: 41_000, timeoutAt: null, retryAt: null },
      };
      const config = { ...MATRIX_CONFIG, retry: { ...MATRIX_CONFIG.retry, maxRetries } };
      const job = createJob(config, { now: 50_000, input: { createdAt: 1_000, restore } });
      const { context } = job.actor.getSnapshot();
      expect(nameOf(job.actor.getSnapshot().value)).toBe(state);
      expect(fieldsOf(context)).toMatchObject({
        attempt: 1,
        failures: 1,
        seq: 6,
        lastChange,
        resumedFromRunning: false,
        error: { code: 'interrupted' },
        updatedAt: 50_000,
        deadlines: {
          heartbeatAt: null,
          timeoutAt: null,
          retryAt: state === 'failed' ? null : 50_000 + expectedBackoff(config.retry, 1),
        },
      });
      // No handler ran for the restored attempt.
      expect(job.probe.started).toEqual([]);
      expect(job.rejections).toEqual([]);
    },
  );
});

describe('facade: a failing handler retries with the stored backoff', () => {
  it('JobFailure(retryable) → retry after backoff → completed; signal not aborted on own failure', async () => {
    const h = harness({ heartbeatTimeoutMs: 1_000, retries: { max: 1, backoffMs: 250 } });
    const attempts: HandlerContext[] = [];
    h.supervisor.register('flaky', (ctx) => {
      attempts.push(ctx);
      if (ctx.attempt === 1) throw new JobFailure('upstream', 'HTTP 503');
      ctx.progress(100);
      return 'ok';
    });
    try {
      const { job } = await h.supervisor.start({ type: 'flaky' });
      await until(
        () => h.supervisor.get(job.id)?.status === 'pending' && h.supervisor.get(job.id)?.attempt === 1,
      );
      expect(h.supervisor.get(job.id)).toMatchObject({ nextRetryAt: 250, error: { code: 'upstream' } });
      expect(attempts[0]!.signal.aborted).toBe(false);
      h.clock.increment(249);
      await settle();
      expect(attempts).toHaveLength(1);
      h.clock.increment(1);
      const done = await h.supervisor.waitFor(job.id);
      expect(done).toMatchObject({ status: 'completed', attempt: 2, result: 'ok', error: null });
      expect(h.changes.filter((c) => c.jobId === job.id).map((c) => c.kind)).toEqual([
        'created',
        'started',
        'retrying',
        'requeued',
        'started',
        'progress',
        'completed',
      ]);
      expectValidChangeStream(h.changes);
      expect(h.errors).toEqual([]);
    } finally {
      await shutdown(h);
    }
  });
});
