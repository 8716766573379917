/**
 * Job logs: `ctx.log(message, data?)` appends to the job's own log — per attempt, in order, durable
 * (told only once the store holds it), bounded, fenced by attempt like progress — read a page at a
 * time and followed (stored lines, then live ones, no gap and no duplicate at the seam, then the
 * end once the job is final). In-process and on worker threads; on SQLite across a restart.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import {
  createSupervisor,
  JobFailure,
  memoryStore,
  type HandlerContext,
  type JobLogEntry,
  type JobStore,
  type JobView,
  type Supervisor,
} from '../src/index.js';
import { postgresStore } from '../src/postgres.js';
import { sqliteStore } from '../src/sqlite.js';
import { deferred, Gate, harness, rejectionOf, settle, until, untilAborted } from './helpers.js';
import { dropSchema, POSTGRES_URL, schemaName } from './postgres-helpers.js';
import { faultyStore } from './store-faults.js';

const open: Supervisor[] = [];
const dirs: string[] = [];
afterEach(async () => {
  for (const s of open.splice(0)) await s.shutdown({ graceMs: 0 });
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

function logged(options: Parameters<typeof harness>[0] = {}) {
  const h = harness({ retries: { max: 1, backoffMs: 10 }, ...options });
  open.push(h.supervisor);
  return h;
}

const messages = (entries: readonly JobLogEntry[]) => entries.map((e) => `${e.attempt}:${e.message}`);

describe('ctx.log', () => {
  it("keeps each attempt's lines in order, with their data, and pages them by cursor and by attempt", async () => {
    const { supervisor, clock } = logged();
    supervisor.register('steps', (ctx) => {
      ctx.log('begin', { attempt: ctx.attempt, list: [1, 'two'] });
      for (let i = 1; i <= 3; i++) expect(ctx.log(`step ${i}`)).toBe(true);
      if (ctx.attempt === 1) throw new JobFailure('flaky', 'first attempt fails');
      ctx.log('done');
      return 'ok';
    });
    const { job } = await supervisor.start({ type: 'steps' });
    await until(() => supervisor.get(job.id)?.state === 'pending.backoff');
    clock.increment(10);
    await supervisor.waitFor(job.id);
    const { entries, next } = await supervisor.logs(job.id);
    expect(messages(entries)).toEqual([
      '1:begin',
      '1:step 1',
      '1:step 2',
      '1:step 3',
      '2:begin',
      '2:step 1',
      '2:step 2',
      '2:step 3',
      '2:done',
    ]);
    expect(next).toBeNull();
    expect(entries[0]).toMatchObject({ jobId: job.id, data: { attempt: 1, list: [1, 'two'] }, at: 0 });
    expect(entries[1]!.data).toBeNull();
    const ids = entries.map((e) => e.id);
    expect(ids).toEqual([...ids].sort((a, b) => a - b));
    const first = await supervisor.logs(job.id, { limit: 4 });
    expect(first.next).toBe(ids[3]);
    const rest = await supervisor.logs(job.id, { after: first.next!, limit: 100 });
    expect([...first.entries, ...rest.entries]).toEqual(entries);
    expect(messages((await supervisor.logs(job.id, { attempt: 2 })).entries)).toEqual(
      messages(entries.slice(4)),
    );
  });

  it("answers false once its attempt is over, and a later attempt's log keeps none of it", async () => {
    const { supervisor, clock } = logged({ heartbeatTimeoutMs: 1_000 });
    const contexts: HandlerContext[] = [];
    const release = deferred();
    supervisor.register('stalls', async (ctx) => {
      contexts.push(ctx);
      if (ctx.attempt === 1) return untilAborted(ctx.signal); // stalls: the watchdog ends it
      await release.promise;
      return 'second';
    });
    const { job } = await supervisor.start({ type: 'stalls' });
    await until(() => contexts.length === 1);
    clock.increment(1_000); // attempt 1 stalls
    clock.increment(10); // the backoff
    await until(() => contexts.length === 2);
    expect(contexts[0]!.log('from the stalled attempt')).toBe(false);
    expect(contexts[1]!.log('from the second')).toBe(true);
    release.resolve();
    await supervisor.waitFor(job.id);
    expect(contexts[1]!.log('after the end')).toBe(false);
    expect(messages((await supervisor.logs(job.id)).entries)).toEqual(['2:from the second']);
  });

  it('throws invalid_request into the handler for a bad line, which is not kept; the job goes on', async () => {
    const { supervisor } = logged({ limits: { maxDepth: 4 } });
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    const bad: [string, () => void][] = [];
    supervisor.register('bad', (ctx) => {
      const attempts: [string, unknown, unknown][] = [
        ['not a string', 42, undefined],
        ['too long', 'x'.repeat(4_001), undefined],
        ['a bigint', 'm', { n: 1n }],
        ['a cycle', 'm', cyclic],
        ['too deep', 'm', { a: { b: { c: { d: { e: 1 } } } } }],
        ['too big', 'm', { blob: 'x'.repeat(16_384) }],
        ['a function', 'm', { f: () => 1 }],
      ];
      for (const [what, message, data] of attempts) {
        bad.push([what, () => ctx.log(message as string, data)]);
      }
      const codes = bad.map(([what, call]) => {
        try {
          call();
          return `${what}: accepted`;
        } catch (error) {
          return `${what}: ${(error as { code?: string }).code}`;
        }
      });
      ctx.log('x'.repeat(4_000), { fine: true });
      return codes;
    });
    const { job } = await supervisor.start({ type: 'bad' });
    const done = await supervisor.waitFor(job.id);
    expect(done.status).toBe('completed');
    expect(done.result).toEqual(bad.map(([what]) => `${what}: invalid_request`));
    const { entries } = await supervisor.logs(job.id);
    expect(entries).toHaveLength(1);
    expect(entries[0]!.data).toEqual({ fine: true });
  });

  it('keeps at most limits.maxLogLines per job: the oldest go', async () => {
    const { supervisor } = logged({ limits: { maxLogLines: 5 } });
    supervisor.register('chatty', async (ctx) => {
      for (let i = 1; i <= 12; i++) {
        ctx.log(`line ${i}`);
        if (i % 4 === 0) await settle(); // over several appends
      }
    });
    const { job } = await supervisor.start({ type: 'chatty' });
    await supervisor.waitFor(job.id);
    const { entries } = await supervisor.logs(job.id);
    expect(entries.map((e) => e.message)).toEqual(['line 8', 'line 9', 'line 10', 'line 11', 'line 12']);
  });

  it('refuses a bad query or an unknown job with a coded error', async () => {
    const { supervisor } = logged();
    supervisor.register('t', () => undefined);
    const { job } = await supervisor.start({ type: 't' });
    expect((await rejectionOf(supervisor.logs('nobody'))).code).toBe('job_not_found');
    expect((await rejectionOf(supervisor.logs(''))).code).toBe('invalid_request');
    for (const query of [
      { after: -1 },
      { limit: 0 },
      { limit: 1_001 },
      { attempt: 0 },
      { other: 1 },
      { after: 1.5 },
    ]) {
      const error = await rejectionOf(supervisor.logs(job.id, query as never));
      expect(error.code, JSON.stringify(query)).toBe('invalid_request');
    }
    expect((await rejectionOf(supervisor.followLogs('nobody', { onEntry: () => undefined }))).code).toBe(
      'job_not_found',
    );
  });
});

describe('commit, then tell', () => {
  it('tells a line (and answers it to readers) only once the store holds it', async () => {
    const inner = memoryStore();
    const gate = new Gate();
    const appended: number[] = [];
    const store: JobStore = {
      ...faultyStore(inner).store,
      logs: {
        append: async (...args: Parameters<NonNullable<JobStore['logs']>['append']>) => {
          await gate.wait();
          const ids = await inner.logs!.append(...args);
          appended.push(...ids);
          return ids;
        },
        read: inner.logs!.read.bind(inner.logs),
      },
    };
    const { supervisor } = logged({ store });
    const running = deferred();
    const finish = deferred();
    supervisor.register('t', async (ctx) => {
      ctx.log('held');
      running.resolve();
      await finish.promise;
    });
    const { job } = await supervisor.start({ type: 't' });
    const seen: JobLogEntry[] = [];
    const stop = await supervisor.followLogs(job.id, { onEntry: (e) => seen.push(e) });
    await running.promise;
    for (let i = 0; i < 20; i++) await settle();
    expect(seen).toEqual([]);
    // A reader waits for the lines written before it asked.
    const read = supervisor.logs(job.id);
    for (let i = 0; i < 20; i++) await settle();
    expect(appended).toEqual([]);
    gate.release(100);
    expect((await read).entries.map((e) => e.message)).toEqual(['held']);
    await until(() => seen.length === 1);
    expect(appended).toEqual([seen[0]!.id]);
    finish.resolve();
    stop();
  });
});

describe('followLogs', () => {
  it('delivers the stored lines, then the live ones, each once and in order, then the end', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 0, max: 30 }),
        fc.integer({ min: 0, max: 30 }),
        fc.array(fc.nat(3), { minLength: 30, maxLength: 30 }),
        async (followAt, afterIndex, pauses) => {
          const { supervisor } = logged();
          const written: string[] = [];
          const reached = deferred();
          supervisor.register('t', async (ctx) => {
            for (let i = 0; i < 30; i++) {
              if (i === followAt) reached.resolve();
              const message = `line ${i}`;
              ctx.log(message);
              written.push(message);
              for (let p = 0; p < pauses[i]!; p++) await settle();
            }
            if (followAt >= 30) reached.resolve();
          });
          const { job } = await supervisor.start({ type: 't' });
          await reached.promise;
          // A cursor among the lines already stored (or 0).
          const stored = (await supervisor.logs(job.id, { limit: 1_000 })).entries;
          const after = stored[Math.min(afterIndex, stored.length) - 1]?.id ?? 0;
          const seen: JobLogEntry[] = [];
          const ended = deferred<JobView>();
          const stop = await supervisor.followLogs(job.id, {
            after,
            onEntry: (e) => seen.push(e),
            onEnd: (j) => ended.resolve(j),
          });
          expect((await ended.promise).status).toBe('completed');
          stop();
          const all = (await supervisor.logs(job.id, { limit: 1_000 })).entries;
          expect(all.map((e) => e.message)).toEqual(written);
          expect(seen).toEqual(all.filter((e) => e.id > after));
          await supervisor.shutdown({ graceMs: 0 });
        },
      ),
      { numRuns: 40 },
    );
  });

  it('ends at once for a finished job, after its stored lines', async () => {
    const { supervisor } = logged();
    supervisor.register('t', (ctx) => {
      ctx.log('a');
      ctx.log('b');
    });
    const { job } = await supervisor.start({ type: 't' });
    await supervisor.waitFor(job.id);
    const seen: string[] = [];
    const ended = deferred<JobView>();
    await supervisor.followLogs(job.id, { onEntry: (e) => seen.push(e.message), onEnd: ended.resolve });
    expect((await ended.promise).status).toBe('completed');
    expect(seen).toEqual(['a', 'b']);
  });
});

describe('job logs in stores and threads', () => {
  it('survive a restart on SQLite and go with their job (remove)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'jobvisor-logs-'));
    dirs.push(dir);
    const path = join(dir, 'jobs.db');
    const first = createSupervisor({ store: sqliteStore({ path }) });
    first.register('t', (ctx) => {
      ctx.log('kept', { n: 1 });
      ctx.log('also kept');
    });
    const { job } = await first.start({ type: 't' });
    await first.waitFor(job.id);
    const before = (await first.logs(job.id)).entries;
    await first.shutdown();
    expect(before.map((e) => e.message)).toEqual(['kept', 'also kept']);

    const second = createSupervisor({ store: sqliteStore({ path }) });
    open.push(second);
    second.register('t', () => undefined);
    await second.ready();
    expect((await second.logs(job.id)).entries).toEqual(before);
    await second.remove(job.id);
    expect((await rejectionOf(second.logs(job.id))).code).toBe('job_not_found');
    await second.shutdown();
    const store = sqliteStore({ path });
    await store.open({ recentLimit: 0 });
    expect(await store.logs!.read(job.id, { after: 0, limit: 10 })).toEqual([]);
    await store.close();
  });

  it("a worker thread's handler logs through its thread; a bad line throws there", async () => {
    const supervisor = createSupervisor({ workers: { size: 1, terminateGraceMs: 200 } });
    open.push(supervisor);
    supervisor.register('logging', {
      module: new URL('./fixtures/cpu-job.ts', import.meta.url),
      export: 'logging',
    });
    const { job } = await supervisor.start({ type: 'logging', input: { steps: 3 } });
    const done = await supervisor.waitFor(job.id);
    expect(done).toMatchObject({ status: 'completed', result: { refused: 'invalid_request' } });
    const seen: string[] = [];
    const ended = deferred<JobView>();
    await supervisor.followLogs(job.id, { onEntry: (e) => seen.push(e.message), onEnd: ended.resolve });
    await ended.promise;
    expect(seen).toEqual(['step 1 of 3', 'step 2 of 3', 'step 3 of 3']);
    expect((await supervisor.logs(job.id)).entries[1]).toMatchObject({
      attempt: 1,
      data: { step: 2, thread: true },
    });
  });
});

describe('job logs on a PostgreSQL cluster', () => {
  it('a node follows the lines of a job running on another node, all of them, then the end', async () => {
    const schema = schemaName();
    const node = () => {
      const supervisor = createSupervisor({
        store: postgresStore({ connectionString: POSTGRES_URL, schema }),
        cluster: { leaseMs: 2_000, renewMs: 200, claimIntervalMs: 50 },
      });
      open.push(supervisor);
      return supervisor;
    };
    try {
      const watcher = node();
      const runner = node();
      const step = new Gate();
      runner.register('remote', async (ctx) => {
        for (let i = 1; i <= 3; i++) {
          await step.wait();
          ctx.log(`remote line ${i}`, { i });
        }
      });
      watcher.register('other', () => undefined);
      await Promise.all([watcher.ready(), runner.ready()]);
      // Started on the runner's node; the watcher follows it from the other node.
      const { job } = await runner.start({ type: 'remote' });
      const seen: string[] = [];
      const ended = deferred<JobView>();
      const stop = await watcher.followLogs(job.id, {
        onEntry: (e) => seen.push(e.message),
        onEnd: ended.resolve,
      });
      step.release(1);
      await untilAsync(() => seen.length === 1);
      step.release(2);
      expect((await ended.promise).status).toBe('completed');
      stop();
      expect(seen).toEqual(['remote line 1', 'remote line 2', 'remote line 3']);
      expect((await watcher.logs(job.id)).entries.map((e) => e.data)).toEqual([{ i: 1 }, { i: 2 }, { i: 3 }]);
    } finally {
      for (const s of open.splice(0)) await s.shutdown({ graceMs: 0 });
      await dropSchema(schema);
    }
  });
});

/** Resolves once `predicate` holds, checking after each turn (real time passes: polls are timers). */
async function untilAsync(predicate: () => boolean): Promise<void> {
  while (!predicate()) await new Promise<void>((resolve) => setImmediate(resolve));
}
