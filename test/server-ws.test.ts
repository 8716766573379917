/** The WebSocket stream on a real server (port 0) with real `ws` clients; the Outbox with a fake socket. */
import type { WebSocket } from 'ws';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { CLOSE_CODES, type ServerMessage, type WireLogEntry } from '../src/protocol/schemas.js';
import { Outbox } from '../src/server/outbox.js';
import type { JobChange } from '../src/common/types.js';
import { deferred, until } from './helpers.js';
import { Client, servePerTest, type Served } from './server-harness.js';

const start = servePerTest();
const clients: Client[] = [];
const connect = async (url: string, options?: ConstructorParameters<typeof Client>[1]) => {
  const client = await Client.open(url, options);
  clients.push(client);
  return client;
};
afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.close())); // before the server closes (hooks run as a stack)
});

const isType =
  <T extends ServerMessage['type']>(type: T, id?: string) =>
  (m: ServerMessage): m is Extract<ServerMessage, { type: T }> =>
    m.type === type &&
    (id === undefined || ('id' in m && m.id === id) || ('subscription' in m && m.subscription === id));

/** The change messages of `client` once it has seen a change at or beyond `offset`. */
async function changesUpTo(client: Client, offset: number, subscription?: string): Promise<JobChange[]> {
  await client.until((m) => m.type === 'change' && m.change.offset >= offset);
  return client.changes(subscription);
}

const offsets = (changes: readonly JobChange[]) => changes.map((c) => c.offset);

