/**
 * Pause and resume from the jobs card: what is paused (from `GET /pauses` every few seconds and after
 * each action), and one button that pauses or resumes the type chosen in the type filter — or the
 * whole supervisor when the filter shows every type.
 */
import { JobvisorClientError, type JobvisorClient } from '../../src/client/index.js';
import { byId, setText } from './dom.js';
import { Poller } from './poller.js';

type PauseState = Awaited<ReturnType<JobvisorClient['pauses']>>;

export class PauseBar {
  readonly #state = byId('pause-state', HTMLElement);
  readonly #toggle = byId('pause-toggle', HTMLButtonElement);
  readonly #client: () => JobvisorClient | null;
  readonly #notice: HTMLElement;
  #paused: PauseState = { all: false, types: [] };
  /** The type the button acts on; '' for the whole supervisor. */
  #type = '';
  readonly #poller = new Poller(async () => {
    const client = this.#client();
    if (client) this.#set(await client.pauses());
  });

  readonly #changed: () => void;

  /** `changed`: what is paused changed (the overview shows it too). */
  constructor(client: () => JobvisorClient | null, notice: HTMLElement, changed: () => void) {
    this.#client = client;
    this.#notice = notice;
    this.#changed = changed;
    this.#toggle.addEventListener('click', () => void this.#act());
    this.#show();
  }

  /** Loads now, then every few seconds; a failed load keeps what is shown. */
  start(): void {
    this.#poller.start();
  }

  /** The type filter's choice: what the button pauses or resumes. */
  setType(type: string): void {
    if (type === this.#type) return;
    this.#type = type;
    this.#show();
  }

  /** What is paused, as last loaded. */
  get state(): PauseState {
    return this.#paused;
  }

  /** Pauses `type` ('' : every type) if it is not paused, else resumes it. */
  async toggle(type: string): Promise<void> {
    const client = this.#client();
    if (client === null) return;
    const paused = type === '' ? this.#paused.all : this.#paused.types.includes(type);
    const scope = type === '' ? undefined : type;
    try {
      this.#set(await (paused ? client.resume(scope) : client.pause(scope)));
    } catch (error) {
      const text = error instanceof JobvisorClientError ? `${error.code}: ${error.message}` : String(error);
      setText(this.#notice, `Could not change the pause: ${text}`);
    }
  }

  async #act(): Promise<void> {
    this.#toggle.disabled = true;
    try {
      await this.toggle(this.#type);
    } finally {
      this.#toggle.disabled = false;
    }
  }

  #isPaused(): boolean {
    return this.#type === '' ? this.#paused.all : this.#paused.types.includes(this.#type);
  }

  #set(state: PauseState): void {
    const changed = JSON.stringify(state) !== JSON.stringify(this.#paused);
    this.#paused = state;
    this.#show();
    if (changed) this.#changed();
  }

  #show(): void {
    const { all, types } = this.#paused;
    const parts = [...(all ? ['every type'] : []), ...types];
    setText(this.#state, parts.length === 0 ? 'Nothing is paused' : `Paused: ${parts.join(', ')}`);
    this.#state.classList.toggle('is-paused', parts.length > 0);
    const what = this.#type === '' ? 'all' : this.#type;
    setText(this.#toggle, `${this.#isPaused() ? 'Resume' : 'Pause'} ${what}`);
  }
}
