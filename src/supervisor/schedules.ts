/**
 * Repeatable jobs: named schedules (a cron pattern or an interval) whose occurrences start jobs.
 * Kept in the store (`JobStore.schedules`; in memory without one), shared by a cluster's nodes.
 *
 * Each occurrence starts at most once, across restarts and nodes: it is first *taken* in the store
 * (a compare-and-set on the schedule's latest occurrence: one taker wins), then its job is created
 * with an id derived from the schedule's name and the occurrence's time, then marked started. An
 * occurrence taken whose job is not known to be durable (its taker died in between) is created
 * later by whoever reads it — at once after a restart, after `ORPHAN_MS` from another node — with
 * the same id, which the store refuses to create twice.
 *
 * Missed occurrences (their time passed while no supervisor ran, or more than `LATE_MS` ago): with
 * `missed: 'latest'` (default) the latest of them runs once, the others are skipped; with `'skip'`
 * none runs, and the schedule goes on from the next one.
 */
import stringify from 'safe-stable-stringify';
import { JobvisorError } from '../common/errors.js';
import type { Clock } from '../common/clock.js';
import {
  scheduleNameSchema,
  scheduleOptionsSchema,
  type ScheduleOptions,
  type ScheduleSpec,
  type ScheduleView,
} from '../common/repeatable.js';
import type { StartResult } from '../common/types.js';
import { parseOrThrow } from '../common/validation.js';
import type { ScheduleRecord, ScheduleStore } from '../store/port.js';
import { checkOccurrences, occurrenceId, occurrencesOf, type Occurrences } from './occurrences.js';

/** An occurrence found later than this after its time counts as missed. */
export const LATE_MS = 60_000;
/** An occurrence another node took and did not start within this is created by whoever sees it. */
export const ORPHAN_MS = 30_000;

export interface SchedulesDeps {
  readonly store: ScheduleStore;
  readonly clock: Clock;
  /** Starts an occurrence's job (validated as a start); answers once it is durable. */
  readonly start: (spec: ScheduleSpec, id: string) => Promise<StartResult>;
  /** Whether a job with this id exists (here or in the store). */
  readonly exists: (id: string) => Promise<boolean>;
  /** Whether this supervisor runs the type (a schedule of a type it does not know is left to others). */
  readonly known: (type: string) => boolean;
  /** Checks a schedule's input as a start of its type would (throws its coded error). */
  readonly checkInput: (type: string, input: unknown) => void;
  readonly report: (error: unknown) => void;
}

/** After a tick that failed (the store unreachable…), the next one waits this long at least. */
const RETRY_MS = 1_000;

/** Errors after which an occurrence is tried again (the next tick); any other one gives it up. */
const TRANSIENT = new Set(['store_unavailable', 'store_locked', 'shutting_down']);

export class Schedules {
  readonly #deps: SchedulesDeps;
  #records = new Map<string, ScheduleRecord>();
  readonly #occurrences = new Map<string, { readonly spec: ScheduleSpec; readonly of: Occurrences }>();
  #timer: unknown;
  /** The ticks, one after the other. */
  #task: Promise<void> = Promise.resolve();
  /** When this supervisor began to run schedules: an occurrence before it was missed. */
  #since: number | undefined;
  #stopped = false;
  /** A tick waits in `#task` (not begun): another kick adds nothing. */
  #queued = false;
  /** Occurrences' jobs this supervisor took and has not yet made: tried again at once, not as orphans. */
  readonly #mine = new Set<string>();

  constructor(deps: SchedulesDeps) {
    this.#deps = deps;
  }

