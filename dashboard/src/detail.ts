/**
 * The job detail dialog: every field of the job, the job machine with the job's state highlighted,
 * its change history, its rejected events and its log; kept live while open.
 */
import type { JobvisorClient, LiveContext, WireChange, WireJob } from '../../src/client/index.js';
import { pickedCaption } from './time-travel.js';
import { AttemptList } from './attempts.js';
import { highlight, renderDiagram } from './diagram.js';
import { byId, h, setStatusBadge, setText, statusBadge } from './dom.js';
import { age, json, time } from './format.js';
import { History } from './history.js';
import { isActive, machineState } from './jobs.js';
import { LogView } from './logs.js';
import { progressBar } from './progress.js';
import { RejectionList } from './rejections.js';

/** In rows of the 4-column grid. */
const FIELDS = [
  ...['Status', 'Progress', 'Type', 'Attempt', 'Created', 'Started', 'Finished', 'Next retry'],
  ...['Key', 'Node', 'Priority', 'Run at', 'Message', 'Error', 'Input', 'Result'],
] as const;
type Field = (typeof FIELDS)[number];
/** How many of the grid's columns a field spans. */
const SPAN: Partial<Record<Field, string>> = {
  Message: 'span2',
  Error: 'span4',
  Input: 'span2',
  Result: 'span2',
};

export class Detail {
  readonly #dialog = byId('detail', HTMLDialogElement);
  readonly #title = byId('detail-title', HTMLElement);
  readonly #cancel = byId('detail-cancel', HTMLButtonElement);
  readonly #retry = byId('detail-retry', HTMLButtonElement);
  readonly #now = byId('detail-now', HTMLButtonElement);
  /** The change whose state the diagram shows (time travel); null: the job as it is now. */
  #picked: WireChange | null = null;
  readonly #attempts = new AttemptList();
  #state = '';
  readonly #caption = byId('detail-state', HTMLElement);
  readonly #fields = new Map<Field, HTMLElement>();
  readonly #status = statusBadge('pending');
  readonly #progress = progressBar('Job progress');
  readonly #diagram = renderDiagram();
  readonly #history: History;
  readonly #logs: LogView;
  readonly #rejections = new RejectionList(
    byId('job-rejections', HTMLUListElement),
    byId('job-rejections-note', HTMLElement),
    {
      showJob: false,
    },
  );
  #jobId: string | null = null;
  #seq = -1;
  #createdAt = 0;

  constructor(
    client: () => JobvisorClient | null,
    cancel: (id: string) => void,
    retry: (id: string) => void,
  ) {
    this.#history = new History(
      client,
      (change) => this.#travel(change),
      (changes) => this.#attempts.show(changes),
    );
    this.#logs = new LogView(client);
    this.#now.addEventListener('click', () => this.#history.unpick());
    const list = byId('detail-fields', HTMLDListElement);
    for (const field of FIELDS) {
      const dd = h('dd');
      this.#fields.set(field, dd);
      list.append(h('div', { class: SPAN[field] ?? '' }, h('dt', {}, field), dd));
    }
    this.#fields.get('Status')?.append(this.#status);
    this.#fields.get('Progress')?.append(this.#progress.el);
    byId('detail-diagram', HTMLElement).append(this.#diagram);
    byId('detail-close', HTMLButtonElement).addEventListener('click', () => this.#dialog.close());
    this.#dialog.addEventListener('close', () => {
      this.#jobId = null;
      this.#history.close();
      this.#logs.close();
    });
    this.#cancel.addEventListener('click', () => {
      if (this.#jobId !== null) cancel(this.#jobId);
    });
    this.#retry.addEventListener('click', () => {
      if (this.#jobId !== null) retry(this.#jobId);
    });
  }

  open(id: string, context: LiveContext): void {
    this.#jobId = id;
    this.#seq = -1;
    setText(this.#title, `Job ${id}`);
    this.#history.open(id);
    this.#logs.open(id);
    this.update(context);
    if (!this.#dialog.open) this.#dialog.showModal();
  }

  update(context: LiveContext): void {
    const id = this.#jobId;
    if (id === null) return;
    this.#rejections.update(context.rejections.filter((r) => r.jobId === id));
    const job = context.jobs[id];
    if (!job || job.seq === this.#seq) return;
    this.#seq = job.seq;
    this.#show(job);
    this.#history.seen(job);
    this.#logs.seen(job);
  }

  /** Time travel: the diagram in the state right after `change` (null: as the job is now). */
  #travel(change: WireChange | null): void {
    this.#picked = change;
    this.#drawState();
  }

  #drawState(): void {
    const picked = this.#picked;
    this.#now.hidden = picked === null;
    if (picked === null) {
      highlight(this.#diagram, this.#state);
      setText(this.#caption, `State machine — this job is in ${this.#state}`);
      return;
    }
    highlight(this.#diagram, machineState(picked.job));
    setText(this.#caption, pickedCaption(picked));
  }

  /** The job's age, once a second. */
  tick(now: number): void {
    const dd = this.#fields.get('Created');
    if (this.#jobId !== null && dd)
      setText(dd, `${time(this.#createdAt, now)} (${age(this.#createdAt, now)} ago)`);
  }

  #show(job: WireJob): void {
    const set = (field: Field, text: string) => {
      const dd = this.#fields.get(field);
      if (dd) setText(dd, text);
    };
    this.#createdAt = job.createdAt;
    setStatusBadge(this.#status, job.status);
    this.#progress.update(job);
    set('Type', job.type);
    set('Key', job.key ?? '—');
    set('Attempt', String(job.attempt));
    // The node of its latest attempt (a cluster); none before its first.
    set('Node', job.node ?? '—');
    set('Priority', String(job.priority));
    // A delayed job's time (it waited in pending.scheduled until then).
    set('Run at', time(job.runAt));
    set('Message', job.message ?? '—');
    this.tick(Date.now());
    set('Started', time(job.startedAt));
    set('Finished', time(job.finishedAt));
    set('Next retry', time(job.nextRetryAt));
    set('Error', job.error ? `${job.error.code}: ${job.error.message}` : '—');
    for (const field of ['Input', 'Result'] as const) {
      this.#fields
        .get(field)
        ?.replaceChildren(h('pre', {}, json(field === 'Input' ? job.input : job.result)));
    }
    this.#state = machineState(job);
    this.#drawState();
    this.#cancel.hidden = !isActive(job);
    // A failed or cancelled job can run again (the same job: its history goes on).
    this.#retry.hidden = job.status !== 'failed' && job.status !== 'cancelled';
  }
}
