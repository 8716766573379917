/**
 * `subscribeLive` on its connection machine, over a fake WebSocket the test plays the server on,
 * with XState's SimulatedClock for the reconnect delays: no test waits for a timer.
 */
import { once } from 'node:events';
import { createServer, type Socket } from 'node:net';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { SimulatedClock } from 'xstate';
import { WebSocket } from 'ws';
import { JobvisorClientError } from '../src/client/errors.js';
import { subscribeLive, type LiveSubscription, type WebSocketLike } from '../src/client/live.js';
import { followLogsLive, type FollowLogsOptions, type LogFollow } from '../src/client/live-logs.js';
import type { WireChange, WireJob, WireLogEntry } from '../src/protocol/schemas.js';
import { deferred, rejectionOf } from './helpers.js';

/** A SimulatedClock that knows which of its timers are still pending. */
class CountingClock extends SimulatedClock {
  readonly pending = new Set<number>();

  override setTimeout(fn: (...args: unknown[]) => void, timeout: number): number {
    const id: number = super.setTimeout(() => {
      this.pending.delete(id);
      fn();
    }, timeout);
    this.pending.add(id);
    return id;
  }

  override clearTimeout(id: number): void {
    this.pending.delete(id);
    super.clearTimeout(id);
  }
}

/** One socket as the client sees it; the test plays the server with `accept`, `deliver`, `drop`. */
class FakeSocket implements WebSocketLike {
  readyState = 0;
  onopen: ((event: never) => void) | null = null;
  onmessage: ((event: never) => void) | null = null;
  onclose: ((event: never) => void) | null = null;
  onerror: ((event: never) => void) | null = null;
  readonly sent: unknown[] = [];
  readonly closedWith: { code?: number; reason?: string }[] = [];

  constructor(readonly url: string) {}

  send(data: string): void {
    this.sent.push(JSON.parse(data));
  }

  close(code?: number, reason?: string): void {
    this.closedWith.push({ code, reason });
    this.readyState = 2;
  }

  accept(): void {
    this.readyState = 1;
    this.onopen?.({} as never);
  }

  deliver(message: unknown): void {
    const data = typeof message === 'string' ? message : JSON.stringify(message);
    this.onmessage?.({ data } as never);
  }

  fail(message: string): void {
    this.onerror?.({ message } as never);
  }

  drop(code: number, reason = ''): void {
    this.readyState = 3;
    this.onclose?.({ code, reason } as never);
  }
}

/** The fake server: every socket the client opened, and a wait for the next one. */
function fakeServer() {
  const sockets: FakeSocket[] = [];
  const waiting: ((socket: FakeSocket) => void)[] = [];
  class Fake extends FakeSocket {
    constructor(url: string) {
      super(url);
      sockets.push(this);
      waiting.shift()?.(this);
    }
  }
  return {
    WebSocket: Fake,
    sockets,
    /** The next socket the client opens (the client opens it a microtask after it decides to). */
    next(): Promise<FakeSocket> {
      return new Promise((resolve) => waiting.push(resolve));
    },
  };
}

const subscriptions: (LiveSubscription | LogFollow)[] = [];
afterEach(() => {
  for (const subscription of subscriptions.splice(0)) subscription.close();
});

function subscribe(server: ReturnType<typeof fakeServer>, since?: number) {
  const clock = new CountingClock();
  const live = subscribeLive(
    {
      wsUrl: 'ws://127.0.0.1:1/ws',
      WebSocket: server.WebSocket,
      backoff: { initialMs: 100, maxMs: 1_000, jitter: false },
      clock,
    },
    { type: 'report' },
    since === undefined ? {} : { since },
  );
  subscriptions.push(live);
  return { live, clock };
}

function job(id: string, seq: number): WireJob {
  return {
    id,
    key: null,
    type: 'report',
    status: 'running',
    progress: seq * 10,
    message: null,
    attempt: 1,
    seq,
    createdAt: 0,
    startedAt: 1,
    updatedAt: seq,
    finishedAt: null,
    lastHeartbeatAt: null,
    nextRetryAt: null,
    input: null,
    result: null,
    error: null,
    priority: 0,
    runAt: null,
  };
}

function change(
  subscription: string,
  offset: number,
  seq: number,
): { type: 'change'; subscription: string; change: WireChange } {
  return {
    type: 'change',
    subscription,
    change: { offset, jobId: 'j1', seq, kind: 'progress', at: seq, job: job('j1', seq) },
  };
}

