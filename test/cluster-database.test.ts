/**
 * Nodes and their database in trouble, with real `jobvisor serve` processes: a node cut off from
 * PostgreSQL by a TCP proxy the test controls, `pg_terminate_backend` of the listening
 * connections, and a PostgreSQL server of the test's own restarted within a lease and stopped for
 * longer than one.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { eventually, TestCluster } from './cluster-harness.js';
import { POSTGRES_URL, sql } from './postgres-helpers.js';
import { PrivatePostgres } from './private-postgres.js';
import { TcpProxy } from './tcp-proxy.js';
import { WsSubscriber } from './ws-subscriber.js';

const cleanup: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const step of cleanup.splice(0).reverse()) await step();
});

function fresh(): TestCluster {
  const c = new TestCluster();
  cleanup.push(() => c.close());
  return c;
}

async function finished(c: TestCluster, ids: readonly string[], url?: string): Promise<boolean> {
  const rows = await sqlOn(
    url,
    `SELECT count(*)::int AS n FROM ${c.schema}.jobs WHERE id = ANY($1::text[]) AND status IN ('completed', 'failed', 'cancelled')`,
    [ids],
  );
  return rows[0]!.n === ids.length;
}

async function sqlOn(url: string | undefined, text: string, values: unknown[] = []) {
  if (url === undefined) return sql<{ n: number }>(text, values);
  const { default: pg } = await import('pg');
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query<{ n: number }>(text, values)).rows;
  } finally {
    await client.end();
  }
}

/** No (job, attempt) started twice. */
function attemptsStartedTwice(c: TestCluster): string[] {
  const seen = new Set<string>();
  const twice: string[] = [];
  for (const e of c.executions()) {
    if (e.what !== 'start') continue;
    const key = `${e.jobId} ${e.attempt}`;
    if (seen.has(key)) twice.push(key);
    seen.add(key);
  }
  return twice;
}

describe('a node cut off from PostgreSQL', () => {
  it(
    'aborts its attempts before its lease lapses; another node takes them over; it rejoins once the way is open',
    { timeout: 60_000 },
    async () => {
      const c = fresh();
      const target = new URL(POSTGRES_URL);
      const proxy = await TcpProxy.open({ host: target.hostname, port: Number(target.port || 5432) });
      cleanup.push(() => proxy.close());
      const through = new URL(POSTGRES_URL);
      through.port = String(proxy.port);
      const cutOff = await c.spawn({ postgresUrl: through.toString() });
      const jobs = await Promise.all(
        Array.from({ length: 6 }, () => c.start(cutOff, { type: 'work', input: { steps: 150, ms: 20 } })),
      );
      const other = await c.spawn();
      await eventually('the node behind the proxy runs a job', () =>
        c.executions().some((e) => e.what === 'start' && e.pid === cutOff.pid),
      );
      proxy.cut();
      const [lease] = await sql<{ until: number }>(
        `SELECT (extract(epoch FROM lease_until) * 1000)::float8 AS until FROM ${c.schema}.nodes WHERE id = $1`,
        [cutOff.id],
      );
      await eventually('its handlers are aborted', () =>
        c.executions().some((e) => e.what === 'abort' && e.pid === cutOff.pid),
      );
      const health = await fetch(`${cutOff.url}/health`);
      expect(health.status).toBe(503);
      const aborts = c.executions().filter((e) => e.what === 'abort' && e.pid === cutOff.pid);
      // It stopped before its lease could lapse (it cannot renew: the lease read at the cut is its last).
      for (const abort of aborts) expect(abort.at).toBeLessThan(lease!.until);
      await eventually(
        'every job completes on the other node',
        () =>
          finished(
            c,
            jobs.map((j) => j.id),
          ),
        30_000,
      );
      for (const abort of aborts) {
        const again = c
          .executions()
          .filter((e) => e.what === 'start' && e.jobId === abort.jobId && e.attempt > abort.attempt);
        expect(again.map((e) => e.pid)).toEqual([other.pid]);
      }
      expect(attemptsStartedTwice(c)).toEqual([]);
      proxy.restore();
      await eventually(
        'it is healthy again (lease held, writes succeed)',
        async () => (await c.health(cutOff.url)).status === 'ok',
      );
      const next = await c.start(cutOff, { type: 'work', input: { steps: 2, ms: 1 } });
      await eventually('it takes work again', () => finished(c, [next.id]));
    },
  );
});

