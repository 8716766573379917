/**
 * Property tests of the supervisor facade: random interleavings of concurrent producers
 * (starts with a few keys and every onConflict), handlers driven by the test (progress,
 * heartbeats, complete, fail, throw, released in random order), cancels and clock ticks that
 * cause stalls, timeouts and retries. Checked during and after every run: the change-stream
 * invariants, one running job per key, the answers of every API call, stats() against list(),
 * and that every job finishes once everything is released.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  JobFailure,
  JobvisorError,
  type CancelResult,
  type HandlerContext,
  type JobChange,
  type JobStatus,
  type JobView,
  type StartResult,
} from '../src/index.js';
import {
  deferred,
  expectValidChangeStream,
  harness,
  settle,
  type Deferred,
  type Harness,
} from './helpers.js';

type Command =
  | { readonly kind: 'complete' }
  | { readonly kind: 'fail'; readonly retryable: boolean }
  | { readonly kind: 'throw' };

interface Invocation {
  readonly jobId: string;
  readonly key: string | null;
  readonly attempt: number;
  readonly ctx: HandlerContext;
  readonly command: Deferred<Command>;
  released: boolean;
  done: boolean;
  lastPercent: number;
}

interface StartSpec {
  readonly type: 'a' | 'b';
  readonly key: number | null;
  readonly onConflict: 'join' | 'reject' | 'replace';
}

type Op =
  | { readonly op: 'start'; readonly requests: readonly StartSpec[] }
  | { readonly op: 'progress'; readonly pick: number; readonly delta: number }
  | { readonly op: 'heartbeat'; readonly pick: number }
  | { readonly op: 'release'; readonly pick: number; readonly command: Command }
  | { readonly op: 'cancel'; readonly pick: number }
  | { readonly op: 'tick'; readonly ms: number }
  | { readonly op: 'settle' };

const KEYS = ['k0', 'k1', 'k2'] as const;
const TERMINAL: readonly JobStatus[] = ['completed', 'failed', 'cancelled'];
const isTerminal = (status: JobStatus | undefined) => status !== undefined && TERMINAL.includes(status);

const commandArb: fc.Arbitrary<Command> = fc.oneof(
  { weight: 3, arbitrary: fc.constant({ kind: 'complete' as const }) },
  { weight: 2, arbitrary: fc.boolean().map((retryable) => ({ kind: 'fail' as const, retryable })) },
  { weight: 1, arbitrary: fc.constant({ kind: 'throw' as const }) },
);

const startSpecArb: fc.Arbitrary<StartSpec> = fc.record({
  type: fc.constantFrom('a' as const, 'b' as const),
  key: fc.option(fc.integer({ min: 0, max: KEYS.length - 1 }), { freq: 4 }),
  onConflict: fc.constantFrom('join' as const, 'reject' as const, 'replace' as const),
});

const opArb: fc.Arbitrary<Op> = fc.oneof(
  {
    weight: 4,
    arbitrary: fc.record({
      op: fc.constant('start' as const),
      requests: fc.array(startSpecArb, { minLength: 1, maxLength: 4 }),
    }),
  },
  {
    weight: 3,
    arbitrary: fc.record({
      op: fc.constant('progress' as const),
      pick: fc.nat(),
      delta: fc.integer({ min: -10, max: 45 }),
    }),
  },
  { weight: 2, arbitrary: fc.record({ op: fc.constant('heartbeat' as const), pick: fc.nat() }) },
  {
    weight: 4,
    arbitrary: fc.record({ op: fc.constant('release' as const), pick: fc.nat(), command: commandArb }),
  },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('cancel' as const), pick: fc.nat() }) },
  {
    weight: 2,
    arbitrary: fc.record({
      op: fc.constant('tick' as const),
      ms: fc.oneof(fc.integer({ min: 0, max: 700 }), fc.integer({ min: 0, max: 3_000 })),
    }),
  },
  { weight: 4, arbitrary: fc.constant({ op: 'settle' as const }) },
);

const configArb = fc.record({
  concurrency: fc.integer({ min: 1, max: 3 }),
  maxRetries: fc.integer({ min: 0, max: 2 }),
  backoffMs: fc.constantFrom(0, 150, 400),
});

type Config = typeof configArb extends fc.Arbitrary<infer C> ? C : never;

/** How often each interesting thing happened over all runs: the test checks it explored them. */
const coverage = {
  joined: 0,
  duplicateKey: 0,
  replaced: 0,
  progressAccepted: 0,
  progressRefused: 0,
  heartbeatRefused: 0,
  cancelled: 0,
  stalls: 0,
  timeouts: 0,
  retries: 0,
  failed: 0,
  lateReports: 0,
};

