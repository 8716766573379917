/**
 * Repeatable jobs: `schedule(name, { cron | everyMs, type, input, timezone, missed })`. Each
 * occurrence starts one job (its id derived from the name and the time), at its time on the
 * simulated clock; the definition, its latest occurrence and the missed policy hold across a
 * restart on SQLite; an occurrence taken but never created (its taker died) is created once; a
 * bad schedule is refused with a coded error and changes nothing. Several nodes on PostgreSQL:
 * test/repeatable-cluster.test.ts.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { SimulatedClock } from 'xstate';
import * as z from 'zod';
import { createSupervisor, JobvisorError, type Supervisor } from '../src/index.js';
import { MemorySchedules } from '../src/store/memory-schedules.js';
import { Schedules } from '../src/supervisor/schedules.js';
import { sqliteStore } from '../src/sqlite.js';
import { occurrenceId } from '../src/supervisor/occurrences.js';
import { deferred, harness, rejectionOf, settle, until, untilAborted } from './helpers.js';

const open: Supervisor[] = [];
const dirs: string[] = [];
afterEach(async () => {
  for (const s of open.splice(0)) await s.shutdown({ graceMs: 0 });
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

const T0 = Date.UTC(2026, 11, 7, 6, 0, 0);

/** A harness at T0 whose `tick` jobs record their input, id and the clock's time. */
function ticking() {
  const h = harness();
  open.push(h.supervisor);
  h.clock.set(T0);
  const ran: { id: string; input: unknown; at: number }[] = [];
  h.supervisor.register('tick', (ctx) => {
    ran.push({ id: ctx.jobId, input: ctx.input, at: h.clock.now() });
  });
  return { ...h, ran };
}

/** Advances the clock by `ms` in steps of `step`, letting each occurrence's job run. */
async function advance(clock: SimulatedClock, ms: number, step = ms): Promise<void> {
  for (let done = 0; done < ms; done += step) {
    clock.increment(Math.min(step, ms - done));
    for (let i = 0; i < 20; i++) await settle();
  }
}

describe('schedule({ everyMs })', () => {
  it('starts one job per occurrence at anchor + n × everyMs, each with its derived id, and lists the schedule', async () => {
    const { supervisor, clock, ran } = ticking();
    const view = await supervisor.schedule('heartbeat', { type: 'tick', everyMs: 1_000, input: { n: 1 } });
    expect(view).toMatchObject({
      name: 'heartbeat',
      type: 'tick',
      everyMs: 1_000,
      cron: null,
      anchor: T0,
      lastAt: null,
      nextAt: T0 + 1_000,
      missed: 'latest',
    });
    await advance(clock, 999);
    expect(ran).toEqual([]);
    await advance(clock, 2_001, 1);
    await until(() => ran.length === 3);
    expect(ran).toEqual(
      [1, 2, 3].map((n) => ({
        id: occurrenceId('heartbeat', T0 + n * 1_000),
        input: { n: 1 },
        at: T0 + n * 1_000,
      })),
    );
    const [listed] = await supervisor.schedules();
    expect(listed).toMatchObject({
      lastAt: T0 + 3_000,
      lastJobId: occurrenceId('heartbeat', T0 + 3_000),
      nextAt: T0 + 4_000,
    });
    expect(supervisor.get(ran[0]!.id)).toMatchObject({ type: 'tick', status: 'completed' });
  });

  it('keeps the anchor when the same definition is set again, replaces a changed one, and stops after unschedule', async () => {
    const { supervisor, clock, ran } = ticking();
    await supervisor.schedule('s', { type: 'tick', everyMs: 1_000 });
    await advance(clock, 500);
    // A process that sets its schedules at each start: nothing moves.
    expect(await supervisor.schedule('s', { type: 'tick', everyMs: 1_000 })).toMatchObject({
      anchor: T0,
      nextAt: T0 + 1_000,
    });
    await advance(clock, 500);
    await until(() => ran.length === 1);
    expect(ran[0]!.at).toBe(T0 + 1_000);
    // Changed: a new anchor (now), the occurrences go on from it.
    expect(await supervisor.schedule('s', { type: 'tick', everyMs: 300, input: 'v2' })).toMatchObject({
      anchor: T0 + 1_000,
      nextAt: T0 + 1_300,
      lastAt: T0 + 1_000,
    });
    await advance(clock, 300);
    await until(() => ran.length === 2);
    expect(ran[1]).toMatchObject({ input: 'v2', at: T0 + 1_300 });
    expect(await supervisor.unschedule('s')).toMatchObject({ name: 's', everyMs: 300 });
    expect(await supervisor.schedules()).toEqual([]);
    await advance(clock, 5_000, 100);
    expect(ran).toHaveLength(2);
    expect((await rejectionOf(supervisor.unschedule('s'))).code).toBe('schedule_not_found');
  });

  it('with a key, an occurrence while the previous one still runs joins it (no overlap)', async () => {
    const { supervisor, clock } = ticking();
    const started: string[] = [];
    const release = deferred();
    supervisor.register('slow', async (ctx) => {
      started.push(ctx.jobId);
      await Promise.race([release.promise, untilAborted(ctx.signal)]);
    });
    await supervisor.schedule('one-at-a-time', { type: 'slow', everyMs: 1_000, key: 'slow-report' });
    await advance(clock, 1_000);
    await until(() => started.length === 1);
    await advance(clock, 2_000, 1_000);
    expect(started).toHaveLength(1);
    expect(supervisor.list({ type: 'slow' })).toHaveLength(1);
    // The schedule names the job its latest occurrence joined.
    expect((await supervisor.schedules())[0]).toMatchObject({ lastAt: T0 + 3_000, lastJobId: started[0] });
    release.resolve();
    await supervisor.waitFor(started[0]!);
    await advance(clock, 1_000);
    await until(() => started.length === 2);
    expect(started[1]).toBe(occurrenceId('one-at-a-time', T0 + 4_000));
  });
});

