/**
 * The job machine diagram's layout, made at build time with ELK (`elkjs`, the Eclipse Layout
 * Kernel's layered algorithm: compound states as groups, orthogonal edges, labels placed with
 * the edges) and written to dashboard/src/job-layout.json, which the dashboard draws as is.
 *
 * ELK's result depends on the order it is given the states in (it breaks cycles by that order):
 * the states are tried in definition order first, then in other orders, and the first layout with
 * no edge crossing another, no edge through a label or a state it does not join, and no edge
 * running backwards (right to left, except back into the initial state) is kept; failing that,
 * the one with the fewest. `scoreLayout` is what test/diagram-layout.test.ts checks.
 */
import ElkModule, { type ElkExtendedEdge, type ElkNode } from 'elkjs/lib/elk.bundled.js';
import type { JobLayout, LaidEdge, LaidState, StateOrder } from '../dashboard/src/layout-types.js';
import type { MachineGraph } from './machine-graph.js';

export type { JobLayout, LaidEdge, LaidState, StateOrder };

/** Text metrics of the dashboard's CSS: state names 13px sans, transition labels 11px mono. */
/** Where the dashboard finds the layout (relative to the repository). */
export const LAYOUT = 'dashboard/src/job-layout.json';

const STATE_CHAR = 7.4;
const LABEL_CHAR = 6.7;
const LABEL_H = 13;
const LEAF_H = 34;
const MIN_LEAF_W = 104;

const OPTIONS = {
  'elk.algorithm': 'layered',
  'elk.direction': 'RIGHT',
  'elk.hierarchyHandling': 'INCLUDE_CHILDREN',
  'elk.edgeRouting': 'ORTHOGONAL',
  'elk.layered.cycleBreaking.strategy': 'MODEL_ORDER',
  'elk.layered.considerModelOrder.strategy': 'NODES_AND_EDGES',
  'elk.layered.crossingMinimization.forceNodeModelOrder': 'true',
  'elk.layered.thoroughness': '100',
  'elk.layered.layering.strategy': 'NETWORK_SIMPLEX',
  'elk.layered.nodePlacement.strategy': 'BRANDES_KOEPF',
  'elk.layered.spacing.nodeNodeBetweenLayers': '60',
  'elk.spacing.nodeNode': '30',
  'elk.spacing.edgeLabel': '4',
};

/** The package is CommonJS: its default export is `module.exports`, the constructor itself. */
const ELK = ElkModule as unknown as typeof ElkModule.default;

const round = (n: number) => Math.round(n * 10) / 10;

/** ELK's layout of `graph` with its states in `order` (each compound's children in their order). */
export async function layoutIn(
  graph: MachineGraph,
  order: ReadonlyMap<string | null, readonly string[]>,
): Promise<JobLayout> {
  const node = (id: string): ElkNode => {
    const state = graph.states.get(id)!;
    const children = order.get(id) ?? [];
    if (children.length > 0) {
      return {
        id,
        layoutOptions: { 'elk.padding': '[top=30,left=14,bottom=14,right=14]' },
        children: children.map(node),
      };
    }
    return { id, width: Math.max(MIN_LEAF_W, state.key.length * STATE_CHAR + 28), height: LEAF_H };
  };
  const top = order.get(null)!;
  const rank = (id: string) => top.indexOf(id.split('.')[0]!);
  const edges = [...graph.edges].sort((a, b) => rank(a.from) - rank(b.from));
  const root: ElkNode = {
    id: 'root',
    layoutOptions: OPTIONS,
    children: top.map(node),
    edges: edges.map((e, i): ElkExtendedEdge => {
      const text = e.labels.join(', ');
      return {
        id: `e${i}`,
        sources: [e.from],
        targets: [e.to],
        labels: [{ text, width: text.length * LABEL_CHAR, height: LABEL_H }],
      };
    }),
  };
  const out = await new ELK().layout(root);
  const origin = new Map<string, { x: number; y: number }>([['root', { x: 0, y: 0 }]]);
  const states: LaidState[] = [];
  const walk = (parent: ElkNode, dx: number, dy: number) => {
    for (const child of parent.children ?? []) {
      const [x, y] = [dx + child.x!, dy + child.y!];
      origin.set(child.id, { x, y });
      const state = graph.states.get(child.id)!;
      states.push({
        id: child.id,
        label: state.key,
        x: round(x),
        y: round(y),
        w: round(child.width!),
        h: round(child.height!),
        group: state.children.length > 0,
        final: state.final,
      });
      walk(child, x, y);
    }
  };
  walk(out, 0, 0);
  const laid = (out.edges ?? []).map((edge, i): LaidEdge => {
    const o = origin.get((edge as { container?: string }).container ?? 'root')!;
    const section = edge.sections![0]!;
    const points = [section.startPoint, ...(section.bendPoints ?? []), section.endPoint].map(
      (p) => [round(p.x + o.x), round(p.y + o.y)] as const,
    );
    const label = edge.labels![0]!;
    return {
      from: edges[i]!.from,
      to: edges[i]!.to,
      label: label.text!,
      points,
      labelBox: { x: round(label.x! + o.x), y: round(label.y! + o.y), w: round(label.width!), h: LABEL_H },
    };
  });
  const given = Object.fromEntries([...order].map(([id, ids]) => [id ?? '*', [...ids]]));
  return {
    order: given,
    width: round(out.width!),
    height: round(out.height!),
    initial: graph.initial,
    states,
    edges: laid,
  };
}

