/**
 * The cost of inspection: the throughput workload (START + PROGRESS × steps + COMPLETE per job)
 * with inspection off, with an observer of every actor that only counts events, and with every
 * event turned into a Stately frame (what one `/inspect` socket costs). Rounds are interleaved;
 * the median is reported. `tsx bench/inspect.ts` runs only this section.
 */
import { fileURLToPath } from 'node:url';
import {
  createSupervisor,
  toStatelyJson,
  type HandlerContext,
  type JobvisorInspectionEvent,
  type SupervisorOptions,
} from '../src/index.js';
import { collect, fmt, fmtInt, median, now, signal } from './util.js';
import { percents, RESULT, type WorkloadSpec } from './workload.js';

export interface InspectSpec extends WorkloadSpec {
  readonly rounds: number;
}

export interface InspectFigure {
  readonly variant: 'off' | 'counting' | 'stately frames';
  readonly jobsPerSec: number;
  /** Inspection events per job seen by the observer (0 when off). */
  readonly eventsPerJob: number;
  /** Bytes of Stately frames per job (the `stately frames` variant only). */
  readonly frameBytesPerJob: number;
}

export function inspectSpec(quick: boolean): InspectSpec {
  return { n: quick ? 500 : 3_000, concurrency: 50, progressSteps: 10, rounds: quick ? 2 : 3 };
}

type Observe = ((event: JobvisorInspectionEvent) => void) | undefined;

async function round(spec: WorkloadSpec, observe: Observe): Promise<number> {
  const steps = percents(spec.progressSteps);
  const options: SupervisorOptions = { concurrency: spec.concurrency, retention: { maxCount: spec.n } };
  const supervisor = createSupervisor(observe ? { ...options, inspect: { observer: observe } } : options);
  supervisor.register('bench', async (ctx: HandlerContext) => {
    for (const percent of steps) ctx.progress(percent);
    return RESULT;
  });
  let finished = 0;
  const done = signal();
  supervisor.subscribe((change) => {
    if (change.kind === 'completed' && ++finished === spec.n) done.resolve();
  });
  await supervisor.ready();
  const t0 = now();
  await Promise.all(Array.from({ length: spec.n }, () => supervisor.start({ type: 'bench' })));
  await done.promise;
  const ms = now() - t0;
  await supervisor.shutdown({ graceMs: 0 });
  return (spec.n * 1_000) / ms;
}

export async function measureInspect(spec: InspectSpec): Promise<InspectFigure[]> {
  const sink = { events: 0, bytes: 0 };
  const variants: [InspectFigure['variant'], Observe][] = [
    ['off', undefined],
    ['counting', () => void sink.events++],
    ['stately frames', (event) => void (sink.events++, (sink.bytes += toStatelyJson(event)?.length ?? 0))],
  ];
  const rates = new Map<string, number[]>(variants.map(([name]) => [name, []]));
  const seen = new Map<string, { events: number; bytes: number }>();
  await round({ ...spec, n: Math.min(spec.n, 500) }, undefined); // warm-up
  for (let r = 0; r < spec.rounds; r++) {
    for (let i = 0; i < variants.length; i++) {
      const [name, observe] = variants[(i + r) % variants.length]!;
      sink.events = sink.bytes = 0;
      rates.get(name)!.push(await round(spec, observe));
      seen.set(name, { ...sink });
      await collect();
    }
  }
  return variants.map(([variant]) => ({
    variant,
    jobsPerSec: median(rates.get(variant)!),
    eventsPerJob: (seen.get(variant)?.events ?? 0) / spec.n,
    frameBytesPerJob: (seen.get(variant)?.bytes ?? 0) / spec.n,
  }));
}

export function inspectSection(spec: InspectSpec, figures: readonly InspectFigure[]): string {
  const off = figures.find((f) => f.variant === 'off')?.jobsPerSec ?? NaN;
  return [
    `  ${fmtInt(spec.n)} jobs × (START + ${spec.progressSteps} PROGRESS + COMPLETE), concurrency ${spec.concurrency}, median of ${spec.rounds} rounds`,
    ...figures.map(
      (f) =>
        `  ${f.variant.padEnd(16)} ${fmtInt(Math.round(f.jobsPerSec)).padStart(8)} jobs/s   ` +
        `${fmt(f.jobsPerSec / off)}× off   ${fmt(f.eventsPerJob, 1)} events/job` +
        (f.frameBytesPerJob > 0 ? `, ${fmtInt(Math.round(f.frameBytesPerJob))} frame bytes/job` : ''),
    ),
  ].join('\n');
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const spec = inspectSpec(process.env.BENCH_QUICK === '1');
  measureInspect(spec)
    .then((figures) => console.log(inspectSection(spec, figures)))
    .catch((error: unknown) => {
      console.error(error);
      process.exitCode = 1;
    });
}
