/**
 * The JobStore conformance suite: one set of tests that every adapter must pass, run through a
 * factory (`describeStoreContract('sqlite', make)`), plus the record helpers it builds jobs with.
 */
import fc from 'fast-check';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { rejectionOf } from './helpers.js';
import type { ChangeKind } from '../machines/job.types.js';
import type { ErrorCode } from '../src/common/errors.js';
import type { JobRecord, JobStore, ListQuery, StoredChange, StoreSnapshot } from '../src/store/port.js';

export interface StoreHandle {
  readonly store: JobStore;
  /** Durable adapters: closes the current store and returns a new one on the same data (not opened). */
  readonly reopen?: () => Promise<JobStore>;
  readonly cleanup: () => Promise<void>;
}

/** Returns a fresh, empty, not yet opened store. */
export type StoreFactory = () => Promise<StoreHandle>;

const T0 = Date.UTC(2025, 0, 1);
const ALL = 1_000_000;

/** A realistic record: a freshly created `email.send` job; `fields` override anything. */
function jobRecord(fields: Partial<JobRecord> & Pick<JobRecord, 'id'>): JobRecord {
  const createdAt = fields.createdAt ?? T0;
  return {
    key: null,
    type: 'email.send',
    status: 'pending',
    progress: 0,
    message: null,
    attempt: 0,
    seq: 1,
    createdAt,
    startedAt: null,
    updatedAt: createdAt,
    finishedAt: null,
    lastHeartbeatAt: null,
    nextRetryAt: null,
    input: { to: `${fields.id}@example.com`, subject: 'Welcome', tags: ['a', 'b'] },
    result: null,
    error: null,
    priority: 0,
    runAt: null,
    state: 'pending.queued',
    failures: 0,
    retry: { maxRetries: 3, backoffMs: 1_000, factor: 2, maxBackoffMs: 60_000 },
    heartbeatTimeoutMs: 30_000,
    timeoutMs: 120_000,
    deadlines: { heartbeatAt: null, timeoutAt: null, retryAt: null },
    lastChange: 'created',
    offset: 1,
    node: null,
    ...fields,
  };
}

/** A schedule's definition for the schedule verbs' tests. */
const SPEC = {
  type: 'email.send',
  input: null,
  cron: null,
  everyMs: 1_000,
  timezone: null,
  key: null,
  priority: 0,
  missed: 'latest' as const,
};

const NO_DEADLINES = { heartbeatAt: null, timeoutAt: null, retryAt: null };

/** The record after `kind` happened to `prev` at `at`, written at `offset`. */
function nextRecord(prev: JobRecord, kind: ChangeKind, at: number, offset: number): JobRecord {
  const base = { ...prev, seq: prev.seq + 1, updatedAt: at, lastChange: kind, offset };
  const boom = { code: 'handler_error', message: `attempt ${prev.attempt} failed` };
  switch (kind) {
    case 'created':
      throw new Error('nextRecord: a job is created only once');
    case 'started':
      return {
        ...base,
        status: 'running',
        state: 'running',
        attempt: prev.attempt + 1,
        progress: 0,
        message: null,
        startedAt: at,
        lastHeartbeatAt: at,
        nextRetryAt: null,
        deadlines: { heartbeatAt: at + prev.heartbeatTimeoutMs, timeoutAt: at + 120_000, retryAt: null },
      };
    case 'progress':
      return {
        ...base,
        progress: Math.min(100, prev.progress + 10),
        message: `step ${prev.seq}`,
        lastHeartbeatAt: at,
        deadlines: { ...prev.deadlines, heartbeatAt: at + prev.heartbeatTimeoutMs },
      };
    case 'retrying':
      return {
        ...base,
        status: 'pending',
        state: 'pending.backoff',
        failures: prev.failures + 1,
        error: boom,
        nextRetryAt: at + 1_000,
        deadlines: { ...NO_DEADLINES, retryAt: at + 1_000 },
      };
    case 'requeued':
    case 'interrupted':
    case 'due':
    case 'retried':
      return {
        ...base,
        status: 'pending',
        state: 'pending.queued',
        nextRetryAt: null,
        deadlines: NO_DEADLINES,
      };
    case 'completed':
      return {
        ...base,
        status: 'completed',
        state: 'completed',
        progress: 100,
        result: { delivered: true, id: prev.id },
        finishedAt: at,
        deadlines: NO_DEADLINES,
      };
    case 'failed':
    case 'cancelled':
      return {
        ...base,
        status: kind,
        state: kind,
        failures: prev.failures + (kind === 'failed' ? 1 : 0),
        error: kind === 'failed' ? boom : { code: 'cancelled', message: 'cancelled by the user' },
        finishedAt: at,
        deadlines: NO_DEADLINES,
      };
  }
}

/**
 * Builds changes the way a supervisor would: gap-free offsets, seq + 1 per change, a clock moving
 * 1 s per change unless `at` is given. `fork()` gives a writer to build refused batches with.
 */
export class Writer {
  lastOffset: number;
  now: number;
  readonly #jobs: Map<string, JobRecord>;

  constructor(lastOffset = 0, jobs: ReadonlyMap<string, JobRecord> = new Map(), now = T0) {
    this.lastOffset = lastOffset;
    this.now = now;
    this.#jobs = new Map(jobs);
  }

