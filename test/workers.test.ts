/** Handlers registered as modules run in real worker threads (real clock: threads need real time). */
import { afterEach, describe, expect, it } from 'vitest';
import { createSupervisor, type Rejection, type Supervisor, type SupervisorOptions } from '../src/index.js';
import { createJobvisorServer } from '../src/server/index.js';
import { settle } from './helpers.js';

const fixture = (name: string) => new URL(`./fixtures/${name}.ts`, import.meta.url);

let current: Supervisor | undefined;
afterEach(async () => {
  await current?.shutdown({ graceMs: 0 });
  current = undefined;
});

function make(options: SupervisorOptions = {}) {
  const supervisor = createSupervisor({ workers: { size: 2, terminateGraceMs: 200 }, ...options });
  const rejections: Rejection[] = [];
  supervisor.on('rejected', (r) => rejections.push(r));
  current = supervisor;
  return { supervisor, rejections };
}

/** Resolves once `predicate` holds, checking after each turn of the event loop (no timers). */
async function eventually(predicate: () => boolean, ms = 15_000): Promise<void> {
  const deadline = performance.now() + ms;
  while (!predicate()) {
    if (performance.now() > deadline) throw new Error('condition not reached');
    await settle();
  }
}

describe('worker threads', () => {
  it('runs a CPU job in a thread, with progress, and completes it', async () => {
    const { supervisor } = make();
    supervisor.register('cpu', { module: fixture('cpu-job') });
    const progress: number[] = [];
    supervisor.subscribe((c) => c.kind === 'progress' && progress.push(c.job.progress));
    const { job } = await supervisor.start({ type: 'cpu', input: { ms: 200 } });
    const done = await supervisor.waitFor(job.id);
    expect(done.status).toBe('completed');
    expect(done.result).toMatchObject({ digest: expect.any(String) as unknown });
    expect(progress.at(-1)).toBe(100);
    expect(progress.length).toBeGreaterThan(1);
    expect(supervisor.stats().threadCount).toBe(1); // lazy: one job, one thread
  });

  it('rejects invalid worker handlers with invalid_options', () => {
    const { supervisor } = make();
    expect(() => supervisor.register('x', { module: '' })).toThrow(/Invalid worker handler/);
    expect(() => createSupervisor({ workers: { size: 0 } })).toThrow(/workers\.size/);
  });

  it('fails a crashed attempt as worker_crashed, retries it, and replaces the thread', async () => {
    const { supervisor } = make();
    supervisor.register('crash', { module: fixture('crash-job') }, { retries: { max: 2, backoffMs: 0 } });
    const a = await supervisor.start({ type: 'crash', input: { failures: 2, how: 'exit' } });
    const b = await supervisor.start({ type: 'crash', input: { failures: 5, how: 'uncaught' } });
    const doneA = await supervisor.waitFor(a.job.id);
    const doneB = await supervisor.waitFor(b.job.id);
    expect(doneA).toMatchObject({ status: 'completed', attempt: 3, result: { attempt: 3 } });
    expect(doneB).toMatchObject({ status: 'failed', attempt: 3, error: { code: 'worker_crashed' } });
    await eventually(() => supervisor.stats().threadCount === 2);
    expect(supervisor.stats().handlersInFlight).toBe(0);
  });

  it('terminates a thread that ignores its abort after cancel, with no leak', async () => {
    const { supervisor } = make();
    supervisor.register('loop', { module: fixture('loop-job') });
    const jobs = await Promise.all(
      [1, 2, 3].map(() => supervisor.start({ type: 'loop', input: { ms: 60_000 } })),
    );
    await eventually(() => supervisor.get(jobs[1]!.job.id)?.status === 'running');
    for (const { job } of jobs) await supervisor.cancel(job.id);
    await eventually(() => supervisor.stats().handlersInFlight === 0 && supervisor.stats().threadCount === 2);
    for (const { job } of jobs) expect(supervisor.get(job.id)?.status).toBe('cancelled');
  });

  it('catches a thread that loops without heartbeats as stalled while the server stays responsive', async () => {
    const { supervisor } = make();
    supervisor.register('loop', { module: fixture('loop-job') }, { heartbeatTimeoutMs: 300 });
    supervisor.register('spin', { module: fixture('loop-job') }, { heartbeatTimeoutMs: 30_000 });
    const server = createJobvisorServer({ supervisor });
    const { url } = await server.listen(0);
    try {
      const spin = await supervisor.start({ type: 'spin', input: { ms: 2_000 } });
      const stuck = await supervisor.start({ type: 'loop', input: { ms: 60_000 } });
      await eventually(() => supervisor.get(spin.job.id)?.status === 'running');
      const health = await fetch(`${url}/health`);
      expect(health.status).toBe(200);
      expect(supervisor.get(spin.job.id)?.status).toBe('running'); // answered during the 2 s loop
      const failed = await supervisor.waitFor(stuck.job.id);
      expect(failed).toMatchObject({ status: 'failed', error: { code: 'stalled' } });
      expect(supervisor.stats().stalls).toBe(1);
      expect((await supervisor.waitFor(spin.job.id)).status).toBe('completed');
    } finally {
      await server.close();
    }
  });

  it('rejects and counts messages from a thread whose attempt is over', async () => {
    const { supervisor, rejections } = make();
    supervisor.register('late', { module: fixture('cpu-job'), export: 'late' });
    const { job } = await supervisor.start({ type: 'late', input: null });
    await eventually(() => supervisor.get(job.id)?.progress === 1);
    await supervisor.cancel(job.id);
    await eventually(() => rejections.length >= 3);
    const reasons = supervisor.stats().rejectedByReason;
    expect((reasons.job_final ?? 0) + (reasons.stale_attempt ?? 0)).toBeGreaterThanOrEqual(3);
    expect(rejections.every((r) => r.source === 'handler' && r.attempt === 1)).toBe(true);
    expect(supervisor.get(job.id)?.status).toBe('cancelled');
  });

  it('reports and drops a message outside the protocol', async () => {
    const { supervisor } = make();
    const errors: unknown[] = [];
    supervisor.on('error', (report) => errors.push(report.error));
    supervisor.register('rogue', { module: fixture('cpu-job'), export: 'rogue' });
    const { job } = await supervisor.start({ type: 'rogue', input: null });
    expect(await supervisor.waitFor(job.id)).toMatchObject({ status: 'completed', result: 'real' });
    expect(String(errors[0])).toMatch(/invalid worker message/);
  });

  it('shutdown interrupts thread jobs, terminates every thread and resolves', async () => {
    const { supervisor } = make();
    supervisor.register('cpu', { module: fixture('cpu-job') });
    supervisor.register('loop', { module: fixture('loop-job') });
    await supervisor.start({ type: 'cpu', input: { ms: 60_000 } });
    await supervisor.start({ type: 'loop', input: { ms: 60_000 } });
    await eventually(() => supervisor.stats().threadCount === 2 && supervisor.stats().jobs.running === 2);
    const result = await supervisor.shutdown({ graceMs: 0 });
    expect(result).toEqual({ interrupted: 2, pending: 2 });
    expect(supervisor.stats().threadCount).toBe(0);
    expect(supervisor.stats().handlersInFlight).toBe(0);
  });
});
