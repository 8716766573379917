/** The bundled example job types (`npm start`) behave as the README says. */
import { afterEach, describe, expect, it } from 'vitest';
import { createSupervisor, type Rejection, type Supervisor } from '../src/index.js';
import register from '../examples/handlers.js';

let supervisor: Supervisor | undefined;
afterEach(async () => {
  await supervisor?.shutdown({ graceMs: 0 });
  supervisor = undefined;
});

describe('example job types', () => {
  it('registers every documented type, each with its input schema', () => {
    supervisor = createSupervisor();
    register(supervisor);
    expect(supervisor.types().map((t) => t.name)).toEqual([
      'report',
      'flaky',
      'hang',
      'sleep',
      'fail',
      'backwards',
      'hash',
    ]);
    expect(supervisor.types().find((t) => t.name === 'hash')?.runsIn).toBe('worker');
  });

  it('backwards: its stale 30 % is rejected as progress_backwards and the job still completes', async () => {
    supervisor = createSupervisor();
    register(supervisor);
    const rejections: Rejection[] = [];
    supervisor.on('rejected', (r) => rejections.push(r));
    const { job } = await supervisor.start({ type: 'backwards' });
    const done = await supervisor.waitFor(job.id);
    expect(done).toMatchObject({
      status: 'completed',
      progress: 100,
      result: { staleReportAccepted: false },
    });
    expect(rejections).toEqual([
      expect.objectContaining({
        jobId: job.id,
        event: 'PROGRESS',
        reason: 'progress_backwards',
        source: 'handler',
      }),
    ]);
  });
});
