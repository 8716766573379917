/** A list of rejected events, newest first: the reason, the event and its source, the job, the state. */
import type { WireRejection } from '../../src/client/index.js';
import { h, setText } from './dom.js';
import { shortId, time } from './format.js';

export class RejectionList {
  readonly #list: HTMLUListElement;
  readonly #note: HTMLElement;
  readonly #count: HTMLElement | null;
  readonly #showJob: boolean;
  #shown = '';

  constructor(
    list: HTMLUListElement,
    note: HTMLElement,
    options: { count?: HTMLElement; showJob: boolean; open?: (jobId: string) => void },
  ) {
    this.#list = list;
    this.#note = note;
    this.#count = options.count ?? null;
    this.#showJob = options.showJob;
    const open = options.open;
    if (open) {
      list.addEventListener('click', (event) => {
        const id = (event.target as Element).closest<HTMLElement>('button[data-job-id]')?.dataset.jobId;
        if (id !== undefined) open(id);
      });
    }
  }

  /** `rejections`: oldest first, as the live store keeps them. */
  update(rejections: readonly WireRejection[]): void {
    const key = `${rejections.length}:${rejections.at(-1)?.id ?? ''}`;
    if (key === this.#shown) return;
    this.#shown = key;
    const now = Date.now();
    this.#list.replaceChildren(...[...rejections].reverse().map((r) => this.#item(r, now)));
    if (this.#count) setText(this.#count, String(rejections.length));
    this.#note.hidden = rejections.length > 0;
  }

  #item(r: WireRejection, now: number): HTMLLIElement {
    const job = this.#showJob
      ? [
          'job ',
          h(
            'button',
            { type: 'button', class: 'link', 'data-job-id': r.jobId, title: r.jobId },
            shortId(r.jobId),
          ),
          ` (${r.jobType}) · `,
        ]
      : [];
    return h(
      'li',
      { 'data-rejection-id': r.id },
      h('time', { class: 'when', datetime: new Date(r.at).toISOString() }, time(r.at, now)),
      h('code', { class: 'reason' }, r.reason),
      ' ',
      h('code', {}, r.event),
      ` from ${r.source}`,
      h(
        'div',
        { class: 'where' },
        ...job,
        r.attempt === null ? '' : `attempt ${r.attempt} · `,
        'in ',
        h('code', {}, r.state),
      ),
    );
  }
}
