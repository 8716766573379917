/**
 * A real slow subscriber: a TCP client that completes the WebSocket handshake and then stops
 * reading. The server must close it with 4008 once its bounded buffer is full, while the
 * supervisor and a normal subscriber carry on unaffected — a subscriber of every change, or a
 * follower of a job's log.
 */
import { connect, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { createSupervisor, type HandlerContext } from '../src/index.js';
import { createJobvisorServer } from '../src/server/index.js';
import { createClient } from '../src/client/index.js';
import { CLOSE_CODES, type WireJob } from '../src/protocol/schemas.js';
import { deferred } from './helpers.js';

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** Opens /ws by hand, sends `command` (subscribes to everything), then pauses: the kernel buffers fill, then the server's. */
async function stalledSubscriber(
  port: number,
  command: object = { type: 'subscribe', id: 's', topic: { all: true } },
): Promise<{ socket: Socket; received: Buffer[] }> {
  const socket = connect(port, '127.0.0.1');
  cleanups.push(() => void socket.destroy());
  const received: Buffer[] = [];
  socket.on('data', (chunk: Buffer) => received.push(chunk));
  await new Promise<void>((resolve, reject) => socket.once('connect', resolve).once('error', reject));
  socket.write(
    'GET /ws HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n' +
      'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n',
  );
  await new Promise<void>((resolve) => {
    const check = () => {
      if (Buffer.concat(received).includes('"hello"')) resolve();
      else socket.once('data', check);
    };
    check();
  });
  socket.write(maskedText(JSON.stringify(command)));
  socket.pause();
  return { socket, received };
}

/** A client-to-server text frame (clients must mask). */
function maskedText(text: string): Buffer {
  const payload = Buffer.from(text);
  const mask = Buffer.from([1, 2, 3, 4]);
  const header =
    payload.length < 126
      ? Buffer.from([0x81, 0x80 | payload.length])
      : Buffer.from([0x81, 0x80 | 126, payload.length >> 8, payload.length & 0xff]);
  const masked = Buffer.from(payload.map((byte, i) => byte ^ mask[i % 4]!));
  return Buffer.concat([header, mask, masked]);
}

describe('a subscriber that stops reading', () => {
  it('is closed with 4008 once its buffer passes the limit; the supervisor and other subscribers carry on', async () => {
    const supervisor = createSupervisor({ concurrency: 20 });
    supervisor.register('big', async () => 'done');
    const server = createJobvisorServer({ supervisor, subscriberBufferLimit: 256 * 1_024 });
    const { url, port } = await server.listen(0, '127.0.0.1');
    cleanups.push(async () => {
      await server.close();
      await supervisor.shutdown({ graceMs: 0 });
    });
    const api = createClient({ url });
    cleanups.push(() => api.close());
    const normal = api.subscribe({ all: true });
    await normal.ready;
    const slow = await stalledSubscriber(port);

    // 3 changes per job, each carrying a 64 KiB input: ~40 MiB, far beyond the socket buffers.
    const input = 'x'.repeat(64 * 1_024);
    const ids: string[] = [];
    for (let i = 0; i < 200 && !(await slowClosed(url)); i++) {
      const { job } = await supervisor.start({ type: 'big', input });
      ids.push(job.id);
      await supervisor.waitFor(job.id);
    }
    expect(await slowClosed(url)).toBe(true);

    // The normal subscriber saw every job finish; the supervisor is fine.
    await new Promise<void>((resolve) => {
      const check = () => {
        const { jobs } = normal.store.getSnapshot().context;
        if (ids.every((id) => jobs[id]?.status === 'completed')) resolve();
      };
      normal.store.subscribe(check);
      check();
    });
    expect(supervisor.stats().jobs.completed).toBe(ids.length);

    // Reading again, the stalled client finds the close frame (opcode 8): 4008 and its reason.
    await closedTooSlow(slow);
  });

  it("a log follower is closed with 4008 too, and never holds the job's handler; a normal follower gets every line, then the end", async () => {
    const supervisor = createSupervisor();
    const release = deferred();
    const written: number[] = [];
    const running = deferred<HandlerContext>();
    supervisor.register('chatty', async (ctx) => {
      running.resolve(ctx);
      await release.promise;
      return written.length;
    });
    const server = createJobvisorServer({ supervisor, subscriberBufferLimit: 256 * 1_024 });
    const { url, port } = await server.listen(0, '127.0.0.1');
    cleanups.push(async () => {
      await server.close();
      await supervisor.shutdown({ graceMs: 0 });
    });
    const { job } = await supervisor.start({ type: 'chatty' });
    const ctx = await running.promise;
    const api = createClient({ url });
    cleanups.push(() => api.close());
    const seen: number[] = [];
    const ended = deferred<WireJob>();
    await api.followLogs(job.id, {
      onEntry: (entry) => seen.push(entry.id),
      onEnd: (final) => ended.resolve(final),
    });
    const slow = await stalledSubscriber(port, { type: 'logs', id: 'l', jobId: job.id });

    // Lines of ~20 KiB (a 4,000-character message, 16 KB of data) in batches, each batch durable.
    const message = 'm'.repeat(4_000);
    const data = { blob: 'd'.repeat(16_000) };
    for (let batch = 0; batch < 200 && !(await slowClosed(url)); batch++) {
      for (let i = 0; i < 20; i++) expect(ctx.log(message, data)).toBe(true);
      const page = await supervisor.logs(job.id, { after: written.at(-1) ?? 0, limit: 1_000 });
      written.push(...page.entries.map((e) => e.id));
    }
    expect(await slowClosed(url)).toBe(true);
    release.resolve();
    expect((await ended.promise).status).toBe('completed');
    expect(seen).toEqual(written);
    await closedTooSlow(slow);
  });
});

/** Resolves once the stalled client, reading again, finds the 4008 close frame (opcode 8) with its reason. */
function closedTooSlow(slow: { socket: Socket; received: Buffer[] }): Promise<void> {
  const code = Buffer.from([CLOSE_CODES.tooSlow >> 8, CLOSE_CODES.tooSlow & 0xff]);
  const closeFrame = Buffer.concat([code, Buffer.from('subscriber fell behind')]);
  const found = new Promise<void>((resolve) => {
    const check = () => {
      if (Buffer.concat(slow.received).includes(closeFrame)) resolve();
      else slow.socket.once('data', check);
    };
    check();
  });
  slow.socket.resume();
  return found;
}

async function slowClosed(url: string): Promise<boolean> {
  const text = await (await fetch(`${url}/metrics`)).text();
  return /^jobvisor_ws_slow_closed_total 1$/m.test(text);
}
