/** A job cell turns its actor's snapshots into changes; a crashing actor fails only its own job. */
import { fromCallback, SimulatedClock, type EventObject } from 'xstate';
import { describe, expect, it } from 'vitest';
import { jobMachine } from '../machines/job.machine.js';
import type { ChangeKind, HandlerInput, JobStatus, RejectedEmit } from '../machines/job.types.js';
import { JobCell, type CellHooks } from '../src/supervisor/job-cell.js';
import { toCreatedRecord, toRecord } from '../src/durability/records.js';
import { initialView, toView } from '../src/supervisor/job-view.js';
import type { EventSource } from '../src/common/types.js';

const input = {
  id: 'job-1',
  type: 'demo',
  key: null,
  input: { n: 1 },
  retry: { maxRetries: 0, backoffMs: 10, factor: 2, maxBackoffMs: 100 },
  heartbeatTimeoutMs: 1_000,
  timeoutMs: null,
  createdAt: 0,
};

function recordingHooks() {
  const changes: { kind: ChangeKind; previous: JobStatus }[] = [];
  const rejections: { rejection: RejectedEmit; source: EventSource }[] = [];
  const crashes: unknown[] = [];
  const hooks: CellHooks = {
    changed: (_cell, { kind, previous }) => void changes.push({ kind, previous }),
    rejected: (_cell, rejection, source) => rejections.push({ rejection, source }),
    crashed: (_cell, error) => crashes.push(error),
  };
  return { hooks, changes, rejections, crashes };
}

const idle = fromCallback<EventObject, HandlerInput>(() => undefined);

/** A cell on a fresh simulated clock whose handler never settles: the test sends every event. */
const idleCell = (hooks: CellHooks) =>
  new JobCell(jobMachine.provide({ actors: { runHandler: idle } }), input, {
    clock: new SimulatedClock(),
    hooks,
    node: 'test-node',
  });

describe('JobCell', () => {
  it('is a pending job without an actor until something needs one, and says the same as the actor would', () => {
    const { hooks, changes } = recordingHooks();
    const cell = idleCell(hooks);
    expect(cell.actor).toBeUndefined();
    expect(cell.isQueued).toBe(true);
    expect(cell.attempt).toBe(0);
    const lazyView = cell.view;
    const lazyRecord = toCreatedRecord(cell.input, lazyView);
    cell.start();
    const snapshot = cell.actor!.getSnapshot();
    expect(lazyView).toEqual(toView(snapshot, 'pending', null));
    expect(lazyView).toEqual(initialView(input, null));
    expect(lazyRecord).toEqual(toRecord(snapshot, toView(snapshot, 'pending', null), 'created'));
    expect(changes).toEqual([]); // creating the actor is not a change
    expect(cell.send({ type: 'START', at: 1 }, 'supervisor')).toEqual({ accepted: true });
  });

  it('makes its actor on the first send (a cancel of a pending job)', () => {
    const { hooks, changes } = recordingHooks();
    const cell = idleCell(hooks);
    expect(cell.send({ type: 'CANCEL', reason: 'r', at: 5 }, 'api')).toEqual({ accepted: true });
    expect(cell.actor).toBeDefined();
    expect(changes).toEqual([{ kind: 'cancelled', previous: 'pending' }]);
  });

  it('reports each accepted change once and each rejection with its sender', () => {
    const { hooks, changes, rejections } = recordingHooks();
    const cell = idleCell(hooks);
    cell.start();
    expect(cell.send({ type: 'START', at: 1 }, 'supervisor')).toEqual({ accepted: true });
    expect(cell.send({ type: 'PROGRESS', attempt: 1, percent: 50, at: 2 }, 'handler')).toEqual({
      accepted: true,
    });
    expect(cell.send({ type: 'HEARTBEAT', attempt: 1, at: 3 }, 'handler')).toEqual({ accepted: true });
    expect(cell.view.lastHeartbeatAt).toBe(3);
    expect(cell.send({ type: 'PROGRESS', attempt: 1, percent: 40, at: 4 }, 'handler')).toEqual({
      accepted: false,
      reason: 'progress_backwards',
    });
    expect(changes.map((c) => c.kind)).toEqual(['started', 'progress']);
    expect(rejections).toHaveLength(1);
    expect(rejections[0]!.source).toBe('handler');
    expect(cell.view).toMatchObject({ status: 'running', progress: 50, seq: 3 });
  });

  it('answers job_final once the actor is done, without touching the record', () => {
    const { hooks, rejections } = recordingHooks();
    const cell = idleCell(hooks);
    cell.start();
    cell.send({ type: 'CANCEL', reason: 'no longer needed', at: 5 }, 'api');
    const before = cell.view;
    expect(cell.send({ type: 'HEARTBEAT', attempt: 0, at: 6 }, 'handler')).toEqual({
      accepted: false,
      reason: 'job_final',
    });
    expect(cell.view).toBe(before);
    expect(rejections.map((r) => r.rejection.reason)).toEqual(['job_final']);
  });

  it('fails the job with internal_error when an action of its machine throws', () => {
    const { hooks, changes, crashes } = recordingHooks();
    const broken = jobMachine.provide({
      actors: { runHandler: idle },
      actions: {
        recordProgress: () => {
          throw new Error('boom');
        },
      },
    });
    const cell = new JobCell(broken, input, { clock: new SimulatedClock(), hooks, node: 'test-node' });
    cell.start();
    cell.send({ type: 'START', at: 1 }, 'supervisor');
    cell.send({ type: 'PROGRESS', attempt: 1, percent: 10, at: 2 }, 'handler');
    expect(crashes).toHaveLength(1);
    expect(changes.at(-1)).toEqual({ kind: 'failed', previous: 'running' });
    expect(cell.status).toBe('failed');
    expect(cell.view).toMatchObject({ status: 'failed', seq: 3, error: { code: 'internal_error' } });
    expect(cell.send({ type: 'PROGRESS', attempt: 1, percent: 20, at: 3 }, 'handler')).toEqual({
      accepted: false,
      reason: 'job_final',
    });
  });
});
