/**
 * Jobs' logs: `ctx.log` lines appended while their attempt runs (fenced by attempt, as progress
 * is), written and told by the `LogWriter` (commit, then tell), read back a page at a time, and
 * followed — the stored lines after a cursor, then the live ones with no gap and no duplicate at
 * the seam, until the job is final and its last lines are told.
 */
import * as z from 'zod';
import type { Clock } from '../common/clock.js';
import type { Unsubscribe } from '../common/emitter.js';
import { JobvisorError } from '../common/errors.js';
import { checkLogLine } from '../common/log-line.js';
import type { JobLogEntry, JobView, Outcome } from '../common/types.js';
import { parseOrThrow } from '../common/validation.js';
import { LogWriter } from '../durability/log-writer.js';
import { MemoryLogs } from '../store/memory-logs.js';
import type { LogStore } from '../store/port.js';
import { jobIdSchema } from './filters.js';
import { isTerminal, type JobCell } from './job-cell.js';

export const logQuerySchema = z.strictObject({
  /** Lines with a greater id (a cursor: the last id read); 0 by default. */
  after: z.number().int().min(0).default(0),
  limit: z.number().int().min(1).max(1_000).default(100),
  /** Only this attempt's lines. */
  attempt: z.number().int().min(1).optional(),
});
export type LogQuery = z.input<typeof logQuerySchema>;

export interface LogPage {
  readonly entries: JobLogEntry[];
  /** Pass as `after` for the lines after these; null when there were no more (yet). */
  readonly next: number | null;
}

export interface FollowLogs {
  /** Lines after this id (0: from the first kept). */
  readonly after?: number;
  readonly onEntry: (entry: JobLogEntry) => void;
  /** The job is final and every line it wrote was told. */
  readonly onEnd?: (job: JobView) => void;
}

export interface JobLogsDeps {
  readonly writer: LogWriter;
  readonly store: LogStore;
  readonly clock: Clock;
  readonly maxDepth: number;
  /** The job's live cell, if it runs here. */
  readonly live: (jobId: string) => JobCell | undefined;
  /** The job as readers see it, here or in the store. */
  readonly find: (jobId: string) => Promise<JobView | undefined>;
  /** Calls `listener` with the job after each of its told changes. */
  readonly changes: (jobId: string, listener: (job: JobView) => void) => Unsubscribe;
  /** Jobs were forgotten (retention, `remove`): logs kept in memory drop theirs. */
  readonly forgotten: () => void;
  /** A store several nodes share: followers read lines written elsewhere this often (ms). */
  readonly pollMs?: number;
  readonly report: (error: unknown) => void;
}

/**
 * A supervisor's logs: in its store's `logs`, or — a store without them — in memory, where a job's
 * lines go when the job is forgotten (retention, `remove`: `kept` says which jobs are still here).
 */
export function wireJobLogs(
  store: LogStore | undefined,
  kept: (jobId: string) => boolean,
  deps: Omit<JobLogsDeps, 'writer' | 'store' | 'forgotten'> & {
    readonly keep: number;
    readonly timeoutMs: number;
  },
): JobLogs {
  const memory = store ? undefined : new MemoryLogs();
  const logStore = store ?? memory!;
  const { keep, timeoutMs, report, clock } = deps;
  const writer = new LogWriter(logStore, clock, { keep, timeoutMs, report });
  return new JobLogs({ ...deps, writer, store: logStore, forgotten: () => memory?.retain(kept) });
}

export class JobLogs {
  readonly #deps: JobLogsDeps;

  constructor(deps: JobLogsDeps) {
    this.#deps = deps;
  }

  /** Resolves once every line written so far is durable and told (or dropped). */
  flushed(): Promise<void> {
    return this.#deps.writer.flushed();
  }

  /** Jobs were forgotten: logs kept in memory (no store) drop theirs. */
  forgotten(): void {
    this.#deps.forgotten();
  }