  fork(): Writer {
    return new Writer(this.lastOffset, this.#jobs, this.now);
  }

  record(id: string): JobRecord {
    const record = this.#jobs.get(id);
    if (!record) throw new Error(`Writer: no job ${id}`);
    return record;
  }

  records(): JobRecord[] {
    return [...this.#jobs.values()];
  }

  change(
    id: string,
    kind: ChangeKind,
    opts: { at?: number; key?: string | null; type?: string } = {},
  ): StoredChange {
    const at = opts.at ?? (this.now += 1_000);
    const offset = ++this.lastOffset;
    const record =
      kind === 'created'
        ? jobRecord({ id, key: opts.key ?? null, type: opts.type ?? 'email.send', createdAt: at, offset })
        : nextRecord(this.record(id), kind, at, offset);
    this.#jobs.set(id, record);
    return { offset, jobId: id, seq: record.seq, kind, at, record };
  }

  /** A whole life in 12 changes: created, started, 9 × progress, then `end`. */
  life(id: string, opts: { key?: string | null; type?: string; end?: ChangeKind } = {}): StoredChange[] {
    const kinds: ChangeKind[] = [
      'started',
      ...Array<ChangeKind>(9).fill('progress'),
      opts.end ?? 'completed',
    ];
    return [this.change(id, 'created', opts), ...kinds.map((kind) => this.change(id, kind))];
  }
}

async function expectCode(promise: Promise<unknown>, code: ErrorCode): Promise<void> {
  expect((await rejectionOf(promise)).code).toBe(code);
}

const isLive = (r: Pick<JobRecord, 'status'>) => r.status === 'pending' || r.status === 'running';
const compareIds = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);
const byCreated = (a: JobRecord, b: JobRecord) => a.createdAt - b.createdAt || compareIds(a.id, b.id);
const byFinished = (a: JobRecord, b: JobRecord) =>
  (a.finishedAt ?? 0) - (b.finishedAt ?? 0) || compareIds(a.id, b.id);

/** Everything a store shows, to check that a refused write changed nothing. */
async function dump(store: JobStore) {
  const [page, log, first, snapshot] = [
    await store.list({ limit: ALL }),
    await store.changesSince(0, ALL),
    await store.firstOffset(),
    await store.open({ recentLimit: ALL }),
  ];
  return { jobs: page.items, log, first, snapshot };
}

/** Every page of a query, checking each page's size and that the last one says so. */
async function allPages(store: JobStore, query: Omit<ListQuery, 'after'>): Promise<JobRecord[]> {
  const items: JobRecord[] = [];
  let after: string | undefined;
  for (let pages = 0; pages < 1_000; pages++) {
    const page = await store.list({ ...query, after });
    expect(page.items.length).toBeLessThanOrEqual(query.limit);
    items.push(...page.items);
    if (page.next === null) return items;
    expect(page.items.length).toBe(query.limit);
    after = page.next;
  }
  throw new Error('list never reached its last page');
}

/** The reference: a plain Map and an array, checked by scanning. */
class Model {
  jobs = new Map<string, JobRecord>();
  log: StoredChange[] = [];
  last = 0;

  commit(batch: readonly StoredChange[]): boolean {
    const jobs = new Map(this.jobs);
    let last = this.last;
    for (const c of batch) {
      last++;
      if (c.seq !== (jobs.get(c.jobId)?.seq ?? 0) + 1) return false;
      const { key } = c.record;
      const taken = [...jobs.values()].some((j) => j.id !== c.jobId && j.key === key && isLive(j));
      if (c.seq === 1 && key !== null && taken) return false;
      jobs.set(c.jobId, c.record);
    }
    this.jobs = jobs;
    this.log.push(...batch);
    this.last = last;
    return true;
  }

  expire(before: number, maxCount: number): number {
    const finished = [...this.jobs.values()].filter((j) => !isLive(j)).sort(byFinished);
    const doomed = finished.filter((j, i) => i < finished.length - maxCount || (j.finishedAt ?? 0) < before);
    for (const j of doomed) this.jobs.delete(j.id);
    const keep = this.log.findIndex((c) => c.at >= before);
    const gone = new Set(doomed.map((j) => j.id));
    this.log = (keep < 0 ? [] : this.log.slice(keep)).filter((c) => !gone.has(c.jobId));
    return doomed.length;
  }

  firstOffset(): number {
    return this.log[0]?.offset ?? this.last + 1;
  }

