/**
 * A batch as it crosses to the SQLite thread (src/store/encode.ts `packBatch` / `unpackBatch`): for
 * any changes — ids, keys, messages and JSON with newlines, quotes, separators — what the thread
 * unpacks from a structured clone of the packed batch is exactly what `encodeBatch` gives on the
 * caller's thread; a record that is not JSON is `change_not_storable` naming its job; lines that
 * do not match the fields are refused, never written half.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { JobvisorError } from '../src/common/errors.js';
import { encodeBatch, packBatch, unpackBatch } from '../src/store/encode.js';
import type { ChangeDraft } from '../src/store/port.js';
import { record } from './record-arbitrary.js';

/** Ids that would break a line-based packing if they were put in the lines. */
const jobId = fc.constantFrom('a', 'b\nc', 'd"e\\', '\u2028f', 'g\r\n', '\u0000');
/** Text leaning on what a separator or an escape could trip over, with any other character. */
const special = fc.constantFrom('\n', '\r', '\u2028', '\u2029', '"', '\\', '\u0000', '\u001e', '\ud800');
const text = fc.string({
  unit: fc.oneof(special, fc.string({ unit: 'binary', minLength: 1, maxLength: 1 })),
});

const change = fc.tuple(jobId, record, fc.option(text, { nil: null })).map(([id, r, message]) => {
  const { offset: _offset, ...draft } = r;
  return {
    jobId: id,
    seq: r.seq,
    kind: r.lastChange,
    at: r.updatedAt,
    record: { ...draft, id, message, key: r.key === null ? null : `${r.key}\n${id}` },
  } satisfies ChangeDraft;
});

const codeOf = (fn: () => unknown) => {
  try {
    fn();
  } catch (error) {
    return error instanceof JobvisorError ? `${error.code} ${JSON.stringify(error.details)}` : String(error);
  }
  return 'no error';
};

describe('a batch packed for the SQLite thread', () => {
  it('unpacks, after a copy between threads, to what encodeBatch gives, for any changes', () => {
    fc.assert(
      fc.property(fc.array(change, { maxLength: 30 }), (batch) => {
        expect(unpackBatch(structuredClone(packBatch(batch)))).toEqual(encodeBatch(batch));
      }),
    );
  });

  it("writes each job's whole record once, on its last change of the batch", () => {
    fc.assert(
      fc.property(fc.array(change, { minLength: 1, maxLength: 30 }), (batch) => {
        const changes = unpackBatch(packBatch(batch));
        const whole = changes.filter((c) => c.json !== null).map((c) => c.jobId);
        expect(whole).toEqual([...new Set(batch.map((c) => c.jobId))].sort(byLast(batch)));
      }),
    );
  });

  it('is empty for an empty batch', () => {
    expect(unpackBatch(packBatch([]))).toEqual([]);
  });

  it('refuses a record that is not JSON as change_not_storable, naming its job', () => {
    const [good] = fc.sample(change, { numRuns: 1, seed: 7 });
    const bad = { ...good!, jobId: 'bad', record: { ...good!.record, id: 'bad', result: 10n } };
    expect(codeOf(() => packBatch([good!, bad]))).toBe('change_not_storable {"jobId":"bad"}');
  });

  it('refuses a packed batch whose lines do not match its fields', () => {
    const [one, two] = fc.sample(change, { numRuns: 2, seed: 3 });
    const packed = packBatch([
      { ...one!, jobId: 'x' },
      { ...two!, jobId: 'y' },
    ]);
    expect(codeOf(() => unpackBatch({ ...packed, logs: packed.logs.split('\n')[0]! }))).toMatch(
      /^internal_error/,
    );
    expect(codeOf(() => unpackBatch({ ...packed, fields: packed.fields.slice(1) }))).toMatch(
      /^internal_error/,
    );
  });
});

/** Orders job ids by the position of their last change in `batch`. */
function byLast(batch: readonly ChangeDraft[]): (a: string, b: string) => number {
  const last = (id: string) => batch.map((c) => c.jobId).lastIndexOf(id);
  return (a, b) => last(a) - last(b);
}
