/**
 * What the CLI writes to a terminal: durations that read correctly at every unit boundary, a
 * progress bar that never wraps whatever the terminal's width, a job's log lines, and expected
 * errors on one line.
 */
import fc from 'fast-check';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { formatDuration, logLine, progressBar } from '../src/cli/render.js';
import { JobvisorError } from '../src/common/errors.js';
import type { WireJob } from '../src/protocol/schemas.js';
import { Telemetry } from '../src/supervisor/telemetry.js';

/** The milliseconds a formatted duration stands for, and how far off its rounding may be. */
function parse(text: string): { ms: number; within: number } {
  let m = /^(\d+) ms$/.exec(text);
  if (m) return { ms: Number(m[1]), within: 0.5 };
  m = /^(\d+)\.(\d) s$/.exec(text);
  if (m) return { ms: Number(m[1]) * 1_000 + Number(m[2]) * 100, within: 50 };
  m = /^(\d+) min (\d+) s$/.exec(text);
  if (m && Number(m[2]) < 60) return { ms: (Number(m[1]) * 60 + Number(m[2])) * 1_000, within: 500 };
  m = /^(\d+) h (\d+) min$/.exec(text);
  if (m && Number(m[2]) < 60) return { ms: (Number(m[1]) * 60 + Number(m[2])) * 60_000, within: 30_000 };
  throw new Error(`not a duration: ${text}`);
}

describe('formatDuration', () => {
  it('reads correctly at the boundaries of each unit', () => {
    expect(formatDuration(-5)).toBe('0 ms');
    expect(formatDuration(999.4)).toBe('999 ms');
    expect(formatDuration(999.6)).toBe('1.0 s');
    expect(formatDuration(59_949)).toBe('59.9 s');
    expect(formatDuration(59_960)).toBe('1 min 0 s');
    expect(formatDuration(119_600)).toBe('2 min 0 s');
    expect(formatDuration(119_400)).toBe('1 min 59 s');
    expect(formatDuration(3_599_500)).toBe('1 h 0 min');
    expect(formatDuration(7_199_999)).toBe('2 h 0 min');
    expect(formatDuration(5_430_000)).toBe('1 h 31 min');
  });

  it('stands for the duration it was given, within its unit’s rounding, for any duration', () => {
    fc.assert(
      fc.property(fc.double({ min: 0, max: 400 * 3_600_000, noNaN: true }), (ms) => {
        const { ms: read, within } = parse(formatDuration(ms));
        expect(Math.abs(read - ms)).toBeLessThanOrEqual(within + 1e-6);
      }),
      { numRuns: 2_000 },
    );
  });
});

const job = (over: Partial<WireJob> = {}): WireJob => ({
  id: 'job-1',
  key: null,
  type: 'report',
  status: 'running',
  progress: 42,
  message: 'resizing a very long image name that goes on and on and on',
  attempt: 1,
  seq: 3,
  createdAt: 0,
  startedAt: 1,
  updatedAt: 2,
  finishedAt: null,
  lastHeartbeatAt: null,
  nextRetryAt: null,
  input: null,
  result: null,
  error: null,
  node: null,
  priority: 0,
  runAt: null,
  ...over,
});

describe('progressBar', () => {
  it('is the whole line with room to spare, and cuts the message first', () => {
    const whole = progressBar(job());
    expect(whole).toBe(
      '[#############-----------------]  42% running  resizing a very long image name that goes on and on and on',
    );
    expect(progressBar(job(), 200)).toBe(whole);
    expect(progressBar(job(), 60)).toBe('[#############-----------------]  42% running  resizing a v…');
    expect(progressBar(job(), 40)).toBe('[###########--------------]  42% running');
    expect(progressBar(job(), 12)).toBe(' 42% running');
  });

  it('never exceeds the terminal’s width, and shows the percent wherever it fits', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 300 }),
        fc.double({ min: 0, max: 100, noNaN: true }),
        fc.option(fc.string({ maxLength: 400 }), { nil: null }),
        fc.integer({ min: 1, max: 12 }),
        (columns, progress, message, attempt) => {
          const line = progressBar(job({ progress, message, attempt }), columns);
          expect([...line].length).toBeLessThanOrEqual(columns);
          const percent = `${Math.floor(progress)}%`;
          if (columns >= 5) expect(line).toContain(percent);
        },
      ),
      { numRuns: 1_000 },
    );
  });
});

describe('logLine', () => {
  it('reads time (UTC), attempt, message, then the data as JSON when there is any', () => {
    const entry = {
      id: 7,
      jobId: 'j',
      attempt: 2,
      at: Date.UTC(2026, 9, 1, 12, 30),
      message: 'copied 3 files',
    };
    expect(logLine({ ...entry, data: null })).toBe('2026-10-01T12:30:00.000Z  #2  copied 3 files');
    expect(logLine({ ...entry, data: { files: ['a', 'b'], ok: true } })).toBe(
      '2026-10-01T12:30:00.000Z  #2  copied 3 files  {"files":["a","b"],"ok":true}',
    );
    expect(logLine({ ...entry, data: 0 })).toBe('2026-10-01T12:30:00.000Z  #2  copied 3 files  0');
  });
});

describe('expected errors on one line', () => {
  afterEach(() => vi.restoreAllMocks());

  it('logs a coded error as its message and code, no stack; anything else with its stack', () => {
    const logged: unknown[][] = [];
    vi.spyOn(console, 'error').mockImplementation((...args: unknown[]) => void logged.push(args));
    const telemetry = new Telemetry();
    telemetry.error('store', new JobvisorError('store_locked', 'SQLite store: database is locked'));
    expect(logged[0]).toEqual(['[jobvisor] store error: SQLite store: database is locked (store_locked)']);
    const bug = new Error('a bug');
    telemetry.error('internal', bug, 'job-7');
    expect(logged[1]).toEqual(['[jobvisor] internal error (job job-7):', bug]);
  });
});