  snapshot(recentLimit: number): StoreSnapshot {
    const all = [...this.jobs.values()];
    const finished = all.filter((j) => !isLive(j)).sort(byFinished);
    return {
      lastOffset: this.last,
      active: all.filter(isLive).sort((a, b) => a.offset - b.offset),
      recent: recentLimit > 0 ? finished.slice(-recentLimit) : [],
    };
  }
}

type Fault = 'none' | 'staleSeq' | 'skipSeq' | 'recreate';
interface Step {
  readonly kind: 'create' | 'advance' | 'finish';
  readonly pick: number;
  readonly key: number;
}
type Op =
  | { readonly t: 'batch'; readonly steps: readonly Step[]; readonly fault: Fault; readonly where: number }
  | { readonly t: 'expire'; readonly age: number; readonly maxCount: number }
  | { readonly t: 'reopen' };

const opArb: fc.Arbitrary<Op> = fc.oneof(
  {
    weight: 6,
    arbitrary: fc.record({
      t: fc.constant('batch' as const),
      steps: fc.array(
        fc.record({
          kind: fc.constantFrom('create' as const, 'advance' as const, 'finish' as const),
          pick: fc.nat(30),
          key: fc.nat(5),
        }),
        { minLength: 1, maxLength: 8 },
      ),
      fault: fc.oneof(
        { weight: 5, arbitrary: fc.constant<Fault>('none') },
        {
          weight: 2,
          arbitrary: fc.constantFrom<Fault>('staleSeq', 'skipSeq', 'recreate'),
        },
      ),
      where: fc.nat(10),
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({ t: fc.constant('expire' as const), age: fc.nat(8), maxCount: fc.nat(6) }),
  },
  { weight: 1, arbitrary: fc.constant({ t: 'reopen' as const }) },
);

/** A batch built from the model's state: valid unless `fault` breaks one of its changes. */
function buildBatch(
  model: Model,
  op: Extract<Op, { t: 'batch' }>,
  ids: { next: number },
  at: number,
): StoredChange[] {
  const w = new Writer(model.last, model.jobs, at);
  const batch: StoredChange[] = [];
  for (const step of op.steps) {
    const live = w.records().filter(isLive);
    const target = live[step.pick % Math.max(1, live.length)];
    if (step.kind === 'create' || !target) {
      const key = step.key < 2 ? `k${step.key}` : null;
      batch.push(
        w.change(`j${ids.next++}`, 'created', {
          at,
          key,
          type: ['email', 'report', 'resize'][step.pick % 3],
        }),
      );
    } else if (step.kind === 'advance') {
      const kinds: ChangeKind[] =
        target.status === 'pending' ? ['started'] : ['progress', 'interrupted', 'retrying'];
      batch.push(w.change(target.id, kinds[step.pick % kinds.length]!, { at }));
    } else {
      batch.push(
        w.change(target.id, (['completed', 'failed', 'cancelled'] as const)[step.pick % 3]!, { at }),
      );
    }
  }
  const i = op.where % batch.length;
  const c = batch[i]!;
  const existing = [...model.jobs.keys()][op.where % Math.max(1, model.jobs.size)];
  const broken: Record<Fault, StoredChange> = {
    none: c,
    staleSeq: { ...c, seq: c.seq - 1, record: { ...c.record, seq: c.seq - 1 } },
    skipSeq: { ...c, seq: c.seq + 1, record: { ...c.record, seq: c.seq + 1 } },
    recreate:
      existing === undefined
        ? c
        : { ...c, jobId: existing, seq: 1, record: jobRecord({ id: existing, offset: c.offset }) },
  };
  batch[i] = broken[op.fault];
  return batch;
}

async function expectSameAsModel(store: JobStore, model: Model, ids: number): Promise<void> {
  expect(await store.firstOffset()).toBe(model.firstOffset());
  expect(await store.changesSince(0, ALL)).toEqual(model.log);
  const page = await store.list({ limit: ALL });
  expect(page.items).toEqual([...model.jobs.values()].sort(byCreated));
  expect(page.next).toBeNull();
  for (let i = 0; i < ids; i++) expect(await store.get(`j${i}`)).toEqual(model.jobs.get(`j${i}`));
  expect(await store.open({ recentLimit: 3 })).toEqual(model.snapshot(3));
}

export function describeStoreContract(name: string, factory: StoreFactory): void {
  describe(`JobStore contract: ${name}`, () => {
    let handle: StoreHandle;
    let store: JobStore;

    beforeEach(async () => {
      handle = await factory();
      store = handle.store;
      expect(await store.open({ recentLimit: 10 })).toEqual({ lastOffset: 0, active: [], recent: [] });
    });
    afterEach(async () => {
      await handle.cleanup();
    });

    /** The same data through a new instance (durable adapters) or a second open() of this one. */
    async function reopened(): Promise<JobStore> {
      if (handle.reopen) store = await handle.reopen();
      return store;
    }

    it('removes finished jobs with their history, leaves live ones, and keeps that across a reopen', async () => {
      const w = new Writer();
      const batch = [
        ...w.life('done', { key: 'k1' }),
        ...w.life('failed', { end: 'failed' }),
        w.change('live', 'created'),
      ];
      await store.commit(batch);
      expect(await store.remove!(['done', 'live', 'nobody'])).toBe(1);
      expect(await store.get('done')).toBeUndefined();
      expect(await store.get('live')).toEqual(w.record('live'));
      expect((await store.changesSince(0, ALL)).some((c) => c.jobId === 'done')).toBe(false);
      expect((await store.changesSince(0, ALL)).filter((c) => c.jobId === 'failed')).toHaveLength(12);
      const again = await reopened();
      await again.open({ recentLimit: 10 });
      expect(await again.get('done')).toBeUndefined();
      expect(await again.get('failed')).toMatchObject({ status: 'failed' });
      expect(await again.remove!(['failed'])).toBe(1);
      expect(await again.get('failed')).toBeUndefined();
    });

    it('keeps pauses (types and the whole scope) across a reopen; pausing twice or resuming an unpaused scope is harmless', async () => {
      expect(await store.paused?.()).toEqual([]);
      await store.setPaused!('email.send', true);
      await store.setPaused!('*', true);
      await store.setPaused!('email.send', true);
      await store.setPaused!('report', false);
      expect(await store.paused!()).toEqual(['*', 'email.send']);
      const again = await reopened();
      await again.open({ recentLimit: 10 });
      expect(await again.paused!()).toEqual(['*', 'email.send']);
      await again.setPaused!('*', false);
      expect(await again.paused!()).toEqual(['email.send']);
    });

    it('keeps schedules across a reopen: a definition replaced keeps its latest occurrence; removal answers whether one was there', async () => {
      const schedules = store.schedules!;
      const spec = (type: string) => ({
        type,
        input: { deep: { list: [1, 2, { three: 'é' }] } },
        cron: '*/5 * * * *',
        everyMs: null,
        timezone: 'Europe/Berlin',
        key: null,
        priority: 3,
        missed: 'latest' as const,
        anchor: T0,
      });
      expect(await schedules.list()).toEqual([]);
      await schedules.put('nightly', spec('report'));
      await schedules.put('a.first', spec('email.send'));
      expect(await schedules.take('nightly', T0 + 300_000, 'job-1', T0 + 300_001)).toBe(true);
      await schedules.put('nightly', spec('report.v2'));
      const again = await reopened();
      await again.open({ recentLimit: 10 });
      expect(await again.schedules!.list()).toEqual([
        {
          name: 'a.first',
          spec: spec('email.send'),
          lastAt: null,
          lastJobId: null,
          takenAt: null,
          started: true,
        },
        {
          name: 'nightly',
          spec: spec('report.v2'),
          lastAt: T0 + 300_000,
          lastJobId: 'job-1',
          takenAt: T0 + 300_001,
          started: false,
        },
      ]);
      await again.schedules!.started('nightly', T0 + 300_000, 'job-1');
      expect((await again.schedules!.list())[1]).toMatchObject({ started: true, lastJobId: 'job-1' });
      expect(await again.schedules!.remove('nightly')).toBe(true);
      expect(await again.schedules!.remove('nightly')).toBe(false);
      expect((await again.schedules!.list()).map((r) => r.name)).toEqual(['a.first']);
    });

    it('lets one taker have each occurrence: never an earlier or equal one again, none while the one before is not started, and a skipped one is started at once', async () => {
      const schedules = store.schedules!;
      await schedules.put('s', { ...SPEC, anchor: T0 });
      expect(await schedules.take('nobody', T0, 'x', T0)).toBe(false);
      const racers = await Promise.all(
        Array.from({ length: 12 }, (_, i) => schedules.take('s', T0 + 1_000, `job-${i}`, T0)),
      );
      expect(racers.filter(Boolean)).toHaveLength(1);
      expect(await schedules.take('s', T0 + 1_000, 'again', T0)).toBe(false);
      expect(await schedules.take('s', T0 + 500, 'earlier', T0)).toBe(false);
      await schedules.started('s', T0 + 1_000, 'job-0');
      expect(await schedules.take('s', T0 + 2_000, null, T0 + 2_500)).toBe(true);
      expect((await schedules.list())[0]).toMatchObject({
        lastAt: T0 + 2_000,
        lastJobId: null,
        started: true,
      });
      // `started` marks only the occurrence it names.
      expect(await schedules.take('s', T0 + 3_000, 'job-3', T0 + 3_000)).toBe(true);
      await schedules.started('s', T0 + 2_000, 'job-2');
      expect((await schedules.list())[0]).toMatchObject({ lastAt: T0 + 3_000, started: false });
      // Not before the one taken before is started: its job must not be lost.
      expect(await schedules.take('s', T0 + 4_000, 'job-4', T0 + 4_000)).toBe(false);
      await schedules.started('s', T0 + 3_000, 'joined');
      expect((await schedules.list())[0]).toMatchObject({ lastJobId: 'joined', started: true });
      expect(await schedules.take('s', T0 + 4_000, 'job-4', T0 + 4_000)).toBe(true);
    });

    it("keeps jobs' log lines in order with ids never given twice, at most `keep` per job, and forgets them with their job", async () => {
      const logs = store.logs!;
      const line = (jobId: string, n: number, attempt = 1) => ({
        jobId,
        attempt,
        at: T0 + n,
        message: `line ${n} ✓`,
        data: n % 2 === 0 ? { n, nested: { list: [n, 'é'] } } : null,
      });
      const w = new Writer();
      await store.commit([...w.life('done'), w.change('live', 'created')]);
      const first = await logs.append([line('done', 1), line('live', 1), line('done', 2, 2)], 10);
      expect(first).toHaveLength(3);
      expect([...first]).toEqual([...first].sort((a, b) => a - b));
      const more = await logs.append(
        Array.from({ length: 12 }, (_, i) => line('live', i + 2)),
        10,
      );
      expect(more[0]!).toBeGreaterThan(first[2]!);
      // `keep`: the newest 10 of `live`'s 13 lines.
      const live = await logs.read('live', { after: 0, limit: 100 });
      expect(live.map((e) => e.message)).toEqual(Array.from({ length: 10 }, (_, i) => `line ${i + 4} ✓`));
      expect(live[1]).toEqual({ id: more[3], ...line('live', 5) });
      expect(live[0]).toEqual({ id: more[2], ...line('live', 4) });
      // Paged by id, and by attempt.
      const page = await logs.read('live', { after: live[2]!.id, limit: 3 });
      expect(page.map((e) => e.id)).toEqual(live.slice(3, 6).map((e) => e.id));
      expect((await logs.read('done', { after: 0, limit: 10, attempt: 2 })).map((e) => e.message)).toEqual([
        'line 2 ✓',
      ]);
      expect(await logs.read('nobody', { after: 0, limit: 10 })).toEqual([]);
      // Removed with their job (a live job's stay); a later line never takes a removed line's id.
      expect(await store.remove!(['done', 'live'])).toBe(1);
      expect(await logs.read('done', { after: 0, limit: 10 })).toEqual([]);
      expect(await logs.read('live', { after: 0, limit: 100 })).toHaveLength(10);
      const again = await reopened();
      await again.open({ recentLimit: 10 });
      const [next] = await again.logs!.append([line('live', 99)], 10);
      expect(next!).toBeGreaterThan(Math.max(...first, ...more));
      expect(await again.logs!.read('live', { after: more.at(-1)!, limit: 10 })).toEqual([
        { id: next, ...line('live', 99) },
      ]);
    });

    it("expires a job's log lines with the job", async () => {
      const w = new Writer();
      for (const [id, at] of [
        ['old', T0],
        ['new', T0 + 10_000],
      ] as const) {
        await store.commit([
          w.change(id, 'created', { at }),
          w.change(id, 'started', { at }),
          w.change(id, 'completed', { at: at + 1 }),
        ]);
      }
      const line = (jobId: string) => ({ jobId, attempt: 1, at: T0, message: 'm', data: null });
      await store.logs!.append([line('old'), line('new')], 10);
      await store.expire({ before: T0 + 5_000, maxCount: ALL });
      expect(await store.logs!.read('old', { after: 0, limit: 10 })).toEqual([]);
      expect(await store.logs!.read('new', { after: 0, limit: 10 })).toHaveLength(1);
      await store.expire({ before: 0, maxCount: 0 });
      expect(await store.logs!.read('new', { after: 0, limit: 10 })).toEqual([]);
    });

    it('commits a created job and reads it back', async () => {
      const w = new Writer();
      const created = w.change('a', 'created', { key: 'user-1', type: 'email.send' });
      await store.commit([created]);
      expect(await store.get('a')).toEqual(created.record);
      expect(await store.get('nobody')).toBeUndefined();
      expect(await store.changesSince(0, 10)).toEqual([created]);
      expect(await store.firstOffset()).toBe(1);
      expect(await store.open({ recentLimit: 10 })).toEqual({
        lastOffset: 1,
        active: [created.record],
        recent: [],
      });
    });

    it('logs every change of a batch and keeps the latest record per job', async () => {
      const w = new Writer();
      const batch = [...w.life('a', { key: 'k' }), ...w.life('b', { end: 'failed' })];
      await store.commit(batch);
      expect(await store.changesSince(0, ALL)).toEqual(batch);
      expect(await store.get('a')).toEqual(w.record('a'));
      expect(await store.get('b')).toMatchObject({ status: 'failed', seq: 12, offset: 24 });
      const more = [w.change('c', 'created'), w.change('c', 'started')];
      await store.commit(more);
      expect(await store.get('c')).toEqual(w.record('c'));
      expect((await store.open({ recentLimit: 10 })).lastOffset).toBe(26);
    });

    it('refuses a stale seq (compare-and-set) and changes nothing', async () => {
      const w = new Writer();
      await store.commit([w.change('a', 'created'), w.change('a', 'started')]);
      const stale = new Writer(w.lastOffset);
      stale.change('a', 'created');
      const before = await dump(store);
      // The writer believes `a` is at seq 1 (its started change never reached it).
      await expectCode(store.commit([stale.change('a', 'started')]), 'store_conflict');
      // A skipped seq, a re-creation, and a change to a job that does not exist.
      const gap = w.fork();
      gap.change('a', 'progress');
      await expectCode(store.commit([gap.change('a', 'progress')]), 'store_conflict');
      await expectCode(store.commit([new Writer(w.lastOffset).change('a', 'created')]), 'store_conflict');
      const ghost = new Writer(0);
      ghost.change('ghost', 'created');
      await expectCode(store.commit([ghost.change('ghost', 'started')]), 'store_conflict');
      expect(await dump(store)).toEqual(before);
      await store.commit([w.change('a', 'progress')]);
      expect(await store.get('a')).toMatchObject({ seq: 3, progress: 10 });
    });

    it('applies a batch entirely or not at all', async () => {
      const w = new Writer();
      await store.commit([w.change('a', 'created')]);
      const before = await dump(store);
      const good = w.fork();
      const stale = new Writer(good.lastOffset + 3);
      stale.change('a', 'created');
      const bad = [good.change('b', 'created'), good.change('a', 'started'), good.change('c', 'created')];
      // The last change of the batch is stale: nothing of the batch may land.
      const staleChange = stale.change('a', 'started');
      await expectCode(
        store.commit([...bad, { ...staleChange, offset: good.lastOffset + 1 }]),
        'store_conflict',
      );
      // Seqs of one job within a batch must follow each other.
      const skip = w.fork();
      const [s1, s2] = [skip.change('a', 'started'), skip.change('a', 'progress')];
      await expectCode(
        store.commit([s1, { ...skip.change('a', 'progress'), offset: s2.offset }]),
        'store_conflict',
      );
      expect(await dump(store)).toEqual(before);
      await store.commit(bad);
      expect(await store.changesSince(1, ALL)).toEqual(bad);
    });

    it('assigns the offsets: continuing its log without gaps, in batch order, answering the first', async () => {
      const w = new Writer();
      expect(await store.commit([w.change('a', 'created')])).toBe(1);
      const before = await dump(store);
      expect(await store.commit([])).toBe(2);
      expect(await dump(store)).toEqual(before);
      // Whatever a caller believes the offsets are, the store gives the next ones.
      const confused = w.fork();
      confused.lastOffset += 40;
      const [b, c] = [confused.change('b', 'created'), confused.change('c', 'created')];
      expect(await store.commit([c, b])).toBe(2);
      const log = await store.changesSince(1, ALL);
      expect(log.map((change) => [change.offset, change.jobId])).toEqual([
        [2, 'c'],
        [3, 'b'],
      ]);
      expect(log.map((change) => change.record.offset)).toEqual([2, 3]);
      expect(await store.get('b')).toMatchObject({ offset: 3 });
      expect((await store.open({ recentLimit: 0 })).lastOffset).toBe(3);
    });

    it('names the job of a change it refuses for good, so that the others can be written', async () => {
      const w = new Writer();
      await store.commit([w.change('a', 'created', { key: 'k' }), w.change('b', 'created')]);
      const refusals = [
        [w.fork().change('x', 'created', { key: 'k' })], // the key is held
        [new Writer(w.lastOffset).change('b', 'created')], // re-created
        [
          w.fork().change('c', 'created'),
          new Writer(0, new Map([['a', { ...w.record('a'), seq: 5 }]])).change('a', 'progress'),
        ],
      ];
      const jobs = ['x', 'b', 'a'];
      for (const [i, batch] of refusals.entries()) {
        const error = await rejectionOf(store.commit(batch));
        expect(error.code).toBe('store_conflict');
        expect(error.details).toMatchObject({ jobId: jobs[i] });
      }
    });

    it('creates a job only if no live job holds its key', async () => {
      const w = new Writer();
      await store.commit([
        w.change('a', 'created', { key: 'k' }),
        w.change('x', 'created', { key: 'other' }),
      ]);
      const before = await dump(store);
      await expectCode(store.commit([w.fork().change('b', 'created', { key: 'k' })]), 'store_conflict');
      // Within one batch too, and before the holder finishes in the same batch.
      const same = w.fork();
      await expectCode(
        store.commit([same.change('c', 'created', { key: 'n' }), same.change('d', 'created', { key: 'n' })]),
        'store_conflict',
      );
      const early = w.fork();
      await expectCode(
        store.commit([early.change('b', 'created', { key: 'k' }), early.change('a', 'cancelled')]),
        'store_conflict',
      );
      expect(await dump(store)).toEqual(before);
      // Running still holds it; finishing frees it; a finished job never blocks.
      await store.commit([w.change('a', 'started')]);
      await expectCode(store.commit([w.fork().change('b', 'created', { key: 'k' })]), 'store_conflict');
      await store.commit([w.change('a', 'completed')]);
      await store.commit([w.change('b', 'created', { key: 'k' })]);
      // Released and taken again within one batch.
      await store.commit([w.change('b', 'failed'), w.change('c', 'created', { key: 'k' })]);
      const holders = await store.list({ key: 'k', limit: 10 });
      expect(holders.items.map((r) => [r.id, r.status])).toEqual([
        ['a', 'completed'],
        ['b', 'failed'],
        ['c', 'pending'],
      ]);
    });

    it('lets exactly one of many concurrent commits win a key or a seq', async () => {
      const w = new Writer();
      await store.commit([w.change('a', 'created')]);
      const racers = Array.from({ length: 16 }, (_, i) =>
        w.fork().change(`r${i}`, 'created', { key: 'race' }),
      );
      const results = await Promise.allSettled(racers.map((c) => store.commit([c])));
      const won = results.filter((r) => r.status === 'fulfilled');
      expect(won).toHaveLength(1);
      for (const r of results) {
        if (r.status === 'rejected') expect(r.reason).toMatchObject({ code: 'store_conflict' });
      }
      const page = await store.list({ key: 'race', limit: 100 });
      expect(page.items).toHaveLength(1);
      // Same job, same seq, racing writers: one progress lands, the others are stale.
      const after = new Writer(2, new Map((await store.list({ limit: 100 })).items.map((r) => [r.id, r])));
      const moves = Array.from({ length: 16 }, () => after.fork().change('a', 'started'));
      const moved = await Promise.allSettled(moves.map((c) => store.commit([c])));
      expect(moved.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
      expect(await store.get('a')).toMatchObject({ seq: 2, status: 'running' });
      expect(await store.changesSince(0, ALL)).toHaveLength(3);
    });

    it('pages the change log by offset without gaps', async () => {
      const w = new Writer();
      const all: StoredChange[] = [];
      for (let i = 0; i < 5; i++) {
        const kinds: ChangeKind[] = ['created', 'started', 'progress', 'progress', 'progress'];
        const batch = kinds.map((kind) => w.change(`job${i}`, kind));
        await store.commit(batch);
        all.push(...batch);
      }
      const read: StoredChange[] = [];
      for (let after = 0; ;) {
        const page = await store.changesSince(after, 7);
        expect(page.length).toBeLessThanOrEqual(7);
        if (page.length === 0) break;
        read.push(...page);
        after = page.at(-1)!.offset;
      }
      expect(read).toEqual(all);
      expect(read.map((c) => c.offset)).toEqual(Array.from({ length: 25 }, (_, i) => i + 1));
      expect(await store.changesSince(10, 3)).toEqual(all.slice(10, 13));
      expect(await store.changesSince(25, 10)).toEqual([]);
      expect(await store.changesSince(0, 0)).toEqual([]);
      expect(await store.firstOffset()).toBe(1);
    });

    it("reads one job's change history by offset, in pages", async () => {
      const w = new Writer();
      const batch = ['a', 'b', 'a', 'b', 'a'].map((id, i) =>
        w.change(id, i < 2 ? 'created' : i < 4 ? 'started' : 'progress'),
      );
      await store.commit(batch);
      await store.commit([w.change('a', 'progress'), w.change('b', 'progress')]);
      const all = await store.changesSince(0, ALL);
      const ofA = all.filter((c) => c.jobId === 'a');
      expect(ofA.map((c) => c.seq)).toEqual([1, 2, 3, 4]);
      expect(await store.changesOf!('a', 0, ALL)).toEqual(ofA);
      expect(await store.changesOf!('a', ofA[1]!.offset, 1)).toEqual([ofA[2]]);
      expect(await store.changesOf!('a', ofA[3]!.offset, 10)).toEqual([]);
      expect(await store.changesOf!('ghost', 0, 10)).toEqual([]);
      expect(await store.changesOf!('b', 0, 0)).toEqual([]);
    });

    it('lists with filters and cursor pages that cover every job exactly once', async () => {
      const w = new Writer();
      const types = ['email', 'report', 'resize'];
      for (let i = 0; i < 30; i++) {
        const id = `job-${String(i).padStart(2, '0')}`;
        // createdAt out of id order, with ties (ordered by id).
        const at = T0 + ((i * 7) % 10) * 1_000;
        const key = i % 4 >= 2 ? `k${i % 3}` : i === 1 ? 'live-key' : null;
        const batch = [w.change(id, 'created', { at, key, type: types[i % 3] })];
        if (i % 4 >= 1) batch.push(w.change(id, 'started'));
        if (i % 4 >= 2) batch.push(w.change(id, i % 4 === 2 ? 'completed' : 'failed'));
        await store.commit(batch);
      }
      const records = w.records();
      const queries: Omit<ListQuery, 'after' | 'limit'>[] = [
        {},
        { status: ['completed'] },
        { status: ['pending', 'running'] },
        { type: 'report' },
        { key: 'k1' },
        { status: ['failed'], type: 'email' },
        { status: ['completed', 'failed'], key: 'k0', type: 'resize' },
        { status: [] },
        { key: 'nobody' },
      ];
      for (const query of queries) {
        const expected = records
          .filter((r) => !query.status || query.status.includes(r.status))
          .filter((r) => query.type === undefined || r.type === query.type)
          .filter((r) => query.key === undefined || r.key === query.key)
          .sort(byCreated);
        for (const limit of [1, 4, 30, 100]) {
          expect(await allPages(store, { ...query, limit })).toEqual(expected);
        }
      }
      const first = await store.list({ limit: 5 });
      expect(first.next).not.toBeNull();
      for (const bad of ['nonsense', '12', ':job-01', '12:', ' :job-01', 'x:job-01']) {
        await expectCode(store.list({ limit: 5, after: bad }), 'invalid_request');
      }
    });

    describe('expire', () => {
      /** Live `old` first, then six jobs f0..f5 finishing 10 s apart; returns the writer. */
      async function fill(): Promise<Writer> {
        const w = new Writer();
        await store.commit([w.change('old', 'created', { at: T0 })]);
        for (let i = 0; i < 6; i++) {
          const at = T0 + (i + 1) * 10_000;
          await store.commit([
            w.change(`f${i}`, 'created', { at, key: 'same' }),
            w.change(`f${i}`, 'started', { at: at + 1_000 }),
            w.change(`f${i}`, i % 2 ? 'failed' : 'completed', { at: at + 2_000 }),
          ]);
        }
        // An old timestamp late in the log: kept, because the log stays a contiguous suffix.
        await store.commit([w.change('old', 'started', { at: T0 + 1 })]);
        return w;
      }

      it('forgets finished jobs finished before a time and the log before it', async () => {
        const w = await fill();
        const before = w.record('f3').finishedAt!;
        expect(await store.expire({ before, maxCount: 100 })).toBe(3);
        for (const id of ['f0', 'f1', 'f2']) expect(await store.get(id)).toBeUndefined();
        for (const id of ['f3', 'f4', 'f5', 'old']) expect(await store.get(id)).toEqual(w.record(id));
        const first = w.record('f3').offset;
        expect(await store.firstOffset()).toBe(first);
        const log = await store.changesSince(0, ALL);
        expect(log.map((c) => c.offset)).toEqual(Array.from({ length: 20 - first + 1 }, (_, i) => first + i));
        expect(log.at(-1)).toMatchObject({ jobId: 'old', at: T0 + 1 });
        expect((await store.open({ recentLimit: 10 })).lastOffset).toBe(20);
        expect(await store.expire({ before, maxCount: 100 })).toBe(0);
      });

      it('keeps at most maxCount finished jobs, the most recent ones', async () => {
        const w = await fill();
        expect(await store.expire({ before: 0, maxCount: 2 })).toBe(4);
        const left = await store.list({ limit: 100 });
        expect(left.items.map((r) => r.id).sort()).toEqual(['f4', 'f5', 'old']);
        // A removed job's history goes with it; the others' stays whole.
        const log = await store.changesSince(0, ALL);
        expect([...new Set(log.map((c) => c.jobId))].sort()).toEqual(['f4', 'f5', 'old']);
        expect(log).toHaveLength(8);
        expect(await store.changesOf!('f0', 0, ALL)).toEqual([]);
        expect(await store.expire({ before: 0, maxCount: 0 })).toBe(2);
        expect(await store.get('old')).toEqual(w.record('old'));
      });

      it('breaks ties in finish time by id', async () => {
        const w = new Writer();
        await store.commit(['b', 'a', 'c'].map((id) => w.change(id, 'created')));
        await store.commit(['b', 'a', 'c'].map((id) => w.change(id, 'cancelled', { at: T0 + 9_000 })));
        expect((await store.open({ recentLimit: 2 })).recent.map((r) => r.id)).toEqual(['b', 'c']);
        expect(await store.expire({ before: 0, maxCount: 2 })).toBe(1);
        expect(await store.get('a')).toBeUndefined();
        expect((await store.list({ limit: 10 })).items.map((r) => r.id)).toEqual(['b', 'c']);
      });

      it('never moves lastOffset back, even with an empty log', async () => {
        const w = await fill();
        expect(await store.expire({ before: T0 + 10_000_000, maxCount: 100 })).toBe(6);
        expect(await store.changesSince(0, ALL)).toEqual([]);
        expect(await store.firstOffset()).toBe(21);
        expect(await store.open({ recentLimit: 10 })).toEqual({
          lastOffset: 20,
          active: [w.record('old')],
          recent: [],
        });
        // The next change gets offset 21, never one given before.
        const next = w.change('old', 'completed');
        expect(await store.commit([next])).toBe(21);
        expect(await store.changesSince(0, ALL)).toEqual([next]);
        expect(await store.firstOffset()).toBe(21);
      });
    });

    it('opens with the active jobs in queue order and a bounded list of recent ones', async () => {
      const w = new Writer();
      await store.commit(['a', 'b', 'c'].map((id) => w.change(id, 'created')));
      await store.commit([w.change('a', 'started'), w.change('b', 'started'), w.change('b', 'interrupted')]);
      await store.commit([w.change('d', 'created')]);
      for (const id of ['e', 'f', 'g']) await store.commit(w.life(id, { end: 'cancelled' }));
      const records = (ids: string[]) => ids.map((id) => w.record(id));
      expect(await store.open({ recentLimit: 2 })).toEqual({
        lastOffset: w.lastOffset,
        active: records(['c', 'a', 'b', 'd']),
        recent: records(['f', 'g']),
      });
      expect((await store.open({ recentLimit: 0 })).recent).toEqual([]);
      expect((await store.open({ recentLimit: 10 })).recent).toEqual(records(['e', 'f', 'g']));
    });

    it('reopens with the same data, log position and key holders', async () => {
      const w = new Writer();
      await store.commit(w.life('a', { key: 'k' }));
      await store.commit([
        w.change('b', 'created', { key: 'k' }),
        w.change('c', 'created'),
        w.change('c', 'started'),
      ]);
      expect(await store.expire({ before: w.record('b').createdAt, maxCount: 100 })).toBe(1);
      const before = await dump(store);
      expect(before.first).toBe(13);
      const again = await reopened();
      expect(await again.open({ recentLimit: ALL })).toEqual(before.snapshot);
      expect(await dump(again)).toEqual(before);
      await expectCode(again.commit([w.fork().change('x', 'created', { key: 'k' })]), 'store_conflict');
      await expectCode(again.commit([new Writer(w.lastOffset).change('c', 'created')]), 'store_conflict');
      await again.commit([w.change('c', 'completed'), w.change('b', 'started')]);
      expect(await again.get('c')).toEqual(w.record('c'));
      expect((await again.open({ recentLimit: 1 })).lastOffset).toBe(17);
    });

    it('matches a simple model over random sequences of valid and invalid batches', async () => {
      await fc.assert(
        fc.asyncProperty(fc.array(opArb, { minLength: 1, maxLength: 12 }), async (ops) => {
          const run = await factory();
          let current = run.store;
          try {
            await current.open({ recentLimit: 3 });
            const model = new Model();
            const ids = { next: 0 };
            let now = T0;
            for (const op of ops) {
              now += 1_000;
              if (op.t === 'batch') {
                const batch = buildBatch(model, op, ids, now);
                const first = model.last + 1;
                if (model.commit(batch)) expect(await current.commit(batch)).toBe(first);
                else await expectCode(current.commit(batch), 'store_conflict');
              } else if (op.t === 'expire') {
                const policy = { before: now - op.age * 1_000, maxCount: op.maxCount };
                expect(await current.expire(policy)).toBe(model.expire(policy.before, policy.maxCount));
              } else {
                if (run.reopen) current = await run.reopen();
                await current.open({ recentLimit: 3 });
              }
              await expectSameAsModel(current, model, ids.next);
            }
          } finally {
            await run.cleanup();
          }
        }),
        { numRuns: 50 },
      );
    });
  });
}
