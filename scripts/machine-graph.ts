/**
 * The job machine as a graph, read from docs/machines/job.json (what `npm run machines` generates
 * from the real machine): its state nodes, nested in their compound parents, and its transitions
 * with readable labels. Ids are paths below the root: `pending.queued`, `running`, `completed`.
 * Used at build time: scripts/machine-layout.ts lays it out for the dashboard.
 */
import { readFileSync } from 'node:fs';

interface TransitionJson {
  readonly target?: readonly string[];
  readonly eventType: string;
  readonly guard?: unknown;
  readonly delay?: unknown;
}

interface StateJson {
  readonly id: string;
  readonly key: string;
  readonly type: string;
  readonly initial?: { readonly target: readonly string[] };
  readonly states: Readonly<Record<string, StateJson>>;
  readonly transitions?: readonly TransitionJson[];
  readonly always?: readonly TransitionJson[];
}

export interface GraphState {
  readonly id: string;
  readonly key: string;
  readonly parent: string | null;
  readonly children: readonly string[];
  readonly final: boolean;
}

export interface GraphEdge {
  readonly from: string;
  readonly to: string;
  /** One label per transition (deduplicated), e.g. `START`, `after retryBackoff`, `[canRetry]`. */
  readonly labels: readonly string[];
}

export interface MachineGraph {
  readonly states: ReadonlyMap<string, GraphState>;
  /** The root's children, in definition order. */
  readonly top: readonly string[];
  /** The state the machine starts in (`pending`). */
  readonly initial: string | null;
  readonly edges: readonly GraphEdge[];
}

function guardText(guard: unknown): string | undefined {
  if (typeof guard === 'string') return guard;
  if (typeof guard === 'object' && guard !== null && 'guards' in guard && Array.isArray(guard.guards)) {
    const joiner = 'type' in guard && guard.type === 'xstate.or' ? ' || ' : ' && ';
    return guard.guards.map((g) => guardText(g) ?? '?').join(joiner);
  }
  return undefined;
}

/** `xstate.after.retryBackoff.job.pending.backoff` → `after retryBackoff`; eventless → its guard. */
export function transitionLabel(t: TransitionJson, eventless: boolean, guarded: boolean): string {
  if (eventless) return `[${guardText(t.guard) ?? (guarded ? 'else' : 'always')}]`;
  const after = /^xstate\.after\.([^.]+)\./.exec(t.eventType);
  if (after) return `after ${typeof t.delay === 'string' ? t.delay : after[1]}`;
  const error = /^xstate\.error\.actor\.(.+)$/.exec(t.eventType);
  if (error) return `error ${error[1]}`;
  const done = /^xstate\.done\.actor\.(.+)$/.exec(t.eventType);
  if (done) return `done ${done[1]}`;
  return t.eventType;
}

export function readMachine(root: StateJson): MachineGraph {
  const prefix = `${root.id}.`;
  const local = (ref: string) => ref.replace(/^#/, '').replace(prefix, '');
  const states = new Map<string, GraphState>();
  const edges = new Map<string, { from: string; to: string; labels: string[] }>();

  const addEdges = (from: string, list: readonly TransitionJson[] | undefined, eventless: boolean) => {
    let guarded = false;
    for (const t of list ?? []) {
      const label = transitionLabel(t, eventless, guarded);
      guarded ||= t.guard !== undefined;
      for (const target of t.target ?? []) {
        const to = local(target);
        const key = `${from}\u0000${to}`;
        const edge = edges.get(key) ?? { from, to, labels: [] };
        if (!edge.labels.includes(label)) edge.labels.push(label);
        edges.set(key, edge);
      }
    }
  };

  const visit = (node: StateJson, parent: string | null) => {
    const id = local(node.id);
    const children = Object.values(node.states);
    states.set(id, {
      id,
      key: node.key,
      parent,
      children: children.map((child) => local(child.id)),
      final: node.type === 'final',
    });
    addEdges(id, node.transitions, false);
    addEdges(id, node.always, true);
    for (const child of children) visit(child, id);
  };
  const top = Object.values(root.states);
  for (const node of top) visit(node, null);
  const initial = root.initial?.target[0];
  return {
    states,
    top: top.map((node) => local(node.id)),
    initial: initial === undefined ? null : local(initial),
    edges: [...edges.values()],
  };
}

/** The job machine's graph, from the JSON `npm run machines` wrote. */
export function jobGraph(): MachineGraph {
  const json = readFileSync(new URL('../docs/machines/job.json', import.meta.url), 'utf8');
  return readMachine(JSON.parse(json) as StateJson);
}
