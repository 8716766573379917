/** Helpers shared by the store adapters that filter and page in JavaScript. */
import { JobvisorError } from '../common/errors.js';
import type { JobRecord, ListQuery, Page } from './port.js';

export function isLive(record: Pick<JobRecord, 'status'>): boolean {
  return record.status === 'pending' || record.status === 'running';
}

/**
 * Who holds each key as a batch goes, a change at a time: a new job's key must be free at its
 * place in the batch (a holder that finishes later in the same batch still holds it then). Keys the
 * batch has not touched yet are read with `lookup`; `held` is every touched key's holder after it
 * (null: freed).
 */
export class BatchKeys {
  readonly held = new Map<string, string | null>();
  readonly #lookup: (key: string) => string | null;

  constructor(lookup: (key: string) => string | null) {
    this.#lookup = lookup;
  }

  /** Takes the next change of the batch; answers the live job that holds a new job's key, or null. */
  step(change: {
    readonly jobId: string;
    readonly seq: number;
    readonly record: Pick<JobRecord, 'key' | 'status'>;
  }): string | null {
    const { jobId, record } = change;
    const { key } = record;
    if (key === null) return null;
    const holder = this.held.has(key) ? this.held.get(key)! : this.#lookup(key);
    if (change.seq === 1 && holder !== null && holder !== jobId) return holder;
    if (isLive(record)) this.held.set(key, jobId);
    else if (holder === jobId) this.held.set(key, null);
    return null;
  }
}

export function matchesQuery(record: JobRecord, query: ListQuery): boolean {
  if (query.status && !query.status.includes(record.status)) return false;
  if (query.type !== undefined && record.type !== query.type) return false;
  if (query.key !== undefined && record.key !== query.key) return false;
  return true;
}

function compareIds(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Finished jobs oldest first; ties broken by id so every adapter expires and keeps the same ones. */
export function byFinished(a: JobRecord, b: JobRecord): number {
  return (a.finishedAt ?? 0) - (b.finishedAt ?? 0) || compareIds(a.id, b.id);
}

/** Cursor: `createdAt:id` of the last item of the previous page; pages are ordered by (createdAt, id). */
export function encodeCursor(record: Pick<JobRecord, 'createdAt' | 'id'>): string {
  return `${record.createdAt}:${record.id}`;
}

/** Reads a cursor; a malformed one is a coded `invalid_request`, never a silent first page. */
export function decodeCursor(cursor: string): { createdAt: number; id: string } {
  const at = cursor.indexOf(':');
  const head = cursor.slice(0, at);
  const createdAt = Number(head);
  // Number() also reads " ", "0x1f" and "1e3": accept only what encodeCursor writes.
  if (at <= 0 || !/^-?\d+(\.\d+)?$/.test(head) || !Number.isFinite(createdAt) || at === cursor.length - 1) {
    throw new JobvisorError('invalid_request', `Invalid list cursor "${cursor}"`);
  }
  return { createdAt, id: cursor.slice(at + 1) };
}

export function recordsAfterCursor(records: JobRecord[], query: ListQuery): Page<JobRecord> {
  const sorted = records.sort((a, b) => a.createdAt - b.createdAt || compareIds(a.id, b.id));
  const cursor = query.after === undefined ? undefined : decodeCursor(query.after);
  const start = cursor
    ? sorted.findIndex(
        (r) => r.createdAt > cursor.createdAt || (r.createdAt === cursor.createdAt && r.id > cursor.id),
      )
    : 0;
  const items = start < 0 ? [] : sorted.slice(start, start + query.limit);
  const last = items.at(-1);
  const more = start >= 0 && start + query.limit < sorted.length;
  return { items, next: more && last ? encodeCursor(last) : null };
}
