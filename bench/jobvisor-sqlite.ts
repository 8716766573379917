/**
 * Variants (d) and (e): the jobvisor workload with every change durable in SQLite (a temp file,
 * WAL, synchronous=FULL, group commit), timed until the last change is on disk. (d) has a handler
 * that never yields, so the whole run lands in few large batches; (e) has a handler that awaits
 * I/O between progress reports, as real handlers do, so the store commits every turn.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sqliteStore } from '../src/sqlite.js';
import { runJobvisorRetaining } from './jobvisor.js';
import type { Sample, WorkloadSpec } from './workload.js';

async function onSqlite(spec: WorkloadSpec, awaitsIo: boolean): Promise<Sample> {
  const dir = mkdtempSync(join(tmpdir(), 'jobvisor-bench-'));
  try {
    return await runJobvisorRetaining(spec, undefined, {
      store: sqliteStore({ path: join(dir, 'bench.db') }),
      awaitsIo,
    });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export const runJobvisorSqlite = (spec: WorkloadSpec): Promise<Sample> => onSqlite(spec, false);
export const runJobvisorSqliteIo = (spec: WorkloadSpec): Promise<Sample> => onSqlite(spec, true);
