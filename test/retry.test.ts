/**
 * Retrying a failed or cancelled job by request: the same job (id, input, key, history) becomes
 * pending again with a `retried` change and runs as attempt + 1; its key is re-acquired, or
 * `duplicate_key` when another live job holds it; a completed or live job is `job_not_retryable`;
 * durable across a restart (SQLite) and on PostgreSQL (the retried job is claimed and runs once).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createSupervisor, JobFailure, memoryStore, type Supervisor } from '../src/index.js';
import { postgresStore } from '../src/postgres.js';
import { sqliteStore } from '../src/sqlite.js';
import { expectValidChangeStream, harness, rejectionOf, untilAborted } from './helpers.js';
import { dropSchema, POSTGRES_URL, schemaName } from './postgres-helpers.js';

const open: Supervisor[] = [];
const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const s of open.splice(0)) await s.shutdown({ graceMs: 0 });
  for (const cleanup of cleanups.splice(0)) await cleanup();
});

/** A type that fails until `healed`, and one that blocks until aborted. */
function flaky(options: Parameters<typeof harness>[0] = {}) {
  const h = harness({ store: memoryStore(), retries: { max: 0 }, ...options });
  open.push(h.supervisor);
  const state = { healed: false, runs: [] as number[] };
  h.supervisor.register('flaky', (ctx) => {
    state.runs.push(ctx.attempt);
    if (!state.healed) throw new JobFailure('broken', 'not yet');
    return { attempt: ctx.attempt };
  });
  h.supervisor.register('hold', (ctx) => untilAborted(ctx.signal));
  return { ...h, state };
}

describe('retry', () => {
  it('makes a failed job pending again: same id and history, attempt + 1, a retried change', async () => {
    const { supervisor, state, changes } = flaky();
    const { job } = await supervisor.start({ type: 'flaky', input: { n: 1 }, key: 'k' });
    expect((await supervisor.waitFor(job.id)).status).toBe('failed');
    state.healed = true;
    const retried = await supervisor.retry(job.id);
    expect(retried).toMatchObject({ retried: true, job: { id: job.id, status: 'pending', error: null } });
    const done = await supervisor.waitFor(job.id);
    expect(done).toMatchObject({ status: 'completed', attempt: 2, result: { attempt: 2 }, key: 'k' });
    expect(state.runs).toEqual([1, 2]);
    const history = await supervisor.history(job.id);
    expect(history.map((c) => c.kind)).toEqual([
      'created',
      'started',
      'failed',
      'retried',
      'started',
      'completed',
    ]);
    expectValidChangeStream(changes);
    expect(supervisor.stats().jobs).toMatchObject({ failed: 0, completed: 1 });
  });

  it('retries a cancelled job; refuses a completed one, a live one, an unknown id and a held key', async () => {
    const { supervisor, state } = flaky();
    const held = await supervisor.start({ type: 'hold', key: 'shared' });
    await supervisor.cancel(held.job.id);
    const holder = await supervisor.start({ type: 'hold', key: 'shared' }); // takes the key
    const refused = await rejectionOf(supervisor.retry(held.job.id));
    expect(refused).toMatchObject({ code: 'duplicate_key', details: { jobId: holder.job.id } });
    expect((await rejectionOf(supervisor.retry(holder.job.id))).code).toBe('job_not_retryable');
    await supervisor.cancel(holder.job.id);
    expect((await supervisor.retry(held.job.id)).job.status).toBe('pending'); // the key is free now

    state.healed = true;
    const ok = await supervisor.start({ type: 'flaky' });
    await supervisor.waitFor(ok.job.id);
    expect((await rejectionOf(supervisor.retry(ok.job.id))).code).toBe('job_not_retryable');
    expect((await rejectionOf(supervisor.retry('ghost'))).code).toBe('job_not_found');
    expect((await rejectionOf(supervisor.retry(''))).code).toBe('invalid_request');
  });

  it('retries in bulk by ids and by a filter, with counts', async () => {
    const { supervisor, state } = flaky();
    const jobs = [];
    for (let i = 0; i < 3; i++) {
      const { job } = await supervisor.start({ type: 'flaky', input: i });
      jobs.push(await supervisor.waitFor(job.id));
    }
    state.healed = true;
    const byIds = await supervisor.retryMany({ ids: [jobs[0]!.id, 'ghost'] });
    expect(byIds).toMatchObject({ matched: 2, retried: 1, notFound: 1 });
    const byFilter = await supervisor.retryMany({ status: 'failed', type: 'flaky' });
    expect([...byFilter.jobIds].sort()).toEqual([jobs[1]!.id, jobs[2]!.id].sort());
    for (const job of jobs) expect((await supervisor.waitFor(job.id)).status).toBe('completed');
    expect((await rejectionOf(supervisor.retryMany({}))).code).toBe('invalid_request');
  });

  it('SQLite: the retry is durable; after a restart the job runs as pending, once', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'jobvisor-retry-'));
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
    const path = join(dir, 'jobs.db');
    const runs: number[] = [];
    const make = (healed: boolean) => {
      const s = createSupervisor({ store: sqliteStore({ path }), retries: { max: 0 }, concurrency: 1 });
      open.push(s);
      s.register('flaky', (ctx) => {
        runs.push(ctx.attempt);
        if (!healed) throw new JobFailure('broken', 'not yet');
      });
      return s;
    };
    const first = make(false);
    await first.pause('flaky');
    const { job } = await first.start({ type: 'flaky' });
    await first.resume('flaky');
    await first.waitFor(job.id);
    await first.pause('flaky'); // the retried job waits: the restart must find it pending
    await first.retry(job.id);
    await first.shutdown();
    open.splice(open.indexOf(first), 1);
    const second = make(true);
    await second.ready();
    expect(second.get(job.id)).toMatchObject({ status: 'pending', attempt: 1 });
    await second.resume('flaky');
    expect((await second.waitFor(job.id)).status).toBe('completed');
    expect(runs).toEqual([1, 2]);
  });

  it('PostgreSQL (a cluster of one node): a retried job is claimed and runs once more', async () => {
    const schema = schemaName();
    cleanups.push(() => dropSchema(schema));
    let healed = false;
    const runs: number[] = [];
    const s = createSupervisor({
      store: postgresStore({ connectionString: POSTGRES_URL, schema }),
      retries: { max: 0 },
      cluster: { leaseMs: 2_000, renewMs: 200, claimIntervalMs: 50 },
    });
    open.push(s);
    s.register('flaky', (ctx) => {
      runs.push(ctx.attempt);
      if (!healed) throw new JobFailure('broken', 'not yet');
    });
    const { job } = await s.start({ type: 'flaky', key: 'pg' });
    expect((await s.waitFor(job.id)).status).toBe('failed');
    healed = true;
    await s.retry(job.id);
    expect((await s.waitFor(job.id)).status).toBe('completed');
    expect(runs).toEqual([1, 2]);
    expect((await s.history(job.id)).map((c) => c.kind)).toContain('retried');
  });
});