describe('schedule({ cron })', () => {
  it('reads the pattern in its time zone (09:00 in Berlin is 08:00 UTC in December)', async () => {
    const { supervisor, clock, ran } = ticking();
    const view = await supervisor.schedule('morning', {
      type: 'tick',
      cron: '0 9 * * *',
      timezone: 'Europe/Berlin',
    });
    expect(view.nextAt).toBe(Date.UTC(2026, 11, 7, 8, 0, 0));
    await advance(clock, 2 * 3_600_000 - 1);
    expect(ran).toEqual([]);
    await advance(clock, 1);
    await until(() => ran.length === 1);
    expect(ran[0]!.at).toBe(Date.UTC(2026, 11, 7, 8, 0, 0));
    expect((await supervisor.schedules())[0]!.nextAt).toBe(Date.UTC(2026, 11, 8, 8, 0, 0));
  });

  it('takes 6 fields (seconds first) and UTC by default', async () => {
    const { supervisor, clock, ran } = ticking();
    await supervisor.schedule('fast', { type: 'tick', cron: '*/20 * * * * *' });
    await advance(clock, 60_000, 1_000);
    await until(() => ran.length === 3);
    expect(ran.map((r) => r.at - T0)).toEqual([20_000, 40_000, 60_000]);
  });
});

describe('bad schedules', () => {
  it('are refused with a coded error naming the problem, and change nothing', async () => {
    const { supervisor, clock, ran } = ticking();
    supervisor.register('typed', () => undefined, { input: z.object({ to: z.string() }) });
    const refused = async (name: unknown, options: unknown) =>
      rejectionOf(supervisor.schedule(name as string, options as { type: string; everyMs: number }));
    const cases: [unknown, unknown, string, RegExp][] = [
      ['', { type: 'tick', everyMs: 1_000 }, 'invalid_request', /name/],
      ['a/b', { type: 'tick', everyMs: 1_000 }, 'invalid_request', /name/],
      ['x'.repeat(101), { type: 'tick', everyMs: 1_000 }, 'invalid_request', /name/],
      ['s', { type: 'tick' }, 'invalid_request', /cron or everyMs/],
      ['s', { type: 'tick', everyMs: 1_000, cron: '* * * * *' }, 'invalid_request', /cron or everyMs/],
      ['s', { type: 'tick', everyMs: 99 }, 'invalid_request', /everyMs/],
      ['s', { type: 'tick', everyMs: 1.5 }, 'invalid_request', /everyMs/],
      ['s', { type: 'tick', cron: 'every day' }, 'invalid_request', /cron pattern/],
      ['s', { type: 'tick', cron: '61 * * * *' }, 'invalid_request', /cron pattern/],
      ['s', { type: 'tick', cron: '* * * * *', timezone: 'Mars/Olympus' }, 'invalid_request', /time zone/],
      ['s', { type: 'tick', everyMs: 1_000, timezone: 'UTC' }, 'invalid_request', /timezone/],
      ['s', { type: 'tick', everyMs: 1_000, missed: 'all' }, 'invalid_request', /missed/],
      ['s', { type: 'tick', everyMs: 1_000, extra: true }, 'invalid_request', /extra/],
      ['s', { type: 'nope', everyMs: 1_000 }, 'unknown_job_type', /nope/],
      ['s', { type: 'typed', everyMs: 1_000, input: { to: 1 } }, 'invalid_input', /typed/],

      ['s', null, 'invalid_request', /schedule/i],
    ];
    for (const [name, options, code, message] of cases) {
      const error = await refused(name, options);
      expect(error.code, JSON.stringify(options)).toBe(code);
      expect(error.message).toMatch(message);
    }
    expect(await supervisor.schedules()).toEqual([]);
    await advance(clock, 10_000, 1_000);
    expect(ran).toEqual([]);
  });
});

