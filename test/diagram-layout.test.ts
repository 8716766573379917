/**
 * The job machine diagram's layout (dashboard/src/job-layout.json), made at build time by ELK
 * (scripts/machine-layout.ts): it is what the layout of the current machine gives, it draws every
 * state and every transition, and no edge crosses another or runs through a label or a state it
 * does not join. The checker itself is shown to find each fault.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import type { JobLayout, LaidEdge } from '../dashboard/src/layout-types.js';
import { jobGraph } from '../scripts/machine-graph.js';
import { faults, layoutJobMachine, scoreLayout } from '../scripts/machine-layout.js';

const committed = JSON.parse(
  readFileSync(new URL('../dashboard/src/job-layout.json', import.meta.url), 'utf8'),
) as JobLayout;

describe('the job machine diagram', () => {
  it('is the layout ELK makes of the current machine (npm run dashboard writes it)', async () => {
    expect(await layoutJobMachine(jobGraph(), committed.order)).toEqual(committed);
  });

  it('draws every state and every transition of the machine', () => {
    const graph = jobGraph();
    expect(committed.states.map((s) => s.id).sort()).toEqual([...graph.states.keys()].sort());
    expect(committed.edges.map((e) => `${e.from}→${e.to}: ${e.label}`).sort()).toEqual(
      graph.edges.map((e) => `${e.from}→${e.to}: ${e.labels.join(', ')}`).sort(),
    );
    expect(committed.initial).toBe('pending');
  });

  it('has no edge crossing another, none through a label or a state, none running backwards', () => {
    expect(scoreLayout(committed)).toEqual({
      crossings: 0,
      throughLabels: 0,
      throughStates: 0,
      backwards: 1,
    });
    // The one right-to-left edge: running's CANCEL into `cancelled`, drawn between pending and running.
    const back = committed.edges.filter((e) => {
      const x = (id: string) => committed.states.find((s) => s.id === id)!.x;
      return !e.to.startsWith('pending') && x(e.to) < x(e.from);
    });
    expect(back.map((e) => `${e.from}→${e.to}`)).toEqual(['running→cancelled']);
  });

  it('the check finds a crossing, an edge through a label and an edge through a state', () => {
    const edge = (
      from: string,
      to: string,
      points: [number, number][],
      label = { x: 500, y: 500, w: 10, h: 10 },
    ): LaidEdge => ({
      from,
      to,
      label: `${from}-${to}`,
      points,
      labelBox: label,
    });
    const state = (id: string, x: number, y: number) => ({
      id,
      label: id,
      x,
      y,
      w: 20,
      h: 20,
      group: false,
      final: false,
    });
    const base = {
      order: {},
      width: 1_000,
      height: 1_000,
      initial: 'a',
      states: [state('a', 0, 0), state('b', 200, 0), state('c', 100, 100)],
    };
    const across: JobLayout = {
      ...base,
      edges: [
        edge('a', 'b', [
          [20, 50],
          [200, 50],
        ]),
        edge('c', 'b', [
          [110, 0],
          [110, 99],
        ]),
      ],
    };
    expect(scoreLayout(across)).toMatchObject({ crossings: 1 });
    expect(faults(scoreLayout(across))).toBe(1);
    const viaLabel: JobLayout = {
      ...base,
      edges: [
        edge('a', 'b', [
          [20, 10],
          [200, 10],
        ]),
        edge(
          'c',
          'a',
          [
            [100, 110],
            [60, 110],
          ],
          { x: 80, y: 5, w: 30, h: 12 },
        ),
      ],
    };
    expect(scoreLayout(viaLabel)).toMatchObject({ throughLabels: 1, crossings: 0 });
    const viaState: JobLayout = {
      ...base,
      edges: [
        edge('a', 'b', [
          [20, 110],
          [200, 110],
        ]),
      ],
    };
    expect(scoreLayout(viaState)).toMatchObject({ throughStates: 1 });
    // Touching at a shared end is no crossing.
    const touching: JobLayout = {
      ...base,
      edges: [
        edge('a', 'b', [
          [20, 50],
          [200, 50],
        ]),
        edge('c', 'b', [
          [110, 120],
          [110, 50],
        ]),
      ],
    };
    expect(scoreLayout(touching).crossings).toBe(0);
  });
});