/** What the test knows of every job, from the change stream alone. */
class Model {
  readonly status = new Map<string, JobStatus>();
  readonly key = new Map<string, string | null>();
  readonly violations: string[] = [];

  constructor(h: Harness) {
    h.supervisor.subscribe((change) => this.#apply(change));
  }

  #previous: JobChange | undefined;

  #apply(change: JobChange): void {
    const previous = this.#previous;
    this.#previous = change;
    // A replacing start: the old holder's cancellation is the change right before the new job.
    if (
      change.kind === 'created' &&
      previous?.kind === 'cancelled' &&
      previous.job.key === change.job.key &&
      change.job.key !== null
    ) {
      coverage.replaced++;
    }
    this.status.set(change.jobId, change.job.status);
    this.key.set(change.jobId, change.job.key);
    const key = change.job.key;
    if (key === null) return;
    const holders = this.holdersOf(key);
    const running = holders.filter((id) => this.status.get(id) === 'running');
    if (running.length > 1) this.violations.push(`key ${key} has two running jobs: ${running.join(', ')}`);
    if (holders.length > 1) this.violations.push(`key ${key} is held by ${holders.length} live jobs`);
  }

  /** The pending or running jobs holding `key`. */
  holdersOf(key: string): string[] {
    const out: string[] = [];
    for (const [id, k] of this.key) if (k === key && !isTerminal(this.status.get(id))) out.push(id);
    return out;
  }

  get ids(): string[] {
    return [...this.status.keys()];
  }
}

function countByStatus(views: readonly JobView[]): Record<JobStatus, number> {
  const counts: Record<JobStatus, number> = { pending: 0, running: 0, completed: 0, failed: 0, cancelled: 0 };
  for (const view of views) counts[view.status]++;
  return counts;
}

/** stats() and list() describe the same registry. */
function expectStatsMatchList(h: Harness): void {
  const stats = h.supervisor.stats();
  const views = h.supervisor.list({ limit: 1_000_000 });
  const counts = countByStatus(views);
  expect(stats.jobs).toEqual(counts);
  expect(stats.live).toBe(counts.pending + counts.running);
  expect(stats.retained).toBe(counts.completed + counts.failed + counts.cancelled);
  expect(stats.rejected).toBe(h.rejections.length);
  expect(Object.values(stats.rejectedByReason).reduce((a, b) => a + b, 0)).toBe(stats.rejected);
  for (const view of views) expect(h.supervisor.get(view.id)).toEqual(view);
}

