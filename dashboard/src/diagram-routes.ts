/**
 * Where the arrows of a placed machine graph go. Edges between neighbouring columns are curves;
 * longer ones run along a lane above (forward) or below (backward) the states, turning only in the
 * gaps between columns, so no arrow crosses a state; edges inside a column are short vertical ones.
 */
import { topOf, SIZES, type Box, type Placement } from './diagram-layout.js';
import type { GraphEdge } from './machine-graph.js';

export interface Route {
  readonly from: string;
  readonly to: string;
  readonly d: string;
  readonly label: string;
  readonly lx: number;
  readonly ly: number;
  readonly anchor: 'start' | 'middle' | 'end';
}

const LANE = 18;
const GAP_STEP = 10;
const f = (n: number) => Math.round(n * 10) / 10;

function point(t: number, p: readonly number[]): [number, number] {
  const [x1 = 0, y1 = 0, c1x = 0, c1y = 0, c2x = 0, c2y = 0, x2 = 0, y2 = 0] = p;
  const u = 1 - t;
  const x = u * u * u * x1 + 3 * u * u * t * c1x + 3 * u * t * t * c2x + t * t * t * x2;
  const y = u * u * u * y1 + 3 * u * u * t * c1y + 3 * u * t * t * c2y + t * t * t * y2;
  return [x, y];
}

export function route(edges: readonly GraphEdge[], placed: Placement): Route[] {
  const { boxes, rank, columns } = placed;
  const used = { top: 0, bottom: 0, gaps: new Map<string, number>() };
  /** A fresh x in the gap to the right (`side` 1) or left (-1) of column `c`. */
  const gapX = (c: number, side: 1 | -1) => {
    const k = used.gaps.get(`${c}${side}`) ?? 0;
    used.gaps.set(`${c}${side}`, k + 1);
    const span = columns[c] ?? { left: 0, right: 0 };
    return side === 1 ? span.right + 16 + k * GAP_STEP : span.left - 16 - k * GAP_STEP;
  };
  const pairs = new Set(edges.map((e) => `${e.from}\u0000${e.to}`));
  const routes: Route[] = [];

  for (const edge of edges) {
    const a = boxes.get(edge.from);
    const b = boxes.get(edge.to);
    if (!a || !b) continue;
    const label = edge.labels.join(', ');
    const ra = rank.get(topOf(a.id)) ?? 0;
    const rb = rank.get(topOf(b.id)) ?? 0;
    const base = { from: edge.from, to: edge.to, label };
    const cy = (box: Box) => box.y + SIZES.leafH / 2 + (box.group ? SIZES.header / 2 : 0);

    if (a === b) {
      const x = a.x + a.w / 2;
      const y = a.y + a.h;
      const d = `M${f(x - 14)},${f(y)} C${f(x - 34)},${f(y + 36)} ${f(x + 34)},${f(y + 36)} ${f(x + 14)},${f(y)}`;
      routes.push({ ...base, d, lx: x, ly: y + SIZES.loop - 2, anchor: 'middle' });
    } else if (ra === rb) {
      const down = a.y < b.y;
      const x = a.x + a.w / 2 + (down ? -12 : 12);
      const [y1, y2] = down ? [a.y + a.h, b.y] : [a.y, b.y + b.h];
      const ly = (y1 + y2) / 2 + 4;
      routes.push({
        ...base,
        d: `M${f(x)},${f(y1)} L${f(x)},${f(y2)}`,
        lx: down ? x - 6 : x + 6,
        ly,
        anchor: down ? 'end' : 'start',
      });
    } else if (Math.abs(ra - rb) === 1) {
      const forward = rb > ra;
      const shift = pairs.has(`${edge.to}\u0000${edge.from}`) ? (forward ? -7 : 7) : 0;
      const x1 = forward ? a.x + a.w : a.x;
      const x2 = forward ? b.x : b.x + b.w;
      const [y1, y2] = [cy(a) + shift, cy(b) + shift];
      const mid = (x1 + x2) / 2;
      const p = [x1, y1, mid, y1, mid, y2, x2, y2];
      // Curves leaving one state fan out: their labels sit nearer their targets, where they have room.
      const [lx, ly] = point(forward ? 0.58 : 0.5, p);
      const d = `M${f(x1)},${f(y1)} C${f(mid)},${f(y1)} ${f(mid)},${f(y2)} ${f(x2)},${f(y2)}`;
      routes.push({ ...base, d, lx, ly: forward ? ly - 5 : ly + 13, anchor: 'middle' });
    } else {
      const forward = rb > ra;
      const lane = forward ? placed.top - LANE * ++used.top : placed.bottom + LANE * ++used.bottom;
      const x1 = forward ? a.x + a.w : a.x;
      const x2 = forward ? b.x : b.x + b.w;
      const g1 = gapX(ra, forward ? 1 : -1);
      const g2 = gapX(rb, forward ? -1 : 1);
      const [y1, y2] = [cy(a), cy(b)];
      const d = `M${f(x1)},${f(y1)} L${f(g1)},${f(y1)} L${f(g1)},${f(lane)} L${f(g2)},${f(lane)} L${f(g2)},${f(y2)} L${f(x2)},${f(y2)}`;
      routes.push({ ...base, d, lx: (g1 + g2) / 2, ly: lane - 5, anchor: 'middle' });
    }
  }
  return routes;
}

/** Width of a label in the diagram's 11px monospace font. */
export function labelWidth(label: string): number {
  return label.length * 6.7;
}

/** The drawing's extent: the states, the lanes and every label. */
export function bounds(
  routes: readonly Route[],
  placed: Placement,
): { left: number; right: number; top: number; bottom: number } {
  const ys = routes.flatMap((r) => [...r.d.matchAll(/,(-?[\d.]+)/g)].map((m) => Number(m[1])));
  const lefts = routes.map(
    (r) =>
      r.lx - (r.anchor === 'end' ? labelWidth(r.label) : r.anchor === 'middle' ? labelWidth(r.label) / 2 : 0),
  );
  const rights = routes.map(
    (r) =>
      r.lx +
      (r.anchor === 'start' ? labelWidth(r.label) : r.anchor === 'middle' ? labelWidth(r.label) / 2 : 0),
  );
  return {
    left: Math.min(0, ...lefts),
    right: Math.max(placed.right + SIZES.margin, ...rights),
    top: Math.min(placed.top, ...ys, ...routes.map((r) => r.ly - 12)),
    bottom: Math.max(placed.bottom, ...ys, ...routes.map((r) => r.ly + 4)),
  };
}
