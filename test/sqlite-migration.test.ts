/** A file written by schema version 1 opens in this version: migrated in place, nothing lost. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import { createSupervisor } from '../src/index.js';
import { sqliteStore } from '../src/sqlite.js';
import { SCHEMA_VERSION } from '../src/store/sqlite-schema.js';

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

function indexes(path: string): { version: number; names: string[] } {
  const db = new Database(path, { readonly: true });
  try {
    const version = db.pragma('user_version', { simple: true }) as number;
    const rows = db.prepare("SELECT name FROM sqlite_schema WHERE type = 'index' ORDER BY name").all();
    return { version, names: (rows as { name: string }[]).map((r) => r.name) };
  } finally {
    db.close();
  }
}

describe('SQLite schema migrations', () => {
  it('a version-1 file (no changes_job index, no pauses, no schedules, no logs) is migrated to the current version with its jobs and history', async () => {
    expect(SCHEMA_VERSION).toBe(5);
    const dir = mkdtempSync(join(tmpdir(), 'jobvisor-migrate-'));
    dirs.push(dir);
    const path = join(dir, 'jobs.db');

    const first = createSupervisor({ store: sqliteStore({ path }) });
    first.register('steps', async (ctx) => {
      ctx.progress(50);
      return 'done';
    });
    const { job: done } = await first.start({ type: 'steps' });
    await first.waitFor(done.id);
    const before = await first.history(done.id);
    await first.shutdown();

    // Back to exactly what version 1 wrote: migration 2 only added this index, 3 the pauses table,
    // 4 the schedules table, 5 the logs table.
    const db = new Database(path);
    db.exec('DROP INDEX changes_job');
    db.exec('DROP TABLE paused');
    db.exec('DROP TABLE schedules');
    db.exec('DROP TABLE job_logs');
    db.pragma('user_version = 1');
    db.close();
    expect(indexes(path).version).toBe(1);
    expect(indexes(path).names).not.toContain('changes_job');

    const second = createSupervisor({ store: sqliteStore({ path }) });
    second.register('steps', async () => 'again');
    await second.ready();
    expect(second.get(done.id)).toMatchObject({ status: 'completed', result: 'done' });
    expect(await second.history(done.id)).toEqual(before);
    const { job: next } = await second.start({ type: 'steps' });
    await second.waitFor(next.id);
    expect((await second.history(next.id)).map((c) => c.kind)).toEqual(['created', 'started', 'completed']);
    await second.shutdown();

    expect(indexes(path)).toMatchObject({ version: SCHEMA_VERSION });
    expect(indexes(path).names).toContain('changes_job');
    const migrated = new Database(path, { readonly: true });
    expect(migrated.prepare('SELECT scope FROM paused').all()).toEqual([]);
    expect(migrated.prepare('SELECT name FROM schedules').all()).toEqual([]);
    expect(migrated.prepare('SELECT id FROM job_logs').all()).toEqual([]);
    migrated.close();
  });
});