async function runScenario(
  config: Config,
  ops: readonly Op[],
  releaseOrder: readonly number[],
): Promise<void> {
  const h = harness({
    concurrency: config.concurrency,
    heartbeatTimeoutMs: 1_000,
    retries: { max: config.maxRetries, backoffMs: config.backoffMs },
  });
  const { supervisor, clock } = h;
  const model = new Model(h);
  const invocations: Invocation[] = [];
  const handlerViolations: string[] = [];
  const calls: Promise<void>[] = [];
  /** Keeps an API call's checks for the end; marked handled now so a failure is not reported twice. */
  const track = (call: Promise<void>) => {
    calls.push(call);
    void call.catch(() => undefined);
  };
  let starts = 0;
  let deduplicated = 0;
  /** Jobs cancelled by a `cancel()` call of this test; any other cancellation is a replacement. */
  const cancelledByApi = new Set<string>();
  /** Jobs created by a start with onConflict 'replace'. */
  const createdByReplace = new Set<string>();

  const handler = async (ctx: HandlerContext): Promise<unknown> => {
    // At most one handler per key whose attempt is still current: any other one still
    // executing for the same key must have been told to stop.
    if (ctx.key !== null) {
      for (const other of invocations) {
        if (!other.done && other.key === ctx.key && !other.ctx.signal.aborted) {
          handlerViolations.push(
            `${ctx.jobId}#${ctx.attempt} started while ${other.jobId}#${other.attempt} runs`,
          );
        }
      }
    }
    const invocation: Invocation = {
      jobId: ctx.jobId,
      key: ctx.key,
      attempt: ctx.attempt,
      ctx,
      command: deferred<Command>(),
      released: false,
      done: false,
      lastPercent: 0,
    };
    invocations.push(invocation);
    try {
      const command = await new Promise<Command>((resolve, reject) => {
        const onAbort = () => reject(ctx.signal.reason as Error);
        if (ctx.signal.aborted) onAbort();
        ctx.signal.addEventListener('abort', onAbort, { once: true });
        invocation.command.promise.then(resolve, reject);
      });
      if (command.kind === 'fail')
        throw new JobFailure('boom', 'failed on purpose', { retryable: command.retryable });
      if (command.kind === 'throw') throw new Error('handler threw');
      return { jobId: ctx.jobId, attempt: ctx.attempt };
    } finally {
      invocation.done = true;
    }
  };
  supervisor.register('a', handler, { timeoutMs: 900 });
  supervisor.register('b', handler, { concurrency: 1, heartbeatTimeoutMs: 800 });

  const open = () => invocations.filter((i) => !i.done && !i.released);

  // Admission happens in the supervisor's mailbox, not necessarily at call time: each answer is
  // checked against what must have held when it was admitted.
  const start = (spec: StartSpec) => {
    const key = spec.key === null ? undefined : KEYS[spec.key]!;
    starts++;
    const call = supervisor.start({
      type: spec.type,
      key,
      onConflict: spec.onConflict,
      input: { n: starts },
    });
    track(
      call.then(
        (result: StartResult) => {
          if (result.deduplicated) {
            // Joined: the job returned held the key, pending or running, when the start was admitted.
            expect(spec.onConflict).toBe('join');
            expect(key).toBeDefined();
            expect(result.job.key).toBe(key);
            expect(['pending', 'running']).toContain(result.job.status);
            expect(model.status.has(result.job.id)).toBe(true);
            deduplicated++;
            coverage.joined++;
          } else {
            // A new job (the model checks that no other job held its key when it was created).
            expect(result.job).toMatchObject({ type: spec.type, key: key ?? null, attempt: 0, seq: 1 });
            expect(model.status.has(result.job.id)).toBe(true);
            if (spec.onConflict === 'replace') createdByReplace.add(result.job.id);
          }
        },
        (error: unknown) => {
          expect(error).toBeInstanceOf(JobvisorError);
          expect((error as JobvisorError).code, String(error)).toBe('duplicate_key');
          expect(spec.onConflict).toBe('reject');
          const holder = ((error as JobvisorError).details as { jobId?: string } | undefined)?.jobId;
          expect(holder !== undefined && model.key.get(holder)).toBe(key);
          coverage.duplicateKey++;
        },
      ),
    );
  };

  const expectedAcceptance = (invocation: Invocation, percent?: number) => {
    const view = supervisor.get(invocation.jobId);
    if (!view || view.status !== 'running' || view.attempt !== invocation.attempt) return false;
    if (percent === undefined) return true;
    return Number.isFinite(percent) && percent >= 0 && percent <= 100 && percent >= view.progress;
  };

  try {
    for (const op of ops) {
      switch (op.op) {
        case 'start':
          // Several producers at once: no await between the starts.
          for (const spec of op.requests) start(spec);
          break;
        case 'progress': {
          const live = invocations.filter((i) => !i.done);
          const invocation = live[op.pick % Math.max(1, live.length)];
          if (!invocation) break;
          const percent = invocation.lastPercent + op.delta;
          const expected = expectedAcceptance(invocation, percent);
          expect(invocation.ctx.progress(percent, `at ${percent}`)).toBe(expected);
          if (expected) coverage.progressAccepted++;
          else coverage.progressRefused++;
          if (expected) {
            invocation.lastPercent = percent;
            expect(supervisor.get(invocation.jobId)).toMatchObject({
              progress: percent,
              message: `at ${percent}`,
            });
          }
          break;
        }
        case 'heartbeat': {
          const live = invocations.filter((i) => !i.done);
          const invocation = live[op.pick % Math.max(1, live.length)];
          if (!invocation) break;
          const expected = expectedAcceptance(invocation);
          const seq = supervisor.get(invocation.jobId)?.seq;
          expect(invocation.ctx.heartbeat()).toBe(expected);
          if (!expected) coverage.heartbeatRefused++;
          expect(supervisor.get(invocation.jobId)?.seq).toBe(seq);
          break;
        }
        case 'release': {
          const candidates = open();
          const invocation = candidates[op.pick % Math.max(1, candidates.length)];
          if (!invocation) break;
          invocation.released = true;
          invocation.command.resolve(op.command);
          break;
        }
        case 'cancel': {
          const ids = model.ids;
          const id = ids[op.pick % Math.max(1, ids.length)];
          if (id === undefined) break;
          const before = supervisor.get(id)!;
          track(
            supervisor.cancel(id, 'property test').then((result: CancelResult) => {
              expect(result.job.id).toBe(id);
              expect(isTerminal(result.job.status)).toBe(true);
              if (isTerminal(before.status)) expect(result).toEqual({ job: before, cancelled: false });
              // Cancelled by this call, or it lost a race to another final change.
              if (result.cancelled) {
                expect(result.job).toMatchObject({
                  status: 'cancelled',
                  finishedAt: expect.any(Number) as number,
                });
                cancelledByApi.add(id);
              }
              expect(supervisor.get(id)).toEqual(result.job);
            }),
          );
          break;
        }
        case 'tick':
          clock.increment(op.ms);
          break;
        case 'settle':
          await settle();
          break;
      }
      expectStatsMatchList(h);
    }

    // Release everything, in the generated order, and let time pass until every job is final.
    await settle();
    for (let round = 0; round < 200; round++) {
      const pending = open();
      if (pending.length > 0) {
        const rank = (i: number) => releaseOrder[i % releaseOrder.length]! * 1_000 + i;
        const order = pending.map((_, i) => i).sort((x, y) => rank(x) - rank(y));
        for (const i of order) {
          pending[i]!.released = true;
          pending[i]!.command.resolve({ kind: 'complete' });
        }
        await settle();
        continue;
      }
      if (model.ids.every((id) => isTerminal(supervisor.get(id)?.status))) break;
      clock.increment(2_000);
      await settle();
    }
    await Promise.all(calls);

    // Only a 'replace' start displaces the holder of its key: every cancellation this test did not
    // ask for is followed, for that key, by the creation of a job that a 'replace' start asked for.
    for (const [i, change] of h.changes.entries()) {
      if (change.kind !== 'cancelled' || cancelledByApi.has(change.jobId)) continue;
      expect(change.job.key, `job ${change.jobId} was cancelled by no one`).not.toBeNull();
      const next = h.changes.slice(i + 1).find((c) => c.kind === 'created' && c.job.key === change.job.key);
      expect(
        next && createdByReplace.has(next.jobId),
        `job ${change.jobId} displaced without 'replace'`,
      ).toBe(true);
    }

    // Every job that was ever created reached a final state, and its last change says so.
    for (const id of model.ids) {
      expect(isTerminal(supervisor.get(id)?.status), `job ${id}`).toBe(true);
      expect(isTerminal(model.status.get(id)), `job ${id}`).toBe(true);
    }
    expect(model.ids).toHaveLength(h.changes.filter((c) => c.kind === 'created').length);
    expectValidChangeStream(h.changes);
    expect(model.violations).toEqual([]);
    expect(handlerViolations).toEqual([]);
    expectStatsMatchList(h);
    const stats = h.supervisor.stats();
    expect(stats).toMatchObject({ live: 0, handlersInFlight: 0, handlersAbandoned: 0, starts, deduplicated });
    expect(stats.retained).toBe(model.ids.length);
    expect(stats.stalls).toBe(
      h.changes.filter((c) => c.job.error?.code === 'stalled' && ['retrying', 'failed'].includes(c.kind))
        .length,
    );
    expect(stats.timeouts).toBe(
      h.changes.filter((c) => c.job.error?.code === 'timeout' && ['retrying', 'failed'].includes(c.kind))
        .length,
    );
    // Rejections only ever come from handlers whose attempt was over.
    for (const rejection of h.rejections) expect(rejection.source).toBe('handler');
    coverage.cancelled += h.changes.filter((c) => c.kind === 'cancelled').length;
    coverage.stalls += stats.stalls;
    coverage.timeouts += stats.timeouts;
    coverage.retries += h.changes.filter((c) => c.kind === 'retrying').length;
    coverage.failed += h.changes.filter((c) => c.kind === 'failed').length;
    coverage.lateReports += h.rejections.filter(
      (r) => r.reason === 'job_final' || r.reason === 'stale_attempt',
    ).length;
    expect(h.errors).toEqual([]);
  } finally {
    for (const invocation of invocations) invocation.command.resolve({ kind: 'complete' });
    await supervisor.shutdown({ graceMs: 0 });
    expect(supervisor.lifecycle).toBe('stopped');
    expect(supervisor.stats().handlersInFlight).toBe(0);
  }
}

