/**
 * Pause and resume, per job type and for the whole supervisor: pending jobs wait (a delayed one too,
 * once due), running ones go on, a resume starts the waiting ones; durable across a restart on
 * SQLite; on PostgreSQL no node claims a paused type's jobs and every node learns the pause; bad
 * input is refused with a coded error.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createSupervisor, type HandlerContext, type Supervisor } from '../src/index.js';
import { postgresStore } from '../src/postgres.js';
import { sqliteStore } from '../src/sqlite.js';
import { Gate, harness, rejectionOf, settle, until } from './helpers.js';
import { dropSchema, POSTGRES_URL, schemaName } from './postgres-helpers.js';

const open: Supervisor[] = [];
const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const s of open.splice(0)) await s.shutdown({ graceMs: 0 });
  for (const cleanup of cleanups.splice(0)) await cleanup();
});

/** A harness with types `a` and `b` whose handlers record their runs and wait for the gate. */
function paused() {
  const h = harness({ concurrency: 4 });
  open.push(h.supervisor);
  const gate = new Gate();
  const ran: string[] = [];
  const handler = async (ctx: HandlerContext) => {
    ran.push(`${ctx.type}:${String(ctx.input)}`);
    await gate.wait();
    ctx.signal.throwIfAborted();
  };
  h.supervisor.register('a', handler);
  h.supervisor.register('b', handler);
  return { ...h, gate, ran };
}

describe('pause and resume', () => {
  it('pauses one type: its pending jobs wait, its running one goes on, other types run; resume starts them', async () => {
    const { supervisor, gate, ran } = paused();
    const running = await supervisor.start({ type: 'a', input: 0 });
    await until(() => ran.length === 1);
    expect(await supervisor.pause('a')).toEqual({ all: false, types: ['a'] });
    const waiting = await supervisor.start({ type: 'a', input: 1 });
    const other = await supervisor.start({ type: 'b', input: 2 });
    await until(() => ran.includes('b:2'));
    expect(ran).toEqual(['a:0', 'b:2']);
    gate.release(2);
    expect((await supervisor.waitFor(running.job.id)).status).toBe('completed'); // went on
    await supervisor.waitFor(other.job.id);
    await settle();
    expect(supervisor.get(waiting.job.id)).toMatchObject({ status: 'pending', state: 'pending.queued' });
    expect(supervisor.stats().paused).toEqual({ all: false, types: ['a'] });

    expect(await supervisor.resume('a')).toEqual({ all: false, types: [] });
    await until(() => ran.includes('a:1'));
    gate.release(1);
    expect((await supervisor.waitFor(waiting.job.id)).status).toBe('completed');
  });

  it('pauses the whole supervisor: nothing starts (a delayed job that comes due waits too) until resume', async () => {
    const { supervisor, clock, gate, ran } = paused();
    await supervisor.pause();
    expect(supervisor.paused()).toEqual({ all: true, types: [] });
    const jobs = [
      await supervisor.start({ type: 'a', input: 1 }),
      await supervisor.start({ type: 'b', input: 2 }),
      await supervisor.start({ type: 'a', input: 3, delayMs: 1_000 }),
    ];
    clock.increment(2_000);
    await settle();
    expect(ran).toEqual([]);
    expect(supervisor.get(jobs[2]!.job.id)?.state).toBe('pending.queued'); // due, waiting
    // A type's own pause outlives the whole supervisor's resume.
    await supervisor.pause('b');
    await supervisor.resume();
    await until(() => ran.length === 2);
    expect(ran.sort()).toEqual(['a:1', 'a:3']);
    gate.release(10);
    await supervisor.resume('b');
    for (const { job } of jobs) expect((await supervisor.waitFor(job.id)).status).toBe('completed');
  });

  it('refuses an unknown type and a bad one with a coded error, changing nothing', async () => {
    const { supervisor } = paused();
    expect((await rejectionOf(supervisor.pause('nope'))).code).toBe('unknown_job_type');
    expect((await rejectionOf(supervisor.resume(''))).code).toBe('invalid_request');
    expect((await rejectionOf(supervisor.pause(5 as never))).code).toBe('invalid_request');
    expect(supervisor.paused()).toEqual({ all: false, types: [] });
  });
});

describe('pauses are durable', () => {
  it('SQLite: a pause outlives a restart, and the pending jobs wait until resumed', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'jobvisor-pause-'));
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
    const path = join(dir, 'jobs.db');
    const make = () => {
      const supervisor = createSupervisor({ store: sqliteStore({ path }) });
      open.push(supervisor);
      const ran: unknown[] = [];
      supervisor.register('a', (ctx) => {
        ran.push(ctx.input);
      });
      return { supervisor, ran };
    };
    const first = make();
    await first.supervisor.pause('a');
    const { job } = await first.supervisor.start({ type: 'a', input: 'kept' });
    await first.supervisor.shutdown({ graceMs: 0 });
    open.splice(open.indexOf(first.supervisor), 1);

    const second = make();
    await second.supervisor.ready();
    expect(second.supervisor.paused()).toEqual({ all: false, types: ['a'] });
    await settle();
    expect(second.ran).toEqual([]);
    await second.supervisor.resume('a');
    expect((await second.supervisor.waitFor(job.id)).status).toBe('completed');
    expect(second.ran).toEqual(['kept']);
  });

  it('PostgreSQL, two nodes: no node claims a paused type, both learn the pause, a resume on either releases it', async () => {
    const schema = schemaName();
    cleanups.push(() => dropSchema(schema));
    const node = () => {
      const supervisor = createSupervisor({
        store: postgresStore({ connectionString: POSTGRES_URL, schema }),
        cluster: { leaseMs: 2_000, renewMs: 200, claimIntervalMs: 50 },
      });
      open.push(supervisor);
      const ran: unknown[] = [];
      supervisor.register('a', (ctx) => {
        ran.push(ctx.input);
      });
      supervisor.register('b', () => undefined);
      return { supervisor, ran };
    };
    const one = node();
    const two = node();
    await Promise.all([one.supervisor.ready(), two.supervisor.ready()]);
    await one.supervisor.pause('a');
    const held = await two.supervisor.start({ type: 'a', input: 'held' });
    // A job of another type started after it runs: claims went on, skipping the paused type.
    const after = await two.supervisor.start({ type: 'b' });
    await two.supervisor.waitFor(after.job.id);
    await until(() => two.supervisor.paused().types.includes('a'), 100_000);
    expect(one.ran).toEqual([]);
    expect(two.ran).toEqual([]);
    expect((await two.supervisor.find(held.job.id))?.status).toBe('pending');
    await two.supervisor.resume('a');
    expect((await two.supervisor.waitFor(held.job.id)).status).toBe('completed');
    await until(() => one.supervisor.paused().types.length === 0, 100_000);
    expect([...one.ran, ...two.ran]).toEqual(['held']);
  });
});
