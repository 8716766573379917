/**
 * HTTP at its edges, on a real server (port 0): a body over `maxBodyBytes` always gets its 413 JSON
 * answer (declared length or chunked), and what Node's HTTP parser refuses before any route runs
 * (bad framing, headers too large, a request too slow) gets a coded JSON answer too.
 */
import { createServer, request, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import { connect } from 'node:net';
import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { LIMITS } from '../src/protocol/schemas.js';
import { http, servePerTest, type WireBody } from './server-harness.js';

const start = servePerTest();
const TEN_MB = 10_000_000;

interface Upload {
  readonly status: number;
  readonly headers: IncomingHttpHeaders;
  readonly body: WireBody;
  /** A client-side error of the exchange (EPIPE, ECONNRESET, …), seen until the request closed. */
  readonly error: string | undefined;
}

/**
 * POSTs `body` to `/jobs` with `node:http`, with a Content-Length or chunked in 64 KiB pieces.
 * Resolves once the answer is read and the request has closed, with any error the client saw.
 */
function upload(
  url: string,
  body: Buffer,
  framing: 'length' | 'chunked',
  headers: Record<string, string> = {},
): Promise<Upload> {
  const framed =
    framing === 'length' ? { 'content-length': String(body.length) } : { 'transfer-encoding': 'chunked' };
  return new Promise((resolve, reject) => {
    let error: string | undefined;
    let answer: Omit<Upload, 'error'> | undefined;
    let closed = false;
    const settle = () => {
      if (answer && closed) resolve({ ...answer, error });
      else if (closed && error !== undefined) reject(new Error(`no answer: ${error}`));
    };
    const req = request(`${url}/jobs`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...framed, ...headers },
    });
    req.on('error', (e: NodeJS.ErrnoException) => (error ??= e.code ?? e.message));
    req.on('close', () => ((closed = true), settle()));
    req.on('response', (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        answer = { status: res.statusCode ?? 0, headers: res.headers, body: JSON.parse(text) as WireBody };
        settle();
      });
    });
    if (framing === 'length') req.end(body);
    else Readable.from(pieces(body, 65_536)).pipe(req);
  });
}

function* pieces(body: Buffer, size: number): Generator<Buffer> {
  for (let at = 0; at < body.length; at += size) yield body.subarray(at, at + size);
}

/** A job whose JSON is exactly `size` bytes. */
function jobOfSize(size: number): Buffer {
  const empty = JSON.stringify({ type: 'echo', input: '' }).length;
  return Buffer.from(JSON.stringify({ type: 'echo', input: 'x'.repeat(size - empty) }));
}

/**
 * Writes `text` on a raw TCP connection (and `later` once the first answer bytes arrive), and
 * resolves with the one answer the server sent before it closed the connection.
 */
function raw(
  port: number,
  text: string,
  later?: string,
): Promise<{ status: number; headers: string; body: WireBody }> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1', () => socket.write(text));
    const chunks: Buffer[] = [];
    socket.on('data', (chunk: Buffer) => {
      if (chunks.length === 0 && later !== undefined) socket.write(later);
      chunks.push(chunk);
    });
    socket.on('error', reject);
    socket.on('close', () => {
      const answer = Buffer.concat(chunks).toString('utf8');
      const split = answer.indexOf('\r\n\r\n');
      const head = answer.slice(0, split);
      const status = Number(/^HTTP\/1\.1 (\d{3}) /.exec(head)?.[1] ?? 0);
      try {
        resolve({
          status,
          headers: head.toLowerCase(),
          body: JSON.parse(answer.slice(split + 4)) as WireBody,
        });
      } catch {
        reject(new Error(`not a JSON answer: ${JSON.stringify(answer)}`));
      }
    });
  });
}

function portOf(url: string): number {
  return Number(new URL(url).port);
}

