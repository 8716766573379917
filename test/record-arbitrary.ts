/** Arbitrary job records, for properties of the stores' encodings (fast-check). */
import fc from 'fast-check';
import type { JobRecord } from '../src/store/port.js';

// What a record can hold: JSON as it reads back (JSON has no -0, which jsonValue can make).
const json = fc.jsonValue().map((v) => JSON.parse(JSON.stringify(v)) as unknown);
const time = fc.option(fc.integer({ min: 0, max: 2 ** 45 }), { nil: null });

export const record = fc.record({
  id: fc.string({ minLength: 1 }),
  key: fc.option(fc.string(), { nil: null }),
  type: fc.string({ minLength: 1 }),
  status: fc.constantFrom('pending', 'running', 'completed', 'failed', 'cancelled'),
  progress: fc.integer({ min: 0, max: 100 }),
  message: fc.option(fc.string(), { nil: null }),
  attempt: fc.nat(),
  seq: fc.integer({ min: 1 }),
  createdAt: fc.nat(),
  startedAt: time,
  updatedAt: fc.nat(),
  finishedAt: time,
  lastHeartbeatAt: time,
  nextRetryAt: time,
  input: json,
  result: json,
  error: fc.option(fc.record({ code: fc.string(), message: fc.string() }), { nil: null }),
  node: fc.option(fc.uuid(), { nil: null }),
  priority: fc.integer({ min: -1_000_000, max: 1_000_000 }),
  runAt: time,
  state: fc.constantFrom('pending.queued', 'pending.scheduled', 'pending.backoff', 'running', 'completed', 'failed'),
  failures: fc.nat(),
  retry: fc.record({ maxRetries: fc.nat(), backoffMs: fc.nat(), factor: fc.nat(), maxBackoffMs: fc.nat() }),
  heartbeatTimeoutMs: fc.integer({ min: 1 }),
  timeoutMs: fc.option(fc.integer({ min: 1 }), { nil: null }),
  deadlines: fc.record({ heartbeatAt: time, timeoutAt: time, retryAt: time }),
  lastChange: fc.constantFrom('created', 'due', 'started', 'progress', 'completed', 'failed', 'retrying'),
  offset: fc.integer({ min: 1 }),
}) as fc.Arbitrary<JobRecord>;
