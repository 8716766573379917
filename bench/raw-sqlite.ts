/**
 * Baseline for variant (e), "jobvisor + SQLite, handler awaits I/O per step" (runJobvisorSqliteIo):
 * raw better-sqlite3 writing the same rows in the same transactions. The goal it serves is
 * "jobvisor + SQLite ≥ 0.6 × raw better-sqlite3 doing the same writes".
 *
 * How: `recordSqliteTrace` runs variant (e) once, untimed, on a real SQLite store wrapped so that
 * every successful `commit(batch)` also keeps a copy of the batch (jobId, seq, kind, at, record
 * object). `replayRaw` then writes that trace into a fresh file with plain better-sqlite3: the same
 * pragmas (locking_mode=EXCLUSIVE, journal_mode=WAL and the schema via jobvisor's own
 * `prepareSchema`, synchronous=FULL), the same statements, and per recorded batch one
 * `db.transaction(...)` doing exactly what SqliteStore#write does: one INSERT into `changes` per
 * change (its log record — what the change moved, by position: src/store/log-record.ts —
 * JSON.stringify-ed there and then, as a raw user serialises too), one row write per job per batch
 * with its whole latest record (INSERT for a job whose first change is seq 1, else UPDATE), and the
 * `meta` last_offset UPDATE.
 *
 * Durable when timed: every transaction is committed with synchronous=FULL in WAL mode, i.e. the
 * WAL is fsynced at every commit, exactly as jobvisor's store does. The timer runs from the first
 * transaction to the return of the last commit; opening the file and creating the schema are not
 * timed (jobvisor's timer also starts after `ready()`, i.e. after the store opened). Closing the
 * file (a WAL checkpoint) is not in `ms` either but is reported as `closeMs`: jobvisor's timer does
 * include it, since its run ends with `shutdown()`, which closes the store.
 *
 * Left out, and why that is fair: the raw writer does no compare-and-set on `seq` (its UPDATE is
 * `WHERE id = ?`, not `WHERE id = ? AND seq = ?`, and it does not check `changes === 1`), no
 * in-batch seq check (checkNextSeq), no live-key lookups (the bench jobs have no key, so jobvisor
 * runs none either), no error mapping. These are the guarantees jobvisor adds on top of "writing
 * the rows"; a plain application writing its own job table would not have them, so they count as
 * jobvisor's overhead, which is what the ratio is meant to show. Everything the database itself
 * does (indexes, the unique partial index on live keys, fsync) is the same on both sides.
 *
 * One difference in the raw side's favour that cannot be removed: it replays batches that are
 * already formed, back to back, whereas jobvisor's batches form while handlers run, one per event
 * loop turn. The batch count and sizes are the same by construction.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { sqliteStore } from '../src/sqlite.js';
import { jobValues, UPDATE_JOB, UPDATE_PROGRESS, updateValues } from '../src/store/sqlite-connection.js';
import { prepareSchema } from '../src/store/sqlite-schema.js';
import { toLogRecord } from '../src/store/log-record.js';
import type { ChangeDraft, JobStore } from '../src/store/port.js';
import { runJobvisorRetaining } from './jobvisor.js';
import { now } from './util.js';
import type { Sample, WorkloadSpec } from './workload.js';

/** The batches variant (e) committed, in commit order (only commits that succeeded). */
export interface SqliteTrace {
  readonly batches: readonly (readonly ChangeDraft[])[];
  /** Calls of each JobStore method during the recorded run (to see what else the store did). */
  readonly calls: Readonly<Record<string, number>>;
}

/** A raw replay's Sample, with the number of transactions (= recorded batches) it committed. */
export interface RawSqliteSample extends Sample {
  readonly transactions: number;
  /**
   * Not in `ms`: closing the file after the replay (in WAL mode, a checkpoint into the main file).
   * jobvisor's timed part ends with `shutdown()`, which closes its store, so it does pay this.
   */
  readonly closeMs: number;
}

/** Batch sizes (changes per transaction) of a trace. */
export interface TraceShape {
  readonly transactions: number;
  readonly changes: number;
  readonly min: number;
  readonly median: number;
  readonly mean: number;
  readonly max: number;
}

function copyDraft(draft: ChangeDraft): ChangeDraft {
  return {
    jobId: draft.jobId,
    seq: draft.seq,
    kind: draft.kind,
    at: draft.at,
    record: structuredClone(draft.record),
  };
}

/**
 * A JobStore delegating every method to `inner`; `commit` also records a copy of each batch that
 * committed. There is no cleaner hook: the supervisor exposes no per-commit event with the drafts
 * (GroupCommit hands them to `store.commit` only). Optional members are copied only when `inner`
 * has them: a `cluster` key (even undefined-valued) is not added, since wiring.ts treats
 * `store.cluster !== undefined` as a shared store; `changesOf` is forwarded only if present.
 */
function recordingStore(inner: JobStore, batches: ChangeDraft[][], calls: Record<string, number>): JobStore {
  const count = (name: string) => (calls[name] = (calls[name] ?? 0) + 1);
  const { cluster } = inner;
  const changesOf = inner.changesOf?.bind(inner);
  const store: JobStore = {
    name: inner.name,
    open: (options) => (count('open'), inner.open(options)),
    commit: async (batch, writer) => {
      count('commit');
      const copy = batch.map(copyDraft);
      const first = await (writer === undefined ? inner.commit(batch) : inner.commit(batch, writer));
      if (copy.length > 0) batches.push(copy);
      return first;
    },
    get: (id) => (count('get'), inner.get(id)),
    list: (query) => (count('list'), inner.list(query)),
    changesSince: (after, limit) => (count('changesSince'), inner.changesSince(after, limit)),
    firstOffset: () => (count('firstOffset'), inner.firstOffset()),
    expire: (policy) => (count('expire'), inner.expire(policy)),
    close: () => (count('close'), inner.close()),
    ...(changesOf && {
      changesOf: (jobId: string, after: number, limit: number) => (
        count('changesOf'),
        changesOf(jobId, after, limit)
      ),
    }),
    ...(cluster !== undefined && { cluster }),
  };
  return store;
}

