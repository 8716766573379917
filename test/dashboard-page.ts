/**
 * The dashboard browser tests' fixture: one headless Chromium per file, a fresh browser context and
 * server per test, and after each test the check that no page logged an error or broke the CSP.
 * Plus locators for the page's parts, found by role and accessible name.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, BrowserContext, Locator, Page, Response } from 'playwright-core';
import { afterAll, afterEach, beforeAll, expect } from 'vitest';
import { launch, PageWatch, startSite, type Site } from './dashboard-site.js';

export interface Dashboard {
  /** A server on a fresh SQLite file (or `dir`'s, on `port`: a restart); closed after the test. */
  site(options?: { token?: string; dir?: string; port?: number }): Promise<Site>;
  /** A new tab on `url`, watched for console errors and CSP violations; `before` runs before it loads. */
  open(url: string, before?: (page: Page) => void): Promise<Page>;
  /** The CSP violations of the open tabs so far (also checked after each test). */
  violations(): Promise<string[]>;
  /** A temporary directory, removed after the test. */
  tempDir(): string;
  /** Console errors this test expects (a 401, a refused WebSocket while the server is down). */
  allowConsoleErrors(pattern: RegExp): void;
  /** The answer to the last `open`'s navigation. */
  readonly response: Response | null;
}

export function useDashboard(): Dashboard {
  let browser: Browser | undefined;
  let context: BrowserContext | undefined;
  let problems: PageWatch | undefined;
  let allowed: RegExp | undefined;
  let response: Response | null = null;
  const sites: Site[] = [];
  const dirs: string[] = [];

  beforeAll(async () => {
    browser = await launch();
  }, 30_000);
  afterAll(async () => {
    await browser?.close();
  });
  afterEach(async () => {
    const violations = problems ? await problems.violations() : [];
    const consoleErrors = (problems?.console ?? []).filter((text) => !allowed?.test(text));
    const pageErrors = problems?.errors ?? [];
    await context?.close();
    for (const site of sites.splice(0)) await site.close();
    for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
    [context, problems, allowed, response] = [undefined, undefined, undefined, null];
    expect(violations, 'CSP violations').toEqual([]);
    expect(consoleErrors, 'console errors').toEqual([]);
    expect(pageErrors, 'uncaught page errors').toEqual([]);
  });

  const tempDir = () => {
    const dir = mkdtempSync(join(tmpdir(), 'jobvisor-dashboard-'));
    dirs.push(dir);
    return dir;
  };

  return {
    tempDir,
    async site(options = {}) {
      const started = await startSite({ ...options, dir: options.dir ?? tempDir() });
      sites.push(started);
      return started;
    },
    async open(url, before) {
      if (!browser) throw new Error('no browser: call open() inside a test');
      context ??= await browser.newContext({ viewport: { width: 1400, height: 900 } });
      context.setDefaultTimeout(10_000);
      const page = await context.newPage();
      problems ??= new PageWatch();
      await problems.add(page);
      before?.(page);
      response = await page.goto(url);
      return page;
    },
    violations: async () => (problems ? problems.violations() : []),
    allowConsoleErrors(pattern) {
      allowed = pattern;
    },
    get response() {
      return response;
    },
  };
}

export const connection = (page: Page) => page.getByRole('status', { name: 'Connection' });
export const startForm = (page: Page) => page.getByRole('form', { name: 'Start a job' });
export const row = (page: Page, id: string) =>
  page.locator('tr', { has: page.getByRole('button', { name: `Open job ${id}`, exact: true }) });
export const bar = (page: Page, id: string) =>
  page.getByRole('progressbar', { name: `Progress of job ${id}`, exact: true });

export async function live(page: Page): Promise<void> {
  await connection(page).getByText('Live', { exact: true }).waitFor();
}

/** Waits until the locator's element has the attribute value. */
export async function attribute(locator: Locator, name: string, value: string): Promise<void> {
  await locator.and(locator.page().locator(`[${name}="${value}"]`)).waitFor();
}

export async function statusOf(page: Page, id: string, status: string): Promise<void> {
  await row(page, id).locator('.status').getByText(status, { exact: true }).waitFor();
}

/** Starts a job from the form; returns its id from the form's answer. */
export async function startFromForm(page: Page, type: string, input: string): Promise<string> {
  const form = startForm(page);
  await form.getByLabel('Type').selectOption(type);
  await form.getByLabel('Input (JSON)').fill(input);
  await form.getByRole('button', { name: 'Start' }).click();
  const answer = form.getByRole('status');
  await answer.getByText('Started job').waitFor();
  const match = /Started job (\S+)/.exec((await answer.textContent()) ?? '');
  if (!match?.[1]) throw new Error('the form did not name the job it started');
  return match[1];
}

export async function openDetail(page: Page, id: string): Promise<Locator> {
  await page.getByRole('button', { name: `Open job ${id}`, exact: true }).click();
  const dialog = page.getByRole('dialog', { name: `Job ${id}` });
  await dialog.waitFor();
  return dialog;
}
