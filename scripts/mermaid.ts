/**
 * Machine definitions as documentation: a Mermaid `stateDiagram-v2` and a JSON definition,
 * generated from an XState v5 machine. Pure: reads only the machine's state nodes, so the same
 * machine always gives the same text (states, events and candidates in definition order).
 *
 * - nested states are composite states; `[*] --> initial`; final states `--> [*]`
 * - labels: `EVENT [guard]`, `after delay [guard]`, `always [guard]`, `onDone src`, `onError src`;
 *   an unguarded candidate after guarded ones is labelled `[else]`
 * - a transition without a target (actions only: the state is not left) is a line of its state,
 *   `EVENT [guard] / actions`; a self-transition (the state is left and entered again) is `a --> a`
 * - transitions of the root (its `'*'` catch-all) are a note, not an edge
 * - entry and exit actions and invoked actors are a description of an atomic state, a note on a composite one
 */
import type { AnyStateMachine, AnyStateNode, AnyTransitionDefinition } from 'xstate';

/** Words the Mermaid state diagram grammar gives a meaning; never used as a state id. */
const RESERVED_IDS = new Set([
  'as',
  'class',
  'classdef',
  'direction',
  'end',
  'hide',
  'note',
  'state',
  'style',
]);

interface Edge {
  readonly from: string;
  readonly to: string;
  readonly label: string;
}

interface Diagram {
  readonly ids: Map<AnyStateNode, string>;
  /** Edges by the state node whose block declares them (the nearest common ancestor). */
  readonly edges: Map<AnyStateNode, Edge[]>;
}

/**
 * Mermaid ends a statement at `;`, and its `#name;` entities do not survive in state diagrams:
 * a label keeps to one line without `;` (a state's quoted key, without `"`).
 */
function escapeText(text: string): string {
  return text.replace(/\s+/g, ' ').trim().replace(/;/g, ',');
}

