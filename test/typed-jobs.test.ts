/**
 * Typed jobs (src/common/job-map.ts): chained `register` calls give the supervisor its map of job
 * types, so `start` is checked against each type's schema at compile time, `waitFor(job)` answers
 * with the type's input and result, and the client SDK takes the same map. The `@ts-expect-error`
 * lines are checked by `npm test`'s typecheck: each must be a compile error, or the typecheck fails.
 * The runtime half runs the same calls against a real supervisor and server.
 */
import { afterEach, describe, expect, expectTypeOf, it } from 'vitest';
import * as z from 'zod';
import { createClient } from '../src/client/index.js';
import {
  createSupervisor,
  JobvisorError,
  type JobTypesOf,
  type JobView,
  type NoJobTypes,
  type Supervisor,
} from '../src/index.js';
import { createJobvisorServer } from '../src/server/index.js';

function typedSupervisor() {
  return createSupervisor()
    .register('report', (ctx) => ({ rows: ctx.input.month.length, month: ctx.input.month }), {
      input: z.object({ month: z.string(), draft: z.boolean().default(false) }),
    })
    .register('ping', async () => 'pong' as const);
}

const opened: { close(): Promise<void> }[] = [];
afterEach(async () => {
  for (const entry of opened.splice(0)) await entry.close();
});

describe('typed jobs', () => {
  it('checks start against the registered types at compile time and answers with their types', async () => {
    const supervisor = typedSupervisor();
    opened.push({ close: () => supervisor.shutdown({ graceMs: 0 }).then(() => undefined) });

    const { job } = await supervisor.start({ type: 'report', input: { month: '2026-10' } });
    expectTypeOf(job.input).toEqualTypeOf<{ month: string; draft: boolean }>();
    const done = await supervisor.waitFor(job);
    expectTypeOf(done.result).toEqualTypeOf<{ rows: number; month: string } | null>();
    expect(done.result).toEqual({ rows: 7, month: '2026-10' });
    expect(done.input).toEqual({ month: '2026-10', draft: false }); // the parsed input, its default applied

    const ping = await supervisor.start({ type: 'ping' }); // its schema takes anything: input may be left out
    expectTypeOf((await supervisor.waitFor(ping.job)).result).toEqualTypeOf<'pong' | null>();

    // By id, the type is not known: an untyped view.
    expectTypeOf(await supervisor.waitFor(job.id)).toEqualTypeOf<JobView>();

    // Each of these is a compile error; at run time, each is refused as it always was.
    await expect(
      // @ts-expect-error -- a type that was never registered
      supervisor.start({ type: 'nope' }),
    ).rejects.toMatchObject({ code: 'unknown_job_type' });
    await expect(
      // @ts-expect-error -- the input does not match the type's schema
      supervisor.start({ type: 'report', input: { month: 10 } }),
    ).rejects.toMatchObject({ code: 'invalid_input' });
    await expect(
      // @ts-expect-error -- the type's schema needs an input
      supervisor.start({ type: 'report' }),
    ).rejects.toBeInstanceOf(JobvisorError);

    // A batch is checked item by item against the same map.
    const batch = await supervisor.startMany([
      { type: 'report', input: { month: '2026-12' } },
      { type: 'ping' },
    ]);
    expect(batch).toMatchObject({ created: 2, failed: 0 });
    await expect(
      // @ts-expect-error -- one item's input does not match its type's schema
      supervisor.startMany([{ type: 'ping' }, { type: 'report', input: { month: 12 } }]),
    ).rejects.toMatchObject({ code: 'invalid_request' });
    await expect(
      // @ts-expect-error -- a type that was never registered, in a batch
      supervisor.startMany([{ type: 'nope' }]),
    ).rejects.toMatchObject({ code: 'invalid_request' });
  });

  it('keeps the untyped start of a supervisor whose register calls were not chained', async () => {
    const supervisor = createSupervisor();
    opened.push({ close: () => supervisor.shutdown({ graceMs: 0 }).then(() => undefined) });
    supervisor.register('echo', (ctx) => ctx.input);
    expectTypeOf(supervisor).toEqualTypeOf<Supervisor<NoJobTypes>>();
    const { job } = await supervisor.start({ type: 'echo', input: { any: ['thing'] } });
    expectTypeOf(job).toEqualTypeOf<JobView>();
    expect((await supervisor.waitFor(job)).result).toEqual({ any: ['thing'] });
  });

  it('is a Supervisor wherever one is asked for, and shares its map with the client SDK', async () => {
    const supervisor = typedSupervisor();
    const server = createJobvisorServer({ supervisor }); // takes a Supervisor: a typed one is one
    const { url } = await server.listen(0, '127.0.0.1');
    opened.push({
      close: async () => {
        await server.close();
        await supervisor.shutdown({ graceMs: 0 });
      },
    });
    const client = createClient<JobTypesOf<typeof supervisor>>({ url });
    const { job } = await client.start({ type: 'report', input: { month: '2026-11' } });
    expectTypeOf(job.input).toEqualTypeOf<{ month: string; draft: boolean }>();
    expectTypeOf(job.result).toEqualTypeOf<{ rows: number; month: string } | null>();
    expect((await supervisor.waitFor(job.id)).result).toEqual({ rows: 7, month: '2026-11' });
    await expect(
      // @ts-expect-error -- the client knows the server's types too
      client.start({ type: 'report', input: { month: false } }),
    ).rejects.toMatchObject({ code: 'invalid_input' });

    const schedule = await client.schedule('monthly', {
      type: 'report',
      input: { month: '2026-12' },
      cron: '0 0 1 * *',
    });
    expect(schedule).toMatchObject({ name: 'monthly', type: 'report', input: { month: '2026-12' } });
    await expect(
      // @ts-expect-error -- a schedule's input is checked against its type too
      client.schedule('monthly', { type: 'report', input: { month: 12 }, cron: '0 0 1 * *' }),
    ).rejects.toMatchObject({ code: 'invalid_input' });
    // @ts-expect-error -- a type that was never registered
    await expect(client.schedule('other', { type: 'nope', everyMs: 1_000 })).rejects.toMatchObject({
      code: 'unknown_job_type',
    });
    expect((await client.unschedule('monthly')).name).toBe('monthly');

    const untyped = createClient({ url }); // no map: any type, as before
    await expect(untyped.start({ type: 'nope' })).rejects.toMatchObject({ code: 'unknown_job_type' });
    client.close();
    untyped.close();
  });
});
