/** The client SDK (`jobvisor/client`) against the real server on port 0, with real `ws` sockets. */
import { afterEach, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { createSupervisor, JobFailure, type Supervisor } from '../src/index.js';
import { memoryStore } from '../src/store/memory.js';
import { createJobvisorServer } from '../src/server/index.js';
import {
  createClient,
  JobvisorClientError,
  type JobvisorClient,
  type LiveContext,
  type LiveSubscription,
  type WireChange,
  type WireJob,
  type WireLogEntry,
} from '../src/client/index.js';
import { createLiveStore, isNewChange } from '../src/client/live-store.js';
import { deferred, Gate, rejectionOf, settle } from './helpers.js';

interface Running {
  readonly supervisor: Supervisor;
  readonly gate: Gate;
  readonly url: string;
  close(): Promise<void>;
}

const cleanups: (() => Promise<void> | void)[] = [];

afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** A real server on port 0 with a `steps` job type: four gated steps of 25 %. */
async function startServer(token?: string): Promise<Running> {
  const supervisor = createSupervisor({ store: memoryStore() });
  const gate = new Gate();
  supervisor.register('steps', async (ctx) => {
    for (let step = 1; step <= 4; step++) {
      await gate.wait();
      ctx.signal.throwIfAborted();
      ctx.progress(step * 25, `step ${step}/4`);
    }
    return { steps: 4 };
  });
  supervisor.register('instant', async () => ({ ok: true }));
  const server = createJobvisorServer({ supervisor, ...(token !== undefined ? { token } : {}) });
  const { url } = await server.listen(0, '127.0.0.1');
  let closed = false;
  const close = async () => {
    if (closed) return;
    closed = true;
    gate.release(1_000);
    await server.close();
    await supervisor.shutdown({ graceMs: 1_000 });
  };
  cleanups.push(close);
  return { supervisor, gate, url, close };
}

function client(options: Parameters<typeof createClient>[0]): JobvisorClient {
  const created = createClient(options);
  cleanups.push(() => created.close());
  return created;
}

/** Resolves with the store's context once `predicate` holds; rejects if the subscription closes first. */
function until(
  subscription: LiveSubscription,
  predicate: (context: LiveContext) => boolean,
): Promise<LiveContext> {
  return new Promise((resolve, reject) => {
    let done = false;
    const check = () => {
      if (done) return;
      const { context } = subscription.store.getSnapshot();
      if (predicate(context)) {
        done = true;
        resolve(context);
      } else if (context.status === 'closed') {
        done = true;
        reject(new Error(`subscription closed: ${context.error?.code ?? 'no error'}`));
      }
    };
    const { unsubscribe } = subscription.store.subscribe(check);
    cleanups.push(unsubscribe);
    check();
  });
}

const rejection = (promise: Promise<unknown>) => rejectionOf(promise, JobvisorClientError);

describe('client SDK: HTTP calls', () => {
  it('starts, deduplicates, gets, lists, cancels and reads the history with typed answers', async () => {
    const { url, supervisor } = await startServer();
    const api = client({ url });

    const created = await api.start({ type: 'steps', input: { n: 1 }, key: 'k1' });
    expect(created.deduplicated).toBe(false);
    expect(created.job).toMatchObject({ type: 'steps', key: 'k1', input: { n: 1 } });
    const again = await api.start({ type: 'steps', key: 'k1' });
    expect(again).toMatchObject({ deduplicated: true, job: { id: created.job.id } });

    const job = await api.get(created.job.id);
    expect(job.id).toBe(created.job.id);

    const other = await api.start({ type: 'instant' });
    await supervisor.waitFor(other.job.id);
    const listed = await api.list({ status: ['pending', 'running'], type: 'steps' });
    expect(listed.jobs.map((j) => j.id)).toEqual([created.job.id]);
    const page = await api.list({ limit: 1 });
    expect(page.jobs).toHaveLength(1);
    expect(page.next).not.toBeNull();
    const rest = await api.list({ limit: 10, after: page.next! });
    expect(rest.jobs.map((j) => j.id).sort()).toEqual(
      [created.job.id, other.job.id].filter((id) => id !== page.jobs[0]!.id),
    );

    const cancelled = await api.cancel(created.job.id, 'no longer needed');
    expect(cancelled).toMatchObject({ cancelled: true, job: { id: created.job.id, status: 'cancelled' } });
    const twice = await api.cancel(created.job.id);
    expect(twice.cancelled).toBe(false);

    const changes = await api.changes(created.job.id);
    expect(changes.map((c) => c.seq)).toEqual(changes.map((_, i) => i + 1));
    expect(changes.at(-1)).toMatchObject({ kind: 'cancelled', job: { status: 'cancelled' } });
    const later = await api.changes(created.job.id, { since: changes[0]!.offset, limit: 1 });
    expect(later).toEqual([changes[1]]);

    expect(await api.health()).toMatchObject({ status: 'ok' });
  });

  it('health() answers the typed health, also the 503 of a supervisor that is not accepting', async () => {
    const { url, supervisor } = await startServer();
    const api = client({ url });
    const ok = await api.health();
    expect(ok).toMatchObject({ status: 'ok', lifecycle: 'accepting', live: 0, node: supervisor.node });
    const status: 'ok' | 'unavailable' = ok.status; // typed, not unknown
    expect(status).toBe('ok');
    await supervisor.shutdown();
    expect(await api.health()).toMatchObject({ status: 'unavailable', lifecycle: 'stopped' });
  });

  it('starts a batch and cancels in bulk, by ids and by filter, with counts; a bad batch starts nothing', async () => {
    const { url, supervisor } = await startServer();
    const api = client({ url });
    const batch = await api.startMany([
      { type: 'steps', key: 'b1' },
      { type: 'steps', key: 'b1' },
      { type: 'steps', delayMs: 60_000, runAt: undefined },
      { type: 'steps', key: 'b2', runAt: new Date(Date.now() + 60_000) },
    ]);
    expect(batch).toMatchObject({ created: 3, deduplicated: 1, failed: 0 });
    const ids = batch.results.map((r) => ('job' in r ? r.job.id : ''));
    expect(ids[1]).toBe(ids[0]);
    const refused = await rejection(api.startMany([{ type: 'steps' }, { type: 'steps', priority: 0.5 }]));
    expect(refused.code).toBe('invalid_request');
    expect(supervisor.list()).toHaveLength(3);

    const byIds = await api.cancelMany({ ids: [ids[0]!, 'ghost'], reason: 'bulk' });
    expect(byIds).toMatchObject({ matched: 2, cancelled: 1, notFound: 1, jobIds: [ids[0]] });
    const byFilter = await api.cancelMany({ type: 'steps', status: 'pending' });
    expect(byFilter).toMatchObject({ matched: 2, cancelled: 2 });
    expect(supervisor.list({ status: ['pending', 'running'] })).toEqual([]);
    expect((await rejection(api.cancelMany({}))).code).toBe('invalid_request');

    expect(await api.retry(ids[0]!)).toMatchObject({ retried: true, job: { id: ids[0], status: 'pending' } });
    expect((await rejection(api.retry(ids[0]!))).code).toBe('job_not_retryable');
    await api.cancel(ids[0]!);
    expect(await api.retryMany({ ids: [ids[0]!] })).toMatchObject({ matched: 1, retried: 1 });
    await api.cancel(ids[0]!);
    const removed = await api.remove(ids[0]!);
    expect(removed).toMatchObject({ removed: true, job: { id: ids[0], status: 'cancelled' } });
    expect((await rejection(api.remove(ids[0]!))).code).toBe('job_not_found');
    expect(await api.removeMany({ status: 'cancelled' })).toMatchObject({ matched: 2, removed: 2 });
    expect(supervisor.list()).toEqual([]);
  });

  it('sets, lists and removes schedules with typed answers; a bad name is refused before any request', async () => {
    const { url, supervisor } = await startServer();
    const api = client({ url });
    const set = await api.schedule('daily.steps', {
      type: 'steps',
      cron: '0 6 * * 1-5',
      timezone: 'America/New_York',
      input: { n: 1 },
      missed: 'skip',
    });
    expect(set).toMatchObject({
      name: 'daily.steps',
      type: 'steps',
      cron: '0 6 * * 1-5',
      timezone: 'America/New_York',
      everyMs: null,
      missed: 'skip',
      lastJobId: null,
    });
    expect(set.nextAt).toBeGreaterThan(set.anchor);
    expect(
      await api.schedule('daily.steps', {
        type: 'steps',
        cron: '0 6 * * 1-5',
        timezone: 'America/New_York',
        input: { n: 1 },
        missed: 'skip',
      }),
    ).toEqual(set);
    await api.schedule('often', { type: 'instant', everyMs: 60_000 });
    const listed = await api.schedules();
    expect(listed).toEqual(JSON.parse(JSON.stringify(await supervisor.schedules())));
    expect(listed.map((x) => x.name).sort()).toEqual(['daily.steps', 'often']);

    expect(await api.unschedule('often')).toMatchObject({ name: 'often', everyMs: 60_000 });
    expect((await api.schedules()).map((x) => x.name)).toEqual(['daily.steps']);
    expect(await rejection(api.unschedule('often'))).toMatchObject({
      code: 'schedule_not_found',
      status: 404,
    });
    expect(await rejection(api.schedule('x', { type: 'steps' }))).toMatchObject({
      code: 'invalid_request',
      status: 400,
    });
    const badCron = await rejection(api.schedule('x', { type: 'steps', cron: '* * *' }));
    expect(badCron).toMatchObject({ code: 'invalid_request', status: 400 });

    // `..` would leave /schedules/ once the URL is resolved: refused here, the server never asked.
    let asked = 0;
    const counting = client({ url, fetch: (...args) => (asked++, fetch(...args)) });
    for (const name of ['..', '', 'a/b', 'x'.repeat(101)]) {
      const refused = await rejection(counting.unschedule(name));
      expect(refused).toMatchObject({ code: 'invalid_request', status: 0 });
      expect(refused.message).toMatch(/^Invalid schedule name/);
      expect(await rejection(counting.schedule(name, { type: 'steps', everyMs: 1_000 }))).toMatchObject({
        code: 'invalid_request',
        status: 0,
      });
    }
    expect(asked).toBe(0);
    expect((await supervisor.schedules()).map((x) => x.name)).toEqual(['daily.steps']);
  });

  it('turns coded server errors into JobvisorClientError with code, status and details', async () => {
    const { url } = await startServer();
    const api = client({ url });

    const unknownType = await rejection(api.start({ type: 'nope' }));
    expect(unknownType).toMatchObject({ code: 'unknown_job_type', status: 400 });

    const missing = await rejection(api.get('no-such-job'));
    expect(missing).toMatchObject({ code: 'job_not_found', status: 404 });

    const invalid = await rejection(api.list({ limit: 0 }));
    expect(invalid).toMatchObject({ status: 400 });
    expect(invalid.details).toBeDefined();
  });

  it('reports a stopped server as unreachable and a wrong answer as bad_response', async () => {
    const running = await startServer();
    await running.close();
    const unreachable = await rejection(client({ url: running.url }).health());
    expect(unreachable).toMatchObject({ code: 'unreachable', status: 0 });

    const liar = client({
      url: 'http://127.0.0.1:1',
      fetch: async () => new Response(JSON.stringify({ job: { id: 1 } }), { status: 200 }),
    });
    const bad = await rejection(liar.get('x'));
    expect(bad).toMatchObject({ code: 'bad_response', status: 200 });
  });
});

describe('client SDK: live subscriptions', () => {
  it("a subscription's store follows a job to the server's final state", async () => {
    const { url, gate, supervisor } = await startServer();
    const api = client({ url });
    const { job } = await api.start({ type: 'steps' });
    const live = api.subscribe({ jobId: job.id });
    await live.ready;
    expect(live.store.getSnapshot().context.status).toBe('live');
    expect(live.store.getSnapshot().context.jobs[job.id]?.id).toBe(job.id);

    const progress: number[] = [];
    live.onChange((change) => progress.push(change.job.progress));
    const selected = live.store.select((ctx) => ctx.jobs[job.id]?.progress ?? 0);
    const seenBySelect: number[] = [];
    selected.subscribe((value) => seenBySelect.push(value));

    gate.release(4);
    const final = await until(live, (ctx) => ctx.jobs[job.id]?.status === 'completed');
    expect(final.jobs[job.id]).toMatchObject({ status: 'completed', progress: 100, result: { steps: 4 } });
    expect(final.jobs[job.id]).toEqual(await api.get(job.id));
    expect(progress.filter((p, i) => p !== progress[i - 1])).toEqual(
      [...progress].sort((a, b) => a - b).filter((p, i, all) => p !== all[i - 1]),
    );
    expect(progress).toContain(100);
    expect(seenBySelect.at(-1)).toBe(100);
    expect(supervisor.get(job.id)?.status).toBe('completed');

    live.close();
    expect(live.store.getSnapshot().context.status).toBe('closed');
  });

  it('resumes with since after a dropped socket: exactly the server jobs, each change once, in order', async () => {
    const { url, gate, supervisor } = await startServer();
    const sockets: WebSocket[] = [];
    const subscribes: unknown[] = [];
    class RecordingWebSocket extends WebSocket {
      constructor(address: string, protocols?: string | string[]) {
        super(address, protocols);
        sockets.push(this);
      }
      override send(data: unknown, ...rest: unknown[]): void {
        subscribes.push(JSON.parse(String(data)));
        (super.send as (...args: unknown[]) => void)(data, ...rest);
      }
    }
    const api = client({ url, WebSocket: RecordingWebSocket, reconnect: { initialMs: 40, maxMs: 40 } });
    const live = api.subscribe({ type: 'steps' });
    const seen: WireChange[] = [];
    live.onChange((change) => seen.push(change));
    await live.ready;

    const ids = await Promise.all([1, 2, 3].map(async () => (await api.start({ type: 'steps' })).job.id));
    gate.release(3);
    await until(live, (ctx) => ids.every((id) => (ctx.jobs[id]?.progress ?? 0) >= 25));
    // 3 handlers at step 1 of 4: drop the connection mid-stream, then let the jobs run on.
    expect(sockets).toHaveLength(1);
    sockets[0]!.terminate();
    const { offset: offsetAtDrop } = await until(live, (ctx) => ctx.status === 'reconnecting');
    gate.release(9);
    await Promise.all(ids.map((id) => supervisor.waitFor(id)));

    const final = await until(
      live,
      (ctx) => ctx.status === 'live' && ids.every((id) => ctx.jobs[id]?.status === 'completed'),
    );
    expect(sockets.length).toBeGreaterThanOrEqual(2);
    expect(subscribes[0]).toMatchObject({ type: 'subscribe', topic: { type: 'steps' } });
    expect(subscribes[0]).not.toHaveProperty('since');
    expect(subscribes[1]).toMatchObject({ type: 'subscribe', topic: { type: 'steps' }, since: offsetAtDrop });

    const server = await api.list({ type: 'steps' });
    expect(Object.values(final.jobs).sort((a, b) => a.id.localeCompare(b.id))).toEqual(
      [...server.jobs].sort((a, b) => a.id.localeCompare(b.id)),
    );

    // Each change once, in order: offsets strictly increase, and per job seq goes 1, 2, 3, ...
    const offsets = seen.map((c) => c.offset);
    expect(offsets).toEqual([...new Set(offsets)].sort((a, b) => a - b));
    for (const id of ids) {
      const history = await api.changes(id);
      expect(seen.filter((c) => c.jobId === id)).toEqual(history);
    }
    expect(final.offset).toBe(offsets.at(-1));
  });

  it('a missing token is refused on HTTP and WebSocket with unauthorized; the right one works both ways', async () => {
    const { url, gate } = await startServer('s3cret');

    const anonymous = client({ url });
    expect(await rejection(anonymous.list())).toMatchObject({ code: 'unauthorized', status: 401 });
    const wrong = client({ url, token: 'wrong' });
    expect(await rejection(wrong.start({ type: 'steps' }))).toMatchObject({
      code: 'unauthorized',
      status: 401,
    });

    const refused = anonymous.subscribe({ all: true });
    expect(await rejection(refused.ready)).toMatchObject({ code: 'unauthorized' });
    expect(refused.store.getSnapshot().context).toMatchObject({
      status: 'closed',
      error: { code: 'unauthorized' },
    });

    // `ws` sends the token as a header; a browser-style WebSocket gets it as ?token=.
    const viaHeader = client({ url, token: 's3cret' });
    const viaQuery = client({ url, token: 's3cret', WebSocket });
    const { job } = await viaHeader.start({ type: 'steps' });
    const a = viaHeader.subscribe({ jobId: job.id });
    const b = viaQuery.subscribe({ jobIds: [job.id] });
    await Promise.all([a.ready, b.ready]);
    gate.release(4);
    const [ca, cb] = await Promise.all([
      until(a, (ctx) => ctx.jobs[job.id]?.status === 'completed'),
      until(b, (ctx) => ctx.jobs[job.id]?.status === 'completed'),
    ]);
    expect(ca.jobs).toEqual(cb.jobs);
  });
});

describe("client SDK: a job's log", () => {
  /** `talk`: a line, a gated step, a line, a gated step; its first attempt fails, its second completes. */
  function talk(supervisor: Supervisor, gate: Gate): void {
    supervisor.register(
      'talk',
      async (ctx) => {
        ctx.log(`attempt ${ctx.attempt} begins`, { attempt: ctx.attempt });
        await gate.wait();
        ctx.log('middle');
        await gate.wait();
        if (ctx.attempt === 1) throw new JobFailure('flaky', 'the first attempt fails');
        ctx.log('done');
        return 'ok';
      },
      { retries: { max: 1, backoffMs: 0 } },
    );
  }

  it('follows the log live over the WebSocket to its end, then reads it a page at a time over HTTP', async () => {
    const { url, gate, supervisor } = await startServer();
    talk(supervisor, gate);
    const api = client({ url });
    const { job } = await api.start({ type: 'talk' });
    const seen: WireLogEntry[] = [];
    const ended = deferred<WireJob>();
    await api.followLogs(job.id, { onEntry: (e) => seen.push(e), onEnd: (j) => ended.resolve(j) });
    gate.release(4);
    expect(await ended.promise).toMatchObject({ id: job.id, status: 'completed', attempt: 2, result: 'ok' });
    const stored = (await supervisor.logs(job.id)).entries;
    expect(seen).toEqual(JSON.parse(JSON.stringify(stored)));
    expect(seen.map((e) => `${e.attempt}:${e.message}`)).toEqual([
      '1:attempt 1 begins',
      '1:middle',
      '2:attempt 2 begins',
      '2:middle',
      '2:done',
    ]);

    expect(await api.logs(job.id)).toEqual({ logs: seen, next: null });
    const first = await api.logs(job.id, { limit: 2 });
    expect(first).toEqual({ logs: seen.slice(0, 2), next: seen[1]!.id });
    expect(await api.logs(job.id, { after: first.next!, limit: 100 })).toEqual({
      logs: seen.slice(2),
      next: null,
    });
    expect((await api.logs(job.id, { attempt: 2 })).logs).toEqual(seen.slice(2));

    // Following a finished job: its lines after the cursor, then the end at once.
    const rest: string[] = [];
    const over = deferred<WireJob>();
    await api.followLogs(job.id, {
      after: seen[2]!.id,
      onEntry: (e) => rest.push(e.message),
      onEnd: (j) => over.resolve(j),
    });
    expect((await over.promise).status).toBe('completed');
    expect(rest).toEqual(['middle', 'done']);
  });

  it('refuses an unknown job or a bad query with a coded error; stopping a follow closes its socket', async () => {
    const { url, gate, supervisor } = await startServer();
    talk(supervisor, gate);
    const api = client({ url });
    const { job } = await api.start({ type: 'talk' });
    const onEntry = () => undefined;

    expect(await rejection(api.logs('ghost'))).toMatchObject({ code: 'job_not_found', status: 404 });
    expect(await rejection(api.followLogs('ghost', { onEntry }))).toMatchObject({ code: 'job_not_found' });
    expect(await rejection(api.logs(''))).toMatchObject({ code: 'invalid_request', status: 0 });
    for (const query of [{ limit: 0 }, { limit: 1_001 }, { after: -1 }, { attempt: 0 }, { after: 0.5 }]) {
      const refused = await rejection(api.logs(job.id, query));
      expect(refused, JSON.stringify(query)).toMatchObject({ code: 'invalid_request', status: 400 });
      expect(refused.details).toBeDefined();
    }
    for (const [jobId, after] of [
      [job.id, -1],
      [job.id, 1.5],
      ['', 0],
    ] as const) {
      const refused = await rejection(api.followLogs(jobId, { after, onEntry }));
      expect(refused, `${jobId} ${after}`).toMatchObject({ code: 'invalid_request' });
    }

    const subscriptions = async () =>
      Number(/^jobvisor_ws_subscriptions (\d+)$/m.exec(await (await fetch(`${url}/metrics`)).text())?.[1]);
    const lines: string[] = [];
    const stop = await api.followLogs(job.id, { onEntry: (e) => lines.push(e.message) });
    expect(await subscriptions()).toBe(1);
    stop();
    for (let turn = 0; (await subscriptions()) > 0; turn++) {
      expect(turn).toBeLessThan(1_000);
      await settle();
    }
    gate.release(4);
    await supervisor.waitFor(job.id);
    expect(lines).toEqual(['attempt 1 begins']);
  });
});

describe('client SDK: the live store', () => {
  it('applies a change only with a newer offset and a newer seq; a resync replaces the jobs', async () => {
    const { url, gate, supervisor } = await startServer();
    const api = client({ url });
    const { job } = await api.start({ type: 'steps' });
    gate.release(4);
    await supervisor.waitFor(job.id);
    const history = await api.changes(job.id);
    expect(history.length).toBeGreaterThanOrEqual(4);
    const [created, second, third] = history as [WireChange, WireChange, WireChange];

    const store = createLiveStore(0);
    store.trigger.snapshot({ jobs: [], offset: created.offset - 1, replace: true });
    store.trigger.change({ change: second });
    store.trigger.change({ change: created }); // older offset: ignored
    expect(store.getSnapshot().context.jobs[job.id]).toEqual(second.job);
    expect(isNewChange(store.getSnapshot().context, second)).toBe(false);
    store.trigger.change({ change: third });
    store.trigger.change({ change: third }); // the same change twice: once
    expect(store.getSnapshot().context).toMatchObject({
      offset: third.offset,
      jobs: { [job.id]: third.job },
    });

    // A resumed (non-replacing) snapshot keeps the newer job and the offset.
    store.trigger.snapshot({ jobs: [created.job], offset: 0, replace: false });
    expect(store.getSnapshot().context).toMatchObject({
      offset: third.offset,
      jobs: { [job.id]: third.job },
    });
    // A resync replaces the topic's jobs and the offset.
    store.trigger.snapshot({ jobs: [], offset: third.offset + 5, replace: true });
    expect(store.getSnapshot().context).toMatchObject({ offset: third.offset + 5, jobs: {}, status: 'live' });
  });
});
