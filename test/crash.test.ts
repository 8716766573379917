/**
 * kill -9 and restart: a child process runs a supervisor on a SQLite file with a couple of
 * thousand keyed jobs (slow handlers, progress, heartbeats, duplicate keys), is killed with SIGKILL
 * mid-run at a random moment, and a second process recovers on the same file. Afterwards: every
 * job whose start was answered exists, every job is final, no key had two executions at once,
 * no delayed job began before its time, and the change log has no gap. A schedule runs through it
 * all: each occurrence's job is one of its occurrences, none ran twice in one attempt, and the
 * occurrence taken last has its job.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import type { ScheduleView } from '../src/index.js';
import { sqliteStore } from '../src/sqlite.js';
import { occurrenceId } from '../src/supervisor/occurrences.js';

const child = fileURLToPath(new URL('./fixtures/crash-child.ts', import.meta.url));
const dirs: string[] = [];
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

function launch(args: string[]): {
  proc: ChildProcess;
  output: () => string;
  exited: Promise<number | null>;
} {
  const proc = spawn(process.execPath, ['--import', 'tsx', child, ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  proc.stdout.on('data', (d: Buffer) => (out += d.toString()));
  proc.stderr.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<number | null>((resolve) => proc.on('exit', (code) => resolve(code)));
  return { proc, output: () => out, exited };
}

/** Resolves when the child has printed `marker` (an event, not a sleep). */
function printed(proc: ChildProcess, marker: string): Promise<void> {
  return new Promise((resolve, reject) => {
    let seen = '';
    proc.stdout!.on('data', (d: Buffer) => {
      seen += d.toString();
      if (seen.includes(marker)) resolve();
    });
    proc.on('exit', () => reject(new Error(`exited before printing ${marker}: ${seen}`)));
  });
}

describe('kill -9 mid-run and restart on the same SQLite file', () => {
  it.each([1, 2, 3])(
    'round %i: nothing is lost, nothing runs twice at once, the log has no gap',
    async (round) => {
      const dir = mkdtempSync(join(tmpdir(), 'jobvisor-crash-'));
      dirs.push(dir);
      const db = join(dir, 'jobs.db');
      const execLog = join(dir, 'executions.log');
      const startedLog = join(dir, 'started.log');
      const args = [db, execLog, startedLog, '2000', '300'];

      const run = launch(['run', ...args]);
      await printed(run.proc, 'READY');
      // A different kill point each round: after 50, 300 or 600 handler executions began.
      await printed(run.proc, `EXECUTED ${[50, 300, 600][round - 1]!}\n`);
      run.proc.kill('SIGKILL');
      expect(await run.exited).toBe(null);

      const recover = launch(['recover', ...args]);
      expect(await recover.exited, recover.output()).toBe(0);
      const summary = JSON.parse(recover.output().trim().split('\n').at(-1)!) as {
        resumed: number;
        pulse: ScheduleView;
      };
      expect(summary.resumed).toBeGreaterThan(0);

      const store = sqliteStore({ path: db });
      const snapshot = await store.open({ recentLimit: 0 });
      expect(snapshot.active).toEqual([]); // every job is final: none pending, none running
      const all = (await store.list({ limit: 100_000 })).items;
      const byId = new Map(all.map((job) => [job.id, job]));

      // Every job whose start was answered (durable) exists and is final.
      const started = readFileSync(startedLog, 'utf8').split('\n').filter(Boolean);
      expect(started.length).toBeGreaterThan(0);
      for (const id of started) expect(['completed', 'failed', 'cancelled']).toContain(byId.get(id)?.status);

      // The change log: offsets 1..n without a gap; per job, seq 1..k without a gap.
      const log = await store.changesSince(0, 1_000_000);
      expect(log.map((c) => c.offset)).toEqual(log.map((_, i) => i + 1));
      const seqs = new Map<string, number>();
      for (const change of log) {
        expect(change.seq).toBe((seqs.get(change.jobId) ?? 0) + 1);
        seqs.set(change.jobId, change.seq);
      }
      for (const job of all) expect(seqs.get(job.id)).toBe(job.seq);
      await store.close();

      // A delayed job never began before its time, across the kill and the restart.
      const delayed = all.filter((job) => job.runAt !== null);
      expect(delayed.length).toBeGreaterThan(0);
      const runAtOf = new Map(delayed.map((job) => [job.id, job.runAt!]));
      for (const line of readFileSync(execLog, 'utf8').split('\n')) {
        const [what, jobId, , , , at] = line.split(' ');
        const runAt = runAtOf.get(jobId ?? '');
        if (what === 'start' && runAt !== undefined) expect(Number(at)).toBeGreaterThanOrEqual(runAt);
      }

      // The schedule: each tick job is one of its occurrences (anchor + n × 100 ms) up to the last
      // taken, whose job exists; no occurrence's job ran twice in one attempt; each process ran
      // them in increasing order (occurrences due together — the process was busy — start once:
      // the latest), and the restart ran some.
      const { pulse } = summary;
      expect(pulse.lastJobId).not.toBeNull();
      const occurrences = new Map<string, number>();
      for (let n = 1; pulse.anchor + n * 100 <= pulse.lastAt!; n++)
        occurrences.set(occurrenceId('pulse', pulse.anchor + n * 100), n);
      const ticks = all.filter((job) => job.type === 'tick');
      expect(ticks.map((job) => job.id)).toContain(pulse.lastJobId);
      for (const job of ticks) {
        expect(occurrences.has(job.id), `tick job ${job.id} is an occurrence`).toBe(true);
        expect(job.status).toBe('completed');
      }
      const tickRuns = readFileSync(execLog, 'utf8')
        .split('\n')
        .filter((line) => line.startsWith('tick '))
        .map((line) => line.split(' ') as [string, string, string, string, string, string]);
      const runsOf = new Map<string, number>();
      for (const [, jobId, , attempt] of tickRuns) {
        const key = `${jobId}#${attempt}`;
        expect(runsOf.has(key), `tick ${key} ran twice`).toBe(false);
        runsOf.set(key, 1);
      }
      const firstPid = readFileSync(execLog, 'utf8').split(' ')[4]; // the killed process's
      const before = tickRuns.filter((run) => run[4] === firstPid).map((run) => occurrences.get(run[1])!);
      expect(before.length).toBeGreaterThan(0);
      expect(before).toEqual([...before].sort((a, b) => a - b));
      expect(new Set(before).size).toBe(before.length);
      expect(tickRuns.some((run) => run[4] !== firstPid)).toBe(true);

      // No key ever had two executions at once. The two processes never overlap in time (the
      // second starts after the first died), so check each process's executions on their own.
      const lines = readFileSync(execLog, 'utf8').split('\n').filter(Boolean);
      const pids = new Set(lines.map((line) => line.split(' ')[4]));
      expect(pids.size).toBe(2);
      for (const pid of pids) {
        const open = new Map<string, string>();
        for (const line of lines) {
          const [what, jobId, key, , linePid] = line.split(' ') as [string, string, string, string, string];
          if (linePid !== pid || key === '-') continue;
          if (what === 'start') {
            expect(open.get(key), `key ${key} had two executions at once`).toBeUndefined();
            open.set(key, jobId);
          } else {
            expect(open.get(key)).toBe(jobId);
            open.delete(key);
          }
        }
      }
    },
  );
});
