/** The supervisor's side of durability: answers wait for the disk, and a bad file is a coded error. */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createSupervisor, memoryStore, type ChangeDraft, type JobStore } from '../src/index.js';
import { sqliteStore } from '../src/sqlite.js';
import { deferred, rejectionOf, settle } from './helpers.js';

const dirs: string[] = [];
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

/** A memory store whose commits wait until the test lets them through. */
function gatedStore(): { store: JobStore; commits: ChangeDraft[][]; open: () => void } {
  const inner = memoryStore();
  const commits: ChangeDraft[][] = [];
  let gate = deferred();
  const store: JobStore = {
    ...inner,
    name: 'gated',
    open: (options) => inner.open(options),
    commit: async (batch) => {
      await gate.promise;
      commits.push([...batch]);
      return inner.commit(batch);
    },
    get: (id) => inner.get(id),
    list: (query) => inner.list(query),
    changesSince: (after, limit) => inner.changesSince(after, limit),
    firstOffset: () => inner.firstOffset(),
    expire: (policy) => inner.expire(policy),
    close: () => inner.close(),
  };
  return {
    store,
    commits,
    open: () => {
      gate.resolve();
      gate = deferred();
    },
  };
}

describe('durable answers', () => {
  it('start and cancel answer only once their change is in the store, in one batch per turn', async () => {
    const { store, commits, open } = gatedStore();
    const supervisor = createSupervisor({ store, concurrency: 1 });
    // Runs until aborted (and honours the abort, so shutdown can finish).
    supervisor.register(
      'wait',
      (ctx) =>
        new Promise((_, reject) => ctx.signal.addEventListener('abort', () => reject(new Error('aborted')))),
    );
    await supervisor.ready();
    let answered = 0;
    const starts = [1, 2, 3].map(() => supervisor.start({ type: 'wait' }).then((r) => (answered++, r)));
    await settle();
    await settle();
    expect(answered).toBe(0); // in memory already, not yet durable: no answer
    open();
    const [first, second] = await Promise.all(starts);
    expect(answered).toBe(3);
    expect(commits[0]!.map((c) => c.kind)).toEqual(['created', 'started', 'created', 'created']); // one transaction
    let cancelled = false;
    const cancel = supervisor.cancel(second!.job.id).then(() => (cancelled = true));
    await settle();
    expect(cancelled).toBe(false);
    open();
    await cancel;
    expect((await store.get(second!.job.id))?.status).toBe('cancelled');
    expect((await store.get(first!.job.id))?.status).toBe('running');
    open();
    const stopping = supervisor.shutdown({ graceMs: 0 });
    for (let i = 0; i < 5; i++) {
      open();
      await settle();
    }
    await stopping;
  });
});

describe('shutdown', () => {
  it('writes a change made just before it, and then writes nothing more (no write to a closed store)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'jobvisor-durability-'));
    dirs.push(dir);
    const path = join(dir, 'jobs.db');
    const supervisor = createSupervisor({ store: sqliteStore({ path }) });
    const errors: unknown[] = [];
    supervisor.on('error', (e) => errors.push(e.error));
    const done = deferred<string>();
    supervisor.register('work', () => done.promise);
    await supervisor.ready();
    const { job } = await supervisor.start({ type: 'work' });
    while (supervisor.get(job.id)?.status !== 'running') await settle();
    // The completion is handed to the next batch; shutdown begins before that batch is written.
    done.resolve('ok');
    await Promise.resolve();
    await Promise.resolve();
    await supervisor.shutdown({ graceMs: 0 });
    await settle();
    await settle();
    expect(errors).toEqual([]);
    const store = sqliteStore({ path });
    await store.open({ recentLimit: 10 });
    expect(await store.get(job.id)).toMatchObject({ status: 'completed', result: 'ok' });
    await store.close();
  });
});

describe('a database that cannot be used', () => {
  it('stops the supervisor with the store error, leaves the file alone, and start answers with it', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'jobvisor-durability-'));
    dirs.push(dir);
    const path = join(dir, 'jobs.db');
    writeFileSync(path, 'this is not a database, just some text that happens to be here\n'.repeat(100));
    const before = readFileSync(path);
    const supervisor = createSupervisor({ store: sqliteStore({ path }) });
    const reported: string[] = [];
    supervisor.on('error', (e) => reported.push(`${e.where}: ${(e.error as { code?: string }).code}`));
    supervisor.register('noop', () => 'ok');
    expect((await rejectionOf(supervisor.ready())).code).toBe('store_corrupt');
    expect(supervisor.lifecycle).toBe('stopped');
    expect(reported).toEqual(['store: store_corrupt']);
    expect((await rejectionOf(supervisor.start({ type: 'noop' }))).code).toBe('store_corrupt');
    await expect(supervisor.shutdown()).resolves.toMatchObject({ interrupted: 0 });
    expect(readFileSync(path).equals(before)).toBe(true);
  });
});
