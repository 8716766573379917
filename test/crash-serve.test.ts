/**
 * kill -9 of `jobvisor serve`, 20 times, on one SQLite file — and again on one PostgreSQL schema. A real `serve` child process runs the
 * handlers of test/fixtures/serve-handlers.ts under a stream of jobs started over HTTP (some keyed,
 * so starts are deduplicated) and three WebSocket subscribers of every job. At a random moment of
 * each run (after a random number of answered starts, or of changes a subscriber received) it is
 * killed with SIGKILL and started again on the same file; the subscribers resume with `since` =
 * the highest offset each received. A final run finishes every job. Then, from the store and the
 * handlers' execution log:
 *
 * 1. no accepted job is lost (every job of a 200/201 answer exists and is final);
 * 2. no job is left pending or running;
 * 3. no offset is reused (an offset names the same change in every subscriber and in the store's
 *    log), and a subscriber that resumes receives exactly the committed changes it missed;
 * 4. no attempt number is executed twice;
 * 5. no job is executed again after a subscriber saw it completed.
 *
 * The kill points and the jobs come from a seeded random; the seed is printed, and
 * JOBVISOR_CRASH_SEED=<seed> replays the same plan (the timing of a real process still varies).
 */
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import WebSocket from 'ws';
import { afterAll, describe, expect, it } from 'vitest';
import {
  createJobAnswerSchema,
  healthAnswerSchema,
  serverMessageSchema,
  type WireChange,
} from '../src/protocol/schemas.js';
import { postgresStore } from '../src/postgres.js';
import { sqliteStore } from '../src/sqlite.js';
import type { JobRecord, JobStore, StoredChange } from '../src/store/port.js';
import { dropSchema, POSTGRES_URL, schemaName } from './postgres-helpers.js';
import { spawnCli } from './cli-process.js';
import { EXEC_LOG_ENV } from './fixtures/serve-handlers.js';

const HANDLERS = fileURLToPath(new URL('./fixtures/serve-handlers.ts', import.meta.url));
const CYCLES = 20;
/** Concurrent POST /jobs loops. */
const PRODUCERS = 3;
/** A wait that should end within a second; past this the test fails instead of hanging. */
const GUARD_MS = 20_000;
const SEED = Number(process.env.JOBVISOR_CRASH_SEED ?? Math.floor(Math.random() * 2 ** 32)) >>> 0;