describe('WebSocket /ws', () => {
  it('says hello with the current offset, then a subscription gets a snapshot and every change in order', async () => {
    const s = await start();
    await s.supervisor.start({ type: 'echo', input: 0 });
    const client = await connect(s.wsUrl);
    expect(client.messages[0]).toEqual({ type: 'hello', protocol: 1, offset: s.supervisor.offset });
    client.send({ type: 'subscribe', id: 'all', topic: { all: true } });
    const snapshot = await client.until(isType('snapshot', 'all'));
    expect(snapshot.resync).toBe(false);
    expect(snapshot.offset).toBe(s.supervisor.offset);
    const before = s.changes.length;
    const jobs = await Promise.all([1, 2, 3].map((n) => s.supervisor.start({ type: 'echo', input: n })));
    await Promise.all(jobs.map(({ job }) => s.supervisor.waitFor(job.id)));
    const expected = s.changes.slice(before);
    const got = await changesUpTo(client, expected.at(-1)!.offset, 'all');
    expect(got).toEqual(JSON.parse(JSON.stringify(expected)));
    expect(got.every((c) => c.offset > snapshot.offset)).toBe(true);
  });

  it('follows one job, a list of jobs, or a type', async () => {
    const s = await start();
    const client = await connect(s.wsUrl);
    const a = await s.supervisor.start({ type: 'gated' });
    const b = await s.supervisor.start({ type: 'gated' });
    client.send({ type: 'subscribe', id: 'one', topic: { jobId: a.job.id } });
    client.send({ type: 'subscribe', id: 'list', topic: { jobIds: [a.job.id, 'unknown'] } });
    client.send({ type: 'subscribe', id: 'type', topic: { type: 'echo' } });
    const one = await client.until(isType('snapshot', 'one'));
    expect(one.jobs.map((j) => j.id)).toEqual([a.job.id]);
    expect((await client.until(isType('snapshot', 'list'))).jobs.map((j) => j.id)).toEqual([a.job.id]);
    expect((await client.until(isType('snapshot', 'type'))).jobs).toEqual([]);
    await s.supervisor.cancel(b.job.id);
    await s.supervisor.cancel(a.job.id);
    const echo = await s.supervisor.start({ type: 'echo' });
    await s.supervisor.waitFor(echo.job.id);
    await changesUpTo(client, s.supervisor.offset, 'type');
    expect(client.changes('one').map((c) => [c.jobId, c.kind])).toEqual([[a.job.id, 'cancelled']]);
    expect(client.changes('list').map((c) => [c.jobId, c.kind])).toEqual([[a.job.id, 'cancelled']]);
    expect(client.changes('type').map((c) => c.kind)).toEqual(['created', 'started', 'completed']);
  });

  it('answers start and cancel with the command id; errors carry the id; the socket stays usable', async () => {
    const s = await start();
    const client = await connect(s.wsUrl);
    client.send({ type: 'start', id: 'c1', job: { type: 'gated', key: 'k' } });
    const started = await client.until(isType('reply', 'c1'));
    const { job } = started.result as { job: { id: string }; deduplicated: boolean };
    client.send({ type: 'start', id: 'c2', job: { type: 'gated', key: 'k' } });
    expect((await client.until(isType('reply', 'c2'))).result).toMatchObject({
      deduplicated: true,
      job: { id: job.id },
    });
    client.send({ type: 'start', id: 'd1', job: { type: 'gated', delayMs: 60_000 } });
    const delayed = (await client.until(isType('reply', 'd1'))).result as { job: { id: string } };
    expect(delayed.job).toMatchObject({ state: 'pending.scheduled' });
    expect((await s.supervisor.cancel(delayed.job.id)).cancelled).toBe(true);
    client.send({ type: 'start', id: 'd2', job: { type: 'gated', runAt: 'soon' } });
    expect((await client.until(isType('error', 'd2'))).error.code).toBe('invalid_request');
    client.send({
      type: 'startMany',
      id: 'm1',
      jobs: [
        { type: 'gated', key: 'm' },
        { type: 'gated', key: 'm' },
      ],
    });
    const many = (await client.until(isType('reply', 'm1'))).result as {
      created: number;
      deduplicated: number;
    };
    expect(many).toMatchObject({ created: 1, deduplicated: 1 });
    client.send({ type: 'cancelMany', id: 'm2', query: { key: 'm' } });
    expect((await client.until(isType('reply', 'm2'))).result).toMatchObject({ matched: 1, cancelled: 1 });
    client.send({ type: 'retry', id: 't1', jobId: delayed.job.id }); // cancelled above
    expect((await client.until(isType('reply', 't1'))).result).toMatchObject({ retried: true });
    await s.supervisor.cancel(delayed.job.id);
    client.send({ type: 'retryMany', id: 't2', query: {} });
    expect((await client.until(isType('error', 't2'))).error.code).toBe('invalid_request');
    client.send({ type: 'remove', id: 'r1', jobId: delayed.job.id }); // cancelled again: finished
    expect((await client.until(isType('reply', 'r1'))).result).toMatchObject({ removed: true });
    client.send({ type: 'removeMany', id: 'r2', query: { status: 'running' } });
    expect((await client.until(isType('error', 'r2'))).error.code).toBe('invalid_request');
    client.send({ type: 'pause', id: 'p1', jobType: 'gated' });
    expect((await client.until(isType('reply', 'p1'))).result).toEqual({ all: false, types: ['gated'] });
    client.send({ type: 'resume', id: 'p2', jobType: 'gated' });
    expect((await client.until(isType('reply', 'p2'))).result).toEqual({ all: false, types: [] });
    client.send({ type: 'pause', id: 'p3', jobType: 'nope' });
    expect((await client.until(isType('error', 'p3'))).error.code).toBe('unknown_job_type');
    const hourly = { type: 'echo', everyMs: 3_600_000, input: { n: 1 } };
    client.send({ type: 'schedule', id: 's1', name: 'hourly', options: hourly });
    const set = (await client.until(isType('reply', 's1'))).result as { schedule: { anchor: number } };
    expect(set.schedule).toMatchObject({ ...hourly, name: 'hourly', cron: null, lastAt: null });
    expect(set.schedule.anchor).toBe((await s.supervisor.schedules())[0]?.anchor);
    client.send({ type: 'schedules', id: 's2' });
    expect((await client.until(isType('reply', 's2'))).result).toEqual({
      schedules: JSON.parse(JSON.stringify(await s.supervisor.schedules())) as unknown,
    });
    client.send({
      type: 'schedule',
      id: 's3',
      name: 'hourly',
      options: { type: 'echo', cron: '* * * * *', everyMs: 1_000 },
    });
    const both = await client.until(isType('error', 's3'));
    expect(both.error.code).toBe('invalid_request');
    expect(Array.isArray(both.error.details)).toBe(true);
    client.send({ type: 'schedule', id: 's4', name: '../x', options: hourly });
    expect((await client.until(isType('error', 's4'))).error.code).toBe('invalid_request');
    client.send({ type: 'schedule', id: 's5', name: 'x', options: { type: 'echo', cron: 'every day' } });
    expect((await client.until(isType('error', 's5'))).error.message).toMatch(/Invalid cron pattern/);
    client.send({ type: 'schedule', id: 's6', name: 'x', options: { type: 'nope', everyMs: 1_000 } });
    expect((await client.until(isType('error', 's6'))).error.code).toBe('unknown_job_type');
    client.send({
      type: 'schedule',
      id: 's7',
      name: 'x',
      options: { type: 'typed', everyMs: 1_000, input: {} },
    });
    expect((await client.until(isType('error', 's7'))).error.code).toBe('invalid_input');
    client.send({ type: 'unschedule', id: 's8', name: 'hourly' });
    expect((await client.until(isType('reply', 's8'))).result).toMatchObject({
      schedule: { name: 'hourly' },
    });
    client.send({ type: 'unschedule', id: 's9', name: 'hourly' });
    expect((await client.until(isType('error', 's9'))).error.code).toBe('schedule_not_found');
    client.send({ type: 'unschedule', id: 's10' });
    expect((await client.until(isType('error', 's10'))).error.code).toBe('invalid_request');
    expect(await s.supervisor.schedules()).toEqual([]);
    client.send({ type: 'cancelMany', id: 'm3', query: {} });
    expect((await client.until(isType('error', 'm3'))).error.code).toBe('invalid_request');
    client.send({ type: 'start', id: 'c3', job: { type: 'nope' } });
    expect((await client.until(isType('error', 'c3'))).error.code).toBe('unknown_job_type');
    client.send({ type: 'cancel', id: 'c4', jobId: 'ghost' });
    expect((await client.until(isType('error', 'c4'))).error.code).toBe('job_not_found');
    const n = client.messages.length;
    client.send('{not json');
    expect((await client.until(isType('error'), n)).id).toBeNull();
    client.send({ type: 'start', id: 'c5', job: { type: 'gated', extra: true } });
    const invalid = await client.until(isType('error', 'c5'));
    expect(invalid.error.code).toBe('invalid_request');
    expect(Array.isArray(invalid.error.details)).toBe(true);
    client.send({ type: 'launch', id: 'c6' });
    expect((await client.until(isType('error', 'c6'))).error.code).toBe('invalid_request');
    client.send({ type: 'subscribe', id: 'c7', topic: { all: true }, since: 0 });
    expect((await client.until(isType('error', 'c7'))).error.message).toMatch(/store/);
    expect(s.supervisor.list()).toHaveLength(2);
    client.send({ type: 'cancel', id: 'c8', jobId: job.id, reason: 'done' });
    expect((await client.until(isType('reply', 'c8'))).result).toMatchObject({ cancelled: true });
    client.send({ type: 'subscribe', id: 's', topic: { all: true } });
    client.send({ type: 'unsubscribe', id: 'u', subscription: 's' });
    expect((await client.until(isType('reply', 'u'))).result).toEqual({
      subscription: 's',
      unsubscribed: true,
    });
  });

  it('closes an oversized frame with 1009; the server and other sockets go on', async () => {
    const s = await start({ server: { maxFrameBytes: 1_024 } });
    const other = await connect(s.wsUrl);
    const client = await connect(s.wsUrl);
    client.send({ type: 'start', id: 'big', job: { type: 'echo', input: 'x'.repeat(2_000) } });
    expect((await client.closed).code).toBe(CLOSE_CODES.tooLarge);
    other.send({ type: 'start', id: 'ok', job: { type: 'echo' } });
    await other.until(isType('reply', 'ok'));
    expect(s.supervisor.list()).toHaveLength(1);
  });

  it('requires the token when set: 401 at the upgrade; a header or ?token= passes', async () => {
    const s = await start({ server: { token: 'sesame' } });
    await expect(connect(s.wsUrl)).rejects.toThrow(/401/);
    await expect(connect(s.wsUrl, { headers: { authorization: 'Bearer nope' } })).rejects.toThrow(/401/);
    await connect(s.wsUrl, { headers: { authorization: 'Bearer sesame' } });
    await connect(`${s.wsUrl}?token=sesame`);
    await expect(
      connect(s.wsUrl.replace('/ws', '/other'), { headers: { authorization: 'Bearer sesame' } }),
    ).rejects.toThrow(/404/);
  });

  it('resumes with since: a subscriber that drops mid-stream ends with exactly the server changes, in order', async () => {
    const s = await start({ store: 'sqlite', supervisor: { concurrency: 10 } });
    const first = await connect(s.wsUrl);
    first.send({ type: 'subscribe', id: 'sub', topic: { all: true } });
    await first.until(isType('snapshot', 'sub'));
    const jobs = await Promise.all([1, 2, 3].map(() => s.supervisor.start({ type: 'gated' })));
    await changesUpTo(
      first,
      s.changes.filter((c) => c.kind === 'started').length === 3 ? s.supervisor.offset : 0,
    );
    await first.until((m) => m.type === 'change' && m.change.kind === 'started');
    await first.close();
    const seen = first.changes('sub');
    for (const [i, call] of s.gated.entries()) {
      call.ctx.progress(50);
      call.done.resolve(i);
    }
    await Promise.all(jobs.map(({ job }) => s.supervisor.waitFor(job.id)));
    s.supervisor.start({ type: 'echo' }).catch(() => undefined);
    const second = await connect(s.wsUrl);
    second.send({ type: 'subscribe', id: 'sub', topic: { all: true }, since: seen.at(-1)!.offset });
    const last = await changesUpTo(second, s.changes.at(-1)!.offset);
    expect(second.messages.some((m) => m.type === 'snapshot')).toBe(false);
    expect(offsets([...seen, ...last])).toEqual(offsets(s.changes));
    expect([...seen, ...last]).toEqual(JSON.parse(JSON.stringify(s.changes)));
  });

  it('sends a resync snapshot when the changes after since are past retention', async () => {
    const s = await start({ store: 'memory' });
    const { job } = await s.supervisor.start({ type: 'echo', input: 1 });
    await s.supervisor.waitFor(job.id);
    await s.store!.expire({ before: Date.now() + 60_000, maxCount: 100 });
    const client = await connect(s.wsUrl);
    client.send({ type: 'subscribe', id: 'r', topic: { all: true }, since: 1 });
    const snapshot = await client.until(isType('snapshot', 'r'));
    expect(snapshot.resync).toBe(true);
    expect(snapshot.jobs.map((j) => j.id)).toEqual([job.id]);
    const next = await s.supervisor.start({ type: 'echo' });
    await s.supervisor.waitFor(next.job.id);
    const after = await changesUpTo(client, s.supervisor.offset, 'r');
    expect(after.map((c) => c.jobId)).toEqual([next.job.id, next.job.id, next.job.id]);
  });
});

