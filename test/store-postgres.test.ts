/**
 * The PostgreSQL store: the conformance suite on a schema of its own per test, then what only a
 * shared database can do wrong: migrations run once when many stores open at the same moment, a
 * schema from a newer jobvisor is refused, and an unreachable server is `store_unavailable`.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { postgresStore } from '../src/postgres.js';
import { PG_SCHEMA_VERSION } from '../src/store/postgres-schema.js';
import { rejectionOf } from './helpers.js';
import { dropSchema, POSTGRES_URL, schemaName, sql } from './postgres-helpers.js';
import { describeStoreContract, Writer } from './store-contract.js';

describeStoreContract('postgres', async () => {
  const schema = schemaName();
  let store = postgresStore({ connectionString: POSTGRES_URL, schema });
  return {
    store,
    reopen: async () => {
      await store.close();
      store = postgresStore({ connectionString: POSTGRES_URL, schema });
      return store;
    },
    cleanup: async () => {
      await store.close();
      await dropSchema(schema);
    },
  };
});

describe('PostgreSQL store', () => {
  const schemas: string[] = [];
  afterAll(async () => {
    for (const schema of schemas) await dropSchema(schema);
  });
  const fresh = () => {
    const schema = schemaName();
    schemas.push(schema);
    return schema;
  };

  it('runs the migrations exactly once when eight stores open the same schema at the same moment', async () => {
    const schema = fresh();
    const stores = Array.from({ length: 8 }, () => postgresStore({ connectionString: POSTGRES_URL, schema }));
    const opened = await Promise.allSettled(stores.map((s) => s.open({ recentLimit: 1 })));
    expect(opened.filter((r) => r.status === 'fulfilled')).toHaveLength(8);
    const rows = await sql<{ version: number }>(`SELECT version FROM ${schema}.migrations ORDER BY version`);
    expect(rows.map((r) => r.version)).toEqual(Array.from({ length: PG_SCHEMA_VERSION }, (_, i) => i + 1));
    await Promise.all(stores.map((s) => s.close()));
  });

  it('refuses a schema a newer jobvisor wrote, and changes nothing in it', async () => {
    const schema = fresh();
    const first = postgresStore({ connectionString: POSTGRES_URL, schema });
    await first.open({ recentLimit: 1 });
    await first.close();
    await sql(`INSERT INTO ${schema}.migrations (version) VALUES (${PG_SCHEMA_VERSION + 1})`);
    const newer = postgresStore({ connectionString: POSTGRES_URL, schema });
    expect((await rejectionOf(newer.open({ recentLimit: 1 }))).code).toBe('store_version_unsupported');
    await newer.close();
  });

  it('answers store_unavailable for a server that is not there, within its connect timeout', async () => {
    const store = postgresStore({
      connectionString: 'postgres://postgres@127.0.0.1:1/test',
      schema: fresh(),
      connectTimeoutMs: 2_000,
    });
    expect((await rejectionOf(store.open({ recentLimit: 1 }))).code).toBe('store_unavailable');
    await store.close();
  });

  it('names a bad option', () => {
    expect(() => postgresStore({ schema: 'x' })).toThrow(/exactly one of connectionString and pool/);
    expect(() => postgresStore({ connectionString: POSTGRES_URL, schema: 'Bad-Name' })).toThrow(/schema/);
  });

  it('writes a batch of many jobs in one transaction with gap-free offsets', async () => {
    const schema = fresh();
    const store = postgresStore({ connectionString: POSTGRES_URL, schema });
    await store.open({ recentLimit: 1 });
    const w = new Writer();
    const batch = Array.from({ length: 300 }, (_, i) =>
      w.life(`j${i}`, { key: `k${i % 50}`, end: 'completed' }),
    ).flat();
    expect(await store.commit(batch)).toBe(1);
    const log = await store.changesSince(0, 10_000);
    expect(log.map((c) => c.offset)).toEqual(batch.map((_, i) => i + 1));
    expect(await store.get('j299')).toEqual(w.record('j299'));
    await store.close();
  });

  it('keeps records that hold every escape JSON makes exactly (quotes, control characters, U+001E, NUL, a lone surrogate)', async () => {
    const schema = fresh();
    const store = postgresStore({ connectionString: POSTGRES_URL, schema });
    await store.open({ recentLimit: 1 });
    const w = new Writer();
    const odd = 'a "quoted" \\ back\\slash, \u001e sep, \u0000 nul, \ud800 lone, é, \n\t{},';
    const created = w.change('j', 'created');
    const started = w.change('j', 'started');
    const batch = [created, started].map((c) => ({
      ...c,
      record: { ...c.record, message: odd, input: { odd, list: [odd, 1, null] } },
    }));
    expect(await store.commit(batch)).toBe(1);
    const log = await store.changesSince(0, 10);
    expect(log.map((c) => c.record.message)).toEqual([odd, odd]);
    expect(log[1]!.record.input).toEqual({ odd, list: [odd, 1, null] });
    expect((await store.get('j'))!.message).toBe(odd);
    await store.close();
  });

  it("writes a job's input once, not once per change, and reads every change back whole", async () => {
    const schema = fresh();
    const store = postgresStore({ connectionString: POSTGRES_URL, schema });
    await store.open({ recentLimit: 1 });
    const w = new Writer();
    const input = { blob: 'x'.repeat(10_000) };
    const life = w.life('big', { key: 'k', end: 'completed' });
    const batch = life.map((c) => ({ ...c, record: { ...c.record, input } }));
    await store.commit(batch);
    const rows = await sql<{ bytes: number }>(
      `SELECT sum(length(record))::int AS bytes FROM ${schema}.changes`,
    );
    expect(rows[0]!.bytes).toBeLessThan(input.blob.length); // 12 changes, the input in none of them
    const log = await store.changesSince(0, 100);
    expect(log.map((c) => c.record)).toEqual(batch.map((c) => ({ ...c.record, offset: c.offset })));
    const history = await store.changesOf!('big', 3, 2);
    expect(history.map((c) => [c.offset, c.record.input])).toEqual([
      [4, input],
      [5, input],
    ]);
    await store.close();
  });

  it('refuses a stale write without a key alone, naming its job, and writes nothing of its batch', async () => {
    const schema = fresh();
    const store = postgresStore({ connectionString: POSTGRES_URL, schema });
    await store.open({ recentLimit: 1 });
    const w = new Writer();
    await store.commit([w.change('a', 'created'), w.change('b', 'created')]);
    w.change('a', 'started'); // never written: a's next change is not at the seq the store has
    const stale = w.change('a', 'progress');
    const fine = w.change('b', 'started');
    const error = await rejectionOf(store.commit([fine, stale]));
    expect(error.code).toBe('store_conflict');
    expect(error.details).toMatchObject({ jobId: 'a' });
    expect(await store.changesSince(2, 10)).toEqual([]);
    expect((await store.get('b'))!.status).toBe('pending');
    expect(await store.commit([fine])).toBe(3); // the head did not move: the log stays gap-free
    await store.close();
  });
});
