/** The table's filters: status, type and a text matched against ids and keys. */
import type { JobStatus } from '../../src/client/index.js';
import { byId, h } from './dom.js';
import { STATUSES, type Filters } from './jobs.js';

export class FilterBar {
  readonly #status = byId('filter-status', HTMLSelectElement);
  readonly #type = byId('filter-type', HTMLSelectElement);
  readonly #text = byId('filter-text', HTMLInputElement);
  readonly #within = byId('filter-created', HTMLSelectElement);
  #types = '';

  constructor(onChange: () => void) {
    const form = byId('filters', HTMLFormElement);
    form.addEventListener('input', onChange);
    form.addEventListener('change', onChange);
    form.addEventListener('submit', (event) => event.preventDefault());
  }

  get value(): Filters {
    const status = this.#status.value;
    return {
      status: (STATUSES as readonly string[]).includes(status) ? (status as JobStatus) : '',
      type: this.#type.value,
      text: this.#text.value,
      within: Number(this.#within.value) || 0,
    };
  }

  /** Sets the status filter (the same status again clears it). */
  pickStatus(status: JobStatus | ''): void {
    this.#status.value = this.#status.value === status ? '' : status;
  }

  /** The type options: every registered type and every type seen in a job. */
  setTypes(names: Iterable<string>): void {
    const sorted = [...new Set(names)].sort();
    const key = sorted.join('\u0000');
    if (key === this.#types) return;
    this.#types = key;
    const current = this.#type.value;
    this.#type.replaceChildren(
      h('option', { value: '' }, 'all'),
      ...sorted.map((name) => h('option', { value: name }, name)),
    );
    this.#type.value = sorted.includes(current) ? current : '';
  }
}