/** The `log` entries `client` got for `subscription`, in order. */
function lines(client: Client, subscription: string, from = 0): WireLogEntry[] {
  return client.messages
    .slice(from)
    .flatMap((m) => (m.type === 'log' && m.subscription === subscription ? [m.entry] : []));
}

/** A running `gated` job whose handler the test drives (its `ctx.log` included). */
async function runningJob(s: Served) {
  const { job } = await s.supervisor.start({ type: 'gated' });
  await until(() => s.gated.length > 0 && s.supervisor.get(job.id)?.status === 'running');
  return { id: job.id, call: s.gated.at(-1)! };
}

describe('WebSocket /ws: job logs', () => {
  it("follows a job's log: the stored lines after `after`, the reply, each new line, then logEnd once the job is final", async () => {
    const s = await start({ store: 'sqlite' });
    const { id, call } = await runningJob(s);
    call.ctx.log('one');
    call.ctx.log('two', { n: 2 });
    const stored = (await s.supervisor.logs(id)).entries;
    const client = await connect(s.wsUrl);
    client.send({ type: 'logs', id: 'all', jobId: id });
    const reply = await client.until(isType('reply', 'all'));
    expect(reply.result).toEqual({ subscription: 'all' });
    // The stored lines come before the reply: once it is there, the follow is caught up.
    expect(lines(client, 'all')).toEqual(JSON.parse(JSON.stringify(stored)));
    client.send({ type: 'logs', id: 'after', jobId: id, after: stored[0]!.id });
    await client.until(isType('reply', 'after'));
    expect(lines(client, 'after').map((e) => e.message)).toEqual(['two']);

    call.ctx.log('three', { list: [1, 'x'] });
    await client.until((m) => m.type === 'log' && m.subscription === 'after' && m.entry.message === 'three');
    client.send({ type: 'unsubscribe', id: 'u', subscription: 'after' });
    expect((await client.until(isType('reply', 'u'))).result).toEqual({
      subscription: 'after',
      unsubscribed: true,
    });
    const unsubscribedAt = client.messages.length;
    call.ctx.log('four');
    call.done.resolve('finished');
    const end = await client.until(isType('logEnd', 'all'));
    expect(end.job).toMatchObject({ id, status: 'completed', result: 'finished' });
    const all = (await s.supervisor.logs(id)).entries;
    expect(all.map((e) => e.message)).toEqual(['one', 'two', 'three', 'four']);
    expect(lines(client, 'all')).toEqual(JSON.parse(JSON.stringify(all)));
    // Nothing came for the unsubscribed follow, and the ended one is gone.
    expect(lines(client, 'after', unsubscribedAt)).toEqual([]);
    expect(client.messages.findIndex((m) => m.type === 'logEnd')).toBe(client.messages.length - 1);
    client.send({ type: 'unsubscribe', id: 'u2', subscription: 'all' });
    expect((await client.until(isType('reply', 'u2'))).result).toMatchObject({ unsubscribed: false });

    // A finished job: its lines, the reply, then the end at once.
    client.send({ type: 'logs', id: 'done', jobId: id, after: all[1]!.id });
    await client.until(isType('logEnd', 'done'));
    expect(lines(client, 'done').map((e) => e.message)).toEqual(['three', 'four']);
    const order = client.messages
      .filter((m) => ('subscription' in m && m.subscription === 'done') || ('id' in m && m.id === 'done'))
      .map((m) => m.type);
    expect(order).toEqual(['log', 'log', 'reply', 'logEnd']);
  });

  it('refuses a bad logs command with a coded error carrying its id; the socket stays usable', async () => {
    const s = await start();
    const { id, call } = await runningJob(s);
    const client = await connect(s.wsUrl);
    client.send({ type: 'logs', id: 'ghost', jobId: 'ghost' });
    expect((await client.until(isType('error', 'ghost'))).error.code).toBe('job_not_found');
    for (const [name, command] of [
      ['negative', { after: -1 }],
      ['fractional', { after: 1.5 }],
      ['no job', { jobId: '' }],
      ['long job id', { jobId: 'j'.repeat(201) }],
      ['unknown field', { limit: 5 }],
    ] as const) {
      client.send({ type: 'logs', id: name, jobId: id, ...command });
      const refused = await client.until(isType('error', name));
      expect(refused.error.code, name).toBe('invalid_request');
      expect(Array.isArray(refused.error.details), name).toBe(true);
    }
    client.send({ type: 'logs', id: 'twice', jobId: id });
    await client.until(isType('reply', 'twice'));
    client.send({ type: 'logs', id: 'twice', jobId: id });
    expect((await client.until(isType('error', 'twice'))).error.message).toMatch(/already exists/);
    call.ctx.log('still followed');
    const line = await client.until(isType('log', 'twice'));
    expect(line.entry.message).toBe('still followed');
    expect(client.messages.filter((m) => m.type === 'log')).toHaveLength(1);
  });

  it('stops the follow when the socket closes, and when an unsubscribe comes while it starts', async () => {
    const s = await start();
    const { id, call } = await runningJob(s);
    call.ctx.log('before');
    const stopped: string[] = [];
    const gate = deferred();
    const follow = s.supervisor.followLogs.bind(s.supervisor);
    vi.spyOn(s.supervisor, 'followLogs').mockImplementation(async (jobId, options) => {
      await gate.promise;
      const off = await follow(jobId, options);
      return () => {
        stopped.push(jobId);
        off();
      };
    });
    const client = await connect(s.wsUrl);
    client.send({ type: 'logs', id: 'early', jobId: id });
    client.send({ type: 'unsubscribe', id: 'u', subscription: 'early' });
    expect((await client.until(isType('reply', 'u'))).result).toMatchObject({ unsubscribed: true });
    const from = client.messages.length;
    gate.resolve();
    await until(() => stopped.length === 1);
    client.send({ type: 'logs', id: 'late', jobId: id });
    await client.until(isType('reply', 'late'));
    // The follow stopped before it sent anything: no line, no reply.
    expect(client.messages.slice(from).filter((m) => 'id' in m && m.id === 'early')).toEqual([]);
    expect(lines(client, 'early')).toEqual([]);
    expect(lines(client, 'late').map((e) => e.message)).toEqual(['before']);
    const metrics = async () => (await fetch(`${s.url}/metrics`)).text();
    expect(await metrics()).toMatch(/^jobvisor_ws_subscriptions 1$/m);
    await client.close();
    await until(() => stopped.length === 2);
    expect(stopped).toEqual([id, id]);
    expect(await metrics()).toMatch(/^jobvisor_ws_subscriptions 0$/m);
  });
});

