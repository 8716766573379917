/**
 * A job cell turns its actor's snapshots into changes, runs each attempt's handler outside the
 * actor's steps, and a crashing actor fails only its own job.
 */
import { SimulatedClock } from 'xstate';
import { describe, expect, it } from 'vitest';
import { jobMachine } from '../machines/job.machine.js';
import type { ChangeKind, HandlerInput, JobStatus, RejectedEmit } from '../machines/job.types.js';
import { JobCell, type CellHooks } from '../src/supervisor/job-cell.js';
import { handlerActions, type Launch } from '../src/supervisor/handler-slot.js';
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

const machine = jobMachine.provide({ actions: handlerActions });

/** A cell on a fresh simulated clock that runs no handler: the test sends every event. */
const idleCell = (hooks: CellHooks, launch?: Launch) =>
  new JobCell(machine, input, {
    clock: new SimulatedClock(),
    hooks,
    node: 'test-node',
    ...(launch ? { launch } : {}),
  });

/** A launch that records, in one log with the changes told, each launch and each abort. */
function recordingLaunch(log: string[]): Launch {
  return (run: HandlerInput) => {
    log.push(`launch ${run.jobId}#${run.attempt} ${JSON.stringify(run.input)}`);
    return () => log.push(`abort #${run.attempt}`);
  };
}

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

  it("launches an attempt's handler once its START is told, and aborts it once the attempt is over", () => {
    const log: string[] = [];
    const { hooks } = recordingHooks();
    const telling: CellHooks = { ...hooks, changed: (_cell, { kind }) => void log.push(kind) };
    const cell = idleCell(telling, recordingLaunch(log));
    cell.send({ type: 'START', at: 1 }, 'supervisor');
    expect(log).toEqual(['started', 'launch job-1#1 {"n":1}']);
    cell.send({ type: 'PROGRESS', attempt: 1, percent: 50, at: 2 }, 'handler');
    cell.send({ type: 'CANCEL', reason: 'r', at: 3 }, 'api');
    expect(log).toEqual(['started', 'launch job-1#1 {"n":1}', 'progress', 'abort #1', 'cancelled']);
    cell.stop();
    expect(log.filter((l) => l.startsWith('abort'))).toEqual(['abort #1']); // aborted once
  });

  it('never launches the handler of an attempt that is over before its START is told', () => {
    const log: string[] = [];
    const { hooks } = recordingHooks();
    const cancelling: CellHooks = {
      ...hooks,
      changed: (cell, { kind }) => {
        log.push(kind);
        if (kind === 'started') cell.send({ type: 'CANCEL', reason: 'at once', at: 2 }, 'api');
      },
    };
    const cell = idleCell(cancelling, recordingLaunch(log));
    cell.send({ type: 'START', at: 1 }, 'supervisor');
    expect(log).toEqual(['started', 'cancelled']);
    expect(cell.status).toBe('cancelled');
  });

  it('aborts the running handler when the cell stops (stopping an actor runs no exit action)', () => {
    const log: string[] = [];
    const cell = idleCell(recordingHooks().hooks, recordingLaunch(log));
    cell.send({ type: 'START', at: 1 }, 'supervisor');
    cell.stop();
    expect(log).toEqual(['launch job-1#1 {"n":1}', 'abort #1']);
  });

  it('fails the attempt as handler_crashed when launching its handler throws', () => {
    const { hooks, changes } = recordingHooks();
    const cell = idleCell(hooks, () => {
      throw new Error('no thread to run it');
    });
    cell.send({ type: 'START', at: 1 }, 'supervisor');
    expect(changes.map((c) => c.kind)).toEqual(['started', 'failed']);
    expect(cell.view).toMatchObject({
      status: 'failed',
      attempt: 1,
      error: { code: 'handler_crashed', message: 'no thread to run it' },
    });
  });

  it('fails the job with internal_error when an action of its machine throws', () => {
    const { hooks, changes, crashes } = recordingHooks();
    const broken = machine.provide({
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
