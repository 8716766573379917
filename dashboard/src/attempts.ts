/**
 * A job's attempts, read off its change history: each `started` opens an attempt, and the change
 * that ends it (`completed`, `retrying`, `failed`, `cancelled`, `interrupted`) says how, with the
 * attempt's own error — so the detail shows every attempt's error, not only the latest one.
 */
import type { WireChange } from '../../src/client/index.js';
import { byId, h, setText } from './dom.js';
import { duration, time } from './format.js';

export interface Attempt {
  readonly attempt: number;
  readonly startedAt: number;
  /** The change that ended it; null while it runs. */
  readonly end: { readonly kind: string; readonly at: number; readonly error: string | null } | null;
}

const ENDS = new Set(['completed', 'retrying', 'failed', 'cancelled', 'interrupted']);

export function attemptsOf(changes: readonly WireChange[]): Attempt[] {
  const attempts: Attempt[] = [];
  let open: { attempt: number; startedAt: number } | null = null;
  for (const c of changes) {
    if (c.kind === 'started') {
      open = { attempt: c.job.attempt, startedAt: c.at };
      attempts.push({ ...open, end: null });
    } else if (open && ENDS.has(c.kind)) {
      const failedHere = c.kind === 'retrying' || c.kind === 'failed';
      const error = failedHere && c.job.error ? `${c.job.error.code}: ${c.job.error.message}` : null;
      attempts[attempts.length - 1] = { ...open, end: { kind: c.kind, at: c.at, error } };
      open = null;
    }
  }
  return attempts;
}

export class AttemptList {
  readonly #list = byId('detail-attempts', HTMLOListElement);
  readonly #note = byId('detail-attempts-note', HTMLElement);

  show(changes: readonly WireChange[]): void {
    const attempts = attemptsOf(changes);
    setText(this.#note, attempts.length === 0 ? 'Not started yet.' : '');
    this.#list.replaceChildren(
      ...attempts.map((a) =>
        h(
          'li',
          { 'data-attempt': a.attempt },
          h('strong', {}, `Attempt ${a.attempt}`),
          ` · started ${time(a.startedAt)}`,
          a.end === null ? ' · running' : ` · ${a.end.kind} after ${duration(a.end.at - a.startedAt)}`,
          a.end?.error ? h('div', { class: 'error' }, a.end.error) : '',
        ),
      ),
    );
  }
}
