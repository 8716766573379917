/**
 * Delayed and scheduled jobs: `start({ delayMs })` / `start({ runAt })`. The job waits in
 * `pending.scheduled` holding its key, joins the queue at its time (a `due` change), can be
 * cancelled while it waits, keeps its deadline across a restart on SQLite (re-armed, or run at
 * once when the time passed meanwhile), is claimed on PostgreSQL only once its time has come, and
 * a bad time is refused with a coded error. Time is the simulated clock's, except on PostgreSQL,
 * whose claims read the database's clock.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { SimulatedClock } from 'xstate';
import { createSupervisor, systemClock, type JobChange, type Supervisor } from '../src/index.js';
import { postgresStore } from '../src/postgres.js';
import { sqliteStore } from '../src/sqlite.js';
import { deferred, harness, rejectionOf, settle, until } from './helpers.js';
import { dropSchema, POSTGRES_URL, schemaName, sql } from './postgres-helpers.js';

const open: Supervisor[] = [];
const dirs: string[] = [];
const schemas: string[] = [];
afterEach(async () => {
  vi.useRealTimers();
  for (const s of open.splice(0)) await s.shutdown({ graceMs: 0 });
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
  for (const schema of schemas.splice(0)) await dropSchema(schema);
});

/** A harness whose `work` jobs record the clock's time when they run. */
function delayed() {
  const h = harness();
  open.push(h.supervisor);
  const ran: { input: unknown; at: number }[] = [];
  h.supervisor.register('work', (ctx) => {
    ran.push({ input: ctx.input, at: h.clock.now() });
  });
  return { ...h, ran };
}

const kinds = (changes: JobChange[], jobId: string) =>
  changes.filter((c) => c.jobId === jobId).map((c) => c.kind);

