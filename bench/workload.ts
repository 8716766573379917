/**
 * The workload of the performance targets (README, "Performance"), shared by every variant: N jobs, each START,
 * 10 × PROGRESS, COMPLETE, at most 50 running at once, one subscriber counting changes.
 */
export interface WorkloadSpec {
  readonly n: number;
  readonly concurrency: number;
  readonly progressSteps: number;
}

/** One timed round of one variant. */
export interface Sample {
  readonly ms: number;
  readonly jobs: number;
  /** Changes the subscriber saw (created + started + progress × steps + completed per job). */
  readonly changes: number;
}

export type Variant = (spec: WorkloadSpec) => Promise<Sample>;

/** The percents a handler reports: 10, 20, … 100 for 10 steps. */
export function percents(steps: number): readonly number[] {
  return Array.from({ length: steps }, (_, i) => Math.round(((i + 1) * 100) / steps));
}

/** The handler result every variant returns. */
export const RESULT = Object.freeze({ ok: true });

/** Changes per job that every variant must deliver: created, started, progress × steps, completed. */
export const changesPerJob = (spec: WorkloadSpec): number => spec.progressSteps + 3;

export function checkSample(name: string, spec: WorkloadSpec, sample: Sample): Sample {
  const expected = spec.n * changesPerJob(spec);
  if (sample.jobs !== spec.n || sample.changes !== expected)
    throw new Error(
      `${name}: expected ${spec.n} jobs / ${expected} changes, saw ${sample.jobs} / ${sample.changes}`,
    );
  return sample;
}
