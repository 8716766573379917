/**
 * The job machine diagram as SVG: states as boxes (compound ones as labelled groups, final ones
 * with a double border), transitions as arrows with their events. `highlight` marks the state a
 * job is in with the class `current` (and its parent group with `active`).
 */
import { s } from './dom.js';
import { place, SIZES } from './diagram-layout.js';
import { bounds, labelWidth, route, type Route } from './diagram-routes.js';
import { jobGraph, type MachineGraph } from './machine-graph.js';

const LABEL_H = 12;

/** Moves labels down (then up) until none overlaps another. */
function separate(routes: Route[]): Route[] {
  const placed: { x1: number; x2: number; y: number }[] = [];
  return routes.map((r) => {
    const w = labelWidth(r.label);
    const x1 = r.anchor === 'start' ? r.lx : r.anchor === 'end' ? r.lx - w : r.lx - w / 2;
    const clash = (y: number) =>
      placed.some((p) => p.x1 < x1 + w && x1 < p.x2 && Math.abs(p.y - y) < LABEL_H);
    const tries = [0, LABEL_H, -LABEL_H, 2 * LABEL_H, -2 * LABEL_H, 3 * LABEL_H];
    const dy = tries.find((t) => !clash(r.ly + t)) ?? 0;
    placed.push({ x1, x2: x1 + w, y: r.ly + dy });
    return { ...r, ly: r.ly + dy };
  });
}

export function renderDiagram(graph: MachineGraph = jobGraph): SVGSVGElement {
  const placed = place(graph);
  const routes = separate(route(graph.edges, placed));
  const box = bounds(routes, placed);
  const [left, top] = [Math.floor(box.left - 6), Math.floor(box.top - 8)];
  const svg = s('svg', {
    class: 'diagram',
    viewBox: `${left} ${top} ${Math.ceil(box.right + 6 - left)} ${Math.ceil(box.bottom + 8 - top)}`,
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

  const groups = [...placed.boxes.values()].sort((a, b) => Number(b.group) - Number(a.group));
  for (const box of groups) {
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
    const ty = box.group ? box.y + 16 : box.y + SIZES.leafH / 2 + 4;
    const tx = box.group ? box.x + 10 : box.x + box.w / 2;
    g.append(s('text', { x: tx, y: ty, 'text-anchor': box.group ? 'start' : 'middle' }, box.label));
    svg.append(g);
  }

  const initial = graph.initial === null ? undefined : placed.boxes.get(graph.initial);
  if (initial) {
    const y = initial.y + SIZES.header + SIZES.leafH / 2;
    svg.append(s('circle', { class: 'initial', cx: initial.x - 26, cy: y, r: 5 }));
    svg.append(
      s('path', {
        class: 'edge',
        d: `M${initial.x - 21},${y} L${initial.x},${y}`,
        'marker-end': 'url(#jv-arrow)',
      }),
    );
  }
  for (const r of routes) {
    const g = s('g', { class: 'transition', 'data-from': r.from, 'data-to': r.to });
    g.append(s('title', {}, `${r.from} → ${r.to}: ${r.label}`));
    g.append(s('path', { class: 'edge', d: r.d, 'marker-end': 'url(#jv-arrow)' }));
    g.append(s('text', { x: Math.round(r.lx), y: Math.round(r.ly), 'text-anchor': r.anchor }, r.label));
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
