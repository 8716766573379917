/**
 * A job's log in its detail: the lines of each attempt under its own heading, followed live while
 * the job runs (the client's `followLogs`: the stored lines, then each new one, until the job is
 * final). A job retried after its end is followed again from the last line shown.
 */
import type { JobvisorClient, WireJob, WireLogEntry } from '../../src/client/index.js';
import { JobvisorClientError } from '../../src/client/index.js';
import { byId, h, setText } from './dom.js';
import { time } from './format.js';

/** One follow of one job: the view hears only its current one. */
interface Follow {
  /** Stops it; null until the server has sent the stored lines. */
  stop: (() => void) | null;
}

export class LogView {
  readonly #box = byId('detail-logs', HTMLElement);
  readonly #note = byId('detail-logs-note', HTMLElement);
  /** Each attempt's list of lines, by attempt. */
  readonly #attempts = new Map<number, HTMLOListElement>();
  #follow: Follow | null = null;
  /** The id of the last line shown: where a follow of the same job goes on from. */
  #last = 0;
  /** The job as its follow ended (final, every line shown); null while it is followed. */
  #end: WireJob | null = null;

  constructor(private readonly client: () => JobvisorClient | null) {}

  open(jobId: string): void {
    this.close();
    this.#attempts.clear();
    this.#box.replaceChildren();
    this.#last = 0;
    this.#start(jobId);
  }

  close(): void {
    this.#follow?.stop?.();
    this.#follow = null;
  }

  /** The live store shows the job at a newer seq: a job retried after its follow ended runs again. */
  seen(job: WireJob): void {
    const end = this.#end;
    if (end === null || job.id !== end.id || job.seq <= end.seq) return;
    if (job.status === 'pending' || job.status === 'running') this.#start(job.id);
  }

  #start(jobId: string): void {
    this.close();
    this.#end = null;
    const client = this.client();
    if (client === null) return setText(this.#note, 'Not connected.');
    const follow: Follow = { stop: null };
    this.#follow = follow;
    const mine = () => this.#follow === follow;
    setText(this.#note, 'Loading…');
    client
      .followLogs(jobId, {
        after: this.#last,
        onEntry: (entry) => {
          if (mine()) this.#add(entry);
        },
        onEnd: (job) => {
          if (!mine()) return;
          this.#end = job;
          this.#showCount();
        },
        onError: (error) => {
          if (mine()) this.#failed(error);
        },
      })
      .then(
        (stop) => {
          if (!mine()) return stop();
          follow.stop = stop;
          this.#showCount();
        },
        (error: unknown) => {
          if (mine()) this.#failed(error);
        },
      );
  }

  #add(entry: WireLogEntry): void {
    this.#last = entry.id;
    // Kept at the end while it was there: new lines stay in view, an older one being read stays put.
    const box = this.#box;
    const atEnd = box.scrollTop + box.clientHeight >= box.scrollHeight - 4;
    this.#lines(entry.attempt).append(
      h(
        'li',
        { 'data-id': entry.id },
        h('time', { datetime: new Date(entry.at).toISOString() }, time(entry.at)),
        ' ',
        h('span', { class: 'log-message' }, entry.message),
        entry.data === null || entry.data === undefined ? null : ' ',
        entry.data === null || entry.data === undefined
          ? null
          : h('code', { class: 'log-data' }, JSON.stringify(entry.data)),
      ),
    );
    if (atEnd) box.scrollTop = box.scrollHeight;
    setText(this.#note, '');
  }

  /** The list of an attempt's lines, made (after the earlier attempts') on its first line. */
  #lines(attempt: number): HTMLOListElement {
    let list = this.#attempts.get(attempt);
    if (list === undefined) {
      list = h('ol', { class: 'log-lines', 'aria-label': `Log of attempt ${attempt}` });
      this.#attempts.set(attempt, list);
      this.#box.append(h('section', { 'data-attempt': attempt }, h('h4', {}, `Attempt ${attempt}`), list));
    }
    return list;
  }

  #showCount(): void {
    if (this.#attempts.size > 0) return setText(this.#note, '');
    setText(this.#note, this.#end === null ? 'No log lines yet.' : 'No log lines.');
  }

  #failed(error: unknown): void {
    const text = error instanceof JobvisorClientError ? `${error.code}: ${error.message}` : String(error);
    setText(this.#note, `No log: ${text}`);
  }
}
