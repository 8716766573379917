/**
 * The bar over the jobs table while rows are ticked: how many, and the bulk actions on them — each
 * one request for all (POST /bulk/cancel, /bulk/retry, /bulk/remove). The answer's counts are shown
 * under it; an error in the page's notice.
 */
import { JobvisorClientError, type JobvisorClient } from '../../src/client/index.js';
import { byId, setText } from './dom.js';

/** A bulk answer's line: what was done, of how many, and the notes that are not zero. */
function summary(done: string, matched: number, notes: readonly (readonly [number, string])[]): string {
  const shown = notes.filter(([n]) => n > 0).map(([n, text]) => `${n} ${text}`);
  return `${done} of ${matched} selected jobs${shown.length > 0 ? ` (${shown.join(', ')})` : ''}`;
}

export class BulkBar {
  readonly #bar = byId('bulk-bar', HTMLElement);
  readonly #count = byId('bulk-count', HTMLElement);
  readonly #result = byId('bulk-result', HTMLElement);
  #ids: readonly string[] = [];

  constructor(
    private readonly client: () => JobvisorClient | null,
    private readonly notice: HTMLElement,
    private readonly clear: () => void,
    /** Jobs removed: the live view forgets them (a removal is no change of the stream). */
    private readonly removed: (ids: readonly string[]) => void,
  ) {
    this.#action('bulk-cancel', 'cancel', async (c, ids) => {
      const a = await c.cancelMany({ ids, reason: 'cancelled from the dashboard' });
      return summary(`Cancelled ${a.cancelled}`, a.matched, [
        [a.unchanged + a.notFound, 'had already finished or gone'],
      ]);
    });
    this.#action('bulk-retry', 'retry', async (c, ids) => {
      const a = await c.retryMany({ ids });
      return summary(`Retried ${a.retried}`, a.matched, [
        [a.notRetryable, 'not failed or cancelled'],
        [a.keyHeld, 'whose key another job holds'],
        [a.notFound, 'gone'],
      ]);
    });
    this.#action('bulk-remove', 'remove', async (c, ids) => {
      const a = await c.removeMany({ ids });
      this.removed(a.jobIds);
      return summary(`Removed ${a.removed}`, a.matched, [
        [a.live, 'still pending or running'],
        [a.notFound, 'gone'],
      ]);
    });
    byId('bulk-clear', HTMLButtonElement).addEventListener('click', () => this.clear());
  }

  show(ids: readonly string[]): void {
    this.#ids = ids;
    this.#bar.hidden = ids.length === 0;
    setText(this.#count, `${ids.length} selected`);
  }

  /** The button `id` runs `run` on the ticked jobs and shows its summary; the selection is cleared. */
  #action(id: string, verb: string, run: (client: JobvisorClient, ids: string[]) => Promise<string>): void {
    const button = byId(id, HTMLButtonElement);
    button.addEventListener('click', () => {
      const client = this.client();
      const ids = [...this.#ids];
      if (client === null || ids.length === 0) return;
      button.disabled = true;
      setText(this.#result, '');
      setText(this.notice, '');
      void run(client, ids)
        .then((text) => {
          setText(this.#result, text);
          this.clear();
        })
        .catch((error: unknown) => {
          const text =
            error instanceof JobvisorClientError ? `${error.code}: ${error.message}` : String(error);
          setText(this.notice, `Could not ${verb} the selected jobs: ${text}`);
        })
        .finally(() => (button.disabled = false));
    });
  }
}
