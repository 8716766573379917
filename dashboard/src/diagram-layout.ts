/**
 * A layered layout of a machine graph: top-level states in columns by their longest distance from
 * the initial state (back edges ignored), compound states as groups with their children stacked,
 * columns ordered by the mean height of their predecessors. Pure arithmetic; no DOM.
 */
import type { MachineGraph } from './machine-graph.js';

export interface Box {
  readonly id: string;
  readonly label: string;
  readonly x: number;
  readonly y: number;
  readonly w: number;
  readonly h: number;
  readonly group: boolean;
  readonly final: boolean;
  /** The top-level state this box is (or is inside). */
  readonly top: string;
}

export interface Placement {
  readonly boxes: ReadonlyMap<string, Box>;
  /** Column of each top-level state. */
  readonly rank: ReadonlyMap<string, number>;
  /** Left and right x of each column. */
  readonly columns: readonly { readonly left: number; readonly right: number }[];
  readonly top: number;
  readonly bottom: number;
  readonly right: number;
}

export const SIZES = Object.freeze({
  margin: 40,
  leafH: 34,
  minLeafW: 104,
  charW: 7.4,
  pad: 14,
  header: 24,
  childGap: 52,
  loop: 40,
  colGap: 150,
  rowGap: 34,
});

/** Top-level ancestor of a state id (`pending.queued` → `pending`). */
export function topOf(id: string): string {
  return id.split('.')[0] ?? id;
}

/** Longest-path column per top-level state; edges that close a cycle (found depth-first) are ignored. */
export function ranks(graph: MachineGraph): Map<string, number> {
  const next = new Map<string, Set<string>>(graph.top.map((id) => [id, new Set<string>()]));
  for (const edge of graph.edges) {
    const [from, to] = [topOf(edge.from), topOf(edge.to)];
    if (from !== to) next.get(from)?.add(to);
  }
  const order = (set: Set<string>) => graph.top.filter((id) => set.has(id));
  const state = new Map<string, 'open' | 'done'>();
  const finished: string[] = [];
  const forward = new Map<string, string[]>(graph.top.map((id) => [id, []]));
  const visit = (id: string) => {
    state.set(id, 'open');
    for (const to of order(next.get(id) ?? new Set())) {
      if (state.get(to) === 'open') continue; // a back edge
      forward.get(id)?.push(to);
      if (!state.has(to)) visit(to);
    }
    state.set(id, 'done');
    finished.push(id);
  };
  const roots = graph.initial === null ? graph.top : [topOf(graph.initial), ...graph.top];
  for (const id of roots) if (!state.has(id)) visit(id);
  const rank = new Map<string, number>(graph.top.map((id) => [id, 0]));
  for (const id of finished.reverse()) {
    for (const to of forward.get(id) ?? [])
      rank.set(to, Math.max(rank.get(to) ?? 0, (rank.get(id) ?? 0) + 1));
  }
  return rank;
}

function leafWidth(label: string): number {
  return Math.max(SIZES.minLeafW, Math.round(label.length * SIZES.charW + 28));
}

export function place(graph: MachineGraph): Placement {
  const rank = ranks(graph);
  const loops = new Set(graph.edges.filter((e) => e.from === e.to).map((e) => e.from));
  const key = (id: string) => graph.states.get(id)?.key ?? id;
  const final = (id: string) => graph.states.get(id)?.final ?? false;
  const children = (id: string) => graph.states.get(id)?.children ?? [];
  const slot = (id: string) => SIZES.leafH + (loops.has(id) ? SIZES.loop : 0);
  const size = (id: string) => {
    const kids = children(id);
    if (kids.length === 0) return { w: leafWidth(key(id)), h: slot(id) };
    const w = Math.max(leafWidth(key(id)), ...kids.map((kid) => leafWidth(key(kid)))) + 2 * SIZES.pad;
    const inner = kids.reduce((sum, kid) => sum + slot(kid), 0) + SIZES.childGap * (kids.length - 1);
    return { w, h: SIZES.header + inner + SIZES.pad };
  };

  const columnCount = Math.max(0, ...rank.values()) + 1;
  const columns = Array.from({ length: columnCount }, (_, c) => graph.top.filter((id) => rank.get(id) === c));
  const sizes = new Map(graph.top.map((id) => [id, size(id)]));
  const heightOf = (column: string[]) =>
    column.reduce((sum, id) => sum + (sizes.get(id)?.h ?? 0), 0) + SIZES.rowGap * (column.length - 1);
  const height = Math.max(...columns.map(heightOf));

  const boxes = new Map<string, Box>();
  const centreY = new Map<string, number>();
  const spans: { left: number; right: number }[] = [];
  let x = SIZES.margin;
  for (const column of columns) {
    // Order by the mean height of the already placed predecessors (fewer crossings).
    const mean = (id: string) => {
      const ys = graph.edges
        .filter((e) => topOf(e.to) === id && centreY.has(topOf(e.from)))
        .map((e) => centreY.get(topOf(e.from)) ?? 0);
      return ys.length === 0 ? height / 2 : ys.reduce((a, b) => a + b, 0) / ys.length;
    };
    if (spans.length > 0) column.sort((a, b) => mean(a) - mean(b));
    const width = Math.max(...column.map((id) => sizes.get(id)?.w ?? 0));
    let y = (height - heightOf(column)) / 2;
    for (const id of column) {
      const { w, h } = sizes.get(id) ?? { w: 0, h: 0 };
      const left = x + (width - w) / 2;
      const kids = children(id);
      boxes.set(id, {
        id,
        label: key(id),
        x: left,
        y,
        w,
        h,
        group: kids.length > 0,
        final: final(id),
        top: id,
      });
      let cy = y + SIZES.header;
      for (const kid of kids) {
        const kw = leafWidth(key(kid));
        const child: Box = {
          id: kid,
          label: key(kid),
          x: left + (w - kw) / 2,
          y: cy,
          w: kw,
          h: SIZES.leafH,
          group: false,
          final: final(kid),
          top: id,
        };
        boxes.set(kid, child);
        cy += slot(kid) + SIZES.childGap;
      }
      centreY.set(id, y + h / 2);
      y += h + SIZES.rowGap;
    }
    spans.push({ left: x, right: x + width });
    x += width + SIZES.colGap;
  }
  return { boxes, rank, columns: spans, top: 0, bottom: height, right: x - SIZES.colGap };
}
