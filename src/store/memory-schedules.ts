/**
 * Schedules in memory: the memory store's, and the supervisor's own when its store keeps none
 * (they do not outlive the process then).
 */
import type { ScheduleSpec } from '../common/repeatable.js';
import type { ScheduleRecord, ScheduleStore } from './port.js';

export class MemorySchedules implements ScheduleStore {
  readonly #records = new Map<string, ScheduleRecord>();

  async list(): Promise<readonly ScheduleRecord[]> {
    return [...this.#records.values()].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  }

  async put(name: string, spec: ScheduleSpec): Promise<void> {
    const old = this.#records.get(name);
    const empty = { lastAt: null, lastJobId: null, takenAt: null, started: true };
    this.#records.set(name, { ...(old ?? empty), name, spec });
  }

  async remove(name: string): Promise<boolean> {
    return this.#records.delete(name);
  }

  async take(name: string, at: number, jobId: string | null, takenAt: number): Promise<boolean> {
    const old = this.#records.get(name);
    if (!old || !old.started || (old.lastAt !== null && old.lastAt >= at)) return false;
    this.#records.set(name, { ...old, lastAt: at, lastJobId: jobId, takenAt, started: jobId === null });
    return true;
  }

  async started(name: string, at: number, jobId: string): Promise<void> {
    const old = this.#records.get(name);
    if (old && old.lastAt === at) this.#records.set(name, { ...old, lastJobId: jobId, started: true });
  }
}
