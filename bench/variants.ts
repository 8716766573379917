/**
 * Every throughput variant by name, each the same workload (bench/workload.ts) with what is
 * durable when it is timed. bench/variant-child.ts runs one in a fresh process; the BullMQ ones get
 * their private redis-server's port from the environment (bench/throughput.ts starts them).
 */
import { createActor } from 'xstate';
import { runActors, runBareXState } from './bare-xstate.js';
import { runBaseline } from './baseline.js';
import { runBullmq } from './bullmq.js';
import { runJobvisorSqlite, runJobvisorSqliteIo } from './jobvisor-sqlite.js';
import { minimalMachine } from './machine-cost.js';
import { runJobvisorRetaining } from './jobvisor.js';
import { weighRetained } from './memory.js';
import { runRawSqlite } from './raw-sqlite.js';
import { redisPortEnv, type RedisMode } from './redis-server.js';
import type { Sample, WorkloadSpec } from './workload.js';

export interface VariantInfo {
  readonly title: string;
  /** What is durable when the round is timed. */
  readonly durable: string;
  /** A private redis-server this variant needs (its port: BENCH_REDIS_PORT_<MODE>). */
  readonly redis?: RedisMode;
  readonly run: (spec: WorkloadSpec) => Promise<Sample>;
  /**
   * Measured once after the timed run, untimed (bench/variant-child.ts): what this variant also
   * reports. Kept out of `run` because it forces full GCs, and a run right after a forced GC starts
   * on a shrunk heap (jobvisor in memory ran at about half its speed after one).
   */
  readonly weigh?: (spec: WorkloadSpec) => Promise<{ readonly bytesPerRetained: number }>;
}

const redisPort = (mode: RedisMode): { host: string; port: number } => {
  const raw = process.env[redisPortEnv(mode)];
  if (!raw) throw new Error(`no private redis-server (${mode}) for this variant`);
  return { host: '127.0.0.1', port: Number(raw) };
};

export const VARIANTS = {
  baseline: {
    title: 'floor: Map + promise lock + EventEmitter',
    durable: 'nothing',
    run: runBaseline,
  },
  minimalXState: {
    title: 'minimal XState machine taking the same events',
    durable: 'nothing',
    run: (spec) => runActors(spec, () => createActor(minimalMachine)),
  },
  bareXState: {
    title: "bare XState running jobvisor's job machine (on the supervisor's actor timers)",
    durable: 'nothing',
    run: runBareXState,
  },
  jobvisor: {
    title: 'jobvisor in memory',
    durable: 'nothing',
    run: (spec) => runJobvisorRetaining(spec),
    weigh: weighRetained,
  },
  bullmq: {
    title: 'BullMQ on redis-server without persistence',
    durable: 'nothing (Redis in memory only)',
    redis: 'memory',
    run: (spec) => runBullmq(spec, redisPort('memory')),
  },
  jobvisorSqlite: {
    title: 'jobvisor + SQLite, handler never yields (few big batches)',
    durable: 'every change (WAL, synchronous=FULL)',
    run: runJobvisorSqlite,
  },
  jobvisorSqliteIo: {
    title: 'jobvisor + SQLite, handler awaits I/O per step (a commit per turn)',
    durable: 'every change (WAL, synchronous=FULL)',
    run: runJobvisorSqliteIo,
  },
  rawSqlite: {
    title: 'raw better-sqlite3: the same rows in the same transactions (replayed)',
    durable: 'every change (WAL, synchronous=FULL)',
    run: runRawSqlite,
  },
  bullmqAof: {
    title: 'BullMQ on redis-server, appendonly + appendfsync always',
    durable: 'every Redis write (fsync before reply)',
    redis: 'aof-always',
    run: (spec) => runBullmq(spec, redisPort('aof-always')),
  },
} as const satisfies Record<string, VariantInfo>;

export type VariantName = keyof typeof VARIANTS;
export const VARIANT_NAMES = Object.keys(VARIANTS) as VariantName[];