const children = new Set<ChildProcess>();
const dirs: string[] = [];
afterAll(() => {
  for (const child of children) child.kill('SIGKILL');
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

/** mulberry32: a small seeded generator, so that a failing plan can be replayed. */
function seeded(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

function between(random: () => number, lo: number, hi: number): number {
  return lo + Math.floor(random() * (hi - lo + 1));
}

/** Counts events (received changes, answered starts, a server exit) and wakes whoever waits on them. */
class Pulse {
  count = 0;
  readonly #waiters = new Set<() => void>();

  poke(): void {
    this.count++;
    for (const wake of [...this.#waiters]) wake();
  }

  /** Resolves true once `test` holds (checked now and after each event), false after `guardMs`. */
  until(test: () => boolean, guardMs = GUARD_MS): Promise<boolean> {
    if (test()) return Promise.resolve(true);
    return new Promise((resolve) => {
      const done = (held: boolean) => {
        clearTimeout(guard);
        this.#waiters.delete(wake);
        resolve(held);
      };
      const wake = () => test() && done(true);
      const guard = setTimeout(() => done(false), guardMs);
      this.#waiters.add(wake);
    });
  }
}

interface Served {
  readonly child: ChildProcess;
  readonly url: string;
  /** `SIGKILL`, `exit 0`, … */
  readonly exited: Promise<string>;
  readonly dead: () => boolean;
  readonly stderr: () => string;
}

/** Where the runs keep their jobs: the `serve` arguments, and the store to read it with between runs. */
interface Backend {
  readonly name: string;
  readonly args: readonly string[];
  readonly store: () => JobStore;
}

function sqliteBackend(dir: string): Backend {
  const path = join(dir, 'jobs.db');
  return { name: 'SQLite file', args: ['--db', path], store: () => sqliteStore({ path }) };
}

function postgresBackend(schema: string): Backend {
  return {
    name: 'PostgreSQL schema',
    // Each run is a new node: the killed one's running jobs are taken over once its lease ends.
    args: ['--postgres', POSTGRES_URL, '--postgres-schema', schema, '--cluster-lease-ms', '1500'],
    store: () => postgresStore({ connectionString: POSTGRES_URL, schema }),
  };
}

/** `jobvisor serve --port 0` on the backend; resolves once it printed `listening on URL`. */
function serve(db: Backend, execLog: string, pulse: Pulse): Promise<Served> {
  const child = spawnCli(['serve', '--port', '0', ...db.args, '--handlers', HANDLERS], {
    [EXEC_LOG_ENV]: execLog,
  });
  children.add(child);
  let stdout = '';
  let stderr = '';
  let dead = false;
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<string>((resolve) =>
    child.once('exit', (code, signal) => {
      children.delete(child);
      dead = true;
      pulse.poke();
      resolve(signal ?? `exit ${code}`);
    }),
  );
  return new Promise((resolve, reject) => {
    child.stdout.on('data', (d: Buffer) => {
      stdout += d.toString();
      const url = /^listening on (http:\/\/\S+)\n/.exec(stdout)?.[1];
      if (url !== undefined) resolve({ child, url, exited, dead: () => dead, stderr: () => stderr });
    });
    void exited.then((how) => reject(new Error(`serve ended (${how}) before listening: ${stderr}`)));
  });
}

/** What a change is, for comparing two changes that carry the same offset. */
interface Seen {
  readonly jobId: string;
  readonly seq: number;
  readonly kind: string;
  readonly attempt: number;
}

type Named = Pick<Seen, 'jobId' | 'seq' | 'kind'>;
const sameChange = (a: Named, b: Named) => a.jobId === b.jobId && a.seq === b.seq && a.kind === b.kind;
const describeChange = (s: Seen) => `${s.jobId} seq ${s.seq} ${s.kind} (attempt ${s.attempt})`;

/** A raw `ws` subscriber of every job that keeps every change it received, across restarts. */
class Subscriber {
  readonly name: string;
  /** Every change received, by offset; a second, different change at an offset is kept too. */
  readonly received = new Map<number, Seen[]>();
  /** The snapshot offset of its first subscription: every committed change after it must arrive. */
  from: number | undefined;
  highest = 0;
  changesThisRun = 0;
  duplicates = 0;
  outOfOrder = 0;
  /** The `since` of each subscription answered with a resync snapshot. */
  readonly resyncs: number[] = [];
  readonly #pulse: Pulse;
  #closed: Promise<void> = Promise.resolve();

  constructor(name: string, pulse: Pulse) {
    this.name = name;
    this.#pulse = pulse;
  }

  /** Connects and subscribes: with a snapshot the first time, then with `since` = its highest offset. */
  connect(url: string): Promise<void> {
    const socket = new WebSocket(`${url.replace(/^http/, 'ws')}/ws`);
    const since = this.from === undefined ? undefined : this.highest;
    this.changesThisRun = 0;
    let last = -1;
    this.#closed = new Promise((resolve) => socket.once('close', () => resolve()));
    return new Promise((resolve, reject) => {
      socket.on('error', reject); // once subscribed, a reset by SIGKILL only closes the socket
      socket.on('message', (data: Buffer) => {
        const message = serverMessageSchema.parse(JSON.parse(data.toString('utf8')));
        switch (message.type) {
          case 'hello':
            socket.send(JSON.stringify({ type: 'subscribe', id: 'all', topic: { all: true }, since }));
            return;
          case 'reply':
            if (since !== undefined) resolve();
            return;
          case 'snapshot':
            if (message.resync) this.resyncs.push(since ?? -1);
            else this.from = message.offset;
            this.highest = Math.max(this.highest, message.offset);
            resolve();
            return;
          case 'change':
            this.#record(message.change, last);
            last = message.change.offset;
            return;
          case 'error':
            reject(new Error(`${this.name}: ${message.error.code} ${message.error.message}`));
            return;
          case 'rejected':
            return;
        }
      });
    });
  }

  /** Resolves once the socket is closed (after a kill: once every frame that arrived was recorded). */
  disconnected(): Promise<void> {
    return this.#closed;
  }

  has(change: StoredChange): boolean {
    return this.received.get(change.offset)?.some((seen) => sameChange(seen, change)) ?? false;
  }

  #record(change: WireChange, last: number): void {
    const seen: Seen = {
      jobId: change.jobId,
      seq: change.seq,
      kind: change.kind,
      attempt: change.job.attempt,
    };
    const versions = this.received.get(change.offset);
    if (!versions) this.received.set(change.offset, [seen]);
    else if (versions.some((v) => sameChange(v, seen))) this.duplicates++;
    else versions.push(seen);
    if (change.offset <= last) this.outOfOrder++;
    this.highest = Math.max(this.highest, change.offset);
    this.changesThisRun++;
    this.#pulse.poke();
  }
}

/** POST /jobs in a few concurrent loops until halted; keeps the id of every job answered 200/201. */
class Producer {
  readonly accepted = new Set<string>();
  readonly answers = { created: 0, deduplicated: 0, unanswered: 0, refused: [] as string[] };
  answeredThisRun = 0;
  readonly #random: () => number;
  readonly #pulse: Pulse;
  #posted = 0;
  #halted = true;
  #loops: Promise<void>[] = [];

  constructor(random: () => number, pulse: Pulse) {
    this.#random = random;
    this.#pulse = pulse;
  }

  start(url: string): void {
    this.#halted = false;
    this.answeredThisRun = 0;
    this.#loops = Array.from({ length: PRODUCERS }, () => this.#loop(url));
  }

  /** Stops posting; requests in flight still count if they are answered. */
  halt(): void {
    this.#halted = true;
  }

  /** Resolves once every loop has ended (after a kill their requests fail at once). */
  settled(): Promise<void> {
    return Promise.all(this.#loops).then(() => undefined);
  }

  #nextJob(): object {
    const r = this.#random;
    const key = r() < 0.4 ? `key-${between(r, 1, 6)}` : undefined;
    const delays = Array.from({ length: between(r, 2, 4) }, () => between(r, 1, 5));
    return { type: 'work', key, input: { n: this.#posted++, delays, failFirst: r() < 0.25 } };
  }

  async #loop(url: string): Promise<void> {
    while (!this.#halted) {
      const body = JSON.stringify(this.#nextJob());
      let status: number;
      let answer: unknown;
      try {
        const res = await fetch(`${url}/jobs`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body,
        });
        status = res.status;
        answer = await res.json();
      } catch {
        this.answers.unanswered++; // the server was killed before it answered
        return;
      }
      if (status === 200 || status === 201) {
        this.accepted.add(createJobAnswerSchema.parse(answer).job.id);
        if (status === 201) this.answers.created++;
        else this.answers.deduplicated++;
        this.answeredThisRun++;
      } else {
        this.answers.refused.push(`${status} ${JSON.stringify(answer)}`);
      }
      this.#pulse.poke();
    }
  }
}

interface Execution {
  readonly jobId: string;
  readonly attempt: number;
  readonly pid: string;
}

function readExecutions(path: string): Execution[] {
  return readFileSync(path, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((line) => {
      const [jobId, attempt, pid] = line.split(' ') as [string, string, string];
      return { jobId, attempt: Number(attempt), pid };
    });
}

/** The offsets named by more than one change, over every subscriber and the store's log. */
function reusedOffsets(
  subscribers: readonly Subscriber[],
  log: readonly StoredChange[],
): Map<number, Seen[]> {
  const versions = new Map<number, Seen[]>();
  const add = (offset: number, seen: Seen) => {
    const known = versions.get(offset);
    if (!known) versions.set(offset, [seen]);
    else if (!known.some((k) => sameChange(k, seen))) known.push(seen);
  };
  for (const change of log) add(change.offset, { ...change, attempt: change.record.attempt });
  for (const s of subscribers) for (const [offset, seen] of s.received) seen.forEach((v) => add(offset, v));
  return new Map([...versions].filter(([, known]) => known.length > 1));
}

async function readStore(db: Backend) {
  const store = db.store();
  try {
    const snapshot = await store.open({ recentLimit: 0 });
    const jobs = (await store.list({ limit: 10_000_000 })).items;
    const log = await store.changesSince(0, 10_000_000);
    return { snapshot, jobs, log, firstOffset: await store.firstOffset() };
  } finally {
    await store.close();
  }
}

async function health(url: string) {
  return healthAnswerSchema.parse(await (await fetch(`${url}/health`)).json());
}

const FINAL = ['completed', 'failed', 'cancelled'];

interface Evidence {
  readonly subscribers: readonly Subscriber[];
  readonly accepted: ReadonlySet<string>;
  readonly jobs: readonly JobRecord[];
  readonly log: readonly StoredChange[];
  readonly firstOffset: number;
  readonly executions: readonly Execution[];
}

/** The five checks (3 as four counts), each a count, and up to three examples of each failure. */
function tally({ subscribers, accepted, jobs, log, firstOffset, executions }: Evidence) {
  const byId = new Map(jobs.map((job) => [job.id, job]));
  // 1. Every job of a 200/201 answer exists and is final. 2. No job is left pending or running.
  const lost = [...accepted].filter((id) => !FINAL.includes(byId.get(id)?.status ?? 'missing'));
  const leftRunning = jobs.filter((job) => !FINAL.includes(job.status));

  // 3. One change per offset, over every subscriber and the store's log; and every committed change
  // after a subscriber's first snapshot reached it, once. (The server's outbox drops superseded
  // progress frames only past 2 MiB waiting on one socket; this test sends far less.)
  const reused = reusedOffsets(subscribers, log);
  const lastOffset = log.at(-1)?.offset ?? 0;
  const missed: string[] = [];
  for (const s of subscribers) {
    if (s.from === undefined) continue;
    const upTo = Math.min(s.highest, lastOffset);
    for (const change of log) {
      if (change.offset > s.from && change.offset <= upTo && !s.has(change)) {
        missed.push(
          `${s.name} missed ${change.offset}: ${describeChange({ ...change, attempt: change.record.attempt })}`,
        );
      }
    }
  }
  // Retention keeps a day of changes here, so the log still holds every offset a subscriber
  // resumed from: a resync is never explained by retention.
  const resyncs = subscribers.flatMap((s) =>
    s.resyncs.filter((since) => since + 1 >= firstOffset).map((since) => `${s.name} since ${since}`),
  );
  const duplicates = subscribers.reduce((n, s) => n + s.duplicates, 0);

  // 4. No (job, attempt) executed twice.
  const runs = new Map<string, Execution[]>();
  for (const e of executions) {
    const key = `${e.jobId} ${e.attempt}`;
    runs.set(key, [...(runs.get(key) ?? []), e]);
  }
  const twice = [...runs].filter(([, list]) => list.length > 1);

  // 5. A job a subscriber saw completed at attempt A never ran a later attempt, nor A again.
  const completedAt = new Map<string, number>();
  for (const s of subscribers)
    for (const versions of s.received.values())
      for (const seen of versions)
        if (seen.kind === 'completed')
          completedAt.set(seen.jobId, Math.min(seen.attempt, completedAt.get(seen.jobId) ?? Infinity));
  const afterCompleted = [...completedAt].filter(
    ([jobId, attempt]) =>
      (runs.get(`${jobId} ${attempt}`)?.length ?? 0) > 1 ||
      executions.some((e) => e.jobId === jobId && e.attempt > attempt),
  );

  const counts = {
    lost: lost.length,
    leftRunning: leftRunning.length,
    offsetsReused: reused.size,
    missedOnResume: missed.length,
    resyncs: resyncs.length,
    deliveredTwice: duplicates,
    attemptsExecutedTwice: twice.length,
    executedAfterCompleted: afterCompleted.length,
  };
  const examples = [
    ...lost.slice(0, 3).map((id) => `lost ${id}: ${byId.get(id)?.status ?? 'not in the store'}`),
    ...leftRunning.slice(0, 3).map((job) => `left ${job.status}: ${job.id}`),
    ...[...reused]
      .slice(0, 3)
      .map(([offset, versions]) => `offset ${offset} names ${versions.map(describeChange).join(' and ')}`),
    ...missed.slice(0, 3),
    ...resyncs.slice(0, 3).map((r) => `resync: ${r}`),
    ...twice
      .slice(0, 3)
      .map(([key, list]) => `attempt executed twice: ${key} (pids ${list.map((e) => e.pid).join(', ')})`),
    ...afterCompleted
      .slice(0, 3)
      .map(([jobId, attempt]) => `${jobId} seen completed at attempt ${attempt}, executed again`),
  ];
  return { counts, examples };
}

/** The final run: every subscriber resumes, nothing new starts; waits (on changes) until no job is live. */
async function finish(served: Served, subscribers: readonly Subscriber[], pulse: Pulse): Promise<boolean> {
  await Promise.all(subscribers.map((s) => s.connect(served.url)));
  for (;;) {
    const seen = pulse.count;
    if ((await health(served.url)).live === 0) break;
    const changed = await pulse.until(() => pulse.count > seen || served.dead());
    if (!changed || served.dead()) {
      console.log(`the final run did not finish every job: ${served.stderr()}`);
      return false;
    }
  }
  // Let every subscriber hear the last changes before the shutdown closes the sockets.
  const { offset = 0 } = await health(served.url);
  if (!(await pulse.until(() => subscribers.every((s) => s.highest >= offset))))
    console.log(`the subscribers did not all reach offset ${offset} before the shutdown`);
  return true;
}

const schemas: string[] = [];
afterAll(async () => {
  for (const schema of schemas) await dropSchema(schema);
});

const backends: [string, (dir: string) => Backend][] = [
  ['the same SQLite file', sqliteBackend],
  [
    'the same PostgreSQL schema',
    () => {
      const schema = schemaName();
      schemas.push(schema);
      return postgresBackend(schema);
    },
  ],
];

describe.each(backends)('jobvisor serve under kill -9, restarted on %s', (_name, backendIn) => {
  it(
    `${CYCLES} kills mid-run: nothing lost, offsets never reused, no attempt run twice`,
    { timeout: 120_000 },
    async () => {
      const began = Date.now();
      console.log(
        `crash-serve: seed ${SEED} (replay: JOBVISOR_CRASH_SEED=${SEED} npx vitest run test/crash-serve.test.ts)`,
      );
      const dir = mkdtempSync(join(tmpdir(), 'jobvisor-crash-serve-'));
      dirs.push(dir);
      const db = backendIn(dir);
      const execLog = join(dir, 'executions.log');
      const random = seeded(SEED);
      const pulse = new Pulse();
      const producer = new Producer(seeded(SEED ^ 0x9e3779b9), pulse);
      const [a, b, c] = ['a', 'b', 'c'].map((name) => new Subscriber(name, pulse)) as [
        Subscriber,
        Subscriber,
        Subscriber,
      ];
      const subscribers = [a, b, c];
      // a follows every run; b joins at run 5; c joins at run 2 and then skips two runs in three, so
      // its resumes replay whole runs from the store.
      const connectsIn = (run: number) => [
        a,
        ...(run >= 5 ? [b] : []),
        ...(run >= 2 && run % 3 === 2 ? [c] : []),
      ];
      // The kill point of each run: after a number of answered starts, or of changes a received.
      const plan = Array.from({ length: CYCLES }, () =>
        random() < 0.5
          ? { after: 'starts' as const, count: between(random, 1, 25) }
          : { after: 'changes' as const, count: between(random, 1, 120) },
      );

      for (const [i, kill] of plan.entries()) {
        const run = i + 1;
        const served = await serve(db, execLog, pulse);
        const connected = connectsIn(run);
        await Promise.all(connected.map((s) => s.connect(served.url)));
        producer.start(served.url);
        const reached = () =>
          kill.after === 'starts' ? producer.answeredThisRun >= kill.count : a.changesThisRun >= kill.count;
        const held = await pulse.until(() => reached() || served.dead());
        if (!held || served.dead()) {
          throw new Error(
            `run ${run}: ${served.dead() ? 'serve died' : 'no kill point'} (${kill.count} ${kill.after}; ` +
              `${producer.answeredThisRun} answered, ${a.changesThisRun} changes, refused ` +
              `${producer.answers.refused.slice(0, 3).join('; ')}) ${served.stderr()}`,
          );
        }
        producer.halt();
        served.child.kill('SIGKILL');
        expect(await served.exited).toBe('SIGKILL');
        await producer.settled();
        await Promise.all(connected.map((s) => s.disconnected()));

        // Between runs the file is free: how far did the subscribers hear beyond the commits?
        const { log } = await readStore(db);
        const committed = log.at(-1)?.offset ?? 0;
        const heard = Math.max(...connected.map((s) => s.highest));
        console.log(
          `run ${String(run).padStart(2)}: killed after ${kill.count} ${kill.after}; log at offset ${committed}, ` +
            `subscribers heard up to ${heard}${heard > committed ? ` (${heard - committed} not committed)` : ''}; ` +
            `offsets reused so far ${reusedOffsets(subscribers, log).size}`,
        );
      }

      const last = await serve(db, execLog, pulse);
      const drained = await finish(last, subscribers, pulse);
      last.child.kill('SIGTERM');
      const finalExit = await last.exited;
      await Promise.all(subscribers.map((s) => s.disconnected()));

      const { snapshot, jobs, log, firstOffset } = await readStore(db);
      const executions = readExecutions(execLog);
      const { counts, examples } = tally({
        subscribers,
        accepted: producer.accepted,
        jobs,
        log,
        firstOffset,
        executions,
      });
      const { answers } = producer;
      console.log(
        `crash-serve: ${producer.accepted.size} jobs accepted (${answers.created} created, ` +
          `${answers.deduplicated} deduplicated, ${answers.unanswered} unanswered at a kill, ` +
          `${answers.refused.length} refused), ${jobs.length} in the store, ${executions.length} executions, ` +
          `${log.length} changes; final run ${drained ? 'drained' : 'did NOT drain'}, ${finalExit}; ` +
          `${subscribers.reduce((n, s) => n + s.outOfOrder, 0)} changes out of order; ` +
          `${((Date.now() - began) / 1000).toFixed(1)} s`,
      );
      console.log(
        `crash-serve counts (seed ${SEED}): lost ${counts.lost}, left running ${counts.leftRunning}, ` +
          `offsets reused ${counts.offsetsReused}, missed on resume ${counts.missedOnResume}, resyncs ${counts.resyncs}, ` +
          `delivered twice ${counts.deliveredTwice}, attempts executed twice ${counts.attemptsExecutedTwice}, ` +
          `executed after completed ${counts.executedAfterCompleted}`,
      );
      if (examples.length > 0) console.log(examples.join('\n'));

      expect(counts, `seed ${SEED}`).toEqual({
        lost: 0,
        leftRunning: 0,
        offsetsReused: 0,
        missedOnResume: 0,
        resyncs: 0,
        deliveredTwice: 0,
        attemptsExecutedTwice: 0,
        executedAfterCompleted: 0,
      });
      // The store's own invariants: the log is gap-free, each job's seqs follow one another.
      expect(snapshot.active).toEqual([]);
      expect(log.map((change) => change.offset)).toEqual(log.map((_, i) => firstOffset + i));
      const seqs = new Map<string, number>();
      for (const change of log) {
        expect(change.seq).toBe((seqs.get(change.jobId) ?? 0) + 1);
        seqs.set(change.jobId, change.seq);
      }
      expect(answers.refused).toEqual([]);
      expect(finalExit).toBe('exit 0');
    },
  );
});
