/**
 * Section 7 of `npm run bench` (alone: `tsx bench/cluster.ts`): several nodes on one PostgreSQL.
 * Each variant runs in fresh child processes (bench/cluster-node.ts) on a fresh schema: jobvisor
 * with 1, 2 and 3 nodes (50 slots per node: `concurrency` is cluster-wide, 50 × nodes) on the bench workload (start, 10 progress, complete; each node's
 * subscriber sees every change of the cluster), and pg-boss 10 with 1 and 2 nodes on the same
 * database (it has no progress and no change stream: send, then fetch + complete in tight loops). Rounds are
 * interleaved; medians. Then the claim latency on an idle 2-node cluster: from `start()` to the
 * attempt's start on whichever node claims it, p50 / p99.
 *
 * Durable when timed: every job's creation, start, progress and completion is committed to
 * PostgreSQL before anyone hears of it (jobvisor); pg-boss's send and complete are committed too.
 * Each round's fresh nodes first run as many jobs unmeasured (a warm-up, as every throughput variant
 * has: V8 has compiled the hot paths of a node that has run a while), then the timed ones.
 * Env: BENCH_CLUSTER_N (jobs per round), BENCH_CLUSTER_WARMUP (warm-up jobs per round, default
 * BENCH_CLUSTER_N; 0: none), BENCH_ROUNDS, BENCH_QUICK=1, BENCH_PG_URL, BENCH_PROF=1
 * (each node writes a --cpu-prof profile to /tmp/prof).
 */
