/**
 * The bearer token: from the address bar's `#token=…` (removed from it at once, so it is neither
 * bookmarked nor shown), else from this tab's sessionStorage, else asked for by a form when the
 * API answers 401.
 */
import { byId, setText } from './dom.js';

const KEY = 'jobvisor.token';

function stored(): string | undefined {
  try {
    return sessionStorage.getItem(KEY) ?? undefined;
  } catch {
    return undefined;
  }
}

export function saveToken(token: string | undefined): void {
  try {
    if (token === undefined) sessionStorage.removeItem(KEY);
    else sessionStorage.setItem(KEY, token);
  } catch {
    // Storage disabled: the token lives only as long as the page.
  }
}

/** The token of `#token=…` (then taken out of the URL), or the one this tab kept. */
export function initialToken(): string | undefined {
  const params = new URLSearchParams(location.hash.slice(1));
  const fromHash = params.get('token');
  if (fromHash === null) return stored();
  params.delete('token');
  const rest = params.toString();
  history.replaceState(
    history.state,
    '',
    `${location.pathname}${location.search}${rest === '' ? '' : `#${rest}`}`,
  );
  if (fromHash === '') return stored();
  saveToken(fromHash);
  return fromHash;
}

/** The form shown instead of the dashboard while the server refuses us. */
export class TokenPanel {
  readonly #panel = byId('token-panel', HTMLElement);
  readonly #app = byId('app', HTMLElement);
  readonly #input = byId('token-input', HTMLInputElement);
  readonly #reason = byId('token-reason', HTMLElement);

  constructor(onToken: (token: string) => void) {
    byId('token-form', HTMLFormElement).addEventListener('submit', (event) => {
      event.preventDefault();
      const token = this.#input.value.trim();
      if (token === '') return;
      saveToken(token);
      onToken(token);
    });
  }

  /** `refused`: a token was sent and the server said 401. */
  show(refused: boolean): void {
    setText(
      this.#reason,
      refused
        ? 'The server refused this token. Enter the right one (it is kept for this browser tab only).'
        : 'This server needs a bearer token. It is kept for this browser tab only.',
    );
    this.#panel.hidden = false;
    this.#app.hidden = true;
    this.#input.value = '';
    this.#input.focus();
  }

  hide(): void {
    this.#panel.hidden = true;
    this.#app.hidden = false;
  }
}