describe('Outbox (slow subscribers)', () => {
  function fakeSocket() {
    const sent: string[] = [];
    const callbacks: (() => void)[] = [];
    const ws = {
      OPEN: 1,
      readyState: 1,
      bufferedAmount: 0,
      send(frame: string, cb: () => void) {
        sent.push(frame);
        callbacks.push(cb);
      },
    };
    return { ws, sent, written: () => callbacks.splice(0).forEach((cb) => cb()) };
  }

  it('sends at once while the socket keeps up; queues, coalesces progress per job, and keeps order when behind', () => {
    const { ws, sent, written } = fakeSocket();
    let coalesced = 0;
    let slow = 0;
    const box = new Outbox(ws as unknown as WebSocket, 1_000, {
      tooSlow: () => slow++,
      coalesced: () => coalesced++,
    });
    box.send('a1');
    expect(sent).toEqual(['a1']);
    ws.bufferedAmount = 600; // above the soft mark (limit / 2)
    box.send('p-a-10', 's\0a');
    box.send('p-b-10', 's\0b');
    box.send('p-a-20', 's\0a');
    box.send('done-b', null, 's\0b');
    box.send('p-b-90', 's\0b');
    box.send('p-a-30', 's\0a');
    expect(sent).toEqual(['a1']);
    expect(coalesced).toBe(2);
    ws.bufferedAmount = 0;
    written();
    // The latest progress of a job goes to the tail: frames leave in the order they were made
    // (offset order), so a client that applies only newer offsets never drops one.
    expect(sent).toEqual(['a1', 'p-b-10', 'done-b', 'p-b-90', 'p-a-30']);
    expect(slow).toBe(0);
  });

  it('reports tooSlow once the bytes waiting pass the limit, then drops everything', () => {
    const { ws, sent } = fakeSocket();
    let slow = 0;
    const box = new Outbox(ws as unknown as WebSocket, 100, {
      tooSlow: () => slow++,
      coalesced: () => undefined,
    });
    ws.bufferedAmount = 60;
    box.send('x'.repeat(30));
    expect(slow).toBe(0);
    box.send('y'.repeat(30));
    expect(slow).toBe(1);
    box.send('z');
    expect(sent).toEqual([]);
    expect(box.waiting).toBe(0);
  });
});

