/**
 * The bar over the jobs table while rows are ticked: how many, and the bulk actions on them (one
 * request for all: POST /bulk/cancel, POST /bulk/remove). The answer's counts are shown under it; an error in the
 * page's notice.
 */
import { JobvisorClientError, type JobvisorClient } from '../../src/client/index.js';
import { byId, setText } from './dom.js';

export class BulkBar {
  readonly #bar = byId('bulk-bar', HTMLElement);
  readonly #count = byId('bulk-count', HTMLElement);
  readonly #cancel = byId('bulk-cancel', HTMLButtonElement);
  readonly #remove = byId('bulk-remove', HTMLButtonElement);
  readonly #result = byId('bulk-result', HTMLElement);
  #ids: readonly string[] = [];

  constructor(
    private readonly client: () => JobvisorClient | null,
    private readonly notice: HTMLElement,
    private readonly clear: () => void,
    /** Jobs removed: the live view forgets them (a removal is no change of the stream). */
    private readonly removed: (ids: readonly string[]) => void,
  ) {
    this.#cancel.addEventListener('click', () => void this.#cancelSelected());
    this.#remove.addEventListener('click', () => void this.#removeSelected());
    byId('bulk-clear', HTMLButtonElement).addEventListener('click', () => this.clear());
  }

  show(ids: readonly string[]): void {
    this.#ids = ids;
    this.#bar.hidden = ids.length === 0;
    setText(this.#count, `${ids.length} selected`);
  }

  /** Removes the ticked finished jobs with their history (live ones are left: counted). */
  async #removeSelected(): Promise<void> {
    const client = this.client();
    const ids = this.#ids;
    if (client === null || ids.length === 0) return;
    this.#remove.disabled = true;
    setText(this.#result, '');
    setText(this.notice, '');
    try {
      const answer = await client.removeMany({ ids: [...ids] });
      const skipped = answer.live + answer.notFound;
      setText(
        this.#result,
        `Removed ${answer.removed} of ${answer.matched} selected jobs` +
          (skipped > 0 ? ` (${answer.live} still pending or running, ${answer.notFound} gone)` : ''),
      );
      this.clear();
      this.removed(answer.jobIds);
    } catch (error) {
      const text = error instanceof JobvisorClientError ? `${error.code}: ${error.message}` : String(error);
      setText(this.notice, `Could not remove the selected jobs: ${text}`);
    } finally {
      this.#remove.disabled = false;
    }
  }

  async #cancelSelected(): Promise<void> {
    const client = this.client();
    const ids = this.#ids;
    if (client === null || ids.length === 0) return;
    this.#cancel.disabled = true;
    setText(this.#result, '');
    setText(this.notice, '');
    try {
      const answer = await client.cancelMany({ ids: [...ids], reason: 'cancelled from the dashboard' });
      const skipped = answer.unchanged + answer.notFound;
      setText(
        this.#result,
        `Cancelled ${answer.cancelled} of ${answer.matched} selected jobs` +
          (skipped > 0 ? ` (${skipped} had already finished or gone)` : ''),
      );
      this.clear();
    } catch (error) {
      const text = error instanceof JobvisorClientError ? `${error.code}: ${error.message}` : String(error);
      setText(this.notice, `Could not cancel the selected jobs: ${text}`);
    } finally {
      this.#cancel.disabled = false;
    }
  }
}
