/**
 * The per-type overview: for every registered type (and every type seen in a job), its jobs by
 * status, how many finished per minute over the last five minutes, and whether it is paused — with
 * a button that pauses or resumes it.
 */
import type { JobStatus, WireJob } from '../../src/client/index.js';
import { byId, h } from './dom.js';
import { STATUSES } from './jobs.js';

/** The window of the throughput column. */
export const THROUGHPUT_WINDOW_MS = 5 * 60_000;

export interface TypeRow {
  readonly type: string;
  readonly counts: Record<JobStatus, number>;
  /** Jobs that finished (completed or failed) per minute over the last five minutes. */
  readonly perMinute: number;
}

/** The rows: each type's counts and throughput, in name order. */
export function typeRows(jobs: Iterable<WireJob>, names: Iterable<string>, now: number): TypeRow[] {
  const rows = new Map<string, { counts: Record<JobStatus, number>; done: number }>();
  const row = (type: string) => {
    let r = rows.get(type);
    if (!r)
      rows.set(
        type,
        (r = { counts: { pending: 0, running: 0, completed: 0, failed: 0, cancelled: 0 }, done: 0 }),
      );
    return r;
  };
  for (const name of names) row(name);
  for (const job of jobs) {
    const r = row(job.type);
    r.counts[job.status] += 1;
    const finished = job.status === 'completed' || job.status === 'failed';
    if (finished && job.finishedAt !== null && now - job.finishedAt <= THROUGHPUT_WINDOW_MS) r.done += 1;
  }
  return [...rows.entries()]
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([type, r]) => ({ type, counts: r.counts, perMinute: r.done / (THROUGHPUT_WINDOW_MS / 60_000) }));
}

export class TypeOverview {
  readonly #body = byId('types-body', HTMLTableSectionElement);
  #key = '';

  /** `toggle`: pause a type that is not paused, resume one that is. */
  constructor(toggle: (type: string) => void) {
    this.#body.addEventListener('click', (event) => {
      const button = (event.target as Element).closest<HTMLButtonElement>('button[data-type]');
      if (button?.dataset.type !== undefined) toggle(button.dataset.type);
    });
  }

  update(rows: readonly TypeRow[], paused: { all: boolean; types: readonly string[] }): void {
    const key = JSON.stringify([rows, paused]);
    if (key === this.#key) return; // nothing changed: keep the rows (and the focus in them)
    this.#key = key;
    this.#body.replaceChildren(
      ...rows.map((r) => {
        const own = paused.types.includes(r.type);
        const state = own ? 'paused' : paused.all ? 'paused (all)' : 'running';
        return h(
          'tr',
          { 'data-type': r.type },
          h('th', { scope: 'row' }, r.type),
          ...STATUSES.map((status) =>
            h('td', { class: 'num', 'data-status': status }, String(r.counts[status])),
          ),
          h('td', { class: 'num' }, r.perMinute.toFixed(1)),
          h(
            'td',
            {},
            h('span', { class: own || paused.all ? 'pause-state is-paused' : 'pause-state' }, state),
            ' ',
            h(
              'button',
              {
                type: 'button',
                class: 'link',
                'data-type': r.type,
                'aria-label': `${own ? 'Resume' : 'Pause'} type ${r.type}`,
              },
              own ? 'Resume' : 'Pause',
            ),
          ),
        );
      }),
    );
  }
}