describe('WebSocket load (loopback, bounded)', () => {
  it('100 subscribers following 1,000 jobs each see every change of every job, in order', async () => {
    const s = await start({
      supervisor: { concurrency: 50 },
      server: { subscriberBufferLimit: 512 * 1_048_576 },
    });
    const subs = await Promise.all(Array.from({ length: 100 }, () => connect(s.wsUrl)));
    for (const c of subs) c.send({ type: 'subscribe', id: 'all', topic: { all: true } });
    await Promise.all(subs.map((c) => c.until(isType('snapshot', 'all'))));
    const from = s.changes.length;
    const jobs = await Promise.all(
      Array.from({ length: 1_000 }, (_, i) => s.supervisor.start({ type: 'echo', input: i })),
    );
    await Promise.all(jobs.map(({ job }) => s.supervisor.waitFor(job.id)));
    const expected = offsets(s.changes.slice(from));
    expect(expected).toHaveLength(3_000);
    for (const c of subs) {
      const got = await changesUpTo(c, expected.at(-1)!);
      expect(offsets(got)).toEqual(expected);
      const seqs = new Map<string, number>();
      for (const change of got) {
        expect(change.seq).toBe((seqs.get(change.jobId) ?? 0) + 1);
        seqs.set(change.jobId, change.seq);
      }
      expect(seqs.size).toBe(1_000);
    }
  }, 30_000);
});