describe('the listening connection', () => {
  it(
    "pg_terminate_backend of every node's LISTEN: they listen again and their subscribers miss nothing",
    { timeout: 60_000 },
    async () => {
      const c = fresh();
      const [a, b] = await Promise.all([c.spawn(), c.spawn()]);
      const subscriber = new WsSubscriber();
      await subscriber.connect(a.url);
      const listeners = `SELECT count(*)::int AS n FROM pg_stat_activity WHERE application_name = $1`;
      const name = `jobvisor-listen:${c.schema}`;
      expect((await sql<{ n: number }>(listeners, [name]))[0]!.n).toBe(2);
      await sql('SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = $1', [name]);
      const jobs = await Promise.all(
        Array.from({ length: 20 }, () => c.start(b, { type: 'work', input: { steps: 5, ms: 5 } })),
      );
      await eventually('all done', () =>
        finished(
          c,
          jobs.map((j) => j.id),
        ),
      );
      const last = Number((await sql<{ last: string }>(`SELECT last FROM ${c.schema}.log_head`))[0]!.last);
      await subscriber.reached(last);
      const offsets = subscriber.changes.map((ch) => ch.offset);
      expect(offsets).toEqual(Array.from({ length: offsets.length }, (_, i) => subscriber.from! + 1 + i));
      expect(offsets.at(-1)).toBe(last);
      await eventually(
        'both listen again',
        async () => (await sql<{ n: number }>(listeners, [name]))[0]!.n === 2,
      );
      await subscriber.disconnect();
    },
  );
});

/** A PostgreSQL server of the test's own, two nodes on it, `count` jobs started and 8 of them running. */
async function runningOnPrivateServer(args: string[], count: number, input: { steps: number; ms: number }) {
  const server = await PrivatePostgres.create();
  cleanup.push(() => server.close());
  const c = fresh();
  const nodes = await Promise.all([
    c.spawn({ postgresUrl: server.url, args }),
    c.spawn({ postgresUrl: server.url, args }),
  ]);
  const jobs = await Promise.all(
    Array.from({ length: count }, (_, i) => c.start(nodes[i % 2]!, { type: 'work', input })),
  );
  await eventually('jobs run', () => c.executions().filter((e) => e.what === 'start').length >= 8);
  const ids = jobs.map((j) => j.id);
  const allDone = (ms: number) => eventually('every job completes', () => finished(c, ids, server.url), ms);
  return { server, c, jobs, allDone };
}

describe('PostgreSQL itself restarted or gone', () => {
  it(
    'restarted within a lease: nothing lost, nothing run twice, no attempt interrupted',
    { timeout: 90_000 },
    async () => {
      const args = ['--cluster-lease-ms', '6000', '--cluster-renew-ms', '1000'];
      const { server, c, allDone } = await runningOnPrivateServer(args, 16, { steps: 40, ms: 25 });
      server.restart();
      await allDone(60_000);
      const starts = c.executions().filter((e) => e.what === 'start');
      expect(starts.map((e) => e.attempt).every((n) => n === 1)).toBe(true);
      expect(new Set(starts.map((e) => e.jobId)).size).toBe(16);
      expect(starts).toHaveLength(16);
      expect(c.executions().filter((e) => e.what === 'abort')).toEqual([]);
    },
  );

  it(
    'gone for longer than a lease: the nodes stop their attempts; once it is back each is retried once',
    { timeout: 90_000 },
    async () => {
      const { server, c, jobs, allDone } = await runningOnPrivateServer([], 8, { steps: 200, ms: 20 });
      server.stop();
      await eventually(
        'every attempt is stopped',
        () => c.executions().filter((e) => e.what === 'abort').length >= 8,
      );
      await new Promise((r) => setTimeout(r, 1_500)); // a lease and more without the database
      server.start();
      await allDone(30_000);
      const log = c.executions();
      for (const job of jobs) {
        const attempts = log.filter((e) => e.what === 'start' && e.jobId === job.id).map((e) => e.attempt);
        expect(attempts).toEqual([1, 2]);
      }
      expect(attemptsStartedTwice(c)).toEqual([]);
    },
  );
});