describe('schedules on SQLite across restarts', () => {
  function onFile(path: string, at: number) {
    const clock = new SimulatedClock();
    clock.set(at);
    const supervisor = createSupervisor({ store: sqliteStore({ path }), clock });
    open.push(supervisor);
    const ran: { id: string; at: number }[] = [];
    const waiting: { n: number; resolve: () => void }[] = [];
    supervisor.register('tick', (ctx) => {
      ran.push({ id: ctx.jobId, at: clock.now() });
      for (const w of waiting.filter((w) => ran.length >= w.n)) w.resolve();
    });
    /** Resolves once `n` jobs have run (the store is on a thread: its answers take real time). */
    const ranCount = (n: number) =>
      ran.length >= n ? Promise.resolve() : new Promise<void>((resolve) => waiting.push({ n, resolve }));
    return { supervisor, clock, ran, ranCount };
  }

  function tempPath(): string {
    const dir = mkdtempSync(join(tmpdir(), 'jobvisor-repeat-'));
    dirs.push(dir);
    return join(dir, 'jobs.db');
  }

  it('missed: latest runs the latest occurrence missed while down, once; the schedule goes on from there', async () => {
    const path = tempPath();
    const first = onFile(path, T0);
    await first.supervisor.schedule('minutely', { type: 'tick', everyMs: 60_000 });
    await advance(first.clock, 60_000);
    await first.ranCount(1);
    await first.supervisor.shutdown();

    // Down for ten minutes: nine occurrences missed (2..10), the latest is T0 + 10 min.
    const second = onFile(path, T0 + 10 * 60_000 + 5_000);
    await second.supervisor.ready();
    await second.ranCount(1);
    expect(second.ran[0]).toEqual({ id: occurrenceId('minutely', T0 + 600_000), at: T0 + 605_000 });
    await advance(second.clock, 55_000);
    await second.ranCount(2);
    expect(second.ran[1]!.at).toBe(T0 + 660_000);
    expect(second.supervisor.list({ type: 'tick' })).toHaveLength(3);
    await second.supervisor.shutdown();

    // Back at once (nothing missed): nothing runs twice.
    const third = onFile(path, T0 + 660_000 + 1);
    await third.supervisor.ready();
    expect((await third.supervisor.schedules())[0]).toMatchObject({
      lastAt: T0 + 660_000,
      nextAt: T0 + 720_000,
    });
    await advance(third.clock, 59_999, 10_000);
    await third.ranCount(1);
    expect(third.ran).toEqual([{ id: occurrenceId('minutely', T0 + 720_000), at: T0 + 720_000 }]);
  });

  it('missed: skip runs none of the missed occurrences, then the next one on time', async () => {
    const path = tempPath();
    const first = onFile(path, T0);
    await first.supervisor.schedule('skipper', { type: 'tick', everyMs: 60_000, missed: 'skip' });
    await first.supervisor.shutdown();
    const second = onFile(path, T0 + 10 * 60_000 + 5_000);
    await second.supervisor.ready();
    await advance(second.clock, 54_999, 5_000);
    expect(second.ran).toEqual([]);
    expect((await second.supervisor.schedules())[0]).toMatchObject({
      lastAt: T0 + 600_000,
      lastJobId: null,
      nextAt: T0 + 660_000,
    });
    await advance(second.clock, 1);
    await second.ranCount(1);
    expect(second.ran[0]!.at).toBe(T0 + 660_000);
  });

  it('an occurrence taken whose job was never created (its process died in between) is created at the restart, once', async () => {
    const path = tempPath();
    const first = onFile(path, T0);
    await first.supervisor.schedule('lost', { type: 'tick', everyMs: 60_000 });
    await first.supervisor.shutdown();
    // What a process killed right after taking the occurrence leaves: taken, not started, no job.
    const store = sqliteStore({ path });
    await store.open({ recentLimit: 0 });
    const orphan = occurrenceId('lost', T0 + 60_000);
    expect(await store.schedules!.take('lost', T0 + 60_000, orphan, T0 + 60_000)).toBe(true);
    await store.close();

    const second = onFile(path, T0 + 61_000);
    await second.supervisor.ready();
    await second.ranCount(1);
    expect(second.ran[0]!.id).toBe(orphan);
    expect((await second.supervisor.schedules())[0]).toMatchObject({
      lastAt: T0 + 60_000,
      lastJobId: orphan,
    });
    await advance(second.clock, 59_000, 10_000);
    await second.ranCount(2);
    expect(second.ran.map((r) => r.id)).toEqual([orphan, occurrenceId('lost', T0 + 120_000)]);
  });

  it('an occurrence whose job was created but not yet marked started is not created again', async () => {
    const path = tempPath();
    const first = onFile(path, T0);
    await first.supervisor.schedule('made', { type: 'tick', everyMs: 60_000 });
    await advance(first.clock, 60_000);
    await first.ranCount(1);
    await first.supervisor.shutdown();
    // As if the process died after the job's creation and before `started` was written.
    const db = new (await import('better-sqlite3')).default(path);
    db.prepare(`UPDATE schedules SET started = 0`).run();
    db.close();
    const second = onFile(path, T0 + 61_000);
    await second.supervisor.ready();
    await advance(second.clock, 59_000, 10_000);
    await second.ranCount(1);
    // The next occurrence ran; the one before it (created before the restart) did not run again.
    expect(second.ran.map((r) => r.id)).toEqual([occurrenceId('made', T0 + 120_000)]);
    expect(second.supervisor.list({ type: 'tick' })).toHaveLength(2);
  });
});

