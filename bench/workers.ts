/**
 * CPU-bound jobs (a fixed amount of SHA-256 hashing each, examples/hash-job.ts): jobs/s in-process
 * vs the worker pool, in the same run. In-process, handlers take turns on the one event loop; the
 * pool should scale with the cores.
 */
import { availableParallelism } from 'node:os';
import { createSupervisor, type Supervisor } from '../src/index.js';
import hash from '../examples/hash-job.js';
import { fmt, now } from './util.js';

export interface WorkersSpec {
  readonly jobs: number;
  readonly rounds: number;
  readonly poolSizes: readonly number[];
}

export interface WorkersFigure {
  readonly variant: string;
  readonly jobsPerSec: number;
}

export function workersSpec(quick: boolean): WorkersSpec {
  const cores = availableParallelism();
  return { jobs: quick ? 8 : 24, rounds: 50_000, poolSizes: [...new Set([1, cores])] };
}

const MODULE = new URL('../examples/hash-job.ts', import.meta.url);

async function timeJobs(supervisor: Supervisor, jobs: number, rounds: number): Promise<number> {
  const began = now();
  const started = await Promise.all(
    Array.from({ length: jobs }, (_, i) =>
      supervisor.start({ type: 'hash', input: { text: `j${i}`, rounds } }),
    ),
  );
  const done = await Promise.all(started.map(({ job }) => supervisor.waitFor(job.id)));
  if (done.some((job) => job.status !== 'completed')) throw new Error('a hash job did not complete');
  return (jobs * 1_000) / (now() - began);
}

async function measure(variant: string, spec: WorkersSpec, size: number | null): Promise<WorkersFigure> {
  const supervisor = createSupervisor({ concurrency: spec.jobs, workers: { size: size ?? 1 } });
  if (size === null) supervisor.register('hash', (ctx) => hash(ctx as Parameters<typeof hash>[0]));
  else supervisor.register('hash', { module: MODULE });
  try {
    await timeJobs(supervisor, size ?? 1, spec.rounds); // warm-up: threads spawned, module loaded
    return { variant, jobsPerSec: await timeJobs(supervisor, spec.jobs, spec.rounds) };
  } finally {
    await supervisor.shutdown();
  }
}

export async function measureWorkers(spec: WorkersSpec): Promise<WorkersFigure[]> {
  const figures = [await measure('in-process', spec, null)];
  for (const size of spec.poolSizes) figures.push(await measure(`pool, ${size} thread(s)`, spec, size));
  return figures;
}

export function workersSection(spec: WorkersSpec, figures: readonly WorkersFigure[]): string {
  const base = figures[0]?.jobsPerSec ?? NaN;
  return [
    `  ${spec.jobs} jobs × ${spec.rounds} SHA-256 rounds each`,
    ...figures.map(
      (f) =>
        `  ${f.variant.padEnd(22)} ${fmt(f.jobsPerSec).padStart(8)} jobs/s   ${fmt(f.jobsPerSec / base)}× in-process`,
    ),
  ].join('\n');
}