  /** A handler's line: checked (throws `invalid_request`), fenced by attempt, then queued. */
  append(jobId: string, attempt: number, message: unknown, data: unknown): Outcome {
    const checked = checkLogLine(message, data, this.#deps.maxDepth);
    const cell = this.#deps.live(jobId);
    if (!cell || cell.status !== 'running') return { accepted: false, reason: 'job_final' };
    if (cell.attempt !== attempt) return { accepted: false, reason: 'stale_attempt' };
    this.#deps.writer.push({
      jobId,
      attempt,
      at: this.#deps.clock.now(),
      message: message as string,
      data: checked,
    });
    return { accepted: true };
  }

  /** A page of the job's lines; with every line written before this call (a finished job's last). */
  async read(jobId: string, query: LogQuery = {}): Promise<LogPage> {
    const q = await this.#check(jobId, query);
    await this.#deps.writer.flushed();
    const entries = [...(await this.#deps.store.read(jobId, q))];
    return { entries, next: entries.length === q.limit ? entries.at(-1)!.id : null };
  }

  /** Follows a job's log (see the file comment); `job_not_found` for an unknown job. */
  async follow(jobId: string, follow: FollowLogs): Promise<Unsubscribe> {
    const { after } = await this.#check(jobId, { after: follow.after ?? 0 });
    const { writer, store, clock, pollMs } = this.#deps;
    let last = after;
    let live = false;
    let stopped = false;
    const buffered: JobLogEntry[] = [];
    const deliver = (entry: JobLogEntry) => {
      if (stopped || entry.id <= last) return;
      last = entry.id;
      follow.onEntry(entry);
    };
    // Reads of the store from the last line told, one after the other.
    let reading = Promise.resolve();
    const catchUp = () =>
      (reading = reading.then(async () => {
        for (;;) {
          const page = await store.read(jobId, { after: last, limit: 1_000 });
          page.forEach(deliver);
          if (page.length < 1_000 || stopped) return;
        }
      }));
    const stopLines = writer.subscribe(jobId, (entry) => (live ? deliver(entry) : buffered.push(entry)));
    let ended = false;
    let replayed!: () => void;
    const caughtUp = new Promise<void>((resolve) => (replayed = resolve));
    const end = (job: JobView) => {
      if (ended || !isTerminal(job.status)) return;
      ended = true;
      // Its handler wrote its lines before its end: once the writer is idle, all are told. With a
      // shared store, another node may have written them: one more poll's wait, then a last read.
      const settled = async () => {
        await Promise.all([writer.flushed(), caughtUp]);
        if (pollMs !== undefined)
          await new Promise<void>((resolve) => clock.setTimeout(() => resolve(), pollMs));
        if (pollMs !== undefined) await catchUp();
      };
      settled().then(
        () => !stopped && follow.onEnd?.(job),
        (error: unknown) => this.#deps.report(error),
      );
    };
    const stopChanges = this.#deps.changes(jobId, end);
    // With a store several nodes share, lines written elsewhere are read at each poll.
    let timer: unknown;
    const poll = () => {
      timer = clock.setTimeout(() => {
        catchUp().then(
          () => !stopped && !ended && poll(),
          (error: unknown) => this.#deps.report(error),
        );
      }, pollMs!);
    };
    const stop = () => {
      stopped = true;
      clock.clearTimeout(timer);
      stopLines();
      stopChanges();
    };
    try {
      await catchUp();
    } catch (error) {
      stop();
      throw error;
    }
    live = true;
    buffered.splice(0).forEach(deliver);
    replayed();
    if (pollMs !== undefined) poll();
    const job = await this.#deps.find(jobId);
    if (job) end(job);
    return stop;
  }

  async #check(jobId: string, query: LogQuery) {
    parseOrThrow(jobIdSchema, jobId, 'invalid_request', 'Invalid job id');
    const q = parseOrThrow(logQuerySchema, query, 'invalid_request', 'Invalid log query');
    if (!(await this.#deps.find(jobId))) throw new JobvisorError('job_not_found', `No job has id "${jobId}"`);
    return q;
  }
}