describe('an occurrence whose creation fails', () => {
  function runner(start: (id: string) => Promise<void>) {
    const clock = new SimulatedClock();
    clock.set(0);
    const store = new MemorySchedules();
    const errors: unknown[] = [];
    const schedules = new Schedules({
      store,
      clock,
      start: async (_spec, id) => {
        await start(id);
        return { job: { id } as never, deduplicated: false };
      },
      exists: async () => false,
      known: () => true,
      checkInput: () => undefined,
      report: (error) => errors.push(error),
    });
    return { clock, store, errors, schedules };
  }

  it('while the store is unavailable is tried again a second later, and made once', async () => {
    const calls: string[] = [];
    const { clock, store, errors, schedules } = runner(async (id) => {
      calls.push(id);
      if (calls.length === 1) throw new JobvisorError('store_unavailable', 'disk full');
    });
    await schedules.refresh();
    await schedules.set('s', { type: 't', everyMs: 1_000 });
    clock.increment(1_000);
    await until(() => errors.length === 1);
    expect((errors[0] as JobvisorError).code).toBe('store_unavailable');
    expect((await store.list())[0]).toMatchObject({ lastAt: 1_000, started: false });
    clock.increment(999);
    await settle();
    expect(calls).toHaveLength(1);
    // At 2 000: the retry of 1 000's job first, then 2 000's (taken once 1 000's is started).
    clock.increment(1);
    await until(() => calls.length === 3);
    await schedules.stop();
    expect(calls).toEqual([1_000, 1_000, 2_000].map((at) => occurrenceId('s', at)));
    expect((await store.list())[0]).toMatchObject({ lastAt: 2_000, started: true });
  });

  it('for good (its input no longer valid) is reported and given up: the schedule goes on', async () => {
    const calls: string[] = [];
    const { clock, store, errors, schedules } = runner(async (id) => {
      calls.push(id);
      if (calls.length === 1) throw new JobvisorError('invalid_input', 'no longer valid');
    });
    await schedules.refresh();
    await schedules.set('s', { type: 't', everyMs: 1_000 });
    clock.increment(1_000);
    await until(() => errors.length === 1);
    await until(() => calls.length === 1);
    clock.increment(1_000);
    await until(() => calls.length === 2);
    await schedules.stop();
    expect(calls).toEqual([occurrenceId('s', 1_000), occurrenceId('s', 2_000)]);
    expect((await store.list())[0]).toMatchObject({ lastAt: 2_000, started: true });
  });
});