describe('start({ delayMs | runAt })', () => {
  it('waits in pending.scheduled until its time, then joins the queue (due) and runs once', async () => {
    const { supervisor, clock, changes, ran } = delayed();
    clock.set(1_000);
    const { job } = await supervisor.start({ type: 'work', input: 'later', delayMs: 5_000 });
    expect(job).toMatchObject({
      status: 'pending',
      state: 'pending.scheduled',
      attempt: 0,
      runAt: 6_000,
      nextRetryAt: null,
    });
    expect(supervisor.get(job.id)?.state).toBe('pending.scheduled');
    expect(supervisor.stats()).toMatchObject({ scheduled: 1, queued: 0 });

    clock.increment(4_999);
    await settle();
    expect(ran).toEqual([]);
    expect(kinds(changes, job.id)).toEqual(['created']);

    clock.increment(1);
    await supervisor.waitFor(job.id);
    expect(ran).toEqual([{ input: 'later', at: 6_000 }]);
    expect(kinds(changes, job.id)).toEqual(['created', 'due', 'started', 'completed']);
    expect(supervisor.stats().scheduled).toBe(0);
    const due = changes.find((c) => c.jobId === job.id && c.kind === 'due')!;
    expect(due.at).toBe(6_000);
    expect(supervisor.get(job.id)).toMatchObject({ status: 'completed', runAt: 6_000, attempt: 1 });
  });

  it('takes runAt as ms since the epoch, a Date or an ISO string, all the same time', async () => {
    const { supervisor, clock } = delayed();
    clock.set(Date.UTC(2026, 0, 1));
    const at = Date.UTC(2026, 0, 2, 12);
    const jobs = await Promise.all(
      [at, new Date(at), new Date(at).toISOString(), '2026-01-02T13:00:00+01:00'].map(
        async (runAt) => (await supervisor.start({ type: 'work', runAt })).job,
      ),
    );
    expect(jobs.map((job) => job.runAt)).toEqual([at, at, at, at]);
  });

  it('queues a job whose time has already come at once, as an undelayed one', async () => {
    const { supervisor, clock, changes } = delayed();
    clock.set(10_000);
    const past = await supervisor.start({ type: 'work', runAt: 9_000 });
    const now = await supervisor.start({ type: 'work', delayMs: 0 });
    for (const { job } of [past, now]) {
      expect(job.runAt).toBeNull();
      await supervisor.waitFor(job.id);
      expect(kinds(changes, job.id)).toEqual(['created', 'started', 'completed']);
    }
  });

  it('holds its key while it waits: a start with the key joins it or is refused', async () => {
    const { supervisor } = delayed();
    const first = await supervisor.start({ type: 'work', key: 'k', delayMs: 60_000 });
    const joined = await supervisor.start({ type: 'work', key: 'k' });
    expect(joined).toMatchObject({ deduplicated: true, job: { id: first.job.id } });
    const refused = await rejectionOf(supervisor.start({ type: 'work', key: 'k', onConflict: 'reject' }));
    expect(refused.code).toBe('duplicate_key');
  });

  it('can be cancelled while it waits: it never runs, and its timer is gone', async () => {
    const { supervisor, clock, changes, ran } = delayed();
    const { job } = await supervisor.start({ type: 'work', delayMs: 1_000 });
    expect(await supervisor.cancel(job.id, 'not needed')).toMatchObject({ cancelled: true });
    clock.increment(5_000);
    await settle();
    expect(ran).toEqual([]);
    expect(kinds(changes, job.id)).toEqual(['created', 'cancelled']);
    expect(supervisor.stats().scheduled).toBe(0);
  });

  it('starts due jobs by priority, then in the order they became due, as slots free up', async () => {
    const h = harness({ concurrency: 1 });
    open.push(h.supervisor);
    const gate = deferred();
    const ran: unknown[] = [];
    h.supervisor.register('blocker', () => gate.promise);
    h.supervisor.register('work', (ctx) => {
      ran.push(ctx.input);
    });
    const blocker = await h.supervisor.start({ type: 'blocker' });
    const jobs = [];
    for (const [input, delayMs, priority] of [
      ['b', 2_000, 0],
      ['a', 1_000, 0],
      ['c', 2_000, 5],
    ] as const) {
      jobs.push((await h.supervisor.start({ type: 'work', input, delayMs, priority })).job);
    }
    h.clock.increment(3_000);
    await until(() => h.supervisor.stats().queued === 3);
    gate.resolve();
    await h.supervisor.waitFor(blocker.job.id);
    for (const job of jobs) await h.supervisor.waitFor(job.id);
    expect(ran).toEqual(['c', 'a', 'b']);
  });

  it('refuses a bad time or delay with invalid_request, and creates nothing', async () => {
    const { supervisor } = delayed();
    for (const bad of [
      { runAt: 1_000, delayMs: 5 },
      { delayMs: -1 },
      { delayMs: 1.5 },
      { delayMs: 11 * 365 * 24 * 3_600_000 },
      { runAt: 'tomorrow' },
      { runAt: '2026-01-02T12:00:00' }, // no offset: ambiguous
      { runAt: new Date(Number.NaN) },
      { runAt: -1 },
    ]) {
      const error = await rejectionOf(supervisor.start({ type: 'work', ...(bad as object) }));
      expect(error.code, JSON.stringify(bad)).toBe('invalid_request');
    }
    expect(supervisor.list()).toEqual([]);
  });
});

