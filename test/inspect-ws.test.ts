/**
 * WebSocket /inspect on a real server (port 0): `@statelyai/inspect`'s own receiver gets the
 * frames of a job started over HTTP; token, bad queries, detaching on close, slow inspectors; and
 * the frames match those of `@statelyai/inspect`'s own WebSocket inspector byte for byte.
 */
import { createWebSocketInspector } from '@statelyai/inspect';
import type { AddressInfo } from 'node:net';
import WebSocket, { WebSocketServer } from 'ws';
import { afterEach, describe, expect, it } from 'vitest';
import { createSupervisor, toStatelyJson } from '../src/index.js';
import { CLOSE_CODES } from '../src/protocol/schemas.js';
import { until } from './helpers.js';
import { eventsOf, Frames, isDone, jobIdOf } from './inspect-frames.js';
import { http, servePerTest, type Served } from './server-harness.js';

const start = servePerTest();
const sockets: WebSocket[] = [];
afterEach(() => {
  for (const ws of sockets.splice(0)) ws.terminate(); // before the server closes (hooks run as a stack)
});
const inspectUrl = (s: Served, query = '') => `${s.url.replace('http', 'ws')}/inspect${query}`;

/** A raw upgrade: resolves once open, or with the refusal's status and JSON body. */
function upgrade(url: string): Promise<{ ws?: WebSocket; status?: number; body?: unknown }> {
  const ws = new WebSocket(url);
  sockets.push(ws);
  return new Promise((resolve, reject) => {
    ws.once('open', () => resolve({ ws }));
    ws.once('unexpected-response', (_req, res) => {
      let text = '';
      res.on('data', (chunk: Buffer) => (text += chunk.toString()));
      res.on('end', () => resolve({ status: res.statusCode, body: JSON.parse(text) as unknown }));
    });
    ws.once('error', reject);
  });
}

describe('WebSocket /inspect', () => {
  it("streams a job started over HTTP: actor, events (with the rejected one) and snapshots in Stately's frames", async () => {
    const s = await start();
    const frames = new Frames(inspectUrl(s));
    const supervisor = await frames.next((f) => f.type === '@xstate.actor');
    expect(supervisor).toMatchObject({ name: 'supervisor', _version: '0.7.2', id: null });
    expect('parentId' in supervisor).toBe(false);
    expect(JSON.parse((supervisor as { definition: string }).definition)).toMatchObject({ id: 'supervisor' });

    const created = await http(s, 'POST', '/jobs', { type: 'gated' });
    const jobId = created.body.job.id;
    await until(() => s.gated.length === 1);
    const { ctx, done } = s.gated[0]!;
    ctx.progress(60);
    ctx.progress(30);
    done.resolve('ok');
    await s.supervisor.waitFor(jobId);

    const actor = await frames.next((f) => jobIdOf(f) === jobId);
    const session = actor.sessionId;
    expect(actor).toMatchObject({ name: 'job', rootId: session });
    expect(actor.createdAt).toMatch(/^\d+$/);
    await frames.next(isDone(session));
    expect(eventsOf(frames.list, session)).toEqual([
      'xstate.init',
      'START',
      'PROGRESS',
      'PROGRESS',
      'jobvisor.rejected',
      'COMPLETE',
    ]);
    const rejected = frames.list.find(
      (f) => f.type === '@xstate.event' && (f.event as { type: string }).type === 'jobvisor.rejected',
    );
    expect(rejected).toMatchObject({
      rootId: session,
      event: {
        reason: 'progress_backwards',
        rejected: 'PROGRESS',
        state: 'running',
        source: 'handler',
      },
    });
  });

  it('requires the token (401 without it, ?token= passes) and refuses a bad query with 400; the server goes on', async () => {
    const s = await start({ server: { token: 'sesame' } });
    expect(await upgrade(inspectUrl(s))).toMatchObject({ status: 401 });
    const bad = await upgrade(inspectUrl(s, '?token=sesame&sample=2'));
    expect(bad.status).toBe(400);
    const { error } = bad.body as { error: { code: string; message: string } };
    expect(error.code).toBe('invalid_request');
    expect(error.message).toMatch(/sample/);
    for (const query of [
      'supervisor=yes',
      'jobs=none&type=echo',
      'colour=red',
      'supervisor=0&supervisor=1',
    ]) {
      expect((await upgrade(inspectUrl(s, `?token=sesame&${query}`))).status).toBe(400);
    }
    expect((await http(s, 'GET', '/health', undefined, { authorization: 'Bearer sesame' })).status).toBe(200);
    const frames = new Frames(inspectUrl(s, '?token=sesame&supervisor=1&type=echo'));
    await frames.next((f) => f.type === '@xstate.actor' && f.name === 'supervisor');
    const echo = await s.supervisor.start({ type: 'echo' });
    await frames.next((f) => jobIdOf(f) === echo.job.id);
    expect(s.supervisor.stats().inspectors).toBe(1);
  });

  it('detaches the tap when the socket closes, and server.close() closes inspector sockets', async () => {
    const s = await start();
    const { ws } = await upgrade(inspectUrl(s, '?jobs=none'));
    await until(() => s.supervisor.stats().inspectors === 1);
    const open = (await http(s, 'GET', '/metrics')).text;
    expect(open).toMatch(/^jobvisor_inspect_connections 1$/m);
    expect(open).toMatch(/^jobvisor_inspectors 1$/m);
    expect(open).toMatch(/^jobvisor_ws_connections 0$/m);
    ws!.close();
    await until(() => s.supervisor.stats().inspectors === 0, 100_000);
    expect((await http(s, 'GET', '/metrics')).text).toMatch(/^jobvisor_inspect_connections 0$/m);
    const other = await upgrade(inspectUrl(s));
    const closed = new Promise<number>((resolve) => other.ws!.once('close', (code) => resolve(code)));
    await until(() => s.supervisor.stats().inspectors === 1);
    await s.server.close();
    expect(await closed).toBe(CLOSE_CODES.shuttingDown);
    expect(s.supervisor.stats().inspectors).toBe(0);
  });

  it('closes an inspector that stops reading with 4008 once its buffer passes the limit', async () => {
    const s = await start({ server: { subscriberBufferLimit: 64 * 1_024 } });
    const { ws } = await upgrade(inspectUrl(s, '?supervisor=0'));
    const closed = new Promise<number>((resolve) => ws!.once('close', (code) => resolve(code)));
    let code: number | undefined;
    void closed.then((c) => (code = c));
    await until(() => s.supervisor.stats().inspectors === 1);
    (ws as unknown as { _socket: { pause(): void } })._socket.pause();
    for (let i = 0; i < 5_000 && s.supervisor.stats().inspectors > 0; i += 50) {
      const batch = await Promise.all(Array.from({ length: 50 }, () => s.supervisor.start({ type: 'echo' })));
      await Promise.all(batch.map(({ job }) => s.supervisor.waitFor(job.id)));
    }
    expect(s.supervisor.stats().inspectors).toBe(0);
    expect((await http(s, 'GET', '/metrics')).text).toMatch(/^jobvisor_inspect_slow_closed_total 1$/m);
    (ws as unknown as { _socket: { resume(): void } })._socket.resume();
    expect(code ?? (await closed)).toBe(CLOSE_CODES.tooSlow);
  });
});

