/**
 * The start form: a registered type, an optional key, priority and delay, and a JSON input. Input
 * that is not JSON, a priority that is not a whole number, a delay that is not a duration, or an
 * answer with an error (a 400 with the server's code and message), is shown and starts nothing.
 */
import {
  JobvisorClientError,
  type JobvisorClient,
  type WireJob,
  type WireJobType,
} from '../../src/client/index.js';
import { DURATION_HINT, parseDuration } from '../../src/common/schedule.js';
import { byId, h, setText } from './dom.js';
import { json, time } from './format.js';
import { skeleton } from './schema.js';

export class StartForm {
  readonly #type = byId('start-type', HTMLSelectElement);
  readonly #key = byId('start-key', HTMLInputElement);
  readonly #priority = byId('start-priority', HTMLInputElement);
  readonly #delay = byId('start-delay', HTMLInputElement);
  readonly #input = byId('start-input', HTMLTextAreaElement);
  readonly #schema = byId('start-schema', HTMLElement);
  readonly #schemaBox = byId('start-schema-box', HTMLElement);
  readonly #submit = byId('start-submit', HTMLButtonElement);
  readonly #error = byId('start-error', HTMLElement);
  readonly #result = byId('start-result', HTMLElement);
  #types: readonly WireJobType[] = [];
  /** Whether the user typed an input (then a type change keeps it). */
  #edited = false;
  #lastStarted: WireJob | undefined;

  constructor(
    private readonly client: () => JobvisorClient | null,
    private readonly onStarted: (job: WireJob) => void,
  ) {
    byId('start-form', HTMLFormElement).addEventListener('submit', (event) => {
      event.preventDefault();
      void this.#start();
    });
    this.#type.addEventListener('change', () => this.#showType());
    this.#input.addEventListener('input', () => (this.#edited = this.#input.value.trim() !== ''));
    this.#result.addEventListener('click', (event) => {
      const button = (event.target as Element).closest('button[data-job-id]');
      if (button && this.#lastStarted) this.onStarted(this.#lastStarted);
    });
    this.setTypes(null);
  }

  /** `null`: not known yet (the server was not reachable). */
  setTypes(types: readonly WireJobType[] | null): void {
    this.#types = types ?? [];
    const current = this.#type.value;
    const options =
      types === null
        ? [h('option', { value: '' }, 'loading types…')]
        : types.length === 0
          ? [h('option', { value: '' }, 'no job types registered')]
          : types.map((t) => h('option', { value: t.name }, t.name));
    this.#type.replaceChildren(...options);
    if (types?.some((t) => t.name === current)) this.#type.value = current;
    this.#submit.disabled = this.#types.length === 0;
    this.#showType();
  }

  #showType(): void {
    const type = this.#types.find((t) => t.name === this.#type.value);
    const schema = type?.inputSchema ?? null;
    this.#schemaBox.hidden = schema === null;
    setText(this.#schema, schema === null ? '' : json(schema));
    if (!this.#edited) this.#input.value = schema === null ? '' : json(skeleton(schema));
  }

  async #start(): Promise<void> {
    setText(this.#error, '');
    setText(this.#result, '');
    const client = this.client();
    const type = this.#type.value;
    if (client === null || type === '') return this.#fail('No job type to start yet.');
    const text = this.#input.value.trim();
    let input: unknown;
    try {
      input = text === '' ? undefined : JSON.parse(text);
    } catch (error) {
      return this.#fail(`The input is not valid JSON: ${(error as Error).message}`);
    }
    const key = this.#key.value.trim();
    const priorityText = this.#priority.value.trim();
    const priority = priorityText === '' ? undefined : Number(priorityText);
    if (priority !== undefined && !Number.isInteger(priority))
      return this.#fail('The priority must be a whole number (higher starts first).');
    const delayText = this.#delay.value.trim();
    const delayMs = delayText === '' ? undefined : parseDuration(delayText);
    if (delayMs === null) return this.#fail(`The delay must be ${DURATION_HINT}.`);
    this.#submit.disabled = true;
    try {
      const answer = await client.start({
        type,
        ...(input === undefined ? {} : { input }),
        ...(key === '' ? {} : { key }),
        ...(priority === undefined ? {} : { priority }),
        ...(delayMs === undefined ? {} : { delayMs }),
      });
      this.#lastStarted = answer.job;
      this.#result.replaceChildren(
        answer.deduplicated ? 'Joined job ' : answer.job.runAt !== null ? 'Scheduled job ' : 'Started job ',
        h('button', { type: 'button', class: 'link', 'data-job-id': answer.job.id }, answer.job.id),
        answer.deduplicated
          ? ' (it holds that key)'
          : answer.job.runAt !== null
            ? ` for ${time(answer.job.runAt)}`
            : '',
      );
    } catch (error) {
      if (error instanceof JobvisorClientError) this.#fail(`${error.code}: ${error.message}`, error.code);
      else this.#fail(String(error));
    } finally {
      this.#submit.disabled = this.#types.length === 0;
    }
  }

  #fail(message: string, code?: string): void {
    if (code === undefined) {
      setText(this.#error, message);
      return;
    }
    this.#error.replaceChildren(h('code', {}, code), message.slice(code.length));
  }
}
