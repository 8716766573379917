/**
 * Variant (d): the jobvisor workload with every change durable in SQLite (a temp file, WAL,
 * synchronous=FULL, group commit), timed until the last change is on disk.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sqliteStore } from '../src/sqlite.js';
import { runJobvisorRetaining } from './jobvisor.js';
import type { Sample, WorkloadSpec } from './workload.js';

export async function runJobvisorSqlite(spec: WorkloadSpec): Promise<Sample> {
  const dir = mkdtempSync(join(tmpdir(), 'jobvisor-bench-'));
  try {
    return await runJobvisorRetaining(spec, undefined, {
      store: sqliteStore({ path: join(dir, 'bench.db') }),
    });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
