/**
 * The throughput comparison: every variant (bench/variants.ts) runs the same workload, each round
 * of each variant in a fresh process (bench/variant-child.ts: warm-up runs to the steady state, then the
 * timed runs back to back, summed), rounds interleaved (the order rotates each round so no variant always goes
 * first). The median round of each variant is reported. The BullMQ variants run on private
 * redis-server processes started here on free ports (one without persistence, one with
 * `appendonly yes` + `appendfsync always`) and stopped by pid at the end; the shared Redis is
 * never touched. Without `redis-server` on PATH they are skipped, and the report says so.
 */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { redisPortEnv, redisServerVersion, startPrivateRedis, type PrivateRedis } from './redis-server.js';
import { median } from './util.js';
import { VARIANT_NAMES, VARIANTS, type VariantName } from './variants.js';
import { checkSample, type Sample, type WorkloadSpec } from './workload.js';

export type { VariantName };

export interface VariantFigures {
  readonly samples: readonly Sample[];
  readonly medianMs: number;
  readonly jobsPerSec: number;
  readonly changesPerSec: number;
  readonly minJobsPerSec: number;
  readonly maxJobsPerSec: number;
  /** jobvisor only: median heap bytes per retained completed job. */
  readonly bytesPerRetained?: number;
}

export interface ThroughputFigures {
  /** null: skipped (its redis-server is not installed). */
  readonly variants: Record<VariantName, VariantFigures | null>;
  /** The redis-server version the BullMQ variants ran on; null: not installed, skipped. */
  readonly redis: string | null;
}

const CHILD = fileURLToPath(new URL('./variant-child.ts', import.meta.url));

const rate = (count: number, ms: number): number => (count * 1_000) / ms;

function summarise(samples: readonly Sample[]): VariantFigures {
  const medianMs = median(samples.map((s) => s.ms));
  const jobs = samples.map((s) => rate(s.jobs, s.ms));
  const first = samples[0]!;
  const bytes = samples
    .map((s) => (s as { bytesPerRetained?: unknown }).bytesPerRetained)
    .filter((b): b is number => typeof b === 'number');
  return {
    ...(bytes.length > 0 ? { bytesPerRetained: median(bytes) } : {}),
    samples,
    medianMs,
    jobsPerSec: rate(first.jobs, medianMs),
    changesPerSec: rate(first.changes, medianMs),
    minJobsPerSec: Math.min(...jobs),
    maxJobsPerSec: Math.max(...jobs),
  };
}

/** One round of `name` in a fresh process. */
function runChild(
  name: VariantName,
  spec: WorkloadSpec,
  warmup: { readonly runs: number; readonly n: number },
  timedRuns: number,
  env: NodeJS.ProcessEnv,
): Promise<Sample> {
  const args = [
    '--expose-gc',
    '--import',
    'tsx',
    CHILD,
    name,
    ...[spec.n, spec.concurrency, spec.progressSteps, warmup.n, warmup.runs, timedRuns].map(String),
  ];
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (err += chunk.toString()));
    child.on('error', reject);
    child.on('close', (code) => {
      if (code !== 0) return reject(new Error(`${name}: exit ${code}\n${err}`));
      const last = out.trim().split('\n').at(-1) ?? '';
      resolve(checkSample(name, { ...spec, n: spec.n * timedRuns }, JSON.parse(last) as Sample));
    });
  });
}

export async function measureThroughput(
  spec: WorkloadSpec,
  options: { rounds: number; warmup: number; warmupN: number; timedRuns: number },
  log: (line: string) => void,
): Promise<ThroughputFigures> {
  const version = redisServerVersion();
  const servers: PrivateRedis[] = [];
  const env: NodeJS.ProcessEnv = { ...process.env };
  try {
    if (version !== null) {
      for (const mode of ['memory', 'aof-always'] as const) {
        const server = await startPrivateRedis(mode);
        if (!server) continue;
        servers.push(server);
        env[redisPortEnv(mode)] = String(server.port);
      }
      log(
        `  BullMQ peers on private redis-server ${version} (ports ${servers.map((s) => `${s.port} ${s.mode}`).join(', ')})`,
      );
    } else log('  redis-server is not installed: the BullMQ variants are skipped');
    const modes = new Set(servers.map((s) => s.mode));
    const names = VARIANT_NAMES.filter((name) => {
      const needs = (VARIANTS[name] as { redis?: PrivateRedis['mode'] }).redis;
      return needs === undefined || modes.has(needs);
    });
    const samples = new Map<VariantName, Sample[]>(names.map((name) => [name, []]));
    const warmup = { runs: options.warmup, n: options.warmup > 0 ? options.warmupN : 0 };
    for (let round = 0; round < options.rounds; round++) {
      const order = names.map((_, i) => names[(i + round) % names.length]!);
      const line: string[] = [];
      for (const name of order) {
        const sample = await runChild(name, spec, warmup, options.timedRuns, env);
        samples.get(name)!.push(sample);
        line.push(`${name} ${Math.round(rate(sample.jobs, sample.ms))}`);
      }
      log(`  round ${round + 1}/${options.rounds} (jobs/s): ${line.join(', ')}`);
    }
    const variants = Object.fromEntries(
      VARIANT_NAMES.map((name) => {
        const got = samples.get(name);
        return [name, got ? summarise(got) : null];
      }),
    ) as Record<VariantName, VariantFigures | null>;
    return { variants, redis: version };
  } finally {
    await Promise.all(servers.map((server) => server.stop()));
  }
}
