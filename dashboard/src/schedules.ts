/**
 * The Schedules panel: every repeatable job's schedule (`GET /schedules`, loaded every few seconds
 * like the pauses, and after each removal) with its type, its cron pattern and time zone or its
 * interval, its next occurrence and its latest one with the job that started — a button opens it —
 * and a Remove button (`DELETE /schedules/:name`; the jobs it started stay).
 */
import { JobvisorClientError, type JobvisorClient, type WireSchedule } from '../../src/client/index.js';
import { byId, h, setText } from './dom.js';
import { interval, shortId, time } from './format.js';
import { Poller } from './poller.js';

export class SchedulesPanel {
  readonly #list = byId('schedules', HTMLUListElement);
  readonly #count = byId('schedules-count', HTMLElement);
  readonly #note = byId('schedules-note', HTMLElement);
  readonly #client: () => JobvisorClient | null;
  readonly #notice: HTMLElement;
  readonly #open: (id: string) => void;
  readonly #poller = new Poller(async () => {
    const client = this.#client();
    if (client) this.#show(await client.schedules());
  });
  /** What is shown, as JSON: the same answer again leaves the list (and the focus in it) alone. */
  #key = '';

  /** `open`: shows a job's detail (the latest occurrence's job). */
  constructor(client: () => JobvisorClient | null, notice: HTMLElement, open: (id: string) => void) {
    this.#client = client;
    this.#notice = notice;
    this.#open = open;
    this.#list.addEventListener('click', (event) => {
      const button = (event.target as Element).closest<HTMLButtonElement>('button');
      if (button?.dataset.job !== undefined) this.#open(button.dataset.job);
      else if (button?.dataset.remove !== undefined) void this.#remove(button, button.dataset.remove);
    });
  }

  /** Loads now, then every few seconds; a failed load keeps what is shown. */
  start(): void {
    this.#poller.start();
  }

  async #remove(button: HTMLButtonElement, name: string): Promise<void> {
    const client = this.#client();
    if (client === null) return;
    button.disabled = true;
    setText(this.#notice, '');
    try {
      await client.unschedule(name);
      this.#show(await client.schedules());
    } catch (error) {
      const text = error instanceof JobvisorClientError ? `${error.code}: ${error.message}` : String(error);
      setText(this.#notice, `Could not remove schedule ${name}: ${text}`);
      button.disabled = false;
    }
  }

  #show(schedules: readonly WireSchedule[]): void {
    setText(this.#count, String(schedules.length));
    this.#note.hidden = schedules.length > 0;
    const key = JSON.stringify(schedules);
    if (key === this.#key) return;
    this.#key = key;
    const now = Date.now();
    this.#list.replaceChildren(...schedules.map((schedule) => item(schedule, now)));
  }
}

function item(schedule: WireSchedule, now: number): HTMLLIElement {
  const { name, type, cron, timezone, everyMs, nextAt, lastAt, lastJobId } = schedule;
  const when =
    cron !== null
      ? ['cron ', h('code', {}, cron), ` in ${timezone ?? 'UTC'}`]
      : [`every ${interval(everyMs ?? 0)}`];
  const stamp = (at: number | null) =>
    h('time', at === null ? {} : { datetime: new Date(at).toISOString() }, time(at, now));
  return h(
    'li',
    { class: 'schedule', 'data-schedule': name },
    h(
      'div',
      { class: 'schedule-head' },
      h('strong', {}, name),
      h('span', { class: 'hint' }, type),
      h(
        'button',
        { type: 'button', class: 'danger', 'data-remove': name, 'aria-label': `Remove schedule ${name}` },
        'Remove',
      ),
    ),
    h('p', { class: 'schedule-when' }, ...when),
    h(
      'p',
      { class: 'hint' },
      'next ',
      stamp(nextAt),
      ' · last ',
      stamp(lastAt),
      lastJobId === null ? '' : ' · job ',
      lastJobId === null
        ? null
        : h(
            'button',
            {
              type: 'button',
              class: 'link',
              'data-job': lastJobId,
              title: lastJobId,
              'aria-label': `Open the last job of schedule ${name}`,
            },
            shortId(lastJobId),
          ),
    ),
  );
}
