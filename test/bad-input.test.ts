/**
 * A bad change fails alone, at the boundary: input that is not plain JSON within the limits is
 * refused by `start` (400 `invalid_input` naming the limit) and creates nothing; a result that is
 * not fails its attempt as `result_not_serializable`; a bad progress message or log line throws
 * into the handler. Every other write goes on — the deep input that once poisoned every later SQLite batch
 * is the first case.
 */
import { describe, expect, it } from 'vitest';
import { createSupervisor } from '../src/index.js';
import { rejectionOf, until } from './helpers.js';
import { servePerTest } from './server-harness.js';

/** `{ a: { a: … } }`, `levels` objects deep. */
function nested(levels: number): unknown {
  let value: unknown = 'bottom';
  for (let i = 0; i < levels; i++) value = { a: value };
  return value;
}

describe('start refuses input that is not plain JSON within the limits', () => {
  const cases: [string, unknown, RegExp][] = [
    [
      'nested 6,000 levels deep',
      nested(6_000),
      /input\.a\.a.* is nested deeper than 64 levels \(limits\.maxDepth\)/,
    ],
    [
      'over 1 MiB',
      { text: 'x'.repeat(1_048_576) },
      /input is 1048587 bytes as JSON, over the limit of 1048576 \(limits\.maxInputBytes\)/,
    ],
    ['a BigInt', { n: 10n }, /input\.n is a bigint, which JSON cannot hold/],
    ['a function', { f: () => 1 }, /input\.f is a function/],
    ['NaN', [1, Number.NaN], /input\[1\] is NaN/],
    ['a sparse array', [1, , 3], /input\[1\] is a hole in a sparse array/], // eslint-disable-line no-sparse-arrays
    ['a Date', { when: new Date(0) }, /input\.when is a Date, not plain JSON/],
    ['a Map', new Map(), /input is a Map/],
  ];
  it.each(cases)(
    '%s: invalid_input naming the problem; nothing is created',
    async (_name, input, message) => {
      const supervisor = createSupervisor();
      supervisor.register('any', () => 'ok');
      const error = await rejectionOf(supervisor.start({ type: 'any', input }));
      expect(error.code).toBe('invalid_input');
      expect(error.message).toMatch(message);
      expect(supervisor.list()).toEqual([]);
      expect(supervisor.offset).toBe(0);
      // The next start is unaffected.
      const { job } = await supervisor.start({ type: 'any', input: nested(64) });
      expect(await supervisor.waitFor(job.id)).toMatchObject({ status: 'completed' });
      await supervisor.shutdown();
    },
  );

  it('takes other limits as options, and refuses a bad one', async () => {
    const supervisor = createSupervisor({ limits: { maxDepth: 3, maxInputBytes: 30 } });
    supervisor.register('any', () => 'ok');
    expect((await rejectionOf(supervisor.start({ type: 'any', input: nested(4) }))).message).toMatch(
      /deeper than 3 levels/,
    );
    expect((await rejectionOf(supervisor.start({ type: 'any', input: 'x'.repeat(29) }))).message).toMatch(
      /31 bytes .* limit of 30/,
    );
    await supervisor.start({ type: 'any', input: nested(3) });
    await supervisor.shutdown();
    expect(() => createSupervisor({ limits: { maxDepth: 0 } })).toThrow(/limits\.maxDepth/);
  });
});

describe('what a handler reports must be storable', () => {
  it('a result that is not JSON fails the attempt as result_not_serializable, not retried', async () => {
    const supervisor = createSupervisor({ retries: { max: 3, backoffMs: 0 } });
    let runs = 0;
    supervisor.register('big', () => (runs++, { n: 1n }));
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    supervisor.register('cycle', () => cyclic);
    const big = await supervisor.start({ type: 'big' });
    expect(await supervisor.waitFor(big.job.id)).toMatchObject({
      status: 'failed',
      attempt: 1,
      result: null,
      error: { code: 'result_not_serializable', message: 'the result.n is a bigint, which JSON cannot hold' },
    });
    expect(runs).toBe(1);
    const cycle = await supervisor.start({ type: 'cycle' });
    expect((await supervisor.waitFor(cycle.job.id)).error).toMatchObject({
      code: 'result_not_serializable',
      message: expect.stringMatching(/nested deeper than 64 levels \(limits\.maxDepth\)/) as unknown,
    });
    await supervisor.shutdown();
  });

  it('a progress message that is not a short string throws into the handler and changes nothing', async () => {
    const supervisor = createSupervisor();
    const thrown: unknown[] = [];
    supervisor.register('chatty', (ctx) => {
      for (const message of ['x'.repeat(1_001), { toString: () => 'no' }]) {
        try {
          ctx.progress(10, message as string);
        } catch (error) {
          thrown.push(error);
        }
      }
      ctx.progress(20, 'x'.repeat(1_000));
      return 'done';
    });
    const { job } = await supervisor.start({ type: 'chatty' });
    expect(await supervisor.waitFor(job.id)).toMatchObject({ status: 'completed', progress: 100 });
    expect(thrown).toHaveLength(2);
    expect(thrown[0]).toMatchObject({
      code: 'invalid_request',
      message: expect.stringMatching(/at most 1000 characters/) as unknown,
    });
    await supervisor.shutdown();
  });

  it('a handler error with a huge message is kept, cut to 4,000 characters', async () => {
    const supervisor = createSupervisor();
    supervisor.register('loud', () => {
      throw new Error('e'.repeat(100_000));
    });
    const { job } = await supervisor.start({ type: 'loud' });
    const failed = await supervisor.waitFor(job.id);
    expect(failed.error?.code).toBe('handler_error');
    expect(failed.error?.message).toHaveLength(4_000);
    expect(failed.error?.message.endsWith('…')).toBe(true);
    await supervisor.shutdown();
  });
});