/** Runs variant (e) once (untimed for our purposes) and returns the batches its store committed. */
export async function recordSqliteTrace(spec: WorkloadSpec): Promise<SqliteTrace> {
  const dir = mkdtempSync(join(tmpdir(), 'jobvisor-trace-'));
  const batches: ChangeDraft[][] = [];
  const calls: Record<string, number> = {};
  try {
    const store = recordingStore(sqliteStore({ path: join(dir, 'bench.db') }), batches, calls);
    await runJobvisorRetaining(spec, undefined, { store, awaitsIo: true });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  return { batches, calls };
}

export function traceShape(trace: SqliteTrace): TraceShape {
  const sizes = trace.batches.map((batch) => batch.length).sort((a, b) => a - b);
  const changes = sizes.reduce((sum, size) => sum + size, 0);
  const mid = sizes.length >> 1;
  const median =
    sizes.length === 0 ? NaN : sizes.length % 2 ? sizes[mid]! : (sizes[mid - 1]! + sizes[mid]!) / 2;
  return {
    transactions: sizes.length,
    changes,
    min: sizes[0] ?? NaN,
    median,
    mean: changes / sizes.length,
    max: sizes.at(-1) ?? NaN,
  };
}

const JOB_COLUMNS = `type, key, status, state, seq, "offset", created_at, finished_at, record`;

/** Writes the trace with plain better-sqlite3 into a fresh file, one transaction per batch; timed. */
export function replayRaw(trace: SqliteTrace): RawSqliteSample {
  const dir = mkdtempSync(join(tmpdir(), 'jobvisor-raw-'));
  const path = join(dir, 'raw.db');
  let db: Database.Database | undefined;
  try {
    db = new Database(path);
    db.pragma('locking_mode = EXCLUSIVE');
    db.pragma('synchronous = FULL');
    prepareSchema(db, path); // journal_mode = WAL, then jobvisor's migrations
    const insertChange = db.prepare<[number, string, number, string, number, string]>(
      `INSERT INTO changes ("offset", job_id, seq, kind, at, record) VALUES (?, ?, ?, ?, ?, ?)`,
    );
    const insertJob = db.prepare<unknown[]>(
      `INSERT INTO jobs (id, ${JOB_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    );
    // The store's own row writes (only the columns a change can move), without its compare-and-set.
    const updateJob = db.prepare<unknown[]>(`${UPDATE_JOB} WHERE id = ?`);
    const updateProgress = db.prepare<unknown[]>(`${UPDATE_PROGRESS} WHERE id = ?`);
    const setLastOffset = db.prepare<[number]>(`UPDATE meta SET value = ? WHERE name = 'last_offset'`);

    let lastOffset = 0;
    const write = db.transaction((batch: readonly ChangeDraft[]) => {
      let offset = lastOffset + 1;
      const jobs = new Map<
        string,
        { first: number; last: ChangeDraft; offset: number; progressOnly: boolean }
      >();
      for (const change of batch) {
        // The change's row holds its log record (what it moved, by position), as jobvisor's does.
        const log = JSON.stringify(toLogRecord(change.record));
        insertChange.run(offset, change.jobId, change.seq, change.kind, change.at, log);
        const seen = jobs.get(change.jobId);
        const progressOnly = (seen?.progressOnly ?? true) && change.kind === 'progress';
        jobs.set(change.jobId, { first: seen?.first ?? change.seq, last: change, offset, progressOnly });
        offset++;
      }
      // The job's row holds its whole latest record, serialised once per job and batch.
      for (const [id, { first, last, offset: at, progressOnly }] of jobs) {
        const json = JSON.stringify(last.record);
        if (first === 1) insertJob.run(id, ...jobValues(last.record, last.seq, at, json));
        else if (progressOnly) updateProgress.run(...updateValues(last.record, last.seq, at, json, true), id);
        else updateJob.run(...updateValues(last.record, last.seq, at, json, false), id);
      }
      setLastOffset.run(offset - 1);
      lastOffset = offset - 1;
    });

    const t0 = now();
    for (const batch of trace.batches) write(batch);
    const ms = now() - t0;

    // Untimed check that the replay wrote what the trace holds.
    const jobs = (db.prepare('SELECT count(*) AS n FROM jobs').get() as { n: number }).n;
    const changes = (db.prepare('SELECT count(*) AS n FROM changes').get() as { n: number }).n;
    const ids = new Set<string>();
    let total = 0;
    for (const batch of trace.batches) {
      for (const change of batch) {
        ids.add(change.jobId);
        total++;
      }
    }
    if (jobs !== ids.size || changes !== total || lastOffset !== total) {
      throw new Error(
        `raw replay: wrote ${jobs} jobs / ${changes} changes (last offset ${lastOffset}), trace has ${ids.size} / ${total}`,
      );
    }
    const t1 = now();
    db.close();
    const closeMs = now() - t1;
    return { ms, jobs: ids.size, changes: total, transactions: trace.batches.length, closeMs };
  } finally {
    if (db?.open) db.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Records a trace of variant (e) (untimed), then answers the raw replay's timing. */
export async function runRawSqlite(spec: WorkloadSpec): Promise<RawSqliteSample> {
  return replayRaw(await recordSqliteTrace(spec));
}
