/**
 * The bar over the jobs table while rows are ticked: how many, and the bulk actions on them (one
 * request for all: POST /bulk/cancel). The answer's counts are shown under it; an error in the
 * page's notice.
 */
import { JobvisorClientError, type JobvisorClient } from '../../src/client/index.js';
import { byId, setText } from './dom.js';

export class BulkBar {
  readonly #bar = byId('bulk-bar', HTMLElement);
  readonly #count = byId('bulk-count', HTMLElement);
  readonly #cancel = byId('bulk-cancel', HTMLButtonElement);
  readonly #result = byId('bulk-result', HTMLElement);
  #ids: readonly string[] = [];

  constructor(
    private readonly client: () => JobvisorClient | null,
    private readonly notice: HTMLElement,
    private readonly clear: () => void,
  ) {
    this.#cancel.addEventListener('click', () => void this.#cancelSelected());
    byId('bulk-clear', HTMLButtonElement).addEventListener('click', () => this.clear());
  }

  show(ids: readonly string[]): void {
    this.#ids = ids;
    this.#bar.hidden = ids.length === 0;
    setText(this.#count, `${ids.length} selected`);
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
