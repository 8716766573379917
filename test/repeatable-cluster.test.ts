/**
 * Repeatable jobs on several nodes. Three real supervisors on one PostgreSQL schema run every
 * occurrence of a schedule exactly once between them. A property (fast-check) drives three
 * schedule runners over one schedule store in random interleavings of their store calls, clock
 * steps and refreshes, with runners that die between taking an occurrence and creating its job:
 * no job id is ever created twice, occurrences are taken in increasing order, and the live
 * runners create every occurrence a dead one took.
 */
import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import { SimulatedClock } from 'xstate';
import { createSupervisor, JobvisorError, type Supervisor } from '../src/index.js';
import type { ScheduleSpec } from '../src/common/repeatable.js';
import { postgresStore } from '../src/postgres.js';
import { MemorySchedules } from '../src/store/memory-schedules.js';
import type { ScheduleStore } from '../src/store/port.js';
import { occurrenceId } from '../src/supervisor/occurrences.js';
import { ORPHAN_MS, Schedules } from '../src/supervisor/schedules.js';
import { settle } from './helpers.js';
import { dropSchema, POSTGRES_URL, schemaName, sql } from './postgres-helpers.js';

const open: Supervisor[] = [];
const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const s of open.splice(0)) await s.shutdown({ graceMs: 0 });
  for (const cleanup of cleanups.splice(0)) await cleanup();
});

describe('a schedule on a PostgreSQL cluster', () => {
  it('three nodes run each occurrence once between them, in order, with no gap', async () => {
    const schema = schemaName();
    cleanups.push(() => dropSchema(schema));
    const runs = new Map<string, number>();
    let done!: () => void;
    const enough = new Promise<void>((resolve) => (done = resolve));
    const node = () => {
      const supervisor = createSupervisor({
        store: postgresStore({ connectionString: POSTGRES_URL, schema }),
        cluster: { leaseMs: 2_000, renewMs: 200, claimIntervalMs: 50 },
      });
      open.push(supervisor);
      supervisor.register('tick', (ctx) => {
        runs.set(ctx.jobId, (runs.get(ctx.jobId) ?? 0) + 1);
        if (runs.size >= 8) done();
      });
      return supervisor;
    };
    const nodes = [node(), node(), node()];
    await Promise.all(nodes.map((n) => n.ready()));
    const view = await nodes[0]!.schedule('pulse', { type: 'tick', everyMs: 150 });
    // The other nodes learn it from the store at their next claim interval.
    await enough;
    await nodes[1]!.unschedule('pulse');
    for (const n of open.splice(0)) await n.shutdown({ graceMs: 1_000 });

    const rows = await sql<{ id: string }>(`SELECT id FROM ${schema}.jobs WHERE type = 'tick'`);
    const ids = rows.map((r) => r.id);
    expect(new Set(ids).size).toBe(ids.length);
    // Every job is an occurrence: anchor + n × 150 for n = 1, 2, … with none missing.
    const expected = Array.from({ length: ids.length }, (_, i) =>
      occurrenceId('pulse', view.anchor + (i + 1) * 150),
    );
    expect(new Set(ids)).toEqual(new Set(expected));
    for (const id of runs.keys()) expect(ids).toContain(id);
    expect([...runs.values()].every((n) => n === 1)).toBe(true);
  });
});

describe('schedule runners in random interleavings (fast-check)', () => {
  const SPEC: ScheduleSpec = {
    type: 't',
    input: null,
    cron: null,
    everyMs: 1_000,
    timezone: null,
    key: null,
    priority: 0,
    missed: 'latest',
    anchor: 0,
  };

  it('never create a job twice, take occurrences in order, and create what a dead runner took', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.scheduler(),
        fc.array(
          fc.record({
            ms: fc.integer({ min: 0, max: 3_500 }),
            refresh: fc.array(fc.boolean(), { minLength: 3, maxLength: 3 }),
          }),
          { minLength: 1, maxLength: 8 },
        ),
        // Which runners die (1 and 2; runner 0 lives) at their first creation after that many.
        fc.array(fc.option(fc.integer({ min: 0, max: 3 }), { nil: undefined }), {
          minLength: 2,
          maxLength: 2,
        }),
        async (s, steps, deaths) => {
          const clock = new SimulatedClock();
          clock.set(0);
          const shared = new MemorySchedules();
          const created = new Map<string, number>();
          const taken: number[] = [];
          const takenIds: string[] = [];
          const errors: unknown[] = [];
          /** At the end, runners 1 and 2 stop answering: runner 0 is left alone. */
          let alone = false;
          const runner = (index: number) => {
            let creations = 0;
            const dieAt = index === 0 ? undefined : deaths[index - 1];
            const take = s.scheduleFunction(
              async (name: string, at: number, id: string | null, when: number) => {
                const won = await shared.take(name, at, id, when);
                if (won) taken.push(at);
                if (won && id !== null) takenIds.push(id);
                return won;
              },
            );
            const store: ScheduleStore = {
              list: s.scheduleFunction(() => shared.list()),
              put: s.scheduleFunction((name: string, spec: ScheduleSpec) => shared.put(name, spec)),
              remove: s.scheduleFunction((name: string) => shared.remove(name)),
              take: (name, at, id, when) =>
                alone && index > 0 ? new Promise<never>(() => undefined) : take(name, at, id, when),
              started: s.scheduleFunction((name: string, at: number, id: string) =>
                shared.started(name, at, id),
              ),
            };
            const create = s.scheduleFunction(async (id: string) => {
              if (created.has(id)) throw new JobvisorError('store_conflict', `Job ${id} exists`);
              created.set(id, 1);
              return { job: { id } as never, deduplicated: false };
            });
            return new Schedules({
              store,
              clock,
              // A dead runner's creation never answers (nor does anything after it).
              start: (_spec: ScheduleSpec, id: string) =>
                dieAt !== undefined && creations++ >= dieAt
                  ? new Promise<never>(() => undefined)
                  : create(id),
              exists: s.scheduleFunction(async (id: string) => created.has(id)),
              known: () => true,
              checkInput: () => undefined,
              report: (error) => errors.push(error),
            });
          };
          const runners = [runner(0), runner(1), runner(2)];
          /** Releases the store calls in a random order until none is left (ticks run between). */
          const drain = async () => {
            do {
              await settle();
              await s.waitAll();
              await settle();
            } while (s.count() > 0);
          };
          await shared.put('s', SPEC);
          const refreshes: Promise<void>[] = [];
          for (const step of steps) {
            clock.increment(step.ms);
            runners.forEach((r, i) => step.refresh[i] && refreshes.push(r.refresh()));
            await drain();
          }
          // Later, the live runner, alone, sees what a dead one left.
          alone = true;
          clock.increment(ORPHAN_MS + 1);
          refreshes.push(runners[0]!.refresh());
          await drain();
          clock.increment(1);
          await drain();
          await Promise.all(refreshes);

          expect(errors.filter((e) => !(e instanceof JobvisorError && e.code === 'store_conflict'))).toEqual(
            [],
          );
          expect(taken).toEqual([...taken].sort((a, b) => a - b));
          expect(new Set(taken).size).toBe(taken.length);
          // Every occurrence taken for a job has it, exactly once; nothing else was created.
          expect(new Set(created.keys())).toEqual(new Set(takenIds));
          expect((await shared.list())[0]!.started).toBe(true);
        },
      ),
      { numRuns: 150 },
    );
  });
});