describe('a body over maxBodyBytes', () => {
  it('with a Content-Length of 10 MB gets the 413 JSON answer, every time', async () => {
    const s = await start();
    const body = Buffer.alloc(TEN_MB, 'x');
    for (let i = 0; i < 5; i++) {
      const answer = await upload(s.url, body, 'length', i % 2 ? { connection: 'close' } : {});
      expect(answer.error).toBeUndefined();
      expect(answer.status).toBe(413);
      expect(answer.headers.connection).toBe('close');
      expect(answer.body.error).toMatchObject({
        code: 'payload_too_large',
        details: { limit: LIMITS.maxBodyBytes },
      });
    }
    expect(s.supervisor.list()).toEqual([]);
  });

  it('sent chunked (10 MB, no Content-Length) gets the 413 JSON answer, every time', async () => {
    const s = await start();
    const body = Buffer.alloc(TEN_MB, 'x');
    for (let i = 0; i < 3; i++) {
      const answer = await upload(s.url, body, 'chunked');
      expect(answer.error).toBeUndefined();
      expect(answer.status).toBe(413);
      expect(answer.body.error.code).toBe('payload_too_large');
    }
    expect(s.supervisor.list()).toEqual([]);
  });

  it('a body just under the limit is still read, with a Content-Length and chunked', async () => {
    const s = await start();
    const body = jobOfSize(LIMITS.maxBodyBytes);
    for (const framing of ['length', 'chunked'] as const) {
      const answer = await upload(s.url, body, framing);
      expect(answer.error).toBeUndefined();
      expect(answer.status).toBe(201);
      expect(answer.body.job.type).toBe('echo');
    }
    const over = await upload(s.url, jobOfSize(LIMITS.maxBodyBytes + 1), 'chunked');
    expect(over.status).toBe(413);
  });

  it('leaves the server serving, and fetch gets the 413 too, all at once', async () => {
    const s = await start({ server: { maxBodyBytes: 4_096 } });
    const big = Buffer.alloc(TEN_MB, 'x');
    const [length, chunked, fetched] = await Promise.all([
      upload(s.url, big, 'length'),
      upload(s.url, big, 'chunked'),
      http(s, 'POST', '/jobs', big.toString('utf8')),
    ]);
    for (const answer of [length, chunked]) {
      expect(answer.error).toBeUndefined();
      expect(answer.body.error).toMatchObject({ code: 'payload_too_large', details: { limit: 4_096 } });
    }
    expect(fetched.status).toBe(413);
    expect(fetched.body.error.code).toBe('payload_too_large');
    expect((await http(s, 'GET', '/health')).body.status).toBe('ok');
    expect((await http(s, 'POST', '/jobs', { type: 'echo' })).status).toBe(201);
  });
});

describe('what the HTTP parser refuses before any route runs', () => {
  it('an invalid header line: 400 bad_request as JSON', async () => {
    const s = await start();
    const answer = await raw(portOf(s.url), 'GET /health HTTP/1.1\r\nHost: x\r\nNo colon here\r\n\r\n');
    expect(answer.status).toBe(400);
    expect(answer.headers).toContain('content-type: application/json');
    expect(answer.headers).toContain('connection: close');
    expect(answer.body.error).toMatchObject({
      code: 'bad_request',
      details: { cause: 'HPE_INVALID_HEADER_TOKEN' },
    });
  });

  it('a bad chunk size: 400 bad_request as JSON', async () => {
    const s = await start();
    const request =
      'POST /jobs HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n' +
      'Transfer-Encoding: chunked\r\n\r\nzz\r\n{}\r\n0\r\n\r\n';
    const answer = await raw(portOf(s.url), request);
    expect(answer.status).toBe(400);
    expect(answer.body.error).toMatchObject({
      code: 'bad_request',
      details: { cause: 'HPE_INVALID_CHUNK_SIZE' },
    });
  });

  it('a bad chunk in a body already answered with 413: the connection closes, no second answer', async () => {
    const s = await start({ server: { maxBodyBytes: 4_096 } });
    const request =
      'POST /jobs HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n' +
      `2000\r\n${'x'.repeat(0x2000)}\r\n`;
    const answer = await raw(portOf(s.url), request, 'zz\r\n');
    expect(answer.status).toBe(413);
    expect(answer.body.error.code).toBe('payload_too_large');
  });

  it('headers over the 16 KiB default: 431 headers_too_large as JSON', async () => {
    const s = await start();
    const request = `GET /health HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(20_000)}\r\n\r\n`;
    const answer = await raw(portOf(s.url), request);
    expect(answer.status).toBe(431);
    expect(answer.body.error.code).toBe('headers_too_large');
    expect((await http(s, 'GET', '/health')).status).toBe(200);
  });

  it('mounted in your own server: handleClientError answers a request too slow with 408', async () => {
    const s = await start();
    const own = createServer(
      { requestTimeout: 100, connectionsCheckingInterval: 20 },
      s.server.handleRequest,
    );
    own.on('clientError', s.server.handleClientError);
    await new Promise<void>((resolve) => own.listen(0, '127.0.0.1', resolve));
    try {
      const { port } = own.address() as AddressInfo;
      const answer = await raw(port, 'GET /health HTTP/1.1\r\nHost: x\r\n');
      expect(answer.status).toBe(408);
      expect(answer.body.error.code).toBe('request_timeout');
    } finally {
      await new Promise((resolve) => own.close(resolve));
    }
  });
});
