/**
 * Where one PostgreSQL node's time goes (`tsx bench/cluster-timeline.ts`): the bench workload
 * (start, 10 progress, complete, concurrency 50) on one node in this process, a warm-up run, then a
 * timed run that records every commit (how long, and what it held) and every claim. It prints the
 * rate, the CPU per job of this process and of the PostgreSQL server's processes (Linux /proc), the
 * commits and claims per job with their median latency, and a stretch of the timeline: with one
 * node the jobs move in waves of `concurrency` (claim → START commit → handlers → completion commit).
 *
 * Durable when timed: every change committed before it is told. Env: BENCH_PG_URL, BENCH_CLUSTER_N
 * (jobs, default 3,000), BENCH_TIMELINE (lines of timeline shown, default 24).
 */
import { randomBytes } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import pg from 'pg';
import { createSupervisor, type Supervisor } from '../src/index.js';
import { postgresStore } from '../src/postgres.js';
import type { ChangeDraft, ClaimRequest, ClusterStore, JobRecord, JobStore } from '../src/store/port.js';
import { median, now, signal } from './util.js';
import { percents, RESULT } from './workload.js';

const url = process.env.BENCH_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const n = Number(process.env.BENCH_CLUSTER_N ?? 3_000);
const shown = Number(process.env.BENCH_TIMELINE ?? 24);

interface Event {
  readonly what: 'commit' | 'claim';
  readonly from: number;
  readonly ms: number;
  readonly detail: string;
}

/** CPU seconds of every PostgreSQL server process now (user + system; /proc, clock ticks of 10 ms). */
function postgresCpu(): number {
  let ticks = 0;
  for (const pid of readdirSync('/proc')) {
    if (!/^\d+$/.test(pid)) continue;
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      if (!stat.includes('(postgres)')) continue;
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      ticks += Number(fields[11]) + Number(fields[12]);
    } catch {
      // the process ended meanwhile
    }
  }
  return ticks / 100;
}

/** Records each commit and claim of the store while `recording` is set. */
function instrument(store: JobStore, events: Event[], recording: () => number | undefined): void {
  const commit = store.commit.bind(store);
  store.commit = async (batch: readonly ChangeDraft[], writer?: string) => {
    const kinds = new Map<string, number>();
    for (const c of batch) kinds.set(c.kind, (kinds.get(c.kind) ?? 0) + 1);
    const from = now();
    const first = await commit(batch, writer);
    const t0 = recording();
    if (t0 !== undefined) {
      const detail = [...kinds].map(([k, count]) => `${count} ${k}`).join(', ');
      events.push({ what: 'commit', from: from - t0, ms: now() - from, detail });
    }
    return first;
  };
  const cluster = store.cluster as ClusterStore;
  const claim = cluster.claim.bind(cluster);
  cluster.claim = async (request: ClaimRequest): Promise<readonly JobRecord[]> => {
    const from = now();
    const claimed = await claim(request);
    const t0 = recording();
    if (t0 !== undefined)
      events.push({
        what: 'claim',
        from: from - t0,
        ms: now() - from,
        detail: `${claimed.length} of ${request.max}`,
      });
    return claimed;
  };
}

async function run(supervisor: Supervisor, jobs: number): Promise<number> {
  let completed = 0;
  const done = signal();
  const off = supervisor.subscribe((change) => {
    if (change.kind === 'completed' && ++completed >= jobs) done.resolve();
  });
  let next = 0;
  const began = now();
  await Promise.all(
    Array.from({ length: 50 }, async () => {
      while (next < jobs) {
        next++;
        await supervisor.start({ type: 'bench' });
      }
    }),
  );
  await done.promise;
  off();
  return jobs / ((now() - began) / 1_000);
}

const schema = `timeline_${randomBytes(4).toString('hex')}`;
const store = postgresStore({ connectionString: url, schema });
const events: Event[] = [];
let t0: number | undefined;
instrument(store, events, () => t0);
const supervisor = createSupervisor({ store, concurrency: 50 });
const steps = percents(10);
supervisor.register('bench', async (ctx) => {
  for (const p of steps) ctx.progress(p);
  await Promise.resolve();
  return RESULT;
});
try {
  await supervisor.ready();
  await run(supervisor, Math.min(n, 1_000)); // warm-up
  const cpu0 = process.cpuUsage();
  const pg0 = postgresCpu();
  t0 = now();
  const rate = await run(supervisor, n);
  t0 = undefined;
  const cpu = process.cpuUsage(cpu0);
  const pgCpu = postgresCpu() - pg0;
  const perJob = (us: number) => `${Math.round(us / n)} µs/job`;
  console.log(`one node on PostgreSQL, ${n} jobs: ${Math.round(rate)} jobs/s`);
  console.log(`  CPU: this process ${perJob(cpu.user + cpu.system)}, PostgreSQL ${perJob(pgCpu * 1e6)}`);
  for (const what of ['commit', 'claim'] as const) {
    const of = events.filter((e) => e.what === what);
    console.log(
      `  ${what}s: ${(of.length / n).toFixed(3)} per job, median ${median(of.map((e) => e.ms)).toFixed(1)} ms`,
    );
  }
  const middle = Math.max(0, (events.length >> 1) - (shown >> 1));
  console.log(`  a stretch of the timeline (ms from the timed run's start):`);
  for (const e of events.slice(middle, middle + shown))
    console.log(`  ${e.from.toFixed(1).padStart(8)} +${e.ms.toFixed(1).padStart(5)}  ${e.what} ${e.detail}`);
} finally {
  await supervisor.shutdown({ graceMs: 0 });
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  await client.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
  await client.end();
}