import { fork, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { config } from './config.js';
import type { Goal } from './report.js';
import { fmtInt, median } from './util.js';

const CHILD = fileURLToPath(new URL('./cluster-node.ts', import.meta.url));
const URL_ = process.env.BENCH_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

export interface ClusterSpec {
  readonly n: number;
  /** Jobs each round's fresh nodes run before the timed ones. */
  readonly warmup: number;
  readonly rounds: number;
  readonly claims: number;
}

export function clusterSpec(quick: boolean): ClusterSpec {
  const n = Number(process.env.BENCH_CLUSTER_N ?? (quick ? 600 : 3_000));
  const warmup = Number(process.env.BENCH_CLUSTER_WARMUP ?? n);
  return { n, warmup, rounds: config.rounds, claims: quick ? 50 : 200 };
}

interface Variant {
  readonly name: string;
  readonly peer: 'jobvisor' | 'pgboss';
  readonly nodes: number;
}

const VARIANTS: readonly Variant[] = [
  { name: 'jobvisor, 1 node', peer: 'jobvisor', nodes: 1 },
  { name: 'jobvisor, 2 nodes', peer: 'jobvisor', nodes: 2 },
  { name: 'jobvisor, 3 nodes', peer: 'jobvisor', nodes: 3 },
  { name: 'pg-boss 10, 1 node', peer: 'pgboss', nodes: 1 },
  { name: 'pg-boss 10, 2 nodes', peer: 'pgboss', nodes: 2 },
];

export interface ClusterFigures {
  readonly rows: readonly { name: string; jobsPerSec: number; samples: number[] }[];
  readonly claimMs: { p50: number; p99: number; max: number };
  readonly postgres: string;
}

type Message =
  | { type: 'ready'; node: string }
  | { type: 'done'; ms: number; changes: number }
  | { type: 'claimed'; delays: number[] };

function next(child: ChildProcess, type: Message['type']): Promise<Message> {
  return new Promise((resolve, reject) => {
    const onMessage = (m: Message) => {
      if (m.type !== type) return;
      child.off('message', onMessage);
      child.off('exit', onExit);
      resolve(m);
    };
    const onExit = (code: number | null) =>
      reject(new Error(`a bench node exited (${code}) before "${type}"`));
    child.on('message', onMessage);
    child.once('exit', onExit);
  });
}

async function sql(text: string): Promise<pg.QueryResultRow[]> {
  const client = new pg.Client({ connectionString: URL_ });
  await client.connect();
  try {
    return (await client.query<pg.QueryResultRow>(text)).rows;
  } finally {
    await client.end();
  }
}

async function spawnNodes(peer: Variant['peer'], count: number, schema: string): Promise<ChildProcess[]> {
  const env = {
    ...process.env,
    BENCH_PG_URL: URL_,
    BENCH_PG_SCHEMA: schema,
    BENCH_PEER: peer,
    BENCH_NODES: String(count),
  };
  // One first (it creates the schema), then the others.
  const start = () =>
    fork(CHILD, [], {
      execArgv: [
        '--import',
        'tsx',
        ...(process.env.BENCH_PROF ? ['--cpu-prof', '--cpu-prof-dir=/tmp/prof'] : []),
      ],
      env,
      stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
    });
  const first = start();
  await next(first, 'ready');
  const rest = Array.from({ length: count - 1 }, () => start());
  await Promise.all(rest.map((c) => next(c, 'ready')));
  return [first, ...rest];
}

async function stopNodes(children: readonly ChildProcess[]): Promise<void> {
  await Promise.all(
    children.map(
      (c) =>
        new Promise<void>((resolve) => {
          c.once('exit', () => resolve());
          c.send({ type: 'stop' });
        }),
    ),
  );
}

/** Runs `n` jobs on the nodes (each starts its share); resolves once every node saw every one completed. */
async function runJobs(children: readonly ChildProcess[], n: number, before: number): Promise<void> {
  const share = Math.ceil(n / children.length);
  const done = children.map((c) => next(c, 'done'));
  children.forEach((c, i) =>
    c.send({
      type: 'go',
      share: Math.min(share, n - share * i),
      total: n,
      before,
      concurrency: config.concurrency,
      progressSteps: config.progressSteps,
    }),
  );
  await Promise.all(done);
}

/**
 * One round of one variant: fresh nodes on a fresh schema, warmed up by `warmup` jobs (V8 compiles
 * the hot paths as a node that has run a while has them: the throughput variants warm up alike),
 * then jobs/s from `go` until every node saw every job completed.
 */
async function round(variant: Variant, n: number, warmup: number): Promise<number> {
  const schema = `bench_${randomBytes(5).toString('hex')}`;
  const children = await spawnNodes(variant.peer, variant.nodes, schema);
  try {
    if (warmup > 0) await runJobs(children, warmup, 0);
    const began = performance.now();
    await runJobs(children, n, warmup);
    return n / ((performance.now() - began) / 1_000);
  } finally {
    await stopNodes(children);
    await sql(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
  }
}

async function claimLatency(count: number): Promise<number[]> {
  const schema = `bench_${randomBytes(5).toString('hex')}`;
  const children = await spawnNodes('jobvisor', 2, schema);
  try {
    const answer = next(children[0]!, 'claimed');
    children[0]!.send({ type: 'claim', count });
    return ((await answer) as { delays: number[] }).delays;
  } finally {
    await stopNodes(children);
    await sql(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
  }
}

const percentile = (sorted: readonly number[], p: number) =>
  sorted[Math.min(sorted.length - 1, Math.ceil(sorted.length * p) - 1)]!;

export async function measureCluster(
  spec: ClusterSpec,
  log: (line: string) => void,
): Promise<ClusterFigures> {
  const postgres = String((await sql('SHOW server_version'))[0]!.server_version);
  const samples = new Map<string, number[]>(VARIANTS.map((v) => [v.name, []]));
  await round(VARIANTS[0]!, Math.min(spec.n, 300), 0); // warm-up: tsx, PostgreSQL caches
  for (let r = 0; r < spec.rounds; r++) {
    for (const variant of VARIANTS) {
      const rate = await round(variant, spec.n, spec.warmup);
      samples.get(variant.name)!.push(rate);
      log(`  round ${r + 1}: ${variant.name} ${fmtInt(rate)} jobs/s`);
    }
  }
  const delays = (await claimLatency(spec.claims)).sort((a, b) => a - b);
  return {
    rows: VARIANTS.map((v) => ({
      name: v.name,
      jobsPerSec: median(samples.get(v.name)!),
      samples: samples.get(v.name)!,
    })),
    claimMs: { p50: percentile(delays, 0.5), p99: percentile(delays, 0.99), max: delays.at(-1)! },
    postgres,
  };
}

/**
 * The median of the per-round ratios of two variants: a round runs every variant back to back, so a
 * machine that speeds up or slows down between rounds moves both sides of a round's ratio alike
 * (the ratio of the medians can pair a fast round of one with a slow round of the other).
 */
export function pairedRatio(f: ClusterFigures, top: string, bottom: string): number {
  const a = f.rows.find((r) => r.name === top)!.samples;
  const b = f.rows.find((r) => r.name === bottom)!.samples;
  return median(a.map((x, i) => x / b[i]!));
}

const ONE = 'jobvisor, 1 node';
const TWO = 'jobvisor, 2 nodes';
const BOSS = 'pg-boss 10, 1 node';

/** The PostgreSQL goals: one node against pg-boss's fetch + complete, and two nodes against one. */
export function clusterGoals(f: ClusterFigures): Goal[] {
  const one = pairedRatio(f, ONE, BOSS);
  const two = pairedRatio(f, TWO, ONE);
  return [
    {
      name: 'PostgreSQL: jobvisor 1 node / pg-boss 1 node (median of per-round ratios)',
      value: one,
      target: '≥ 1.000',
      met: one >= 1,
    },
    {
      name: 'PostgreSQL: jobvisor 2 nodes / 1 node (median of per-round ratios)',
      value: two,
      target: '≥ 1.600',
      met: two >= 1.6,
    },
  ];
}

export function clusterSection(spec: ClusterSpec, f: ClusterFigures): string {
  const one = f.rows.find((r) => r.name === ONE)!.jobsPerSec;
  const boss = f.rows.find((r) => r.name === BOSS)!.jobsPerSec;
  const lines = [
    `  ${fmtInt(spec.n)} jobs per round after ${fmtInt(spec.warmup)} unmeasured on the same fresh nodes, median of ${spec.rounds} rounds, PostgreSQL ${f.postgres} on this machine`,
    '  | variant | jobs/s | × 1 node | × pg-boss 1 node | durable when timed |',
    '  | --- | ---: | ---: | ---: | --- |',
    ...f.rows.map(
      (r) =>
        `  | ${r.name} | ${fmtInt(r.jobsPerSec)} | ${(r.jobsPerSec / one).toFixed(2)} | ${(r.jobsPerSec / boss).toFixed(2)} | ${
          r.name.startsWith('pg-boss')
            ? 'send, fetch, complete committed (no progress, no change stream)'
            : "every change committed, then told to each node's subscriber"
        } |`,
    ),
    `  claim latency, idle 2-node cluster (start() to the attempt's start, ${spec.claims} jobs): ` +
      `p50 ${f.claimMs.p50} ms, p99 ${f.claimMs.p99} ms, max ${f.claimMs.max} ms`,
    ...clusterGoals(f).map(
      (g, i) =>
        `  goal ${i === 0 ? '1 node ≥ pg-boss 1 node (which carries no progress and no change stream)' : '2 nodes ≥ 1.6 × 1 node'}, ` +
        `median of the ${spec.rounds} rounds' ratios: ${g.value.toFixed(2)} ${g.met ? 'met' : 'NOT met'}` +
        ` (ratio of the medians: ${(i === 0 ? one / boss : f.rows[1]!.jobsPerSec / one).toFixed(2)}` +
        `${i === 1 ? '; this machine has 2 cores for the nodes, PostgreSQL and the bench together' : ''})`,
    ),
  ];
  return lines.join('\n');
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const spec = clusterSpec(config.quick);
  console.log('7. Several nodes on one PostgreSQL');
  const figures = await measureCluster(spec, (line) => console.log(line));
  console.log(clusterSection(spec, figures));
}