describe('Stately frames', () => {
  it("are byte for byte those of @statelyai/inspect's WebSocket inspector (createdAt and actor snapshots aside)", async () => {
    const wss = new WebSocketServer({ port: 0, host: '127.0.0.1' });
    await new Promise<void>((resolve) => wss.once('listening', () => resolve()));
    const theirs: string[] = [];
    let wake = () => undefined as void;
    const connected = new Promise<void>((resolve) =>
      wss.on('connection', (ws) => {
        ws.on('message', (data: Buffer) => (theirs.push(data.toString()), wake()));
        resolve();
      }),
    );
    const { port } = wss.address() as AddressInfo;
    const inspector = createWebSocketInspector({ url: `ws://127.0.0.1:${port}` });
    let framed: string[] = [];
    try {
      await connected;

      const supervisor = createSupervisor();
      supervisor.register('u', (ctx) => (ctx.progress(50, 'half'), { ok: true, at: [1, { deep: 'x' }] }));
      const ours: string[] = [];
      supervisor.inspect(inspector.inspect, { rejections: false });
      supervisor.inspect((event) => ours.push(toStatelyJson(event) ?? ''), { rejections: false });
      const { job } = await supervisor.start({ type: 'u', input: { n: 1, list: [true, null, 'x'] } });
      await supervisor.waitFor(job.id);
      await supervisor.shutdown();
      framed = ours.filter((f) => f !== '');
      while (theirs.length < framed.length) await new Promise<void>((resolve) => (wake = resolve));
    } finally {
      // Also when a step fails: the inspector's socket and the server close.
      inspector.stop();
      await new Promise<void>((resolve) => wss.close(() => resolve()));
    }

    const normal = (text: string): unknown => {
      const f = JSON.parse(text.replace(/"createdAt":"\d+"/, '"createdAt":"0"')) as Record<string, unknown>;
      if (f.type === '@xstate.actor') delete f.snapshot; // Stately reads it later, when it converts
      return f;
    };
    expect(framed.length).toBeGreaterThan(15);
    expect(theirs).toHaveLength(framed.length);
    expect(theirs.map(normal)).toEqual(framed.map(normal));
    const same = (text: string) => text.replace(/"createdAt":"\d+"/, '');
    const plain = (list: string[]) => list.filter((t) => !t.includes('"type":"@xstate.actor"')).map(same);
    expect(plain(theirs)).toEqual(plain(framed));
    const definitions = (list: string[]) =>
      list.flatMap((t) =>
        t.includes('"type":"@xstate.actor"') ? [(JSON.parse(t) as { definition: string }).definition] : [],
      );
    expect(definitions(theirs)).toEqual(definitions(framed));
  });
});
