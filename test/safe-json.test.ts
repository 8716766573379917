/**
 * The inspection frames' JSON encoder (src/inspection/safe-json.ts) writes exactly what
 * `safe-stable-stringify` — the serialiser of `@statelyai/inspect` — writes, for arbitrary values:
 * sparse arrays, bigints, non-finite numbers, cycles, shared objects and the depth limit included,
 * and every text it writes is valid JSON.
 */
import fc from 'fast-check';
import { configure } from 'safe-stable-stringify';
import { describe, expect, it } from 'vitest';
import { safeJson } from '../src/inspection/safe-json.js';

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