describe('supervisor under random interleavings', () => {
  it('keeps the change stream valid, one running job per key, and finishes every job', async () => {
    await fc.assert(
      fc.asyncProperty(
        configArb,
        fc.array(opArb, { minLength: 5, maxLength: 45 }),
        fc.array(fc.nat(100), { minLength: 1, maxLength: 8 }),
        async (config, ops, releaseOrder) => {
          await runScenario(config, ops, releaseOrder);
        },
      ),
      { numRuns: 150 },
    );
    for (const [what, count] of Object.entries(coverage)) expect(count, what).toBeGreaterThan(0);
  });

  it('a start issued by a subscriber when a keyed job finishes is a new job, not the finished one', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom('join' as const, 'reject' as const, 'replace' as const),
        fc.constantFrom<Command | { kind: 'cancel' }>(
          { kind: 'complete' },
          { kind: 'fail', retryable: false },
          { kind: 'cancel' },
        ),
        async (onConflict, outcome) => {
          const h = harness({ heartbeatTimeoutMs: 1_000 });
          const gates: Deferred<Command>[] = [];
          h.supervisor.register('chain', async (ctx) => {
            const gate = deferred<Command>();
            gates.push(gate);
            const command = await gate.promise;
            if (command.kind === 'fail') throw new JobFailure('boom', 'no', { retryable: false });
            return ctx.attempt;
          });
          const follow: Promise<{ result: StartResult } | { error: unknown }>[] = [];
          const off = h.supervisor.subscribe((change) => {
            if (!isTerminal(change.job.status) || change.job.key === null || follow.length > 0) return;
            follow.push(
              h.supervisor.start({ type: 'chain', key: change.job.key, onConflict }).then(
                (result) => ({ result }),
                (error: unknown) => ({ error }),
              ),
            );
          });
          try {
            const first = await h.supervisor.start({ type: 'chain', key: 'nightly' });
            await settle();
            if (outcome.kind === 'cancel') await h.supervisor.cancel(first.job.id);
            else gates[0]!.resolve(outcome);
            await h.supervisor.waitFor(first.job.id);
            expect(follow).toHaveLength(1);
            const settled = await follow[0]!;
            // With no idempotency window, a finished job holds no key: the follow-up is a new job.
            expect(settled).toMatchObject({ result: { deduplicated: false } });
            const { result } = settled as { result: StartResult };
            expect(result.job.id).not.toBe(first.job.id);
            expect(result.job.status).not.toBe('completed');
            expect(h.errors).toEqual([]);
          } finally {
            off();
            for (const gate of gates) gate.resolve({ kind: 'complete' });
            await h.supervisor.shutdown({ graceMs: 0 });
          }
        },
      ),
      { numRuns: 9 },
    );
  });
});
