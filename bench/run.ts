/**
 * `npm run bench`: the performance targets (README, "Performance") in one run. Prints tables and writes the
 * figures to .bench/results.json. A missed goal is reported, never an exit code; a wrong count
 * (a variant that lost a change) is an error.
 *
 * Env: BENCH_N, BENCH_ROUNDS, BENCH_WARMUP, BENCH_WARMUP_N, BENCH_REGISTRY_SIZES (e.g. 1000,10000),
 * BENCH_RETAINED_SIZES, BENCH_START_BATCH, BENCH_START_BATCHES, BENCH_MEM_N, BENCH_QUICK=1.
 * Only the server section: `tsx bench/server-run.ts`. Section 5 (worker pool): bench/workers.ts.
 * Only section 6 (inspection off vs on): `tsx bench/inspect.ts`. Only section 7 (several nodes on
 * PostgreSQL, pg-boss as the peer): `tsx bench/cluster.ts` (BENCH_PG_URL, BENCH_CLUSTER_N).
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { config } from './config.js';
import { machineInfo } from './machine.js';
import { bytesPerBareActor, bytesPerLiveJob } from './memory.js';
import { measureStartCosts, type Population, type StartCost } from './registry-cost.js';
import {
  label,
  machineSection,
  memorySection,
  startCostSection,
  throughputSection,
  type Goal,
  type MemoryFigures,
} from './report.js';
import { measureServer, serverSection, serverSpec } from './server.js';
import { throughputGoals as throughputGoals_ } from './goals.js';
import { measureThroughput } from './throughput.js';
import { measureWsDelivery } from './ws-delivery.js';
import { fmtInt, hasGc, now } from './util.js';
import { measureWorkers, workersSection, workersSpec } from './workers.js';
import { inspectSection, inspectSpec, measureInspect } from './inspect.js';
import { clusterGoals, clusterSection, clusterSpec, measureCluster } from './cluster.js';
import type { WorkloadSpec } from './workload.js';

const log = (line = ''): void => console.log(line);
const started = now();
const elapsed = (): string => `${((now() - started) / 1_000).toFixed(1)} s`;

function startCostGoals(costs: readonly StartCost[]): Goal[] {
  const goals: Goal[] = [];
  for (const population of ['live', 'retained'] as const satisfies readonly Population[]) {
    const rows = costs.filter((c) => c.population === population).sort((a, b) => a.size - b.size);
    const small = rows[0];
    const large = rows.at(-1);
    if (!small || !large || small === large) continue;
    const value = large.usPerStart / small.usPerStart;
    const name = `${population} ${fmtInt(large.size)} / ${fmtInt(small.size)}`;
    goals.push({ name, value, target: '≤ 1.3×', met: value <= 1.3 });
    goals.push({
      name: `${name}, excl. GC pauses`,
      value: large.exGcUsPerStart / small.exGcUsPerStart,
      target: '',
      met: null,
    });
  }
  return goals;
}

async function main(): Promise<void> {
  const machine = machineInfo();
  log('jobvisor bench');
  log(machineSection(machine, config, hasGc));

  const spec: WorkloadSpec = {
    n: config.n,
    concurrency: config.concurrency,
    progressSteps: config.progressSteps,
  };
  log();
  log(
    `1. Throughput: ${fmtInt(spec.n)} jobs × (START + ${spec.progressSteps} PROGRESS + COMPLETE), ` +
      `concurrency ${spec.concurrency}, one subscriber; median of ${config.rounds} interleaved rounds of ${config.timedRuns} timed runs each`,
  );
  const throughput = await measureThroughput(spec, config, log);
  const throughputGoals = throughputGoals_(throughput);
  log();
  log(throughputSection(throughput, throughputGoals));
  log(`  [${elapsed()}]`);

  log();
  log(
    `2. Cost per start with jobs already in the registry ` +
      `(awaited one by one; median of ${config.startBatches} batches of ${config.startBatch})`,
  );
  const costs: StartCost[] = [];
  const populations: [Population, readonly number[]][] = [
    ['live', config.registrySizes],
    ['retained', config.retainedSizes],
  ];
  for (const [population, sizes] of populations) {
    const timing = { batch: config.startBatch, batches: config.startBatches };
    const measured = await measureStartCosts(population, sizes, timing, (cost) =>
      log(
        `  ${population} ${fmtInt(cost.size)}: ${cost.usPerStart.toFixed(1)} µs per start ` +
          `(filled in ${(cost.fillMs / 1_000).toFixed(1)} s)  [${elapsed()}]`,
      ),
    );
    costs.push(...measured);
  }
  const costGoals = startCostGoals(costs);
  log();
  log(startCostSection(costs, costGoals));

  log();
  log(
    '3. Memory: heapUsed after full GC, before and after adding the jobs (retained: median of the jobvisor rounds)',
  );
  const memory: MemoryFigures = {
    liveCount: config.memoryN,
    bytesPerLiveJob: await bytesPerLiveJob(config.memoryN),
    retainedCount: config.n,
    bytesPerRetainedJob: throughput.variants.jobvisor?.bytesPerRetained ?? NaN,
    bytesPerBareActor: await bytesPerBareActor(config.memoryN),
  };
  const memoryGoals: Goal[] = [
    {
      name: 'bytes per pending job',
      value: memory.bytesPerLiveJob,
      target: '≤ 1,536',
      met: memory.bytesPerLiveJob <= 1_536,
    },
    {
      name: 'bytes per retained job',
      value: memory.bytesPerRetainedJob,
      target: '≤ 1,024',
      met: memory.bytesPerRetainedJob <= 1_024,
    },
  ];
  log(memorySection(memory));
  log(memoryGoals.map((g) => `  ${g.name}: ${fmtInt(g.value)} (${g.target}) ${label(g)}`).join('\n'));

  log();
  const serverBench = serverSpec(config.quick);
  log('4. Server (loopback, clients in the same process): HTTP creates and WebSocket fan-out');
  const server = await measureServer(serverBench);
  log(serverSection(serverBench, server));
  const ws = await measureWsDelivery({
    inFlight: 1_000,
    jobs: config.quick ? 200 : 1_000,
    subscribers: 100,
  });
  const wsGoal: Goal = {
    name: 'WebSocket p99 ms (100 subscribers in another process, 1,000 jobs in flight)',
    value: ws.p99Ms,
    target: '< 20',
    met: ws.p99Ms < 20,
  };
  log(
    `  WebSocket, subscribers in another process: ${fmtInt(ws.inFlight)} jobs in flight, ${fmtInt(ws.jobs)} more ` +
      `started 10 at a time, ${ws.subscribers} subscribers: ${fmtInt(ws.delivered)} changes, latency p50 ${ws.p50Ms} ms, ` +
      `p99 ${ws.p99Ms} ms (< 20) ${label(wsGoal)}`,
  );
  log(`  [${elapsed()}]`);

  log();
  const workersBench = workersSpec(config.quick);
  log('5. CPU-bound jobs: in-process vs the worker pool (same run)');
  const workers = await measureWorkers(workersBench);
  log(workersSection(workersBench, workers));
  log(`  [${elapsed()}]`);

  log();
  const inspectBench = inspectSpec(config.quick);
  log('6. Inspection: the throughput workload with inspection off vs on (every actor)');
  const inspection = await measureInspect(inspectBench);
  log(inspectSection(inspectBench, inspection));
  log(`  [${elapsed()}]`);

  log();
  const clusterBench = clusterSpec(config.quick);
  log('7. Several nodes on one PostgreSQL (child processes; jobvisor and pg-boss in the same run)');
  const cluster = await measureCluster(clusterBench, log);
  log(clusterSection(clusterBench, cluster));
  log(`  [${elapsed()}]`);

  const goals = [...throughputGoals, ...costGoals, ...memoryGoals, wsGoal, ...clusterGoals(cluster)];
  log();
  log(
    `goals: ${goals
      .filter((g) => g.met !== null)
      .map((g) => `${g.name} ${label(g)}`)
      .join('; ')}`,
  );
  log(`total ${elapsed()}`);

  const results = {
    date: new Date().toISOString(),
    machine,
    config,
    gcExposed: hasGc,
    throughput: {
      spec,
      variants: throughput.variants,
      redis: throughput.redis,
    },
    startCost: costs,
    memory,
    server: { spec: serverBench, figures: server, wsDelivery: ws },
    workers: { spec: workersBench, figures: workers },
    inspection: { spec: inspectBench, figures: inspection },
    cluster: { spec: clusterBench, figures: cluster },
    goals,
    totalSeconds: (now() - started) / 1_000,
  };
  const dir = new URL('../.bench/', import.meta.url);
  await mkdir(dir, { recursive: true });
  const file = new URL('results.json', dir);
  await writeFile(file, `${JSON.stringify(results, null, 2)}\n`);
  log(`figures written to .bench/results.json`);
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
