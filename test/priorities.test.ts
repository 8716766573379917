/**
 * Priorities: `start({ priority })`, higher first, FIFO within one priority, on the scheduler's
 * heaps (checked against a sorted model over random operations), through the supervisor, across a
 * restart on SQLite, and refused with a coded error when not an integer in range.
 */
import fc from 'fast-check';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { Heap } from '../src/common/heap.js';
import { createSupervisor, type Supervisor } from '../src/index.js';
import { postgresStore } from '../src/postgres.js';
import { sqliteStore } from '../src/sqlite.js';
import { deferred } from './helpers.js';
import { dropSchema, POSTGRES_URL, schemaName, sql } from './postgres-helpers.js';

const open: Supervisor[] = [];
const dirs: string[] = [];
const schemas: string[] = [];
afterEach(async () => {
  for (const s of open.splice(0)) await s.shutdown({ graceMs: 0 });
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
  for (const schema of schemas.splice(0)) await dropSchema(schema);
});

describe('the heap', () => {
  it('gives items back in the order a stable sort would, for any pushes and shifts', () => {
    type Item = { readonly priority: number; readonly ticket: number };
    const before = (a: Item, b: Item) =>
      a.priority !== b.priority ? a.priority > b.priority : a.ticket < b.ticket;
    fc.assert(
      fc.property(
        fc.array(fc.oneof(fc.integer({ min: -3, max: 3 }), fc.constant('shift' as const)), {
          maxLength: 200,
        }),
        (ops) => {
          const heap = new Heap(before);
          const model: Item[] = [];
          let ticket = 0;
          for (const op of ops) {
            if (op === 'shift') {
              model.sort((a, b) => (before(a, b) ? -1 : 1));
              expect(heap.shift()).toEqual(model.shift());
            } else {
              const item = { priority: op, ticket: ticket++ };
              heap.push(item);
              model.push(item);
            }
            expect(heap.size).toBe(model.length);
          }
        },
      ),
      { numRuns: 300 },
    );
  });
});

/** A supervisor with one slot whose `blocker` job holds it until `release`, and a `work` type that records its order. */
function oneSlot(options: { store?: ReturnType<typeof sqliteStore>; cluster?: boolean } = {}) {
  const supervisor = createSupervisor({
    concurrency: 1,
    store: options.store,
    ...(options.cluster ? { cluster: { leaseMs: 2_000, renewMs: 200, claimIntervalMs: 50 } } : {}),
  });
  open.push(supervisor);
  const gate = deferred();
  const ran: string[] = [];
  supervisor.register('blocker', (ctx) =>
    Promise.race([
      gate.promise,
      new Promise((_resolve, reject) =>
        ctx.signal.addEventListener('abort', () => reject(new Error('aborted')), { once: true }),
      ),
    ]),
  );
  supervisor.register('work', (ctx) => {
    ran.push(ctx.input as string);
  });
  return { supervisor, ran, release: () => gate.resolve() };
}

describe('start({ priority })', () => {
  it('starts the queued jobs highest priority first, FIFO within one priority, whatever their types', async () => {
    const { supervisor, ran, release } = oneSlot();
    supervisor.register('other', (ctx) => {
      ran.push(ctx.input as string);
    });
    await supervisor.start({ type: 'blocker' });
    const queued: [string, string, number | undefined][] = [
      ['work', 'a0', undefined],
      ['work', 'b5', 5],
      ['other', 'c-1', -1],
      ['other', 'd5', 5],
      ['work', 'e10', 10],
      ['work', 'f0', 0],
    ];
    const jobs = [];
    for (const [type, input, priority] of queued) {
      jobs.push(
        (await supervisor.start({ type, input, ...(priority === undefined ? {} : { priority }) })).job,
      );
    }
    expect(jobs.map((job) => job.priority)).toEqual([0, 5, -1, 5, 10, 0]);
    release();
    for (const job of jobs) await supervisor.waitFor(job.id);
    expect(ran).toEqual(['e10', 'b5', 'd5', 'a0', 'f0', 'c-1']);
  });

  it('keeps the order across a restart on SQLite (the priority is in the stored record)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'jobvisor-priority-'));
    dirs.push(dir);
    const path = join(dir, 'jobs.db');
    const first = oneSlot({ store: sqliteStore({ path }) });
    await first.supervisor.start({ type: 'blocker' });
    for (const [input, priority] of [
      ['low', -5],
      ['mid', 0],
      ['high', 7],
      ['mid2', 0],
    ] as const) {
      await first.supervisor.start({ type: 'work', input, priority });
    }
    await first.supervisor.shutdown({ graceMs: 0 }); // the blocker is interrupted, the rest stay pending
    open.splice(open.indexOf(first.supervisor), 1);

    const second = createSupervisor({ concurrency: 1, store: sqliteStore({ path }) });
    open.push(second);
    const ran: string[] = [];
    second.register('blocker', () => {
      ran.push('blocker');
    });
    second.register('work', (ctx) => {
      ran.push(ctx.input as string);
    });
    await second.ready();
    // The interrupted blocker may wait out a retry backoff: the work jobs' order is what is checked.
    for (const job of second.list({ type: 'work' })) await second.waitFor(job.id);
    expect(ran.filter((name) => name !== 'blocker')).toEqual(['high', 'mid', 'mid2', 'low']);
    const high = second.list({ type: 'work' }).find((job) => job.input === 'high');
    expect(high?.priority).toBe(7);
  });

  it('refuses a priority that is not an integer within ±1,000,000, starting nothing', async () => {
    const supervisor = createSupervisor();
    open.push(supervisor);
    supervisor.register('work', () => 'done');
    for (const priority of [1.5, Number.NaN, 1_000_001, -1_000_001, '3' as unknown as number]) {
      const error = await supervisor.start({ type: 'work', priority }).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(error, String(priority)).toMatchObject({ code: 'invalid_request' });
    }
    expect(supervisor.list()).toEqual([]);
  });
  it('claims in priority order on PostgreSQL, the priority in a column of the job’s row', async () => {
    const schema = schemaName();
    schemas.push(schema);
    const { supervisor, ran, release } = oneSlot({
      store: postgresStore({ connectionString: POSTGRES_URL, schema }),
      cluster: true,
    });
    await supervisor.ready();
    await supervisor.start({ type: 'blocker' });
    const jobs = [];
    for (const [input, priority] of [
      ['low', -2],
      ['mid', 0],
      ['top', 4],
      ['mid2', 0],
      ['high', 3],
    ] as const) {
      jobs.push((await supervisor.start({ type: 'work', input, priority })).job);
    }
    const rows = await sql<{ priority: number }>(`SELECT priority FROM ${schema}.jobs ORDER BY "offset"`);
    expect(rows.map((row) => row.priority).sort((a, b) => a - b)).toEqual([-2, 0, 0, 0, 3, 4]);
    release();
    for (const job of jobs) await supervisor.waitFor(job.id);
    expect(ran).toEqual(['top', 'high', 'mid', 'mid2', 'low']);
  });
});