export interface LayoutScore {
  /** Pairs of segments of two edges that cross. */
  readonly crossings: number;
  /** Segments through another edge's label. */
  readonly throughLabels: number;
  /** Segments through a (leaf) state the edge does not join. */
  readonly throughStates: number;
  /** Edges that run right to left (other than back into the initial state). */
  readonly backwards: number;
}

type Box = { readonly x: number; readonly y: number; readonly w: number; readonly h: number };
type Segment = readonly [readonly [number, number], readonly [number, number]];

function segments(edge: LaidEdge): Segment[] {
  return edge.points.slice(1).map((p, i) => [edge.points[i]!, p] as const);
}

/** Whether two axis-parallel segments cross (touching at an end is not crossing). */
function crosses([a1, a2]: Segment, [b1, b2]: Segment): boolean {
  const aFlat = a1[1] === a2[1];
  if (aFlat === (b1[1] === b2[1])) return false;
  const [[h1, h2], [v1, v2]] = aFlat
    ? [
        [a1, a2],
        [b1, b2],
      ]
    : [
        [b1, b2],
        [a1, a2],
      ];
  const [x, y] = [v1[0], h1[1]];
  const within = (n: number, p: number, q: number) => n > Math.min(p, q) + 0.5 && n < Math.max(p, q) - 0.5;
  return within(x, h1[0], h2[0]) && within(y, v1[1], v2[1]);
}

function through([p, q]: Segment, box: Box): boolean {
  return (
    Math.max(p[0], q[0]) > box.x + 1 &&
    Math.min(p[0], q[0]) < box.x + box.w - 1 &&
    Math.max(p[1], q[1]) > box.y + 1 &&
    Math.min(p[1], q[1]) < box.y + box.h - 1
  );
}

export function scoreLayout(layout: JobLayout): LayoutScore {
  const { edges, states } = layout;
  let crossings = 0;
  let throughLabels = 0;
  let throughStates = 0;
  for (const [i, a] of edges.entries()) {
    for (const b of edges.slice(i + 1))
      for (const s of segments(a)) for (const t of segments(b)) if (crosses(s, t)) crossings++;
    for (const b of edges)
      if (b !== a) for (const s of segments(a)) if (through(s, b.labelBox)) throughLabels++;
    for (const state of states)
      if (!state.group && state.id !== a.from && state.id !== a.to)
        for (const s of segments(a)) if (through(s, state)) throughStates++;
  }
  const centre = new Map(states.map((s) => [s.id, s.x + s.w / 2]));
  const initial = layout.initial?.split('.')[0];
  const backwards = edges.filter(
    (e) => e.to.split('.')[0] !== initial && centre.get(e.to)! < centre.get(e.from)!,
  ).length;
  return { crossings, throughLabels, throughStates, backwards };
}

const cost = (s: LayoutScore) => faults(s) * 10 + s.backwards;

/** Whether an order names exactly the graph's states at each level. */
function sameStates(graph: MachineGraph, order: StateOrder): boolean {
  const levels = [
    ['*', graph.top],
    ...[...graph.states.values()]
      .filter((s) => s.children.length > 0)
      .map((s) => [s.id, s.children] as const),
  ] as const;
  return (
    Object.keys(order).length === levels.length &&
    levels.every(([id, ids]) => [...(order[id] ?? [])].sort().join() === [...ids].sort().join())
  );
}

function permutations<T>(items: readonly T[]): T[][] {
  if (items.length <= 1) return [[...items]];
  return items.flatMap((item, i) =>
    permutations([...items.slice(0, i), ...items.slice(i + 1)]).map((rest) => [item, ...rest]),
  );
}

/** A fault: an edge crossing another, or through a label or a state it does not join. */
export const faults = (s: LayoutScore) => s.crossings + s.throughLabels + s.throughStates;

/**
 * The best layout (see the file comment): the first without a fault, else the one with the fewest.
 * `preferred`: the order of the layout made before, tried first — kept when it has no fault, so a
 * build need not search again.
 */
export async function layoutJobMachine(graph: MachineGraph, preferred?: StateOrder): Promise<JobLayout> {
  if (preferred && sameStates(graph, preferred)) {
    const order = new Map<string | null, readonly string[]>(
      Object.entries(preferred).map(([id, ids]) => [id === '*' ? null : id, ids]),
    );
    const layout = await layoutIn(graph, order);
    if (faults(scoreLayout(layout)) === 0) return layout;
  }
  const compounds = [...graph.states.values()].filter((s) => s.children.length > 0);
  const [initial, ...rest] =
    graph.initial !== null && graph.top.includes(graph.initial.split('.')[0]!)
      ? [graph.initial.split('.')[0]!, ...graph.top.filter((id) => id !== graph.initial!.split('.')[0])]
      : graph.top;
  // Every order of the top-level states after the initial one, with every order of each
  // compound's children (the first compound's first): definition order first.
  const childOrders = compounds.map((c) => permutations(c.children));
  let best: { layout: JobLayout; cost: number } | undefined;
  for (const top of permutations(rest)) {
    const combos = childOrders.reduce<string[][][]>(
      (acc, orders) => acc.flatMap((prefix) => orders.map((o) => [...prefix, o])),
      [[]],
    );
    for (const combo of combos) {
      const order = new Map<string | null, readonly string[]>([[null, [initial!, ...top]]]);
      compounds.forEach((c, i) => order.set(c.id, combo[i]!));
      const layout = await layoutIn(graph, order);
      const c = cost(scoreLayout(layout));
      if (!best || c < best.cost) best = { layout, cost: c };
      if (c === 0) return layout;
    }
  }
  return best!.layout;
}
