/**
 * Rejected events on the WebSocket stream (opt-in per subscription, kept for later subscribers)
 * and GET /types, through the client SDK against a real server on port 0.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import * as z from 'zod';
import { createSupervisor, type Supervisor } from '../src/index.js';
import { memoryStore } from '../src/store/memory.js';
import { createJobvisorServer } from '../src/server/index.js';
import {
  createClient,
  type LiveContext,
  type LiveSubscription,
  type WireRejection,
} from '../src/client/index.js';
import { createLiveStore, KEPT_REJECTIONS } from '../src/client/live-store.js';
import { deferred, type Deferred } from './helpers.js';

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

interface Running {
  readonly supervisor: Supervisor;
  readonly url: string;
  /** Resolved by the test to let a `backwards` job finish. */
  readonly finish: Map<string, Deferred<void>>;
}

async function startServer(): Promise<Running> {
  const supervisor = createSupervisor({ store: memoryStore() });
  const finish = new Map<string, Deferred<void>>();
  supervisor.register(
    'backwards',
    async (ctx) => {
      ctx.progress(60);
      const stale = ctx.progress(30);
      const gate = deferred();
      finish.set(ctx.jobId, gate);
      await gate.promise;
      return { stale };
    },
    { concurrency: 2, input: z.strictObject({ note: z.string().max(10).default('') }).default({ note: '' }) },
  );
  supervisor.register('plain', async () => 'ok', { timeoutMs: 5_000 });
  supervisor.register('noisy', async (ctx) => {
    ctx.progress(50);
    for (let i = 0; i < (ctx.input as number); i++) ctx.progress(10);
  });
  supervisor.register('threaded', { module: new URL('./fixtures/cpu-job.ts', import.meta.url) });
  const server = createJobvisorServer({ supervisor });
  const { url } = await server.listen(0, '127.0.0.1');
  cleanups.push(async () => {
    for (const gate of finish.values()) gate.resolve();
    await server.close();
    await supervisor.shutdown({ graceMs: 1_000 });
  });
  return { supervisor, url, finish };
}

function until(live: LiveSubscription, predicate: (ctx: LiveContext) => boolean): Promise<LiveContext> {
  return new Promise((resolve) => {
    const check = () => {
      const { context } = live.store.getSnapshot();
      if (predicate(context)) {
        subscription.unsubscribe();
        resolve(context);
      }
    };
    const subscription = live.store.subscribe(check);
    check();
  });
}

/** Every message a raw socket receives, parsed, until it closes. */
async function rawSocket(url: string): Promise<{ ws: WebSocket; messages: { type: string }[] }> {
  const ws = new WebSocket(`${url.replace('http', 'ws')}/ws`);
  const messages: { type: string }[] = [];
  ws.on('message', (data: Buffer) => messages.push(JSON.parse(data.toString('utf8')) as { type: string }));
  await new Promise((resolve, reject) => ws.once('open', resolve).once('error', reject));
  cleanups.push(() => ws.close());
  return { ws, messages };
}

describe('GET /types', () => {
  it('lists the registered types in order with limits, where they run and their input as JSON Schema', async () => {
    const { url } = await startServer();
    const types = await createClient({ url }).types();
    expect(types.map((t) => t.name)).toEqual(['backwards', 'plain', 'noisy', 'threaded']);
    const [backwards, plain, , threaded] = types;
    expect(backwards).toMatchObject({ runsIn: 'process', concurrency: 2, timeoutMs: null });
    expect(backwards?.retries.max).toBeGreaterThanOrEqual(0);
    expect(backwards?.inputSchema).toMatchObject({
      type: 'object',
      properties: { note: { type: 'string', maxLength: 10 } },
      additionalProperties: false,
    });
    expect(plain).toMatchObject({
      runsIn: 'process',
      concurrency: null,
      timeoutMs: 5_000,
      inputSchema: null,
    });
    expect(threaded).toMatchObject({ runsIn: 'worker' });
  });
});