  /** Reads the store's schedules (at recovery, at each claim interval in a cluster) and runs what is due. */
  async refresh(): Promise<void> {
    if (this.#stopped) return;
    this.#since ??= this.#deps.clock.now();
    const records = await this.#deps.store.list();
    this.#records = new Map(records.map((r) => [r.name, r]));
    this.kick();
  }

  /** The schedules, by name, each with its next occurrence. */
  async list(): Promise<ScheduleView[]> {
    await this.refresh();
    return [...this.#records.values()].map((r) => this.#view(r));
  }

  /**
   * Creates (or replaces the definition of) schedule `name`; answers it once durable. The same
   * definition again (a process that sets its schedules at each start) changes nothing.
   */
  async set(name: string, options: ScheduleOptions): Promise<ScheduleView> {
    parseOrThrow(scheduleNameSchema, name, 'invalid_request', 'Invalid schedule name');
    const o = parseOrThrow(scheduleOptionsSchema, options, 'invalid_request', 'Invalid schedule');
    if (!this.#deps.known(o.type))
      throw new JobvisorError('unknown_job_type', `No handler is registered for job type "${o.type}"`);
    this.#deps.checkInput(o.type, o.input);
    const now = this.#deps.clock.now();
    const spec: ScheduleSpec = {
      type: o.type,
      input: o.input ?? null,
      cron: o.cron ?? null,
      everyMs: o.everyMs ?? null,
      timezone: o.timezone ?? null,
      key: o.key ?? null,
      priority: o.priority ?? 0,
      missed: o.missed ?? 'latest',
      anchor: now,
    };
    checkOccurrences(spec, now);
    await this.refresh();
    const old = this.#records.get(name);
    const same = old && sameDefinition(old.spec, spec);
    if (!same) {
      await this.#deps.store.put(name, spec);
      const empty = { lastAt: null, lastJobId: null, takenAt: null, started: true };
      this.#records.set(name, { ...(old ?? empty), name, spec });
      this.#occurrences.delete(name);
      this.kick();
    }
    return this.#view(this.#records.get(name)!);
  }

  /** Removes schedule `name` (`schedule_not_found` when there is none); its jobs stay. */
  async remove(name: string): Promise<ScheduleView> {
    parseOrThrow(scheduleNameSchema, name, 'invalid_request', 'Invalid schedule name');
    await this.refresh();
    const record = this.#records.get(name);
    if (!record || !(await this.#deps.store.remove(name)))
      throw new JobvisorError('schedule_not_found', `No schedule is named "${name}"`);
    this.#records.delete(name);
    this.#occurrences.delete(name);
    this.kick();
    return this.#view(record);
  }

  /** Runs what is due now, after the ticks before it, and arms the timer for what comes next. */
  kick(): void {
    if (this.#stopped || this.#queued) return; // the tick queued will see what this one would
    this.#queued = true;
    this.#task = this.#task
      .then(() => {
        this.#queued = false;
        return this.#tick();
      })
      .catch((error: unknown) => this.#deps.report(error));
  }

  /** Stops the timer and waits for the tick in progress. */
  async stop(): Promise<void> {
    this.#stopped = true;
    this.#deps.clock.clearTimeout(this.#timer);
    await this.#task;
  }

  #of(record: ScheduleRecord): Occurrences {
    const cached = this.#occurrences.get(record.name);
    if (cached?.spec === record.spec) return cached.of;
    const of = occurrencesOf(record.spec);
    this.#occurrences.set(record.name, { spec: record.spec, of });
    return of;
  }

  #view(record: ScheduleRecord): ScheduleView {
    const { name, spec, lastAt, lastJobId } = record;
    const from = Math.max(lastAt ?? -Infinity, spec.anchor, this.#deps.clock.now());
    return { name, ...spec, lastAt, lastJobId, nextAt: this.#of(record).next(from) };
  }

  async #tick(): Promise<void> {
    this.#deps.clock.clearTimeout(this.#timer);
    if (this.#since === undefined) return; // not recovered yet: `refresh` kicks again
    let failed = false;
    for (const record of [...this.#records.values()]) {
      if (this.#stopped) return;
      if (!this.#deps.known(record.spec.type)) continue;
      try {
        await this.#orphan(record);
        await this.#due(record);
      } catch (error) {
        failed = true;
        this.#deps.report(error);
      }
    }
    this.#arm(failed);
  }

  /** An occurrence taken whose job may never have been created: create it (the same id). */
  async #orphan(record: ScheduleRecord): Promise<void> {
    const { lastAt, lastJobId, takenAt, started } = record;
    if (started || lastAt === null || lastJobId === null) return;
    const now = this.#deps.clock.now();
    const another = !this.#mine.has(lastJobId) && takenAt !== null && takenAt >= this.#since!;
    if (another && now - takenAt < ORPHAN_MS) return; // its taker may be creating it now
    if (!(await this.#deps.exists(lastJobId))) await this.#create(record, lastAt, lastJobId);
    else await this.#started(record.name, lastAt, lastJobId);
  }

  /** The latest occurrence due and not taken: taken here, then started (or skipped, as missed). */
  async #due(record: ScheduleRecord): Promise<void> {
    const { name, spec } = record;
    // The occurrence before waits for its job: the next one is taken once that one is started.
    if (!(this.#records.get(name)?.started ?? true)) return;
    const now = this.#deps.clock.now();
    const at = this.#of(record).latest(now);
    if (at === null || at <= (record.lastAt ?? -Infinity)) return;
    const missed = at < this.#since! || now - at > LATE_MS;
    const id = missed && spec.missed === 'skip' ? null : occurrenceId(name, at);
    const taken = await this.#deps.store.take(name, at, id, now);
    if (!taken) return this.#reread(name); // another taker had it, or the one before is not started
    const current = this.#records.get(name);
    if (current && (current.lastAt ?? -Infinity) < at)
      this.#records.set(name, { ...current, lastAt: at, lastJobId: id, takenAt: now, started: id === null });
    // Taken: its job is made, even if the schedule was changed or removed meanwhile (it was due).
    if (id === null) return;
    this.#mine.add(id);
    await this.#create(record, at, id);
  }

  /** What the store says of one schedule now (another taker moved it). */
  async #reread(name: string): Promise<void> {
    const found = (await this.#deps.store.list()).find((r) => r.name === name);
    if (found) this.#records.set(name, found);
    else this.#records.delete(name);
  }

  /** Creates the occurrence's job, then marks it started; a transient error throws (tried again). */
  async #create(record: ScheduleRecord, at: number, id: string): Promise<void> {
    let jobId = id;
    try {
      // With a key, the occurrence may join the job holding it: the schedule names that one.
      jobId = (await this.#deps.start(record.spec, id)).job.id;
    } catch (error) {
      // Created meanwhile by another node (its creation is refused here): started all the same.
      if (!(await this.#deps.exists(id).catch(() => false))) {
        // Tried again after RETRY_MS; any other error (its input no longer valid…) gives it up.
        if (error instanceof JobvisorError && TRANSIENT.has(error.code)) throw error;
        this.#deps.report(error);
      }
    }
    await this.#started(record.name, at, jobId);
    this.#mine.delete(id);
  }

  async #started(name: string, at: number, jobId: string): Promise<void> {
    await this.#deps.store.started(name, at, jobId);
    const current = this.#records.get(name);
    if (current?.lastAt === at) this.#records.set(name, { ...current, lastJobId: jobId, started: true });
  }

  /**
   * The timer for the earliest next occurrence (or orphan check) of the types this supervisor
   * runs; one already due runs in the next tick at once (after `RETRY_MS` when this tick failed).
   */
  #arm(failed: boolean): void {
    if (this.#stopped) return;
    const now = this.#deps.clock.now();
    let due = Infinity;
    for (const record of this.#records.values()) {
      if (!this.#deps.known(record.spec.type)) continue;
      const of = this.#of(record);
      // One came while this tick ran (or before the timer was armed): due now — unless the one
      // before waits for its job (then at its orphan time, or at the next refresh).
      const latest = of.latest(now);
      if (record.started && latest !== null && latest > (record.lastAt ?? -Infinity)) due = now;
      const from = Math.max(record.lastAt ?? -Infinity, record.spec.anchor, now);
      due = Math.min(due, of.next(from) ?? Infinity);
      if (!record.started && record.takenAt !== null) due = Math.min(due, record.takenAt + ORPHAN_MS);
    }
    if (due === Infinity) return;
    if (due <= now && !failed) return this.kick();
    const wait = Math.max(due - now, failed ? RETRY_MS : 0);
    this.#timer = this.#deps.clock.setTimeout(() => this.kick(), wait);
  }
}

/** Two definitions that differ only in their anchor are the same schedule (keys in any order). */
function sameDefinition(a: ScheduleSpec, b: ScheduleSpec): boolean {
  return stringify({ ...a, anchor: 0 }) === stringify({ ...b, anchor: 0 });
}
