/**
 * Browser-test helpers: a real jobvisor server (port 0, or a given port to restart on) over a
 * SQLite file, with job types the test drives step by step; and headless Chromium with a watch on
 * console errors and CSP violations.
 */
import { chromium, type Browser, type Page } from 'playwright-core';
import { join } from 'node:path';
import * as z from 'zod';
import { createSupervisor, type Supervisor } from '../src/index.js';
import { createJobvisorServer, type JobvisorServer } from '../src/server/index.js';
import { sqliteStore } from '../src/sqlite.js';
import { injectedChromium } from './chromium.js';
import { Gate, untilAborted } from './helpers.js';

export interface Site {
  readonly url: string;
  readonly port: number;
  readonly supervisor: Supervisor;
  readonly server: JobvisorServer;
  readonly gate: Gate;
  close(): Promise<void>;
}

/** A message with no place to break it: a path, a URL or a token does this to a layout. */
export const LONG_MESSAGE = `fetching ${'https://example.com/a/very/long/path/'.repeat(6)}${'x'.repeat(120)}`;

/**
 * Job types: `echo` (returns its input), `typed` (input `{ n: number }`), `steps` (four gated steps
 * of 25 %), `block` (40 %, then runs until cancelled), `backwards` (60 %, then a refused 30 %),
 * `retry` (fails; its one retry waits ten minutes in backoff), `second` (fails its first attempt,
 * reports 50 % in its second and completes), `long` (10 % with LONG_MESSAGE, and a log line of it
 * with data, then runs until cancelled), `chatty` (logs in its first attempt, which fails, then in
 * its second, which waits for the gate, logs once more and completes).
 */
export async function startSite(options: { dir: string; port?: number; token?: string }): Promise<Site> {
  const supervisor = createSupervisor({ store: sqliteStore({ path: join(options.dir, 'jobs.db') }) });
  const gate = new Gate();
  supervisor.register('echo', (ctx) => ctx.input);
  supervisor.register('typed', (ctx) => ctx.input.n * 2, { input: z.strictObject({ n: z.number() }) });
  supervisor.register('steps', async (ctx) => {
    for (let step = 1; step <= 4; step++) {
      await gate.wait();
      ctx.signal.throwIfAborted();
      ctx.progress(step * 25, `step ${step} of 4`);
    }
    return { steps: 4 };
  });
  supervisor.register('block', async (ctx) => {
    ctx.progress(40, 'blocked until cancelled');
    return untilAborted(ctx.signal);
  });
  supervisor.register('backwards', (ctx) => {
    ctx.progress(60, 'more than half done');
    ctx.progress(30, 'a stale report');
    return { done: true };
  });
  supervisor.register(
    'retry',
    () => {
      throw Object.assign(new Error('fails on purpose'), { code: 'test_failure' });
    },
    { retries: { max: 1, backoffMs: 600_000 } },
  );
  supervisor.register(
    'second',
    (ctx) => {
      if (ctx.attempt === 1) throw Object.assign(new Error('the first try fails'), { code: 'test_failure' });
      ctx.progress(50, 'second try, halfway');
      return { tries: ctx.attempt };
    },
    { retries: { max: 1, backoffMs: 1 } },
  );
  supervisor.register('long', async (ctx) => {
    ctx.progress(10, LONG_MESSAGE);
    ctx.log(LONG_MESSAGE, { url: LONG_MESSAGE, token: 't'.repeat(300) });
    return untilAborted(ctx.signal);
  });
  supervisor.register(
    'chatty',
    async (ctx) => {
      ctx.log(`attempt ${ctx.attempt} begins`, { attempt: ctx.attempt });
      if (ctx.attempt === 1) throw Object.assign(new Error('the first try fails'), { code: 'test_failure' });
      await gate.wait();
      ctx.log('the gate opened', { step: 2 });
      return { tries: ctx.attempt };
    },
    { retries: { max: 1, backoffMs: 1 } },
  );
  await supervisor.ready();
  const server = createJobvisorServer({ supervisor, ...(options.token ? { token: options.token } : {}) });
  const { port, url } = await server.listen(options.port ?? 0, '127.0.0.1');
  let closed = false;
  return {
    url,
    port,
    supervisor,
    server,
    gate,
    async close() {
      if (closed) return;
      closed = true;
      await server.close();
      gate.release(1_000);
      await supervisor.shutdown({ graceMs: 0 });
    },
  };
}

/** Headless Chromium: the one test/chromium.ts found (`CHROMIUM_PATH`, Debian's, @sparticuz/chromium). */
export function launch(): Promise<Browser> {
  const executable = injectedChromium();
  return chromium.launch({
    executablePath: executable.path,
    env: { ...process.env, ...executable.env },
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--no-first-run',
      '--disable-sync',
    ],
  });
}

/** What went wrong in the watched pages: console errors, uncaught exceptions, CSP violations. */
export class PageWatch {
  readonly console: string[] = [];
  readonly errors: string[] = [];
  readonly #pages: Page[] = [];

  async add(page: Page): Promise<void> {
    this.#pages.push(page);
    page.on('console', (message) => {
      if (message.type() === 'error') this.console.push(message.text());
    });
    page.on('pageerror', (error) => this.errors.push(error.message));
    // Runs in the page (as text: the tests are compiled without the DOM library).
    await page.addInitScript({
      content: `window.cspViolations = [];
        document.addEventListener('securitypolicyviolation', (e) =>
          window.cspViolations.push(e.violatedDirective + ' ' + e.blockedURI));`,
    });
  }

  /** The CSP violations reported in each open page's current document. */
  async violations(): Promise<string[]> {
    const open = this.#pages.filter((page) => !page.isClosed());
    const lists = await Promise.all(
      open.map((page) =>
        page.evaluate(() => (globalThis as unknown as { cspViolations?: string[] }).cspViolations ?? []),
      ),
    );
    return lists.flat();
  }
}
