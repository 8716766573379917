/**
 * One node of the cluster bench (bench/cluster.ts), a child process: `jobvisor` on the PostgreSQL
 * store (or, `BENCH_PEER=pgboss`, pg-boss on the same database). It says `ready`, and on `go`
 * starts its share of the jobs (at most `concurrency` starts in flight); the bench workload's
 * handler reports 10 progress steps and completes. A subscriber counts every change of the cluster
 * (each node follows the whole log); once it has seen every job completed the node says `done`.
 * The bench sends `go` more than once to the same nodes: the first ones warm them up (`before`: the
 * jobs completed in the schema by earlier rounds; both peers count completions from the start).
 * `claim` mode: jobs one at a time on an idle cluster, answering each one's start-to-run delay.
 */
import PgBoss from 'pg-boss';
import { createSupervisor } from '../src/index.js';
import { postgresStore } from '../src/postgres.js';
import { percents, RESULT } from './workload.js';

interface Go {
  readonly type: 'go';
  readonly share: number;
  readonly total: number;
  /** Jobs completed in the schema before this round (earlier rounds on the same nodes). */
  readonly before: number;
  readonly concurrency: number;
  readonly progressSteps: number;
}
interface Claim {
  readonly type: 'claim';
  readonly count: number;
}
type Command = Go | Claim | { readonly type: 'stop' };

const url = process.env.BENCH_PG_URL!;
const schema = process.env.BENCH_PG_SCHEMA!;
const send = (message: unknown) => process.send!(message);

/** Runs `share` starts with at most `concurrency` in flight. */
async function startAll(share: number, concurrency: number, start: () => Promise<unknown>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(concurrency, share) }, async () => {
      while (next < share) {
        next++;
        await start();
      }
    }),
  );
}

async function jobvisorNode(): Promise<void> {
  const supervisor = createSupervisor({
    store: postgresStore({ connectionString: url, schema }),
    // Cluster-wide: 50 slots per node, so that a node added adds capacity (BENCH_NODES nodes).
    // The lease and the claim interval are the defaults.
    concurrency: 50 * Number(process.env.BENCH_NODES ?? 1),
  });
  const steps = percents(10);
  supervisor.register('bench', async (ctx) => {
    for (const p of steps) ctx.progress(p);
    await Promise.resolve();
    return RESULT;
  });
  await supervisor.ready();
  // Counted since the node started, as pg-boss's table counts: a round is done at `before + total`,
  // whenever this node hears its `go` (another node's jobs may complete before it does).
  let completed = 0;
  let changes = 0;
  let target = Infinity;
  let began = 0;
  supervisor.subscribe((change) => {
    changes++;
    if (change.kind === 'completed' && ++completed === target)
      send({ type: 'done', ms: performance.now() - began, changes });
  });
  send({ type: 'ready', node: supervisor.node.id });
  process.on('message', (command: Command) => {
    void (async () => {
      if (command.type === 'go') {
        target = command.before + command.total;
        changes = 0;
        began = performance.now();
        await startAll(command.share, command.concurrency, () => supervisor.start({ type: 'bench' }));
      } else if (command.type === 'claim') {
        // One at a time on an idle cluster: from the start call to its attempt's start (any node).
        const delays: number[] = [];
        for (let i = 0; i < command.count; i++) {
          const { job } = await supervisor.start({ type: 'bench' });
          const final = await supervisor.waitFor(job.id);
          delays.push((final.startedAt ?? NaN) - job.createdAt);
        }
        send({ type: 'claimed', delays });
      } else {
        await supervisor.shutdown({ graceMs: 0 });
        process.exit(0);
      }
    })();
  });
}

async function pgBossNode(): Promise<void> {
  const boss = new PgBoss({ connectionString: url, schema, max: 10 });
  boss.on('error', () => undefined);
  await boss.start();
  await boss.createQueue('bench');
  let target = Infinity;
  let began = 0;
  let done = 0;
  // pg-boss's fastest path, as the issue names it: fetch + complete in tight loops (its work()
  // polls at most every 0.5 s), 5 loops of batches of 10 per node: up to 50 jobs at once.
  let running = true;
  const loops = Array.from({ length: 5 }, async () => {
    while (running) {
      const jobs = await boss.fetch('bench', { batchSize: 10 });
      if (!jobs || jobs.length === 0) {
        await new Promise((r) => setTimeout(r, 5));
        continue;
      }
      done += jobs.length;
      await boss.complete(
        'bench',
        jobs.map((j) => j.id),
      );
    }
  });
  const client = (
    boss as unknown as {
      getDb(): { executeSql(sql: string, values?: unknown[]): Promise<{ rows: { n: number }[] }> };
    }
  ).getDb();
  send({ type: 'ready', node: String(process.pid) });
  process.on('message', (command: Command) => {
    void (async () => {
      if (command.type === 'go') {
        target = command.total;
        began = performance.now();
        await startAll(command.share, command.concurrency, () => boss.send('bench', {}));
        // Completions are pg-boss's own writes: counted in its table until every job is done.
        for (;;) {
          const { rows } = await client.executeSql(
            `SELECT count(*)::int AS n FROM ${schema}.job WHERE name = 'bench' AND state = 'completed'`,
          );
          if (rows[0]!.n >= command.before + target) break;
          await new Promise((r) => setTimeout(r, 20));
        }
        send({ type: 'done', ms: performance.now() - began, changes: 0, handled: done });
      } else if (command.type === 'stop') {
        running = false;
        await Promise.all(loops);
        await boss.stop({ graceful: false, wait: true });
        process.exit(0);
      }
    })();
  });
}

await (process.env.BENCH_PEER === 'pgboss' ? pgBossNode() : jobvisorNode());