/** Opens the first socket and makes the subscription live at offset 3; answers its id. */
async function goLive(server: ReturnType<typeof fakeServer>, live: LiveSubscription): Promise<string> {
  const socket = await server.next();
  socket.accept();
  const [command] = socket.sent as [{ type: string; id: string }];
  expect(command).toEqual({ type: 'subscribe', id: command.id, topic: { type: 'report' } });
  socket.deliver({ type: 'reply', id: command.id, result: {} });
  socket.deliver({
    type: 'snapshot',
    subscription: command.id,
    offset: 3,
    jobs: [job('j1', 2)],
    resync: false,
  });
  await live.ready;
  return command.id;
}

describe('subscribeLive over a fake socket', () => {
  it('reconnects after a drop and resumes with since = the last offset', async () => {
    const server = fakeServer();
    const { live, clock } = subscribe(server);
    const id = await goLive(server, live);
    const first = server.sockets[0]!;
    const seen: number[] = [];
    live.onChange((c) => seen.push(c.offset));
    first.deliver(change(id, 5, 3));
    expect(live.store.getSnapshot().context).toMatchObject({ status: 'live', offset: 5 });

    first.drop(1006);
    expect(live.store.getSnapshot().context).toMatchObject({ status: 'reconnecting', error: null });
    clock.increment(99);
    expect(server.sockets).toHaveLength(1);
    const next = server.next();
    clock.increment(1);
    const second = await next;
    second.accept();
    expect(second.sent).toEqual([{ type: 'subscribe', id, topic: { type: 'report' }, since: 5 }]);
    expect(live.store.getSnapshot().context.status).toBe('reconnecting');
    second.deliver({ type: 'reply', id, result: {} });
    second.deliver(change(id, 5, 3)); // replayed twice: applied once
    second.deliver(change(id, 6, 4));
    expect(live.store.getSnapshot().context).toMatchObject({ status: 'live', offset: 6, error: null });
    expect(live.store.getSnapshot().context.jobs.j1?.seq).toBe(4);
    expect(seen).toEqual([5, 6]);
  });

  it('closes for good when unauthorized: a 4401 close, or a handshake answered 401', async () => {
    for (const refuse of [
      (socket: FakeSocket) => socket.drop(4401),
      (socket: FakeSocket) => {
        socket.fail('Unexpected server response: 401');
        socket.drop(1006);
      },
    ]) {
      const server = fakeServer();
      const { live, clock } = subscribe(server);
      refuse(await server.next());
      expect(live.store.getSnapshot().context).toMatchObject({
        status: 'closed',
        error: { code: 'unauthorized', message: 'missing or wrong token' },
      });
      expect(await rejectionOf(live.ready, JobvisorClientError)).toMatchObject({ code: 'unauthorized' });
      expect(clock.pending.size).toBe(0);
      clock.increment(60_000);
      await Promise.resolve();
      expect(server.sockets).toHaveLength(1);
    }
  });

  it('close() while backing off clears the timer and opens no socket again', async () => {
    const server = fakeServer();
    const { live, clock } = subscribe(server);
    await goLive(server, live);
    server.sockets[0]!.drop(4008, 'send buffer full');
    expect(live.store.getSnapshot().context).toMatchObject({
      status: 'reconnecting',
      error: { code: 'too_slow', message: 'send buffer full' },
    });
    expect(clock.pending.size).toBe(1);
    live.close();
    expect(clock.pending.size).toBe(0);
    expect(live.store.getSnapshot().context).toMatchObject({ status: 'closed', error: { code: 'too_slow' } });
    clock.increment(60_000);
    await Promise.resolve();
    expect(server.sockets).toHaveLength(1);
    expect(live.onChange(() => undefined)).toBeTypeOf('function');
  });

  it('a message that does not match the protocol drops the socket and resumes from the offset', async () => {
    const server = fakeServer();
    const { live, clock } = subscribe(server);
    const id = await goLive(server, live);
    const first = server.sockets[0]!;
    first.deliver(change(id, 7, 3));
    first.deliver({ type: 'change', subscription: id, change: { offset: 8 } });
    expect(first.closedWith[0]).toEqual({ code: 4000, reason: 'bad message' });
    expect(live.store.getSnapshot().context).toMatchObject({
      status: 'reconnecting',
      offset: 7,
      error: { code: 'bad_response', message: 'server message does not match the protocol' },
    });
    first.deliver(change(id, 9, 5)); // the old socket is no longer heard: offset 8 would be skipped
    expect(live.store.getSnapshot().context.offset).toBe(7);
    const next = server.next();
    clock.increment(100);
    const second = await next;
    second.accept();
    expect(second.sent).toEqual([{ type: 'subscribe', id, topic: { type: 'report' }, since: 7 }]);
  });

  it('a refused subscribe closes for good with the server error; since resumes from the first attempt', async () => {
    const server = fakeServer();
    const { live, clock } = subscribe(server, 41);
    const socket = await server.next();
    socket.accept();
    const [command] = socket.sent as [{ id: string }];
    expect(command).toMatchObject({ type: 'subscribe', since: 41 });
    expect(live.store.getSnapshot().context.status).toBe('connecting');
    socket.deliver({
      type: 'error',
      id: command.id,
      error: { code: 'invalid_request', message: 'bad topic' },
    });
    expect(live.store.getSnapshot().context).toMatchObject({
      status: 'closed',
      error: { code: 'invalid_request', message: 'bad topic' },
    });
    expect(await rejectionOf(live.ready, JobvisorClientError)).toMatchObject({ code: 'invalid_request' });
    expect(socket.closedWith).toEqual([{ code: 1000, reason: 'closed by client' }]);
    expect(clock.pending.size).toBe(0);
  });
});

