/**
 * A job's change history (GET /jobs/:id/changes through the client). Fetched when the detail opens,
 * then only what is new each time the live store shows the job at a newer `seq` — never on a timer.
 */
import type { JobvisorClient, WireChange, WireJob } from '../../src/client/index.js';
import { JobvisorClientError } from '../../src/client/index.js';
import { byId, h, setText, statusBadge } from './dom.js';
import { percent, time } from './format.js';

export class History {
  readonly #body = byId('history-body', HTMLTableSectionElement);
  readonly #note = byId('history-note', HTMLElement);
  #jobId: string | null = null;
  #changes: WireChange[] = [];
  #busy = false;
  /** A newer seq was seen while a request was out: ask again when it is answered. */
  #again = false;
  #wanted = 0;

  /** `pick`: a change was chosen (time travel), or null for none; `loaded`: the changes so far. */
  constructor(
    private readonly client: () => JobvisorClient | null,
    private readonly pick: (change: WireChange | null) => void,
    private readonly loaded: (changes: readonly WireChange[]) => void,
  ) {
    this.#body.addEventListener('click', (event) => {
      const button = (event.target as Element).closest<HTMLButtonElement>('button[data-pick]');
      if (!button) return;
      const seq = Number(button.dataset.pick);
      const change = this.#changes.find((c) => c.seq === seq);
      if (change) this.#choose(change);
    });
  }

  /** Marks `change` as the one shown (none: the job as it is now). */
  #choose(change: WireChange | null): void {
    for (const tr of this.#body.querySelectorAll('tr')) {
      const picked = change !== null && tr.dataset.seq === String(change.seq);
      tr.classList.toggle('picked', picked);
      if (picked) tr.setAttribute('aria-current', 'true');
      else tr.removeAttribute('aria-current');
    }
    this.pick(change);
  }

  /** Back to the job as it is now. */
  unpick(): void {
    this.#choose(null);
  }

  open(jobId: string): void {
    this.#jobId = jobId;
    this.#changes = [];
    this.#wanted = 1;
    this.#body.replaceChildren();
    this.pick(null);
    this.loaded([]);
    setText(this.#note, 'Loading…');
    this.#request();
  }

  close(): void {
    this.#jobId = null;
  }

  /** The live store shows the job at `job.seq`: fetch the changes we have not seen. */
  seen(job: WireJob): void {
    if (job.id !== this.#jobId) return;
    this.#wanted = Math.max(this.#wanted, job.seq);
    if ((this.#changes.at(-1)?.seq ?? 0) < this.#wanted) this.#request();
  }

  #request(): void {
    if (this.#busy) this.#again = true;
    else void this.#fetch();
  }

  async #fetch(): Promise<void> {
    const client = this.client();
    const jobId = this.#jobId;
    if (this.#busy || client === null || jobId === null) return;
    this.#busy = true;
    try {
      const since = this.#changes.at(-1)?.offset ?? 0;
      const changes = await client.changes(jobId, { since });
      if (jobId !== this.#jobId) return;
      const known = new Set(this.#changes.map((c) => c.offset));
      const fresh = changes.filter((c) => !known.has(c.offset));
      this.#changes.push(...fresh);
      this.#body.append(...fresh.map((c) => row(c)));
      this.loaded(this.#changes);
      setText(this.#note, this.#changes.length === 0 ? 'No stored changes.' : '');
    } catch (error) {
      if (jobId !== this.#jobId) return;
      const message =
        error instanceof JobvisorClientError ? `${error.code}: ${error.message}` : String(error);
      setText(this.#note, `No history: ${message}`);
    } finally {
      this.#busy = false;
      if (this.#again) {
        this.#again = false;
        if ((this.#changes.at(-1)?.seq ?? 0) < this.#wanted) void this.#fetch();
      }
    }
  }
}

function row(c: WireChange): HTMLTableRowElement {
  return h(
    'tr',
    { 'data-seq': c.seq },
    h(
      'td',
      { class: 'num' },
      h(
        'button',
        {
          type: 'button',
          class: 'link',
          'data-pick': c.seq,
          'aria-label': `Show the machine after change ${c.seq}`,
        },
        String(c.seq),
      ),
    ),
    h('td', {}, h('code', {}, c.kind)),
    h('td', {}, time(c.at)),
    h('td', {}, statusBadge(c.job.status)),
    h('td', { class: 'num' }, percent(c.job.progress)),
    h('td', { class: 'message' }, messageOf(c)),
  );
}

/**
 * What a change says: the attempt's error on the change that reports it (`retrying`, `failed`),
 * else the job's message. A job keeps its last error while it retries, so the changes of the next
 * attempt (`requeued`, `started`, `progress`) would otherwise repeat the old error as their news.
 */
function messageOf(c: WireChange): string {
  const { error, message } = c.job;
  if (error && (c.kind === 'retrying' || c.kind === 'failed')) return `${error.code}: ${error.message}`;
  return message ?? '';
}
