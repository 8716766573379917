/**
 * Inspection frames. The JSON encoder (src/inspection/safe-json.ts) writes exactly what
 * `safe-stable-stringify` — the serialiser of `@statelyai/inspect` — writes, for arbitrary values:
 * sparse arrays, bigints, non-finite numbers, cycles, shared objects and the depth limit included,
 * and every text it writes is valid JSON.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { configure } from 'safe-stable-stringify';
import { describe, expect, it } from 'vitest';
import { createSupervisor, type JobvisorInspectionEvent } from '../src/index.js';
import { safeJson } from '../src/inspection/safe-json.js';
import { toStatelyFrame, type StatelyActorFrame } from '../src/inspection/stately.js';
import { sqliteStore } from '../src/sqlite.js';

const reference = (maxDepth: number) =>
  configure({ deterministic: true, maximumDepth: maxDepth, circularValue: '[Circular]', bigint: true });

/** Values with holes, bigints, NaN and ±Infinity, -0, nested and shared objects, and cycles. */
const values = fc
  .tuple(
    fc.anything({
      withBigInt: true,
      withSparseArray: true,
      withNullPrototype: true,
      withObjectString: true,
      maxDepth: 6,
    }),
    fc.boolean(),
  )
  .map(([value, cyclic]) => {
    if (!cyclic || typeof value !== 'object' || value === null) return value;
    const holder: Record<string, unknown> = { value, shared: value };
    holder.self = holder;
    if (Array.isArray(value)) value.push(holder);
    return holder;
  });

describe('safeJson', () => {
  it('writes what safe-stable-stringify writes, and valid JSON, for arbitrary values', () => {
    fc.assert(
      fc.property(values, fc.integer({ min: 1, max: 12 }), (value, maxDepth) => {
        const ours = safeJson(value, { maxDepth });
        expect(ours).toBe(reference(maxDepth)(value));
        if (ours !== undefined) expect(() => JSON.parse(ours) as unknown).not.toThrow();
      }),
      { numRuns: 2_000 },
    );
  });

  it('writes each hole of a sparse array as null', () => {
    // eslint-disable-next-line no-sparse-arrays
    expect(safeJson([1, , 3])).toBe('[1,null,3]');
    expect(safeJson({ a: new Array(3) })).toBe('{"a":[null,null,null]}');
  });
});

describe('@xstate.actor frames', () => {
  it("carry the actor's snapshot as @statelyai/inspect sends it (getSnapshot()), an invoked child's too", async () => {
    const dir = mkdtempSync(join(tmpdir(), 'jobvisor-frames-'));
    const seen: { name: string; snapshot: unknown; expected: unknown; parentId: string | undefined }[] = [];
    const observer = (event: JobvisorInspectionEvent) => {
      if (event.type !== '@xstate.actor') return;
      const frame = toStatelyFrame(event) as StatelyActorFrame;
      const expected = JSON.parse(reference(10)(event.actorRef.getSnapshot()) ?? 'null') as unknown;
      seen.push({ name: frame.name, snapshot: frame.snapshot, expected, parentId: frame.parentId });
    };
    try {
      // With a store, recovery is an actor the supervisor's machine invokes: a child of it.
      const supervisor = createSupervisor({
        store: sqliteStore({ path: join(dir, 'jobs.db') }),
        inspect: { observer },
      });
      supervisor.register('t', () => 'done');
      await supervisor.waitFor((await supervisor.start({ type: 't' })).job);
      await supervisor.shutdown();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    expect(seen.map((f) => f.name)).toEqual(['supervisor', expect.stringContaining('recovering'), 'job']);
    expect(seen[1]!.parentId).toBeDefined();
    for (const frame of seen) {
      expect(frame.snapshot, frame.name).toEqual(frame.expected);
      expect(frame.snapshot).toMatchObject({ status: 'active' });
    }
  });
});