describe('followLogsLive over a fake socket', () => {
  function follow(server: ReturnType<typeof fakeServer>, options: Partial<FollowLogsOptions> = {}) {
    const clock = new CountingClock();
    const seen: WireLogEntry[] = [];
    const ended: WireJob[] = [];
    const errors: JobvisorClientError[] = [];
    const statuses: string[] = [];
    const following = followLogsLive(
      {
        wsUrl: 'ws://127.0.0.1:1/ws',
        WebSocket: server.WebSocket,
        backoff: { initialMs: 100, maxMs: 1_000, jitter: false },
        clock,
      },
      'j1',
      {
        onEntry: (entry) => seen.push(entry),
        onEnd: (job) => ended.push(job),
        onError: (error) => errors.push(error),
        onStatus: (status) => statuses.push(status),
        ...options,
      },
    );
    subscriptions.push(following);
    return { following, clock, seen, ended, errors, statuses };
  }

  const line = (subscription: string, id: number, attempt = 1) => ({
    type: 'log',
    subscription,
    entry: { id, jobId: 'j1', attempt, at: id, message: `line ${id}`, data: null },
  });

  /** Opens the first socket, checks its command, and answers it; answers the command's id. */
  async function started(server: ReturnType<typeof fakeServer>, following: LogFollow, after: number) {
    const socket = await server.next();
    socket.accept();
    const [command] = socket.sent as [{ id: string }];
    expect(command).toEqual({ type: 'logs', id: command.id, jobId: 'j1', after });
    socket.deliver(line(command.id, after + 1));
    socket.deliver({ type: 'reply', id: command.id, result: { subscription: command.id } });
    await following.started;
    return { socket, id: command.id };
  }

  it('reconnects after a drop (too slow) and asks for the lines after the last one told, each told once', async () => {
    const server = fakeServer();
    const { following, clock, seen, ended, errors, statuses } = follow(server, { after: 4 });
    const { socket, id } = await started(server, following, 4);
    socket.deliver(line(id, 6));
    socket.deliver(line('another', 7));
    socket.drop(4008, 'subscriber fell behind');
    const next = server.next();
    clock.increment(100);
    const second = await next;
    second.accept();
    expect(second.sent).toEqual([{ type: 'logs', id, jobId: 'j1', after: 6 }]);
    second.deliver(line(id, 6)); // already told
    second.deliver({ type: 'reply', id, result: { subscription: id } });
    second.deliver(line(id, 9, 2));
    expect(seen.map((e) => e.id)).toEqual([5, 6, 9]);
    second.deliver({ type: 'logEnd', subscription: id, job: { ...job('j1', 7), status: 'completed' } });
    expect(ended).toMatchObject([{ id: 'j1', status: 'completed' }]);
    expect(second.closedWith).toEqual([{ code: 1000, reason: 'closed by client' }]);
    await following.done;
    second.deliver(line(id, 10)); // no longer heard
    expect(seen.map((e) => e.id)).toEqual([5, 6, 9]);
    expect(errors).toEqual([]);
    expect(statuses).toEqual(['connecting', 'live', 'reconnecting', 'live', 'closed']);
    expect(clock.pending.size).toBe(0);
  });

  it('a refused command rejects `started` with the server error and opens no socket again', async () => {
    const server = fakeServer();
    const { following, clock, errors } = follow(server);
    const socket = await server.next();
    socket.accept();
    const [command] = socket.sent as [{ id: string }];
    socket.deliver({ type: 'error', id: command.id, error: { code: 'job_not_found', message: 'No job' } });
    expect(await rejectionOf(following.started, JobvisorClientError)).toMatchObject({
      code: 'job_not_found',
      status: 0,
    });
    await following.done;
    await Promise.resolve();
    expect(errors).toEqual([]);
    expect(clock.pending.size).toBe(0);
    expect(server.sockets).toHaveLength(1);
  });

  it('an error after it started (refused on a reconnect, unauthorized) goes to onError', async () => {
    for (const refuse of [
      (socket: FakeSocket, id: string) =>
        socket.deliver({ type: 'error', id, error: { code: 'job_not_found', message: 'removed' } }),
      (socket: FakeSocket) => socket.drop(4401),
    ]) {
      const server = fakeServer();
      const { following, clock, errors } = follow(server);
      const { socket, id } = await started(server, following, 0);
      socket.drop(1006);
      const next = server.next();
      clock.increment(100);
      const second = await next;
      second.accept();
      refuse(second, id);
      await following.done;
      await Promise.resolve();
      expect(errors).toHaveLength(1);
      expect(errors[0]).toBeInstanceOf(JobvisorClientError);
      expect(['job_not_found', 'unauthorized']).toContain(errors[0]!.code);
    }
  });

  it('close() before the reply rejects `started` as closed; a throwing onEntry does not stop the follow', async () => {
    const server = fakeServer();
    const { following } = follow(server);
    await server.next();
    following.close();
    expect(await rejectionOf(following.started, JobvisorClientError)).toMatchObject({ code: 'closed' });

    const other = fakeServer();
    const told: number[] = [];
    const logged = vi.spyOn(console, 'error').mockImplementation(() => undefined);
    try {
      const { following: throwing } = follow(other, {
        onEntry: (entry) => {
          told.push(entry.id);
          throw new Error('a bad listener');
        },
      });
      const { socket, id } = await started(other, throwing, 0);
      socket.deliver(line(id, 2));
      expect(told).toEqual([1, 2]);
      expect(logged.mock.calls.map(([text]) => text as unknown)).toEqual([
        'jobvisor client: onEntry failed',
        'jobvisor client: onEntry failed',
      ]);
    } finally {
      logged.mockRestore();
    }
  });
});

