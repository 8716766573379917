/**
 * Cursor paging through the jobs the table matches, newest first, 100 a page. The first page follows
 * the live store (new jobs appear on top); an older page is anchored at its first job (its creation
 * time and id), so jobs arriving meanwhile do not shift it. Newer goes back the way it came.
 */
import type { WireJob } from '../../src/client/index.js';
import { byId, setText } from './dom.js';
import { byNewest } from './jobs.js';

export const PAGE_SIZE = 100;

type Cursor = Pick<WireJob, 'createdAt' | 'id'>;

export class Pager {
  readonly #newer = byId('page-newer', HTMLButtonElement);
  readonly #older = byId('page-older', HTMLButtonElement);
  readonly #info = byId('page-info', HTMLElement);
  /** The first job of this page; null: the newest page. */
  #cursor: Cursor | null = null;
  /** The cursors of the pages before this one (Newer pops them). */
  readonly #before: (Cursor | null)[] = [];
  /** The cursor of the page after this one, as last drawn. */
  #next: Cursor | null = null;

  constructor(changed: () => void) {
    this.#older.addEventListener('click', () => {
      if (this.#next === null) return;
      this.#before.push(this.#cursor);
      this.#cursor = this.#next;
      changed();
    });
    this.#newer.addEventListener('click', () => {
      if (this.#before.length === 0) return;
      this.#cursor = this.#before.pop() ?? null;
      changed();
    });
  }

  /** Back to the newest page (the filters changed). */
  reset(): void {
    this.#cursor = null;
    this.#before.length = 0;
  }

  /** The page of `sorted` (newest first) to show, and the controls for it. */
  page(sorted: readonly WireJob[]): WireJob[] {
    const cursor = this.#cursor;
    const found = cursor === null ? 0 : sorted.findIndex((job) => byNewest(job, cursor) >= 0);
    const start = found < 0 ? sorted.length : found;
    const shown = sorted.slice(start, start + PAGE_SIZE);
    this.#next = sorted[start + PAGE_SIZE] ?? null;
    this.#older.disabled = this.#next === null;
    this.#newer.disabled = this.#before.length === 0;
    setText(
      this.#info,
      sorted.length === 0
        ? ''
        : `Jobs ${Math.min(start + 1, sorted.length)}–${start + shown.length} of ${sorted.length.toLocaleString('en')}`,
    );
    return shown;
  }
}
