/**
 * InspectRelay over a fake socket on a simulated clock: what it keeps while the relay is down,
 * in which order it sends, when it reconnects, what it reports, and how it closes. The socket
 * events are played by the test; time passes only when the clock is moved. (The real `ws`
 * socket against a real relay is test/inspect-relay.test.ts.)
 */
import { EventEmitter } from 'node:events';
import { describe, expect, it } from 'vitest';
import { InspectRelay, type RelayOptions, type RelaySocket } from '../src/inspection/relay.js';
import { RecordingClock } from './recording-clock.js';

/** A socket the test drives: `accept`, `fail`, `finish` (closed), `drain` (the send buffer empties). */
class FakeSocket extends EventEmitter implements RelaySocket {
  readyState = 0;
  /** Grows by each frame's length until `drain`. */
  bufferedAmount = 0;
  readonly sent: string[] = [];
  closedWith: [number, string] | undefined;
  terminated = false;
  readonly #written: (() => void)[] = [];

  constructor(readonly url: string) {
    super();
  }

  send(data: string, written: (error?: Error) => void): void {
    if (this.readyState !== 1) throw new Error(`send on a socket in readyState ${this.readyState}`);
    this.sent.push(data);
    this.bufferedAmount += data.length;
    this.#written.push(written);
  }

  close(code: number, reason: string): void {
    this.closedWith = [code, reason];
    if (this.readyState < 2) this.readyState = 2;
  }

  terminate(): void {
    this.terminated = true;
    this.finish();
  }

  accept(): void {
    this.readyState = 1;
    this.emit('open');
  }

  fail(error: Error): void {
    this.emit('error', error);
    this.finish();
  }

  finish(): void {
    if (this.readyState === 3) return;
    this.readyState = 3;
    this.emit('close');
  }

