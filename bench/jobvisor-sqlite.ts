/**
 * Variant (d): the jobvisor workload with every change durable in SQLite (a temp file, WAL,
 * synchronous=FULL, group commit). Measured until the last change is on disk: shutdown writes
 * what is left and closes the store inside the timed part.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createSupervisor, type HandlerContext } from '../src/index.js';
import { sqliteStore } from '../src/sqlite.js';
import { now, signal } from './util.js';
import { percents, RESULT, type Sample, type WorkloadSpec } from './workload.js';

export async function runJobvisorSqlite(spec: WorkloadSpec): Promise<Sample> {
  const dir = mkdtempSync(join(tmpdir(), 'jobvisor-bench-'));
  try {
    const steps = percents(spec.progressSteps);
    const supervisor = createSupervisor({
      concurrency: spec.concurrency,
      retention: { maxCount: spec.n },
      store: sqliteStore({ path: join(dir, 'bench.db') }),
    });
    supervisor.register('bench', async (ctx: HandlerContext) => {
      for (const percent of steps) ctx.progress(percent);
      return RESULT;
    });
    await supervisor.ready();
    let changes = 0;
    let finished = 0;
    const done = signal();
    supervisor.subscribe((change) => {
      changes++;
      if (change.kind === 'completed' && ++finished === spec.n) done.resolve();
    });
    const t0 = now();
    const starts: Promise<unknown>[] = [];
    for (let i = 0; i < spec.n; i++) starts.push(supervisor.start({ type: 'bench' }));
    await Promise.all(starts);
    await done.promise;
    await supervisor.shutdown({ graceMs: 0 }); // the last batch is durable when this resolves
    return { ms: now() - t0, jobs: finished, changes };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
