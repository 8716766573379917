/** The header: the connection state and the counts by status (each a button that filters the table). */
import type { JobStatus, LiveError, LiveStatus } from '../../src/client/index.js';
import { byId, h, setText } from './dom.js';
import { STATUSES } from './jobs.js';

export type Connection = LiveStatus | 'unauthorized';

const TEXT: Record<Connection, string> = {
  connecting: 'Connecting…',
  live: 'Live',
  reconnecting: 'Reconnecting…',
  closed: 'Disconnected',
  unauthorized: 'Token required',
};

export function showConnection(status: Connection, error: LiveError | null): void {
  const el = byId('connection', HTMLElement);
  el.className = `connection conn-${status}`;
  setText(el, TEXT[status]);
  const detail = status === 'live' || error === null ? '' : `${error.code}: ${error.message}`;
  if (detail === '') el.removeAttribute('title');
  else el.title = detail;
}

/** Pills `12 all`, `3 running`, … ; clicking one filters the table by that status. */
export class Counts {
  readonly #counts = new Map<JobStatus | '', HTMLElement>();
  readonly #buttons = new Map<JobStatus | '', HTMLButtonElement>();

  constructor(onPick: (status: JobStatus | '') => void) {
    const list = byId('counts', HTMLUListElement);
    for (const status of ['', ...STATUSES] as const) {
      const count = h('span', { class: 'count' }, '0');
      const button = h(
        'button',
        { type: 'button', class: status === '' ? 'all' : `status-${status}`, 'aria-pressed': 'false' },
        count,
        status === '' ? 'all' : status,
      );
      button.addEventListener('click', () => onPick(status));
      this.#counts.set(status, count);
      this.#buttons.set(status, button);
      list.append(h('li', {}, button));
    }
  }

  update(counts: Record<JobStatus, number>, total: number, selected: JobStatus | ''): void {
    for (const [status, el] of this.#counts) setText(el, String(status === '' ? total : counts[status]));
    for (const [status, button] of this.#buttons) {
      button.setAttribute('aria-pressed', String(status === selected));
    }
  }
}
