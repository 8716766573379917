/**
 * The jobs table, one row per job kept by id and updated in place (a row changes only when its
 * job's `seq` does). Ages are re-rendered by `tick` alone.
 */
import type { WireJob } from '../../src/client/index.js';
import { h, setStatusBadge, setText, statusBadge } from './dom.js';
import { age, shortId, time } from './format.js';
import { isActive } from './jobs.js';
import { progressBar, type ProgressBar } from './progress.js';

interface Row {
  readonly tr: HTMLTableRowElement;
  readonly status: HTMLSpanElement;
  readonly progress: ProgressBar;
  readonly message: HTMLTableCellElement;
  readonly attempt: HTMLTableCellElement;
  readonly age: HTMLTableCellElement;
  readonly cancel: HTMLButtonElement;
  readonly select: HTMLInputElement;
  readonly createdAt: number;
  seq: number;
}

export interface TableActions {
  open(id: string): void;
  cancel(id: string): void;
  /** The selection changed (a row's box, or select-all). */
  selected(ids: readonly string[]): void;
}

export class JobsTable {
  readonly #rows = new Map<string, Row>();
  readonly #body: HTMLTableSectionElement;
  readonly #note: HTMLElement;
  /** Jobs whose cancel was sent and not answered yet: their button stays disabled. */
  readonly #cancelling = new Set<string>();
  /** Rows ticked for a bulk action, among the rows shown. */
  readonly #selected = new Set<string>();
  readonly #selectAll: HTMLInputElement;
  readonly #actions: TableActions;

  constructor(
    body: HTMLTableSectionElement,
    note: HTMLElement,
    selectAll: HTMLInputElement,
    actions: TableActions,
  ) {
    this.#body = body;
    this.#note = note;
    this.#selectAll = selectAll;
    this.#actions = actions;
    body.addEventListener('change', (event) => {
      const box = event.target as HTMLInputElement;
      const id = box.closest('tr')?.dataset.jobId;
      if (box.dataset.action !== 'select' || id === undefined) return;
      if (box.checked) this.#selected.add(id);
      else this.#selected.delete(id);
      this.#selectionChanged();
    });
    selectAll.addEventListener('change', () => {
      for (const [id, row] of this.#rows) {
        row.select.checked = selectAll.checked;
        if (selectAll.checked) this.#selected.add(id);
        else this.#selected.delete(id);
      }
      this.#selectionChanged();
    });
    body.addEventListener('click', (event) => {
      const button = (event.target as Element).closest<HTMLButtonElement>('button[data-action]');
      const id = button?.closest('tr')?.dataset.jobId;
      if (!button || id === undefined) return;
      if (button.dataset.action === 'open') actions.open(id);
      else actions.cancel(id);
    });
  }

  /** `shown`: the page of the filtered, sorted jobs; `matching`: how many match; `total`: how many the store has. */
  update(shown: readonly WireJob[], matching: number, total: number, now: number): void {
    const keep = new Set(shown.map((job) => job.id));
    let dropped = false;
    for (const [id, row] of this.#rows) {
      if (!keep.has(id)) {
        row.tr.remove();
        this.#rows.delete(id);
        dropped = this.#selected.delete(id) || dropped;
      }
    }
    if (dropped) this.#selectionChanged();
    const trs = shown.map((job) => this.#row(job, now).tr);
    const inOrder = trs.every((tr, i) => this.#body.children[i] === tr);
    if (!inOrder || this.#body.children.length !== trs.length) this.#body.replaceChildren(...trs);
    setText(
      this.#note,
      total === 0
        ? 'No jobs yet. Start one with the form.'
        : matching === 0
          ? 'No job matches the filters.'
          : '',
    );
  }

  /** Unticks every row. */
  clearSelection(): void {
    for (const id of this.#selected) {
      const row = this.#rows.get(id);
      if (row) row.select.checked = false;
    }
    this.#selected.clear();
    this.#selectionChanged();
  }

  #selectionChanged(): void {
    const count = this.#selected.size;
    this.#selectAll.checked = count > 0 && count === this.#rows.size;
    this.#selectAll.indeterminate = count > 0 && count < this.#rows.size;
    this.#actions.selected([...this.#selected]);
  }

  markCancelling(id: string, on: boolean): void {
    if (on) this.#cancelling.add(id);
    else this.#cancelling.delete(id);
    const row = this.#rows.get(id);
    if (row) row.cancel.disabled = on;
  }

  tick(now: number): void {
    for (const row of this.#rows.values()) setText(row.age, age(row.createdAt, now));
  }

  #row(job: WireJob, now: number): Row {
    let row = this.#rows.get(job.id);
    if (!row) {
      row = this.#create(job, now);
      this.#rows.set(job.id, row);
    } else if (row.seq === job.seq) {
      return row;
    }
    row.seq = job.seq;
    setStatusBadge(row.status, job.status);
    row.progress.update(job);
    const retry =
      job.status !== 'pending'
        ? ''
        : job.state === 'pending.scheduled' && job.runAt !== null
          ? `scheduled for ${time(job.runAt)} · `
          : job.nextRetryAt !== null
            ? `retry at ${time(job.nextRetryAt)} · `
            : '';
    const message = retry + (job.error ? `${job.error.code}: ${job.error.message}` : (job.message ?? ''));
    setText(row.message, message);
    row.message.title = message;
    setText(row.attempt, String(job.attempt));
    row.cancel.hidden = !isActive(job);
    if (!isActive(job)) this.#cancelling.delete(job.id);
    row.cancel.disabled = this.#cancelling.has(job.id);
    return row;
  }

  #create(job: WireJob, now: number): Row {
    const status = statusBadge(job.status);
    const progress = progressBar(`Progress of job ${job.id}`);
    const message = h('td', { class: 'message' });
    const attempt = h('td', { class: 'num' });
    const ageCell = h('td', { class: 'num age' }, age(job.createdAt, now));
    const cancel = h(
      'button',
      { type: 'button', class: 'danger', 'data-action': 'cancel', 'aria-label': `Cancel job ${job.id}` },
      'Cancel',
    );
    const open = h(
      'button',
      {
        type: 'button',
        class: 'link',
        'data-action': 'open',
        title: job.id,
        'aria-label': `Open job ${job.id}`,
      },
      shortId(job.id),
    );
    const select = h('input', {
      type: 'checkbox',
      'data-action': 'select',
      'aria-label': `Select job ${job.id}`,
    });
    const key =
      job.key === null ? null : h('div', { class: 'note mono key', title: job.key }, `key ${job.key}`);
    const tr = h(
      'tr',
      { 'data-job-id': job.id },
      h('td', { class: 'select' }, select),
      h('td', {}, open, key),
      h('td', {}, job.type),
      h('td', {}, status),
      h('td', {}, progress.el),
      message,
      attempt,
      ageCell,
      h('td', { class: 'actions' }, cancel),
    );
    return {
      tr,
      status,
      progress,
      message,
      attempt,
      age: ageCell,
      cancel,
      select,
      createdAt: job.createdAt,
      seq: -1,
    };
  }
}
