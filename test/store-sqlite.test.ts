/** The SQLite store: the conformance suite on a temp file, then what only a real file can do wrong. */
import { spawnSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { sqliteStore, type SqliteStoreOptions } from '../src/sqlite.js';
import type { ErrorCode } from '../src/common/errors.js';
import type { JobStore } from '../src/store/port.js';
import { APPLICATION_ID, SCHEMA_VERSION } from '../src/store/sqlite-schema.js';
import { describeStoreContract, Writer } from './store-contract.js';
import { rejectionOf as rejection } from './helpers.js';

const tempDir = () => mkdtemp(join(tmpdir(), 'jobvisor-sqlite-'));

/** The store on its thread (the default) and on the caller's thread: both pass the whole contract. */
for (const thread of [true, false]) {
  describeStoreContract(thread ? 'sqlite' : 'sqlite (thread: false)', async () => {
    const dir = await tempDir();
    const path = join(dir, 'jobs.db');
    let store = sqliteStore({ path, thread });
    return {
      store,
      reopen: async () => {
        await store.close();
        store = sqliteStore({ path, thread });
        return store;
      },
      cleanup: async () => {
        await store.close();
        await rm(dir, { recursive: true, force: true });
      },
    };
  });
}

async function hash(path: string): Promise<string> {
  return createHash('sha256')
    .update(await readFile(path))
    .digest('hex');
}

/** The 100-byte SQLite header: write/read versions 2 = WAL; user_version at 60, application_id at 68. */
async function header(path: string) {
  const bytes = await readFile(path);
  return {
    wal: bytes[18] === 2 && bytes[19] === 2,
    version: bytes.readUInt32BE(60),
    appId: bytes.readUInt32BE(68),
  };
}

describe('sqlite store', () => {
  let dir: string;
  let path: string;
  const stores: JobStore[] = [];

  beforeEach(async () => {
    dir = await tempDir();
    path = join(dir, 'jobs.db');
  });
  afterEach(async () => {
    for (const store of stores.splice(0)) await store.close();
    await rm(dir, { recursive: true, force: true });
  });

  function make(options: Partial<SqliteStoreOptions> = {}): JobStore {
    const store = sqliteStore({ path, ...options });
    stores.push(store);
    return store;
  }

  /** A closed jobvisor file holding a finished job `a` and a running job `b`. */
  async function written(): Promise<Writer> {
    const store = make();
    await store.open({ recentLimit: 10 });
    const w = new Writer();
    await store.commit([
      ...w.life('a', { key: 'k' }),
      w.change('b', 'created', { key: 'k' }),
      w.change('b', 'started'),
    ]);
    await store.close();
    return w;
  }

  it('creates its directory and a WAL-mode file marked as jobvisor’s', async () => {
    path = join(dir, 'nested', 'deeper', 'jobs.db');
    const store = make();
    await store.open({ recentLimit: 10 });
    await store.commit([new Writer().change('a', 'created')]);
    expect(existsSync(`${path}-wal`)).toBe(true);
    // Exclusive locking mode: no shared-memory index next to the WAL.
    expect(existsSync(`${path}-shm`)).toBe(false);
    await store.close();
    expect(await header(path)).toEqual({ wal: true, version: SCHEMA_VERSION, appId: APPLICATION_ID });
    const raw = new Database(path, { readonly: true });
    expect(raw.pragma('journal_mode', { simple: true })).toBe('wal');
    raw.close();
  });

  it.each([true, false])(
    "writes a job's input once, not once per change, and reads every change back whole (thread: %s)",
    async (thread) => {
      const store = make({ thread });
      await store.open({ recentLimit: 1 });
      const w = new Writer();
      const input = { blob: 'x'.repeat(10_000) };
      const batch = w
        .life('big', { end: 'completed' })
        .map((c) => ({ ...c, record: { ...c.record, input } }));
      await store.commit(batch);
      expect(await store.changesSince(0, 100)).toEqual(
        batch.map((c) => ({ ...c, record: { ...c.record, offset: c.offset } })),
      );
      expect((await store.changesOf!('big', 3, 1)).map((c) => [c.offset, c.record.input])).toEqual([
        [4, input],
      ]);
      await store.close();
      const db = new Database(path, { readonly: true });
      const { bytes } = db.prepare('SELECT sum(length(record)) AS bytes FROM changes').get() as {
        bytes: number;
      };
      db.close();
      expect(bytes).toBeLessThan(input.blob.length); // 12 changes, the input in none of them
    },
  );

  it('keeps everything across close and reopen', async () => {
    const w = await written();
    const store = make();
    expect(await store.open({ recentLimit: 10 })).toEqual({
      lastOffset: 14,
      active: [w.record('b')],
      recent: [w.record('a')],
    });
    expect(await store.get('a')).toEqual(w.record('a'));
    expect(await store.changesSince(11, 10)).toHaveLength(3);
    await store.commit([w.change('b', 'completed')]);
    expect(await store.get('b')).toMatchObject({ status: 'completed', seq: 3, offset: 15 });
  });

  it('refuses calls before open and after close; close is idempotent', async () => {
    const store = make();
    expect((await rejection(store.get('a'))).code).toBe('store_unavailable');
    await store.open({ recentLimit: 1 });
    await store.close();
    await store.close();
    expect((await rejection(store.commit([new Writer().change('a', 'created')]))).code).toBe(
      'store_unavailable',
    );
    expect((await rejection(store.list({ limit: 1 }))).code).toBe('store_unavailable');
  });

  it.each([true, false])(
    'a record that is not JSON (a BigInt) is change_not_storable for its job only, the batch unwritten (thread: %s)',
    async (thread) => {
      const store = make({ thread });
      await store.open({ recentLimit: 10 });
      const w = new Writer();
      const bad = w.change('bad', 'created');
      const poisoned = { ...bad, record: { ...bad.record, input: { n: 10n } } };
      const refused = await rejection(store.commit([w.change('good', 'created'), poisoned]));
      expect(refused).toMatchObject({ code: 'change_not_storable', details: { jobId: 'bad' } });
      expect(await store.get('good')).toBeUndefined(); // the batch was refused whole: nothing written
      await store.commit([new Writer().change('good', 'created')]);
      expect(await store.get('good')).toMatchObject({ seq: 1 });
    },
  );

  it('on its thread: an idle store does not keep the process alive, a commit in flight does', async () => {
    const script = `
      import { sqliteStore } from ${JSON.stringify(new URL('../src/sqlite.ts', import.meta.url).href)};
      const store = sqliteStore({ path: ${JSON.stringify(path)} });
      await store.open({ recentLimit: 1 });
      const draft = { jobId: 'a', seq: 1, kind: 'created', at: 1, record: ${JSON.stringify(new Writer().change('a', 'created').record)} };
      void store.commit([draft]).then(() => console.log('committed'));
    `;
    const out = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
      encoding: 'utf8',
      timeout: 20_000,
    });
    expect(out.status, out.stderr).toBe(0); // it exited on its own: the open store did not hold it
    expect(out.stdout.trim()).toBe('committed'); // and not before the commit in flight returned
    const raw = new Database(path, { readonly: true });
    expect(raw.prepare('SELECT id FROM jobs').all()).toEqual([{ id: 'a' }]);
    raw.close();
  });

  it('on its thread: poll() settles a finished commit within the turn, before its answer arrives by message', async () => {
    const store = make();
    await store.open({ recentLimit: 10 });
    const w = new Writer();
    const settled: number[] = [];
    const commit = store.commit([w.change('a', 'created')]).then((first) => settled.push(first));
    // Only microtasks run in this loop (`await Promise.resolve()`), never the event loop: the thread's answer
    // (a message) cannot be handled here, so only the shared memory poll() reads can settle it.
    for (const end = Date.now() + 10_000; settled.length === 0 && Date.now() < end; await Promise.resolve())
      store.poll!();
    expect(settled).toEqual([1]);
    await commit;
    // Its message, handled later, is ignored; the next commit is answered as usual.
    expect(await store.commit([w.change('a', 'started')])).toBe(2);
    expect(await store.get('a')).toMatchObject({ seq: 2, status: 'running' });
  });

  it('names a bad option', () => {
    expect(() => sqliteStore({ path: '' })).toThrow(expect.objectContaining({ code: 'invalid_options' }));
    expect(() => sqliteStore({ path, busyTimeoutMs: -1 })).toThrow(/busyTimeoutMs/);
  });

  it('is held by one store at a time: a second open fails with store_locked', async () => {
    const first = make();
    await first.open({ recentLimit: 10 });
    await first.commit([new Writer().change('a', 'created')]);
    const second = make({ busyTimeoutMs: 0 });
    expect((await rejection(second.open({ recentLimit: 10 }))).code).toBe('store_locked');
    // The holder is unaffected; once it closes, the file can be opened again.
    await first.commit([new Writer(1).change('b', 'created')]);
    await first.close();
    expect((await second.open({ recentLimit: 10 })).lastOffset).toBe(2);
  });

  it('is held against another process too', async () => {
    const first = make();
    await first.open({ recentLimit: 10 });
    const entry = fileURLToPath(new URL('../src/sqlite.ts', import.meta.url));
    const script = `
      const { sqliteStore } = await import(${JSON.stringify(entry)});
      try { await sqliteStore({ path: ${JSON.stringify(path)}, busyTimeoutMs: 0 }).open({ recentLimit: 1 }); console.log('opened'); }
      catch (error) { console.log(error.code); }`;
    const child = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
      encoding: 'utf8',
    });
    expect(child.stderr).toBe('');
    expect(child.stdout.trim()).toBe('store_locked');
  });

  const refused: [string, ErrorCode, (file: string) => Promise<void>][] = [
    ['random bytes', 'store_corrupt', (file) => writeFile(file, randomBytes(16_384))],
    [
      'a text file',
      'store_corrupt',
      (file) => writeFile(file, 'name,email\nada,ada@example.com\n'.repeat(50)),
    ],
    [
      'a foreign SQLite database',
      'store_corrupt',
      async (file) => {
        const db = new Database(file);
        db.exec(
          `CREATE TABLE users (id INTEGER PRIMARY KEY, name TEXT); INSERT INTO users (name) VALUES ('ada')`,
        );
        db.close();
      },
    ],
    [
      'an empty database of another application',
      'store_corrupt',
      async (file) => {
        const db = new Database(file);
        db.pragma('application_id = 42');
        db.close();
      },
    ],
  ];

  it.each(refused)('refuses %s with %s and leaves it untouched', async (_, code, create) => {
    await create(path);
    const [before, files] = [await hash(path), await readdir(dir)];
    expect((await rejection(make().open({ recentLimit: 10 }))).code).toBe(code);
    expect(await hash(path)).toBe(before);
    expect(await readdir(dir)).toEqual(files);
  });

  it('refuses a file from a newer schema and leaves it untouched', async () => {
    await written();
    const raw = new Database(path);
    raw.pragma(`user_version = ${SCHEMA_VERSION + 1}`);
    raw.close();
    const [before, files] = [await hash(path), await readdir(dir)];
    const error = await rejection(make().open({ recentLimit: 10 }));
    expect(error.code).toBe('store_version_unsupported');
    expect(error.message).toContain(`schema version ${SCHEMA_VERSION + 1}`);
    expect(await hash(path)).toBe(before);
    expect(await readdir(dir)).toEqual(files);
  });

  it('refuses a jobvisor file with damaged pages and leaves it untouched', async () => {
    await written();
    const bytes = await readFile(path);
    const pageSize = bytes.readUInt16BE(16);
    bytes.fill(0xff, pageSize);
    await writeFile(path, bytes);
    const before = await hash(path);
    expect((await rejection(make().open({ recentLimit: 10 }))).code).toBe('store_corrupt');
    expect(await hash(path)).toBe(before);
  });

  it('starts afresh on an empty file', async () => {
    await writeFile(path, '');
    expect(await make().open({ recentLimit: 10 })).toEqual({ lastOffset: 0, active: [], recent: [] });
  });

  it('fails with store_unavailable where no file can be made', async () => {
    await writeFile(join(dir, 'plain-file'), 'x');
    path = join(dir, 'plain-file', 'sub', 'jobs.db');
    expect((await rejection(make().open({ recentLimit: 10 }))).code).toBe('store_unavailable');
    path = dir;
    expect((await rejection(make().open({ recentLimit: 10 }))).code).toBe('store_unavailable');
  });

  it('fails a write on a full disk with store_unavailable and writes none of the batch', async () => {
    const store = make({ maxSizeBytes: 256 * 1024 });
    await store.open({ recentLimit: 10 });
    const w = new Writer();
    await store.commit([w.change('first', 'created')]);
    const big = w.fork();
    const batch = Array.from({ length: 100 }, (_, i) => big.life(`big${i}`)).flat();
    const error = await rejection(store.commit(batch));
    expect(error.code).toBe('store_unavailable');
    expect(error.message).toMatch(/full/);
    expect(await store.changesSince(0, 10_000)).toHaveLength(1);
    expect((await store.list({ limit: 10 })).items.map((r) => r.id)).toEqual(['first']);
    // The store is still usable, and the log continues where it was.
    await store.commit([w.change('first', 'started')]);
    expect((await store.open({ recentLimit: 1 })).lastOffset).toBe(2);
  });
});
