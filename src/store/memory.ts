/**
 * The in-memory store: the library default. Nothing survives the process, but it speaks the same
 * port as the durable stores, so the supervisor and the conformance suite treat them alike.
 */
import { JobvisorError } from '../common/errors.js';
import type {
  ChangeDraft,
  JobRecord,
  JobStore,
  ListQuery,
  Page,
  StoredChange,
  StoreSnapshot,
} from './port.js';
import { MemoryLogs } from './memory-logs.js';
import { MemorySchedules } from './memory-schedules.js';
import { BatchKeys, byFinished, isLive, matchesQuery, recordsAfterCursor } from './query.js';

export function memoryStore(): JobStore {
  return new MemoryStore();
}

class MemoryStore implements JobStore {
  readonly name = 'memory';
  readonly #jobs = new Map<string, JobRecord>();
  readonly #liveKeys = new Map<string, string>();
  /** Pauses in force: type names, and `*` for all. */
  readonly #paused = new Set<string>();
  readonly schedules = new MemorySchedules();
  readonly logs = new MemoryLogs();
  #log: StoredChange[] = [];
  #lastOffset = 0;

  async open(options: { recentLimit: number }): Promise<StoreSnapshot> {
    const all = [...this.#jobs.values()];
    const active = all.filter(isLive).sort((a, b) => a.offset - b.offset);
    const finished = all.filter((r) => !isLive(r)).sort(byFinished);
    return {
      lastOffset: this.#lastOffset,
      active,
      recent: options.recentLimit > 0 ? finished.slice(-options.recentLimit) : [],
    };
  }

  async commit(batch: readonly ChangeDraft[]): Promise<number> {
    const first = this.#lastOffset + 1;
    // Validate the whole batch first: it applies entirely or not at all.
    const seqs = new Map<string, number>();
    const keys = new BatchKeys((key) => this.#liveKeys.get(key) ?? null);
    for (const change of batch) {
      const { jobId } = change;
      const stored = seqs.get(jobId) ?? this.#jobs.get(jobId)?.seq ?? 0;
      if (change.seq !== stored + 1)
        throw conflict(jobId, `Job ${jobId} is at seq ${stored}, not ${change.seq - 1}`);
      const holder = keys.step(change);
      if (holder !== null) throw conflict(jobId, `Key "${change.record.key}" is held by live job ${holder}`);
      seqs.set(jobId, change.seq);
    }
    let offset = first;
    for (const change of batch) {
      const record: JobRecord = { ...change.record, offset };
      this.#jobs.set(change.jobId, record);
      this.#log.push({
        offset,
        jobId: change.jobId,
        seq: change.seq,
        kind: change.kind,
        at: change.at,
        record,
      });
      offset++;
    }
    this.#lastOffset = offset - 1;
    for (const [key, id] of keys.held) {
      if (id === null) this.#liveKeys.delete(key);
      else this.#liveKeys.set(key, id);
    }
    return first;
  }

  async get(id: string): Promise<JobRecord | undefined> {
    return this.#jobs.get(id);
  }

  async list(query: ListQuery): Promise<Page<JobRecord>> {
    return recordsAfterCursor(
      [...this.#jobs.values()].filter((r) => matchesQuery(r, query)),
      query,
    );
  }

  async changesSince(after: number, limit: number): Promise<readonly StoredChange[]> {
    // The log is in offset order, with holes where removed jobs' changes were: binary search.
    let lo = 0;
    let hi = this.#log.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.#log[mid]!.offset <= after) lo = mid + 1;
      else hi = mid;
    }
    return this.#log.slice(lo, lo + limit);
  }

  async changesOf(jobId: string, after: number, limit: number): Promise<readonly StoredChange[]> {
    const out: StoredChange[] = [];
    for (const change of this.#log) {
      if (out.length >= limit) break;
      if (change.jobId === jobId && change.offset > after) out.push(change);
    }
    return out;
  }

  async firstOffset(): Promise<number> {
    return this.#log[0]?.offset ?? this.#lastOffset + 1;
  }

  async expire(policy: { before: number; maxCount: number }): Promise<number> {
    const finished = [...this.#jobs.values()].filter((r) => !isLive(r)).sort(byFinished);
    const excess = Math.max(0, finished.length - policy.maxCount);
    const removed = new Set<string>();
    for (const [i, record] of finished.entries()) {
      if (i >= excess && (record.finishedAt ?? 0) >= policy.before) break;
      this.#jobs.delete(record.id);
      removed.add(record.id);
    }
    // The log keeps no change of a removed job, and nothing older than `before`.
    const keepFrom = this.#log.findIndex((c) => c.at >= policy.before);
    const kept = keepFrom < 0 ? [] : this.#log.slice(keepFrom);
    this.#log = removed.size === 0 ? kept : kept.filter((c) => !removed.has(c.jobId));
    this.logs.forget(removed);
    return removed.size;
  }

  async remove(ids: readonly string[]): Promise<number> {
    const removed = new Set<string>();
    for (const id of ids) {
      const record = this.#jobs.get(id);
      if (!record || isLive(record)) continue;
      this.#jobs.delete(id);
      removed.add(id);
    }
    if (removed.size > 0) this.#log = this.#log.filter((c) => !removed.has(c.jobId));
    this.logs.forget(removed);
    return removed.size;
  }

  async paused(): Promise<readonly string[]> {
    return [...this.#paused].sort();
  }

  async setPaused(scope: string, paused: boolean): Promise<void> {
    if (paused) this.#paused.add(scope);
    else this.#paused.delete(scope);
  }

  async close(): Promise<void> {}
}

function conflict(jobId: string, message: string): JobvisorError {
  return new JobvisorError('store_conflict', message, { jobId });
}
