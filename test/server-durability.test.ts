/**
 * The server's side of "the store is the truth": /health answers 503 with the store's state while
 * writes fail (and 200 again once they succeed), a start is refused with 503 `store_unavailable`
 * meanwhile, and the history of a job that retention removed is gone with it (404).
 */
import { afterEach, describe, expect, it } from 'vitest';
import { SimulatedClock } from 'xstate';
import { createSupervisor, type Supervisor } from '../src/index.js';
import { createJobvisorServer, type JobvisorServer } from '../src/server/index.js';
import { settle, until } from './helpers.js';
import { servePerTest } from './server-harness.js';
import { diskFull, faultyStore } from './store-faults.js';

const open: { server: JobvisorServer; supervisor: Supervisor }[] = [];
afterEach(async () => {
  for (const { server, supervisor } of open.splice(0)) {
    await server.close();
    await supervisor.shutdown({ graceMs: 0 });
  }
});

describe('/health while the store fails writes', () => {
  it('is 503 with the store state, start is refused with 503, and both recover', async () => {
    const clock = new SimulatedClock();
    const faults = faultyStore();
    const supervisor = createSupervisor({ store: faults.store, clock });
    supervisor.on('error', () => undefined);
    supervisor.register('work', () => 'ok');
    await supervisor.ready();
    const server = createJobvisorServer({ supervisor });
    open.push({ server, supervisor });
    const { url } = await server.listen(0);
    const health = async () => {
      const res = await fetch(`${url}/health`);
      return { status: res.status, body: (await res.json()) as Record<string, unknown> };
    };
    expect(await health()).toMatchObject({
      status: 200,
      body: { status: 'ok', store: { state: 'ok', backlog: 0, lastError: null } },
    });

    faults.failure = diskFull();
    const pending = fetch(`${url}/jobs`, { method: 'POST', body: JSON.stringify({ type: 'work' }) });
    await until(() => supervisor.stats().store?.state === 'failing');
    expect(await health()).toMatchObject({
      status: 503,
      body: {
        status: 'unavailable',
        lifecycle: 'accepting',
        store: {
          state: 'failing',
          lastError: { code: 'store_unavailable', message: expect.stringMatching(/disk is full/) as unknown },
        },
      },
    });
    const refused = await fetch(`${url}/jobs`, { method: 'POST', body: JSON.stringify({ type: 'work' }) });
    expect(refused.status).toBe(503);
    expect(((await refused.json()) as { error: { code: string } }).error.code).toBe('store_unavailable');

    faults.failure = undefined;
    clock.increment(50); // the first retry
    expect((await pending).status).toBe(201);
    expect(await health()).toMatchObject({ status: 200, body: { store: { state: 'ok' } } });
  });
});

describe('retention removes a job with its history', () => {
  const start = servePerTest();

  it('GET /jobs/:id/changes of a job retention removed answers 404 job_not_found', async () => {
    const s = await start({
      store: 'sqlite',
      supervisor: { retention: { maxAgeMs: 86_400_000, maxCount: 1 } },
    });
    const first = await s.supervisor.start({ type: 'echo', input: 1 });
    await s.supervisor.waitFor(first.job.id);
    const history = await fetch(`${s.url}/jobs/${first.job.id}/changes`);
    expect(history.status).toBe(200);
    expect(((await history.json()) as { changes: unknown[] }).changes).toHaveLength(3);
    const second = await s.supervisor.start({ type: 'echo', input: 2 });
    await s.supervisor.waitFor(second.job.id);
    await until(() => s.supervisor.get(first.job.id) === undefined);
    const gone = await fetch(`${s.url}/jobs/${first.job.id}/changes`);
    expect(gone.status).toBe(404);
    expect(((await gone.json()) as { error: { code: string } }).error.code).toBe('job_not_found');
    // In the file too, once the store's expiry ran: the job and its changes.
    for (let turn = 0; turn < 1_000 && (await s.store!.get(first.job.id)) !== undefined; turn++)
      await settle();
    expect(await s.store!.get(first.job.id)).toBeUndefined();
    expect(await s.store!.changesOf!(first.job.id, 0, 10)).toEqual([]);
    expect((await s.store!.changesOf!(second.job.id, 0, 10)).map((c) => c.kind)).toEqual([
      'created',
      'started',
      'completed',
    ]);
  });
});