describe('rejected events on the WebSocket stream', () => {
  it('a subscriber with rejections: true sees each rejection once with its reason; others do not', async () => {
    const { url, finish } = await startServer();
    const api = createClient({ url });
    cleanups.push(() => api.close());
    const watching = api.subscribe({ all: true }, { rejections: true });
    const otherType = api.subscribe({ type: 'plain' }, { rejections: true });
    const plainSub = api.subscribe({ all: true });
    await Promise.all([watching.ready, otherType.ready, plainSub.ready]);
    const heard: WireRejection[] = [];
    watching.onRejected((r) => heard.push(r));
    const raw = await rawSocket(url);
    raw.ws.send(JSON.stringify({ type: 'subscribe', id: 's', topic: { all: true } }));

    const { job } = await api.start({ type: 'backwards' });
    const ctx = await until(watching, (c) => c.rejections.length === 1);
    expect(ctx.rejections[0]).toMatchObject({
      jobId: job.id,
      jobType: 'backwards',
      event: 'PROGRESS',
      attempt: 1,
      state: 'running',
      reason: 'progress_backwards',
      source: 'handler',
    });
    expect(heard).toEqual(ctx.rejections);

    finish.get(job.id)!.resolve();
    await until(watching, (c) => c.jobs[job.id]?.status === 'completed');
    await until(plainSub, (c) => c.jobs[job.id]?.status === 'completed');
    expect((await api.get(job.id)).result).toEqual({ stale: false });
    expect(otherType.store.getSnapshot().context.rejections).toEqual([]);
    expect(plainSub.store.getSnapshot().context.rejections).toEqual([]);
    expect(raw.messages.filter((m) => m.type === 'rejected')).toEqual([]);
    expect(raw.messages.some((m) => m.type === 'change')).toBe(true);
  });

  it('the server keeps its latest 200 rejections for later subscribers, filtered by topic', async () => {
    const { url, supervisor } = await startServer();
    const noisy = (await supervisor.start({ type: 'noisy', input: 250 })).job;
    await supervisor.waitFor(noisy.id);
    const backwards = (await supervisor.start({ type: 'backwards' })).job;
    await until2(() => supervisor.stats().rejected === 251);

    const api = createClient({ url });
    cleanups.push(() => api.close());
    const late = api.subscribe({ all: true }, { rejections: true });
    let heard = 0;
    late.onRejected(() => heard++);
    const one = api.subscribe({ jobId: backwards.id }, { rejections: true });
    const ofType = api.subscribe({ type: 'noisy' }, { rejections: true });
    await until(one, (c) => c.rejections.length === 1);
    expect(one.store.getSnapshot().context.rejections[0]?.jobId).toBe(backwards.id);
    const all = await until(late, (c) => c.rejections.at(-1)?.jobId === backwards.id);
    expect(heard).toBe(200);
    expect(all.rejections).toHaveLength(KEPT_REJECTIONS);
    expect(new Set(all.rejections.map((r) => r.id)).size).toBe(KEPT_REJECTIONS);
    const typed = await until(ofType, (c) => c.rejections.length === KEPT_REJECTIONS);
    expect(typed.rejections.every((r) => r.jobId === noisy.id)).toBe(true);
  });

  it('after a dropped socket the kept rejections are not applied twice', async () => {
    const { url, supervisor } = await startServer();
    const sockets: WebSocket[] = [];
    class Tracked extends WebSocket {
      constructor(address: string) {
        super(address);
        sockets.push(this);
      }
    }
    const api = createClient({ url, WebSocket: Tracked, reconnect: { initialMs: 1, maxMs: 5 } });
    cleanups.push(() => api.close());
    const live = api.subscribe({ all: true }, { rejections: true });
    let heard = 0;
    live.onRejected(() => heard++);
    await live.ready;
    const { job } = await supervisor.start({ type: 'noisy', input: 3 });
    await until(live, (c) => c.rejections.length === 3 && c.jobs[job.id]?.status === 'completed');
    sockets[0]!.terminate();
    await until(live, (c) => c.status === 'reconnecting');
    await until(live, (c) => c.status === 'live');
    const second = (await supervisor.start({ type: 'noisy', input: 1 })).job;
    const ctx = await until(live, (c) => c.rejections.length === 4);
    expect(ctx.rejections.at(-1)?.jobId).toBe(second.id);
    expect(heard).toBe(4);
    expect(sockets).toHaveLength(2);
  });
});

/** Awaits a condition on the supervisor side, one event-loop turn at a time. */
async function until2(predicate: () => boolean): Promise<void> {
  for (let i = 0; i < 10_000 && !predicate(); i++) await new Promise((r) => setImmediate(r));
  expect(predicate()).toBe(true);
}

describe('rejections across a reconnect', () => {
  it('onRejected hears each of more than the store keeps exactly once, though the server replays them', async () => {
    const { url, supervisor } = await startServer();
    const sockets: WebSocket[] = [];
    class Tracked extends WebSocket {
      constructor(address: string) {
        super(address);
        sockets.push(this);
      }
    }
    const api = createClient({ url, WebSocket: Tracked, reconnect: { initialMs: 1, maxMs: 5 } });
    cleanups.push(() => api.close());
    const live = api.subscribe({ all: true }, { rejections: true });
    let heard = 0;
    live.onRejected(() => heard++);
    await live.ready;
    const count = KEPT_REJECTIONS + 50;
    const { job } = await supervisor.start({ type: 'noisy', input: count });
    await until(live, (c) => c.jobs[job.id]?.status === 'completed' && heard === count);
    sockets[0]!.terminate();
    await until(live, (c) => c.status === 'reconnecting');
    await until(live, (c) => c.status === 'live');
    const { job: next } = await supervisor.start({ type: 'noisy', input: 1 });
    const ctx = await until(live, (c) => c.rejections.at(-1)?.jobId === next.id);
    expect(heard).toBe(count + 1);
    expect(ctx.rejections).toHaveLength(KEPT_REJECTIONS);
  });
});

describe('the live store keeps rejections', () => {
  it(`dedupes by id and keeps the newest ${KEPT_REJECTIONS}`, () => {
    const store = createLiveStore(0);
    const make = (n: number): WireRejection => ({
      id: `boot-${n}`,
      jobId: 'j',
      jobType: 't',
      event: 'PROGRESS',
      attempt: 1,
      state: 'running',
      reason: 'progress_backwards',
      source: 'handler',
      at: n,
    });
    for (let n = 1; n <= KEPT_REJECTIONS + 20; n++) store.trigger.rejected({ rejection: make(n) });
    store.trigger.rejected({ rejection: make(KEPT_REJECTIONS + 20) });
    const { rejections } = store.getSnapshot().context;
    expect(rejections).toHaveLength(KEPT_REJECTIONS);
    expect(rejections[0]?.id).toBe('boot-21');
    expect(rejections.at(-1)?.id).toBe(`boot-${KEPT_REJECTIONS + 20}`);
  });
});