function escapeLabel(text: string): string {
  return text.replace(/\s+/g, ' ').trim().replace(/"/g, "'");
}

/** Every state node below `node`, depth first in definition order. */
function descendants(node: AnyStateNode): AnyStateNode[] {
  return Object.values(node.states).flatMap((child) => [child, ...descendants(child)]);
}

function children(node: AnyStateNode): AnyStateNode[] {
  return Object.values(node.states);
}

/**
 * Ids are the state's path joined with `_` (`pending_queued`), made unique. A parallel root is
 * drawn as a composite state of its own (Mermaid has no concurrent regions at the top level).
 */
function assignIds(root: AnyStateNode): Map<AnyStateNode, string> {
  const ids = new Map<AnyStateNode, string>();
  // Mermaid names the pseudo-states of `[*]` `<parent>_start` / `<parent>_end` (`root_*` at the top).
  const used = new Set<string>(['root_start', 'root_end']);
  const nodes = root.type === 'parallel' ? [root, ...descendants(root)] : descendants(root);
  for (const node of nodes) {
    let base = (node === root ? root.key : node.path.join('_')).replace(/[^A-Za-z0-9_]/g, '_');
    if (!/^[A-Za-z]/.test(base) || RESERVED_IDS.has(base.toLowerCase())) base = `s_${base}`;
    let id = base;
    for (let n = 2; used.has(id); n += 1) id = `${base}_${n}`;
    used.add(id);
    used.add(`${id}_start`);
    used.add(`${id}_end`);
    ids.set(node, id);
  }
  return ids;
}

/** `and([...])`, `or([...])`, `not(...)` and `stateIn(...)` are functions carrying their parts. */
interface GuardFunction {
  readonly name: string;
  readonly guards?: readonly unknown[];
  readonly stateValue?: unknown;
  readonly check?: { readonly name: string };
}

export function guardLabel(guard: unknown, nested = false): string | undefined {
  if (guard === undefined || guard === null) return undefined;
  if (typeof guard === 'string') return guard;
  if (typeof guard === 'function') {
    const fn = guard as GuardFunction;
    const kind = (fn.check?.name ?? fn.name).replace(/^check/, '').toLowerCase();
    if (Array.isArray(fn.guards)) {
      const parts = fn.guards.map((part) => guardLabel(part, true) ?? 'inline');
      if (kind === 'not') return `!${parts[0] ?? 'inline'}`;
      const text = parts.join(kind === 'or' ? ' || ' : ' && ');
      return nested && parts.length > 1 ? `(${text})` : text;
    }
    if (fn.stateValue !== undefined) {
      return `in ${typeof fn.stateValue === 'string' ? fn.stateValue : JSON.stringify(fn.stateValue)}`;
    }
    return fn.name && fn.name !== 'guard' ? fn.name : 'inline';
  }
  if (typeof guard === 'object' && 'type' in guard) return String(guard.type);
  return 'inline';
}

/** A built-in action (`raise`, `emit`, `assign`, …) is a function or object with a `type`. */
function builtinType(action: unknown): string | undefined {
  if ((typeof action !== 'function' && typeof action !== 'object') || action === null) return undefined;
  const type = (action as { type?: unknown }).type;
  return typeof type === 'string' ? type : undefined;
}

function actionName(action: unknown, machine: AnyStateMachine): string | undefined {
  if (typeof action === 'string') {
    const implementation = (machine.implementations.actions as Record<string, unknown>)[action];
    if (builtinType(implementation) !== 'xstate.emit') return action;
    const emitted = (implementation as { event?: unknown }).event;
    const type = typeof emitted === 'object' && emitted !== null ? builtinType(emitted) : undefined;
    return `${action} (emits ${type ?? 'an event'})`;
  }
  const type = builtinType(action);
  if (type !== undefined) return type;
  return typeof action === 'function' ? action.name || 'inline' : undefined;
}

/** The named actions: not XState's own (the `xstate.raise` of an `after` timer, …). */
function actionNames(actions: readonly unknown[] | undefined, machine: AnyStateMachine): string[] {
  return (actions ?? [])
    .map((action) => actionName(action, machine))
    .filter((name): name is string => name !== undefined && !name.startsWith('xstate.'));
}

/** The `src` of the actor invoked as `id` by `node` or an ancestor of it. */
function invokedName(node: AnyStateNode, id: string): string {
  for (let at: AnyStateNode | undefined = node; at; at = at.parent) {
    const invoke = at.invoke.find((definition) => definition.id === id);
    if (invoke) return typeof invoke.src === 'string' ? invoke.src : id;
  }
  return id;
}

function delayLabel(delay: unknown): string {
  if (typeof delay === 'number') return `${delay}ms`;
  if (typeof delay === 'string') return /^\d+$/.test(delay) ? `${delay}ms` : delay;
  return 'delay';
}

function eventLabel(transition: AnyTransitionDefinition): string {
  const eventType = String(transition.eventType);
  const delay = (transition as { delay?: unknown }).delay;
  if (eventType === '') return 'always';
  if (delay !== undefined) return `after ${delayLabel(delay)}`;
  const actor = /^xstate\.(done|error)\.actor\.(.+)$/.exec(eventType);
  if (actor) {
    return `${actor[1] === 'done' ? 'onDone' : 'onError'} ${invokedName(transition.source, actor[2] ?? '')}`;
  }
  if (eventType.startsWith('xstate.done.state.')) return 'onDone';
  return eventType;
}

/** One label per candidate: an unguarded candidate after a guarded one is its `else`. */
function candidateLabels(candidates: readonly AnyTransitionDefinition[]): string[] {
  let guarded = false;
  return candidates.map((candidate) => {
    const guard = guardLabel(candidate.guard);
    const label = eventLabel(candidate);
    if (guard !== undefined) {
      guarded = true;
      return `${label} [${guard}]`;
    }
    return guarded ? `${label} [else]` : label;
  });
}

/**
 * The block that declares an edge: the composite state whose direct children both ends are,
 * else the top level. Mermaid moves a state into the block that last names it, except at the
 * top level, so an edge never names a deeper state inside a composite block.
 */
function edgeBlock(from: AnyStateNode, to: AnyStateNode): AnyStateNode {
  const parent = from.parent;
  return parent && parent === to.parent && parent.type !== 'parallel' ? parent : from.machine.root;
}

function collectEdges(root: AnyStateNode, ids: Map<AnyStateNode, string>): Map<AnyStateNode, Edge[]> {
  const edges = new Map<AnyStateNode, Edge[]>();
  for (const node of descendants(root)) {
    const lists = [...(node.always ? [node.always] : []), ...node.transitions.values()];
    for (const candidates of lists) {
      const labels = candidateLabels(candidates);
      candidates.forEach((candidate, index) => {
        for (const target of candidate.target ?? []) {
          const block = edgeBlock(node, target);
          const list = edges.get(block) ?? [];
          list.push({ from: ids.get(node)!, to: ids.get(target)!, label: labels[index] ?? '' });
          edges.set(block, list);
        }
      });
    }
  }
  return edges;
}

/** What the root's own transitions (its `'*'` catch-all) do, as lines of a note. */
function rootNotes(root: AnyStateNode): string[] {
  const lines: string[] = [];
  const lists = [...(root.always ? [root.always] : []), ...root.transitions.values()];
  for (const candidates of lists) {
    const labels = candidateLabels(candidates);
    candidates.forEach((candidate, index) => {
      const label = labels[index] ?? '';
      const what = [
        ...(candidate.target ?? []).map((target) => target.key),
        ...actionNames(candidate.actions, root.machine),
      ].join(', ');
      const when = candidate.eventType === '*' ? label.replace(/^\*/, 'any event not accepted') : label;
      lines.push(`${when} → ${what || 'ignored'}`);
    });
  }
  return lines;
}

/** An atomic state's description lines, or the note of a composite one: entry and exit actions, invoked actors. */
function stateDetails(node: AnyStateNode): string[] {
  const details: string[] = [];
  const entry = actionNames(node.entry, node.machine);
  if (entry.length > 0) details.push(`entry / ${entry.join(', ')}`);
  const exit = actionNames(node.exit, node.machine);
  if (exit.length > 0) details.push(`exit / ${exit.join(', ')}`);
  for (const invoke of node.invoke) {
    details.push(`invoke ${typeof invoke.src === 'string' ? invoke.src : invoke.id}`);
  }
  if (node === node.machine.root) return details; // its transitions are the root note
  for (const candidates of node.transitions.values()) {
    const labels = candidateLabels(candidates);
    candidates.forEach((candidate, index) => {
      if (candidate.target?.length) return;
      const actions = actionNames(candidate.actions, node.machine);
      details.push(`${labels[index] ?? ''}${actions.length > 0 ? ` / ${actions.join(', ')}` : ''}`);
    });
  }
  return details;
}

function renderEdges(edges: readonly Edge[] | undefined, indent: string): string[] {
  return (edges ?? []).map((edge) => {
    const label = edge.label ? ` : ${escapeText(edge.label)}` : '';
    return `${indent}${edge.from} --> ${edge.to}${label}`;
  });
}

/** The inside of a composite state (or of the diagram): initial, children, edges, finals. */
function renderBlock(node: AnyStateNode, diagram: Diagram, indent: string): string[] {
  const lines: string[] = [];
  const id = (state: AnyStateNode) => diagram.ids.get(state)!;
  if (node.type === 'compound') {
    for (const target of node.initial.target) lines.push(`${indent}[*] --> ${id(target)}`);
  }
  children(node).forEach((child, index) => {
    if (node.type === 'parallel' && index > 0) lines.push(`${indent}--`);
    lines.push(...renderState(child, diagram, indent));
  });
  // Edges of a parallel state would land in its last region: they are drawn one level up.
  if (node.type !== 'parallel') lines.push(...renderEdges(diagram.edges.get(node), indent));
  for (const child of children(node)) {
    if (child.type === 'final') lines.push(`${indent}${id(child)} --> [*]`);
  }
  return lines;
}

function renderState(node: AnyStateNode, diagram: Diagram, indent: string): string[] {
  const id = diagram.ids.get(node)!;
  const declaration = `${indent}state "${escapeLabel(node.key)}" as ${id}`;
  const details = stateDetails(node);
  if (children(node).length === 0) {
    return [declaration, ...details.map((detail) => `${indent}${id} : ${escapeText(detail)}`)];
  }
  // Mermaid gives a composite state a label only: its details are a note.
  return [
    `${declaration} {`,
    ...renderBlock(node, diagram, `${indent}  `),
    `${indent}}`,
    ...details.map((detail) => `${indent}note left of ${id} : ${escapeText(detail)}`),
  ];
}

/** The machine as a Mermaid `stateDiagram-v2` (ends with a newline). */
export function toMermaid(machine: AnyStateMachine): string {
  const { root } = machine;
  const ids = assignIds(root);
  const diagram: Diagram = { ids, edges: collectEdges(root, ids) };
  const lines = [
    'stateDiagram-v2',
    `  %% The XState machine "${escapeText(root.id)}": generated by scripts/machines.ts, do not edit.`,
    ...(root.type === 'parallel'
      ? [...renderState(root, diagram, '  '), ...renderEdges(diagram.edges.get(root), '  ')]
      : renderBlock(root, diagram, '  ')),
  ];
  const notes = rootNotes(root);
  const anchor = root.type === 'parallel' ? root : children(root)[0];
  if (notes.length > 0 && anchor) {
    lines.push(
      `  note right of ${ids.get(anchor)!}`,
      ...notes.map((note) => `    ${escapeText(note)}`),
      '  end note',
    );
  }
  return `${lines.join('\n')}\n`;
}

/** Guard combinators as data (`{ type: 'xstate.and', guards }`); every other function is dropped. */
function jsonReplacer(_key: string, value: unknown): unknown {
  if (typeof value !== 'function') return value;
  const fn = value as GuardFunction;
  const kind = (fn.check?.name ?? fn.name).replace(/^check/, '').toLowerCase();
  if (Array.isArray(fn.guards)) return { type: `xstate.${kind}`, guards: fn.guards };
  if (fn.stateValue !== undefined) return { type: 'xstate.stateIn', stateValue: fn.stateValue };
  return undefined;
}

/**
 * The machine's definition (`machine.definition`) as plain JSON data, without functions. XState
 * leaves eventless transitions out of `definition`: a state node that has some gets an `always` list.
 */
export function toJSON(machine: AnyStateMachine): unknown {
  const json = JSON.parse(JSON.stringify(machine.definition, jsonReplacer)) as Record<string, unknown>;
  addAlways(machine.root, json);
  return json;
}

function addAlways(node: AnyStateNode, json: Record<string, unknown>): void {
  if (node.always && node.always.length > 0) {
    json.always = JSON.parse(JSON.stringify(node.always, jsonReplacer)) as unknown;
  }
  const states = json.states as Record<string, Record<string, unknown>>;
  for (const [key, child] of Object.entries(node.states)) addAlways(child, states[key]!);
}