describe('a delayed job and a restart (SQLite)', () => {
  function sqlitePath() {
    const dir = mkdtempSync(join(tmpdir(), 'jobvisor-scheduled-'));
    dirs.push(dir);
    return join(dir, 'jobs.db');
  }

  function node(path: string, at: number) {
    const clock = new SimulatedClock();
    clock.set(at);
    const supervisor = createSupervisor({ store: sqliteStore({ path }), clock });
    open.push(supervisor);
    const ran: number[] = [];
    supervisor.register('work', () => {
      ran.push(clock.now());
    });
    return { supervisor, clock, ran };
  }

  async function stop(supervisor: Supervisor) {
    await supervisor.shutdown({ graceMs: 0 });
    open.splice(open.indexOf(supervisor), 1);
  }

  it('keeps the deadline in the store and re-arms it: the job runs at its time, not before', async () => {
    const path = sqlitePath();
    const first = node(path, 1_000_000);
    const { job } = await first.supervisor.start({ type: 'work', key: 'nightly', delayMs: 60_000 });
    await stop(first.supervisor);

    const second = node(path, 1_030_000);
    await second.supervisor.ready();
    expect(second.supervisor.get(job.id)).toMatchObject({ status: 'pending', runAt: 1_060_000 });
    expect(second.supervisor.get(job.id)?.state).toBe('pending.scheduled');
    const again = await second.supervisor.start({ type: 'work', key: 'nightly' });
    expect(again).toMatchObject({ deduplicated: true, job: { id: job.id } }); // still holds its key
    second.clock.increment(29_999);
    await settle();
    expect(second.ran).toEqual([]);
    second.clock.increment(1);
    await second.supervisor.waitFor(job.id);
    expect(second.ran).toEqual([1_060_000]);
  });

  it('runs a job whose time passed while nothing ran at once, once', async () => {
    const path = sqlitePath();
    const first = node(path, 1_000_000);
    const { job } = await first.supervisor.start({ type: 'work', delayMs: 60_000 });
    await stop(first.supervisor);

    const second = node(path, 5_000_000);
    await second.supervisor.ready();
    await second.supervisor.waitFor(job.id);
    expect(second.ran).toEqual([5_000_000]);
    await stop(second.supervisor);
    const third = node(path, 6_000_000);
    await third.supervisor.ready();
    expect(third.ran).toEqual([]);
    expect(third.supervisor.get(job.id)).toMatchObject({ status: 'completed', attempt: 1 });
  });
});

describe('a delayed job on PostgreSQL (a cluster of one node)', () => {
  it('is not claimed before its time (the database clock), and runs once after it', async () => {
    const schema = schemaName();
    schemas.push(schema);
    const supervisor = createSupervisor({
      store: postgresStore({ connectionString: POSTGRES_URL, schema }),
      cluster: { leaseMs: 2_000, renewMs: 200, claimIntervalMs: 50 },
    });
    open.push(supervisor);
    const started: number[] = [];
    supervisor.register('work', () => {
      started.push(Date.now());
    });
    const { job } = await supervisor.start({ type: 'work', delayMs: 400 });
    expect(job.runAt).not.toBeNull();
    const rows = await sql<{ retry_at: string; state: string }>(
      `SELECT retry_at, state FROM ${schema}.jobs WHERE id = $1`,
      [job.id],
    );
    expect(rows[0]).toEqual({ retry_at: String(job.runAt), state: 'pending.scheduled' });
    const done = await supervisor.waitFor(job.id);
    expect(done.status).toBe('completed');
    expect(done.startedAt!).toBeGreaterThanOrEqual(job.runAt!);
    expect(started).toHaveLength(1);
  });
});

describe('timers longer than setTimeout takes (the system clock)', () => {
  it('fires a 40-day timer after 40 days, not at once, and can clear it between links', () => {
    vi.useFakeTimers({ now: 0 });
    const day = 24 * 3_600_000;
    const fired: number[] = [];
    systemClock.setTimeout(() => fired.push(Date.now()), 40 * day);
    const cleared = systemClock.setTimeout(() => fired.push(-1), 40 * day);
    vi.advanceTimersByTime(30 * day); // past the first link (about 24.8 days)
    systemClock.clearTimeout(cleared);
    expect(fired).toEqual([]);
    vi.advanceTimersByTime(10 * day - 1);
    expect(fired).toEqual([]);
    vi.advanceTimersByTime(1);
    expect(fired).toEqual([40 * day]);
    vi.advanceTimersByTime(100 * day);
    expect(fired).toEqual([40 * day]);
  });
});
