/**
 * `tsx bench/bullmq-run.ts`: the BullMQ peer alone, on two private redis-servers (in memory, and
 * AOF with appendfsync always). Per mode: one warm-up round of 1 000 jobs, then 3 rounds of 3 000
 * (concurrency 50, 10 progress steps), jobs/s per round and the median. Both servers are stopped
 * at the end, also on failure. Skips (exit 0) when redis-server is not on PATH.
 */
import { runBullmq } from './bullmq.js';
import { redisServerVersion, startPrivateRedis, type PrivateRedis, type RedisMode } from './redis-server.js';
import { fmtInt, median } from './util.js';
import { checkSample, type WorkloadSpec } from './workload.js';

const spec: WorkloadSpec = { n: 3_000, concurrency: 50, progressSteps: 10 };
const warmup: WorkloadSpec = { ...spec, n: 1_000 };
const rounds = 3;
const modes: readonly RedisMode[] = ['memory', 'aof-always'];

async function main(): Promise<void> {
  const version = redisServerVersion();
  if (version === null) {
    console.log('bullmq bench: redis-server is not on PATH, skipped');
    return;
  }
  const servers: PrivateRedis[] = [];
  try {
    for (const mode of modes) {
      const server = await startPrivateRedis(mode);
      if (!server) throw new Error('redis-server vanished from PATH');
      servers.push(server);
    }
    console.log(
      `bullmq bench: redis-server ${version}; n=${spec.n}, concurrency ${spec.concurrency}, ` +
        `${spec.progressSteps} steps, ${rounds} rounds after a ${warmup.n}-job warm-up`,
    );
    for (const server of servers) {
      checkSample(`bullmq ${server.mode} warm-up`, warmup, await runBullmq(warmup, server));
      const rates: number[] = [];
      for (let round = 1; round <= rounds; round++) {
        const sample = checkSample(`bullmq ${server.mode}`, spec, await runBullmq(spec, server));
        const rate = (sample.jobs * 1_000) / sample.ms;
        rates.push(rate);
        console.log(
          `  ${server.mode.padEnd(10)} round ${round}: ${fmtInt(sample.ms).padStart(6)} ms, ` +
            `${fmtInt(rate).padStart(6)} jobs/s, ${fmtInt(sample.changes)} changes`,
        );
      }
      console.log(`  ${server.mode.padEnd(10)} median: ${fmtInt(median(rates))} jobs/s`);
    }
  } finally {
    await Promise.all(servers.map((server) => server.stop()));
  }
}

await main();
