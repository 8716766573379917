/**
 * The SQL stores' positional log form of a change's record (src/store/log-record.ts): written and
 * read back with its job's own fields it is the record again, for any values; a row written whole
 * (before this form) reads as it is; a form it does not know, or a change without its job's row, is
 * `store_corrupt`, never a half-filled record.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { JobvisorError } from '../src/common/errors.js';
import { fromLogRecord, toLogRecord } from '../src/store/log-record.js';
import type { JobRecord } from '../src/store/port.js';
import { record } from './record-arbitrary.js';
import { Writer } from './store-contract.js';

/** What the job's row holds: the same job, at some other change (its own fields are what matter). */
const rowOf = (r: JobRecord): JobRecord => ({ ...r, status: 'running', seq: r.seq + 7, progress: 3 });

const codeOf = (fn: () => unknown) => {
  try {
    fn();
  } catch (error) {
    return error instanceof JobvisorError ? error.code : 'not a JobvisorError';
  }
  return 'no error';
};

describe("the SQL stores' log record", () => {
  it('reads back as the record it was, for any values, through JSON', () => {
    fc.assert(
      fc.property(record, (r) => {
        const { offset, ...draft } = r;
        const stored: unknown = JSON.parse(JSON.stringify(toLogRecord(draft)));
        expect(fromLogRecord(stored, offset, r.id, rowOf(r))).toEqual(r);
      }),
    );
  });

  it('leaves out what the job row keeps: a large input costs nothing per change', () => {
    const w = new Writer();
    w.change('j', 'created');
    const started = w.change('j', 'started');
    const big = { ...started.record, input: { blob: 'x'.repeat(10_000) } };
    const { offset: _offset, ...draft } = big;
    expect(JSON.stringify(toLogRecord(draft)).length).toBeLessThan(300);
  });

  it('reads a record written whole (before this form) as it is', () => {
    const w = new Writer();
    const created = w.change('j', 'created');
    const stored: unknown = JSON.parse(JSON.stringify(created.record));
    expect(fromLogRecord(stored, created.offset, 'j', undefined)).toEqual(created.record);
  });

  it('is store_corrupt for a form it does not know, and for a change without its job row', () => {
    const w = new Writer();
    w.change('j', 'created');
    const { offset, ...draft } = w.change('j', 'started').record;
    const stored = [...toLogRecord(draft)];
    const job = w.record('j');
    expect(codeOf(() => fromLogRecord([2, ...stored.slice(1)], offset, 'j', job))).toBe('store_corrupt');
    expect(codeOf(() => fromLogRecord(stored.slice(0, 19), offset, 'j', job))).toBe('store_corrupt');
    expect(codeOf(() => fromLogRecord(stored, offset, 'j', undefined))).toBe('store_corrupt');
    expect(fromLogRecord(stored, offset, 'j', job).status).toBe('running');
  });
});