describe('over HTTP, on SQLite: one bad input never stops the writes', () => {
  const start = servePerTest();

  it('answers 400 invalid_input for the deep input, and every start, cancel and list after it works', async () => {
    const s = await start({ store: 'sqlite' });
    const post = (body: unknown) =>
      fetch(`${s.url}/jobs`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });
    // 6,000 levels of JSON, about 12 KB: JSON.parse reads it, the input check refuses it.
    const deep = `{"type":"echo","input":${'['.repeat(6_000)}${']'.repeat(6_000)}}`;
    const refused = await fetch(`${s.url}/jobs`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: deep,
    });
    expect(refused.status).toBe(400);
    const body = (await refused.json()) as { error: { code: string; message: string } };
    expect(body.error.code).toBe('invalid_input');
    expect(body.error.message).toMatch(/limits\.maxDepth/);
    for (let i = 0; i < 5; i++) {
      const ok = await post({ type: 'echo', input: { i } });
      expect(ok.status).toBe(201);
    }
    const gated = (await (await post({ type: 'gated' })).json()) as { job: { id: string } };
    const cancel = await fetch(`${s.url}/jobs/${gated.job.id}/cancel`, { method: 'POST' });
    expect(cancel.status).toBe(200);
    const list = await fetch(`${s.url}/jobs?limit=100`);
    expect(list.status).toBe(200);
    expect(((await list.json()) as { jobs: unknown[] }).jobs).toHaveLength(6);
    expect(s.supervisor.stats().store).toMatchObject({ state: 'ok', backlog: 0 });
    // Everything answered is in the file.
    expect((await s.store!.list({ limit: 100 })).items).toHaveLength(6);
  });

  it("a log line too deep, too big or not JSON throws invalid_request into the handler and is not stored; the job's other lines and every write after it go on", async () => {
    const s = await start({ store: 'sqlite' });
    const { job } = await s.supervisor.start({ type: 'gated' });
    await until(() => s.gated.length > 0);
    const { ctx, done } = s.gated[0]!;
    const codes = (
      [
        ['deep', nested(6_000)],
        ['big', { blob: 'x'.repeat(20_000) }],
        ['bigint', { n: 1n }],
        ['x'.repeat(4_001), null],
      ] as const
    ).map(([message, data]) => {
      try {
        ctx.log(message, data);
        return 'accepted';
      } catch (error) {
        return (error as { code?: string }).code;
      }
    });
    expect(codes).toEqual(['invalid_request', 'invalid_request', 'invalid_request', 'invalid_request']);
    expect(ctx.log('fine', { nested: nested(10) })).toBe(true);
    done.resolve('ok');
    await s.supervisor.waitFor(job.id);
    const logs = await fetch(`${s.url}/jobs/${job.id}/logs`);
    expect(logs.status).toBe(200);
    const body = (await logs.json()) as { logs: { message: string; data: unknown }[] };
    expect(body.logs).toMatchObject([{ message: 'fine', data: { nested: nested(10) } }]);
    const ok = await fetch(`${s.url}/jobs`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ type: 'echo', input: 1 }),
    });
    expect(ok.status).toBe(201);
    expect(s.supervisor.stats().store).toMatchObject({ state: 'ok' });
    expect((await s.store!.logs!.read(job.id, { after: 0, limit: 10 })).map((e) => e.message)).toEqual([
      'fine',
    ]);
  });

  it('refuses a schedule whose input is too deep (400 invalid_input) and stores nothing; the next one is kept', async () => {
    const s = await start({ store: 'sqlite' });
    const put = (name: string, body: string) =>
      fetch(`${s.url}/schedules/${name}`, {
        method: 'PUT',
        headers: { 'content-type': 'application/json' },
        body,
      });
    const deep = `{"type":"echo","everyMs":3600000,"input":${'['.repeat(6_000)}${']'.repeat(6_000)}}`;
    const refused = await put('deep', deep);
    expect(refused.status).toBe(400);
    const body = (await refused.json()) as { error: { code: string; message: string } };
    expect(body.error).toMatchObject({
      code: 'invalid_input',
      message: expect.stringMatching(/limits\.maxDepth/) as unknown,
    });
    expect(await s.store!.schedules!.list()).toEqual([]);
    const kept = await put('fine', JSON.stringify({ type: 'echo', everyMs: 3_600_000, input: { ok: true } }));
    expect(kept.status).toBe(200);
    expect((await s.store!.schedules!.list()).map((r) => r.name)).toEqual(['fine']);
  });
});
