/**
 * A cancel that races this node's own claim of the same pending job (PostgreSQL, a cluster of one
 * node). The cancel writes through a cell of its own; when its compare-and-set loses to the claimed
 * cell's start in one batch, the store refuses the job's changes and both cells are dropped. The job
 * was then left owned by the node with no cell to run or cancel it (the cancel waited out
 * `storeTimeoutMs` and answered `cancelled: false`, the job pending for ever). Now the node adopts
 * again what the store says it owns: every cancel answers `cancelled: true`, and the jobs end.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { createSupervisor, type Supervisor } from '../src/index.js';
import { postgresStore } from '../src/postgres.js';
import { dropSchema, POSTGRES_URL, schemaName } from './postgres-helpers.js';

const open: Supervisor[] = [];
const schemas: string[] = [];
afterEach(async () => {
  for (const s of open.splice(0)) await s.shutdown({ graceMs: 0 });
  for (const s of schemas.splice(0)) await dropSchema(s);
});

describe('a cancel racing a claim of the same job', () => {
  it.each(Array.from({ length: 8 }, (_, i) => i + 1))(
    'round %i: 30 starts, then 30 concurrent cancels: all cancelled, none lost',
    async () => {
      const schema = schemaName();
      schemas.push(schema);
      const supervisor = createSupervisor({
        store: postgresStore({ connectionString: POSTGRES_URL, schema }),
        concurrency: 1,
        storeTimeoutMs: 5_000,
        cluster: { leaseMs: 2_000, renewMs: 200, claimIntervalMs: 50 },
      });
      open.push(supervisor);
      supervisor.register(
        'hold',
        (ctx) =>
          new Promise((_resolve, reject) =>
            ctx.signal.addEventListener('abort', () => reject(new Error('aborted')), { once: true }),
          ),
      );
      await supervisor.ready();
      const jobs = await Promise.all(
        Array.from({ length: 30 }, (_, i) => supervisor.start({ type: 'hold', key: `k${i}` })),
      );
      const results = await Promise.all(jobs.map(({ job }) => supervisor.cancel(job.id)));
      expect(results.filter((r) => !r.cancelled).map((r) => r.job.status)).toEqual([]);
      for (const { job } of jobs) expect((await supervisor.find(job.id))?.status).toBe('cancelled');
    },
  );
});
