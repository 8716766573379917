/**
 * The job machine diagram as SVG, drawn from the layout ELK made at build time
 * (job-layout.json, written by `npm run dashboard` through scripts/machine-layout.ts: no edge
 * crosses another or runs through a label or a state). States are boxes (compound ones labelled
 * groups, final ones with a double border), transitions orthogonal arrows with their events.
 * `highlight` marks the state a job is in with the class `current` (and its parent with `active`).
 */
import { s } from './dom.js';
import laidOut from './job-layout.json';
import type { JobLayout } from './layout-types.js';

const MARGIN = 8;

export function renderDiagram(layout: JobLayout = laidOut as unknown as JobLayout): SVGSVGElement {
  const svg = s('svg', {
    class: 'diagram',
    viewBox: `${-MARGIN - 24} ${-MARGIN} ${Math.ceil(layout.width + 2 * MARGIN + 24)} ${Math.ceil(layout.height + 2 * MARGIN)}`,
    role: 'img',
    'aria-label': 'Job state machine',
  });
  svg.append(
    s(
      'defs',
      {},
      s(
        'marker',
        {
          id: 'jv-arrow',
          viewBox: '0 0 10 10',
          refX: 9,
          refY: 5,
          markerWidth: 7,
          markerHeight: 7,
          orient: 'auto',
        },
        s('path', { d: 'M0,0 L10,5 L0,10 z', class: 'arrow-head' }),
      ),
    ),
  );
  // Groups first, so their children draw over them.
  const states = [...layout.states].sort((a, b) => Number(b.group) - Number(a.group));
  for (const box of states) {
    const g = s('g', {
      class: box.group ? 'state group' : box.final ? 'state final' : 'state',
      'data-state': box.id,
    });
    g.append(s('title', {}, box.id));
    g.append(s('rect', { x: box.x, y: box.y, width: box.w, height: box.h, rx: box.group ? 10 : 8 }));
    if (box.final)
      g.append(
        s('rect', { class: 'inner', x: box.x + 3, y: box.y + 3, width: box.w - 6, height: box.h - 6, rx: 6 }),
      );
    const ty = box.group ? box.y + 18 : box.y + box.h / 2 + 4.5;
    const tx = box.group ? box.x + 10 : box.x + box.w / 2;
    g.append(s('text', { x: tx, y: ty, 'text-anchor': box.group ? 'start' : 'middle' }, box.label));
    svg.append(g);
  }
  // The initial state: a dot and an arrow into it, from its left.
  const initial = layout.states.find((state) => state.id === layout.initial);
  if (initial) {
    const y = initial.y + initial.h / 2;
    svg.append(s('circle', { class: 'initial', cx: initial.x - 20, cy: y, r: 4 }));
    svg.append(
      s('path', {
        class: 'edge',
        d: `M${initial.x - 16},${y} L${initial.x},${y}`,
        'marker-end': 'url(#jv-arrow)',
      }),
    );
  }
  for (const edge of layout.edges) {
    const g = s('g', { class: 'transition', 'data-from': edge.from, 'data-to': edge.to });
    g.append(s('title', {}, `${edge.from} → ${edge.to}: ${edge.label}`));
    const d = edge.points.map(([x, y], i) => `${i === 0 ? 'M' : 'L'}${x},${y}`).join(' ');
    g.append(s('path', { class: 'edge', d, 'marker-end': 'url(#jv-arrow)' }));
    const { x, y, h } = edge.labelBox;
    g.append(s('text', { x, y: y + h - 3 }, edge.label));
    svg.append(g);
  }
  return svg;
}

/** Marks `state` (e.g. `pending.backoff`) as current, and its parent as active. */
export function highlight(svg: SVGSVGElement, state: string): void {
  for (const g of svg.querySelectorAll<SVGGElement>('g.state')) {
    const id = g.dataset.state ?? '';
    g.classList.toggle('current', id === state);
    g.classList.toggle('active', id !== state && state.startsWith(`${id}.`));
  }
  svg.setAttribute('aria-label', `Job state machine, current state: ${state}`);
}
