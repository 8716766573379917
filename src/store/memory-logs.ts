/**
 * Jobs' logs in memory: the memory store's, and the supervisor's own when its store keeps none.
 * At most `keep` lines per job; `forget` drops a removed or expired job's lines.
 */
import type { JobLogEntry } from '../common/types.js';
import type { LogLineDraft, LogStore } from './port.js';

export class MemoryLogs implements LogStore {
  readonly #lines = new Map<string, JobLogEntry[]>();
  #last = 0;

  async append(lines: readonly LogLineDraft[], keep: number): Promise<readonly number[]> {
    return lines.map((line) => {
      const entry = { ...line, id: ++this.#last };
      const own = this.#lines.get(line.jobId) ?? [];
      own.push(entry);
      if (own.length > keep) own.splice(0, own.length - keep);
      this.#lines.set(line.jobId, own);
      return entry.id;
    });
  }

  async read(
    jobId: string,
    query: { readonly after: number; readonly limit: number; readonly attempt?: number },
  ): Promise<readonly JobLogEntry[]> {
    const { after, limit, attempt } = query;
    const own = this.#lines.get(jobId) ?? [];
    return own
      .filter((e) => e.id > after && (attempt === undefined || e.attempt === attempt))
      .slice(0, limit);
  }

  /** Keeps only the lines of the jobs `keep` names. */
  retain(keep: (jobId: string) => boolean): void {
    for (const jobId of [...this.#lines.keys()]) if (!keep(jobId)) this.#lines.delete(jobId);
  }

  /** Drops the lines of jobs that are gone. */
  forget(jobIds: Iterable<string>): void {
    for (const id of jobIds) this.#lines.delete(id);
  }
}
