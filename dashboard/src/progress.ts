/** A progress bar: a `progressbar` role with its value, its width set through the CSSOM (CSP-safe). */
import type { WireJob } from '../../src/client/index.js';
import { h, setText } from './dom.js';
import { percent } from './format.js';

export interface ProgressBar {
  readonly el: HTMLElement;
  update(job: Pick<WireJob, 'progress' | 'status'>): void;
}

export function progressBar(label: string): ProgressBar {
  const fill = h('div', { class: 'fill' });
  const bar = h(
    'div',
    { class: 'bar', role: 'progressbar', 'aria-label': label, 'aria-valuemin': 0, 'aria-valuemax': 100 },
    fill,
  );
  const pct = h('span', { class: 'pct', 'aria-hidden': 'true' });
  return {
    el: h('div', { class: 'progress' }, bar, pct),
    update(job) {
      const value = Math.max(0, Math.min(100, job.progress));
      bar.className = `bar status-${job.status}`;
      bar.setAttribute('aria-valuenow', String(Math.round(value)));
      fill.style.width = `${value}%`;
      setText(pct, percent(value));
    },
  };
}
