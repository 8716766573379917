/**
 * The in-memory store: the library default. Nothing survives the process, but it speaks the same
 * port as the durable stores, so the supervisor and the conformance suite treat them alike.
 */
import { JobvisorError } from '../errors.js';
import type { JobRecord, JobStore, ListQuery, Page, StoredChange, StoreSnapshot } from './port.js';
import { byFinished, isLive, matchesQuery, recordsAfterCursor } from './query.js';

export function memoryStore(): JobStore {
  return new MemoryStore();
}

class MemoryStore implements JobStore {
  readonly name = 'memory';
  readonly #jobs = new Map<string, JobRecord>();
  readonly #liveKeys = new Map<string, string>();
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

  async commit(batch: readonly StoredChange[]): Promise<void> {
    // Validate the whole batch first: it applies entirely or not at all.
    const seqs = new Map<string, number>();
    // Who holds each key the batch touches (null: freed); other keys are read from #liveKeys.
    const keys = new Map<string, string | null>();
    const holderOf = (key: string) => (keys.has(key) ? keys.get(key)! : (this.#liveKeys.get(key) ?? null));
    let expected = this.#lastOffset + 1;
    for (const change of batch) {
      // Offsets continue the log without gaps: a writer with a stale view of the log is refused.
      if (change.offset !== expected) {
        throw new JobvisorError(
          'store_conflict',
          `Change offset ${change.offset} does not follow the log (expected ${expected})`,
        );
      }
      expected++;
      const stored = seqs.get(change.jobId) ?? this.#jobs.get(change.jobId)?.seq ?? 0;
      if (change.seq !== stored + 1) {
        throw new JobvisorError(
          'store_conflict',
          `Job ${change.jobId} is at seq ${stored}, not ${change.seq - 1}`,
        );
      }
      const { key } = change.record;
      if (key !== null) {
        const holder = holderOf(key);
        if (change.seq === 1 && holder !== null && holder !== change.jobId) {
          throw new JobvisorError('store_conflict', `Key "${key}" is held by live job ${holder}`);
        }
        if (isLive(change.record)) keys.set(key, change.jobId);
        else if (holder === change.jobId) keys.set(key, null);
      }
      seqs.set(change.jobId, change.seq);
    }
    for (const change of batch) {
      this.#jobs.set(change.jobId, change.record);
      this.#log.push(change);
      this.#lastOffset = change.offset;
    }
    for (const [key, id] of keys) {
      if (id === null) this.#liveKeys.delete(key);
      else this.#liveKeys.set(key, id);
    }
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
    const first = this.#log[0]?.offset ?? this.#lastOffset + 1;
    const start = Math.max(0, after + 1 - first);
    return this.#log.slice(start, start + limit);
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
    let removed = 0;
    for (const [i, record] of finished.entries()) {
      if (i >= excess && (record.finishedAt ?? 0) >= policy.before) break;
      this.#jobs.delete(record.id);
      removed++;
    }
    const keepFrom = this.#log.findIndex((c) => c.at >= policy.before);
    this.#log = keepFrom < 0 ? [] : this.#log.slice(keepFrom);
    return removed;
  }

  async close(): Promise<void> {}
}
