/**
 * `jobvisor serve --inspect-to`: a real serve child pushes its inspection frames to
 * `createInspectorServer()` of `@statelyai/inspect/server`; `createWebSocketReceiver` on that relay
 * sees the frames of a job started over HTTP. The relay starts after serve: serve keeps going and
 * reconnects. A bad URL is a usage error (exit 2). Waits on output lines and events only.
 */
import { createInspectorServer } from '@statelyai/inspect/server';
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import WebSocket, { WebSocketServer } from 'ws';
import { afterAll, describe, expect, it } from 'vitest';
import { InspectRelay } from '../src/server/index.js';
import { freePort, spawnCli } from './cli-process.js';
import { eventsOf, Frames, isDone, jobIdOf } from './inspect-frames.js';

const dir = mkdtempSync(join(tmpdir(), 'jobvisor-relay-'));
const cleanup: (() => void)[] = [];
afterAll(() => {
  for (const step of cleanup.splice(0)) step();
  rmSync(dir, { recursive: true, force: true });
});

interface Child {
  readonly child: ChildProcess;
  readonly exited: Promise<number | null>;
  stdout: string;
  stderr: string;
}

function run(args: string[]): Child {
  const child = spawnCli(args);
  const out: Child = {
    child,
    exited: new Promise((resolve) => child.on('exit', (code) => resolve(code))),
    stdout: '',
    stderr: '',
  };
  child.stdout.on('data', (d: Buffer) => (out.stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (out.stderr += d.toString()));
  cleanup.push(() => child.exitCode === null && child.kill('SIGKILL'));
  return out;
}

/** Resolves once `read()` matches, checked on each output chunk of the child. */
function output(c: Child, read: () => string, pattern: RegExp): Promise<RegExpExecArray> {
  return new Promise((resolve, reject) => {
    const check = () => {
      const match = pattern.exec(read());
      if (match) resolve(match);
    };
    c.child.stdout!.on('data', check);
    c.child.stderr!.on('data', check);
    void c.exited.then((code) => reject(new Error(`exited ${code}: ${c.stderr}`)));
    check();
  });
}

/** Resolves once a WebSocket connects to `url` (createInspectorServer gives no listening event). */
async function reachable(url: string): Promise<void> {
  for (;;) {
    const ws = new WebSocket(url);
    const open = await new Promise<boolean>((resolve) => {
      ws.once('open', () => resolve(true));
      ws.once('error', () => resolve(false));
    });
    ws.terminate();
    if (open) return;
  }
}

describe('jobvisor serve --inspect-to', { timeout: 30_000 }, () => {
  it('pushes the frames of a job started over HTTP to a Stately relay, which may start later', async () => {
    const port = await freePort();
    const relayUrl = `ws://127.0.0.1:${port}`;
    const serve = run([
      'serve',
      '--port',
      '0',
      '--db',
      join(dir, 'jobs.db'),
      '--handlers',
      './examples/handlers.ts',
      '--inspect-to',
      relayUrl,
    ]);
    const [, url] = await output(serve, () => serve.stdout, /^listening on (http:\/\/\S+)\n/);
    await output(serve, () => serve.stderr, /inspection relay \S+ unreachable/);

    const relay = createInspectorServer({ port, autoOpen: false });
    cleanup.push(() => relay.stop());
    await reachable(relayUrl);
    await output(serve, () => serve.stderr, /inspection frames go to/);
    const frames = new Frames(relayUrl);

    const response = await fetch(`${url!}/jobs`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ type: 'backwards' }),
    });
    const { job } = (await response.json()) as { job: { id: string } };
    const actor = await frames.next((f) => jobIdOf(f) === job.id);
    expect(actor).toMatchObject({ name: 'job', _version: '0.7.2', rootId: actor.sessionId });
    await frames.next(isDone(actor.sessionId));
    expect(eventsOf(frames.list, actor.sessionId)).toEqual(
      expect.arrayContaining(['START', 'PROGRESS', 'jobvisor.rejected', 'COMPLETE']),
    );

    serve.child.kill('SIGTERM');
    expect(await serve.exited).toBe(0);
  });

  it('a URL that is not ws(s) is a usage error (exit 2)', async () => {
    const bad = run([
      'serve',
      '--port',
      '0',
      '--db',
      join(dir, 'bad.db'),
      '--inspect-to',
      'http://localhost:8080',
    ]);
    expect(await bad.exited).toBe(2);
    expect(bad.stderr).toContain('--inspect-to: must be a ws(s) URL');
  });
});

describe('InspectRelay', () => {
  it('keeps the latest 200 frames while the relay is down, then sends them in order once it is up', async () => {
    const port = await freePort();
    const statuses: string[] = [];
    const relay = new InspectRelay({
      url: `ws://127.0.0.1:${port}`,
      backoff: { initialMs: 1, maxMs: 20, jitter: false },
      onStatus: (status) => statuses.push(status),
    });
    let wss: WebSocketServer | undefined;
    try {
      for (let i = 0; i < 250; i++) relay.send(`{"n":${i}}`);
      expect(relay.dropped).toBe(50);
      const received: string[] = [];
      wss = new WebSocketServer({ port, host: '127.0.0.1' });
      const all = new Promise<void>((resolve) =>
        wss!.on('connection', (ws) =>
          ws.on('message', (data: Buffer) => received.push(data.toString()) === 200 && resolve()),
        ),
      );
      await all;
      expect(received).toEqual(Array.from({ length: 200 }, (_, i) => `{"n":${i + 50}}`));
      expect(statuses).toEqual(['down', 'open']);
    } finally {
      // Also when a check fails: the relay would otherwise keep reconnecting.
      await relay.close();
      await new Promise<void>((resolve) => (wss ? wss.close(() => resolve()) : resolve()));
    }
  });
});