  /** The send buffer is written out: its callbacks run, oldest first. */
  drain(): void {
    this.bufferedAmount = 0;
    for (const written of this.#written.splice(0)) written();
  }
}

function createRelay(options: Partial<RelayOptions> = {}) {
  const clock = new RecordingClock();
  const sockets: FakeSocket[] = [];
  const statuses: string[] = [];
  const relay = new InspectRelay({
    url: 'ws://relay.test:8080',
    clock,
    backoff: { initialMs: 100, maxMs: 1_000, jitter: false },
    createSocket: (url) => {
      const socket = new FakeSocket(url);
      sockets.push(socket);
      return socket;
    },
    onStatus: (status, error) => statuses.push(error ? `${status}: ${error.message}` : status),
    ...options,
  });
  return { relay, clock, sockets, statuses, socket: () => sockets.at(-1)! };
}

/** Whether the promise settles within the current turn of the event loop (no time passes on the clock). */
async function settlesNow(promise: Promise<unknown>): Promise<boolean> {
  const turn = new Promise<false>((resolve) => setImmediate(() => resolve(false)));
  return Promise.race([promise.then(() => true), turn]);
}

const REFUSED = new Error('connect ECONNREFUSED 127.0.0.1:8080');

describe('InspectRelay over a fake socket', () => {
  it('keeps the latest frames while down, up to the bound, and sends them in order on reconnect', async () => {
    const { relay, clock, sockets, statuses, socket } = createRelay({ maxBuffered: 3 });
    expect(sockets.map((s) => s.url)).toEqual(['ws://relay.test:8080']);
    socket().fail(REFUSED);
    for (let i = 0; i < 5; i++) relay.send(`f${i}`); // backing off
    expect(relay.dropped).toBe(2);

    clock.increment(99);
    expect(sockets).toHaveLength(1);
    clock.increment(1);
    expect(sockets).toHaveLength(2);
    relay.send('f5'); // connecting: kept too, the oldest dropped
    expect(relay.dropped).toBe(3);
    expect(socket().sent).toEqual([]);

    socket().accept();
    expect(socket().sent).toEqual(['f3', 'f4', 'f5']);
    relay.send('f6');
    expect(socket().sent).toEqual(['f3', 'f4', 'f5', 'f6']);
    expect(sockets[0]!.sent).toEqual([]);
    expect(relay.dropped).toBe(3);
    expect(statuses).toEqual([`down: ${REFUSED.message}`, 'open']);

    const closing = relay.close();
    socket().finish();
    await closing;
  });

  it('lets frames wait while the send buffer is past the high-water mark, and follow as it drains', async () => {
    const { relay, socket } = createRelay({ highWaterMark: 10 });
    socket().accept();
    for (let i = 1; i <= 4; i++) relay.send(`frame${i}`); // 6 bytes each
    expect(socket().sent).toEqual(['frame1', 'frame2']);
    socket().drain();
    expect(socket().sent).toEqual(['frame1', 'frame2', 'frame3', 'frame4']);
    expect(relay.dropped).toBe(0);

    // close() sends what the buffer takes before it closes.
    relay.send('frame5');
    relay.send('frame6');
    socket().bufferedAmount = 0;
    const closing = relay.close();
    expect(socket().sent.slice(4)).toEqual(['frame5', 'frame6']);
    expect(socket().closedWith).toEqual([1000, 'done']);
    socket().finish();
    await closing;
  });

  it('close() during the backoff clears its timer and ends closed: no reconnect, nothing more sent', async () => {
    const { relay, clock, sockets, statuses, socket } = createRelay();
    socket().fail(REFUSED);
    expect(clock.pending.size).toBe(1);
    relay.send('kept');

    expect(await settlesNow(relay.close())).toBe(true);
    expect(clock.pending.size).toBe(0);
    clock.increment(60_000);
    expect(sockets).toHaveLength(1);
    relay.send('late');
    expect(relay.dropped).toBe(0);
    expect(statuses).toEqual([`down: ${REFUSED.message}`]);
    expect(await settlesNow(relay.close())).toBe(true); // again: already closed
  });

  it('close() while open closes the socket normally, waits for it, and reports nothing more', async () => {
    const { relay, clock, sockets, statuses, socket } = createRelay();
    socket().accept();
    const closing = relay.close();
    expect(socket().closedWith).toEqual([1000, 'done']);
    relay.send('late');
    socket().emit('error', new Error('write after close'));
    expect(await settlesNow(closing)).toBe(false);
    socket().finish();
    expect(await settlesNow(closing)).toBe(true);
    expect(socket().sent).toEqual([]);
    expect(socket().terminated).toBe(false);
    expect(statuses).toEqual(['open']);
    clock.increment(60_000);
    expect(sockets).toHaveLength(1);
  });

  it('terminates a socket that does not confirm the close within 1 s', async () => {
    const { relay, clock, socket } = createRelay();
    socket().accept();
    const closing = relay.close();
    clock.increment(999);
    expect(socket().terminated).toBe(false);
    expect(await settlesNow(closing)).toBe(false);
    clock.increment(1);
    expect(socket().terminated).toBe(true);
    expect(await settlesNow(closing)).toBe(true);
  });

  it('close() while connecting closes the socket; the error that follows is not reported', async () => {
    const { relay, statuses, socket } = createRelay();
    relay.send('kept');
    const closing = relay.close();
    expect(socket().closedWith).toEqual([1000, 'done']);
    socket().fail(new Error('WebSocket was closed before the connection was established'));
    expect(await settlesNow(closing)).toBe(true);
    expect(socket().sent).toEqual([]);
    expect(statuses).toEqual([]);
  });

  it('reports each change once: the first error of a run of failures, open, then a loss', async () => {
    const { relay, clock, sockets, statuses, socket } = createRelay();
    socket().fail(REFUSED);
    clock.increment(100);
    socket().fail(new Error('connect ECONNREFUSED again'));
    clock.increment(200);
    expect(sockets).toHaveLength(3);
    expect(statuses).toEqual([`down: ${REFUSED.message}`]);
    socket().accept();
    expect(statuses).toEqual([`down: ${REFUSED.message}`, 'open']);
    socket().finish(); // lost without an error
    expect(statuses).toEqual([`down: ${REFUSED.message}`, 'open', 'down']);

    // The open socket reset the backoff: the next attempt waits the first delay again.
    expect(clock.delays).toEqual([100, 200, 100]);
    clock.increment(99);
    expect(sockets).toHaveLength(3);
    clock.increment(1);
    expect(sockets).toHaveLength(4);
    socket().fail(REFUSED);
    expect(statuses).toEqual([`down: ${REFUSED.message}`, 'open', 'down']);
    await relay.close();
  });
});

describe('InspectRelay construction', () => {
  it('throws when the first socket cannot even be created, as a URL `ws` refuses', () => {
    expect(
      () =>
        new InspectRelay({
          url: 'ws://',
          clock: new RecordingClock(),
          createSocket: (url) => {
            throw new SyntaxError(`Invalid URL: ${url}`);
          },
        }),
    ).toThrow('Invalid URL: ws://');
  });
});