describe('subscribeLive over `ws`', () => {
  it('close() while the socket is still connecting leaves no unhandled error behind', async () => {
    // A server that accepts the TCP connection and never answers the upgrade.
    const connections: Socket[] = [];
    const server = createServer((connection) => void connections.push(connection));
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    const { port } = server.address() as { port: number };
    const created = deferred<WebSocket>();
    const unhandled: unknown[] = [];
    class RecordingWebSocket extends WebSocket {
      constructor(address: string) {
        super(address);
        created.resolve(this);
      }
      /** Records what `ws` would throw: an 'error' event nobody listens to. */
      override emit(event: string | symbol, ...args: unknown[]): boolean {
        if (event === 'error' && this.listenerCount('error') === 0) {
          unhandled.push(args[0]);
          return false;
        }
        return super.emit(event, ...args);
      }
    }
    try {
      const live = subscribeLive(
        { wsUrl: `ws://127.0.0.1:${port}/ws`, WebSocket: RecordingWebSocket, backoff: {} },
        { all: true },
      );
      const ws = await created.promise;
      expect(ws.readyState).toBe(WebSocket.CONNECTING);
      live.close();
      // Not `once(ws, 'close')`: it would listen to 'error' too.
      await new Promise((resolve) => ws.on('close', resolve));
      expect(unhandled).toEqual([]);
      expect(await rejectionOf(live.ready, JobvisorClientError)).toMatchObject({ code: 'closed' });
    } finally {
      for (const connection of connections) connection.destroy();
      server.close();
    }
  });
});
