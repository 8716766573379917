/** Small DOM helpers. Elements are built with properties and attributes, never `style` or `on*` attributes (CSP). */

type Child = Node | string | null | undefined | false;
type Attributes = Record<string, string | number | boolean | null | undefined>;

function setAttributes(el: Element, attributes: Attributes): void {
  for (const [name, value] of Object.entries(attributes)) {
    if (value === null || value === undefined || value === false) continue;
    if (name === 'style' || name.startsWith('on')) throw new Error(`refusing the ${name} attribute (CSP)`);
    el.setAttribute(name, value === true ? '' : String(value));
  }
}

/** `h('td', { class: 'age' }, 'text', child)`. */
export function h<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  attributes: Attributes = {},
  ...children: Child[]
): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  setAttributes(el, attributes);
  for (const child of children)
    if (child !== null && child !== undefined && child !== false) el.append(child);
  return el;
}

const SVG_NS = 'http://www.w3.org/2000/svg';

export function s<K extends keyof SVGElementTagNameMap>(
  tag: K,
  attributes: Attributes = {},
  ...children: Child[]
): SVGElementTagNameMap[K] {
  const el = document.createElementNS(SVG_NS, tag);
  setAttributes(el, attributes);
  for (const child of children)
    if (child !== null && child !== undefined && child !== false) el.append(child);
  return el;
}

/** The element of index.html with this id, checked to be of the expected kind. */
export function byId<T extends Element>(id: string, kind: abstract new () => T): T {
  const el = document.getElementById(id);
  if (!(el instanceof kind)) throw new Error(`index.html has no #${id} of the expected kind`);
  return el;
}

/** Sets a text only when it differs (no needless layout work on every update). */
export function setText(el: Element, text: string): void {
  if (el.textContent !== text) el.textContent = text;
}

/** A status badge: `<span class="status status-running">running</span>`. */
export function statusBadge(status: string): HTMLSpanElement {
  return h('span', { class: `status status-${status}` }, status);
}

export function setStatusBadge(el: HTMLElement, status: string): void {
  el.className = `status status-${status}`;
  setText(el, status);
}
