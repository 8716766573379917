/**
 * The dashboard's access and robustness in headless Chromium against a real server: the bearer
 * token (form and `#token=`), the CSP, a server restart under an open page, and bad start input.
 * Every wait is on a page condition (locators), never on a timer.
 */
import { describe, expect, it } from 'vitest';
import { DASHBOARD_CSP } from '../src/server/static.js';
import { connection, live, startForm, startFromForm, statusOf, useDashboard } from './dashboard-page.js';

const d = useDashboard();

describe('dashboard access', () => {
  it('asks for the token when the API answers 401, and takes it from #token= (then hides it)', async () => {
    d.allowConsoleErrors(/status of 401/);
    const s = await d.site({ token: 's3cret' });
    const page = await d.open(`${s.url}/`);
    await page.getByRole('heading', { name: 'Access token required' }).waitFor();
    expect(await startForm(page).isVisible()).toBe(false);
    await page.getByLabel('Access token', { exact: true }).fill('wrong');
    await page.getByRole('button', { name: 'Connect' }).click();
    await page.getByText('The server refused this token').waitFor();
    await page.getByLabel('Access token', { exact: true }).fill('s3cret');
    await page.getByRole('button', { name: 'Connect' }).click();
    await live(page);

    const sockets: string[] = [];
    const tab = await d.open(`${s.url}/#token=s3cret`, (fresh) =>
      fresh.on('websocket', (ws) => sockets.push(ws.url())),
    );
    await live(tab);
    expect(new URL(tab.url()).hash).toBe('');
    expect(
      sockets.some(
        (url) => new URL(url).pathname === '/ws' && new URL(url).searchParams.get('token') === 's3cret',
      ),
    ).toBe(true);
    const { job } = await s.supervisor.start({ type: 'echo', input: 'with a token' });
    await statusOf(tab, job.id, 'completed');
    await tab.reload(); // the token stays in this tab's sessionStorage
    await statusOf(tab, job.id, 'completed');
    await live(tab);
  });
  it('serves the page under a strict CSP that nothing in the page violates, the WebSocket included', async () => {
    const s = await d.site();
    const page = await d.open(`${s.url}/`);
    const headers = d.response?.headers() ?? {};
    expect(headers['content-security-policy']).toBe(DASHBOARD_CSP);
    expect(headers['x-content-type-options']).toBe('nosniff');
    expect(headers['content-type']).toBe('text/html; charset=utf-8');
    for (const [asset, type] of [
      ['app.js', 'text/javascript; charset=utf-8'],
      ['style.css', 'text/css; charset=utf-8'],
    ]) {
      const answer = await page.request.get(`${s.url}/assets/${asset}`);
      expect(answer.headers()['content-type']).toBe(type);
      expect(answer.headers()['content-security-policy']).toBe(DASHBOARD_CSP);
    }
    await live(page); // connect-src 'self' lets the page open its same-origin ws: socket
    const { job } = await s.supervisor.start({ type: 'echo', input: 1 });
    await statusOf(page, job.id, 'completed');
    await page.getByRole('button', { name: `Open job ${job.id}`, exact: true }).click();
    await page.getByRole('dialog').locator('svg g.state.current').waitFor();
    expect(await d.violations()).toEqual([]); // and no console error either: checked after each test
  });
  it('shows reconnecting while the server is down, then is live again after a restart, without a reload', async () => {
    d.allowConsoleErrors(/WebSocket connection to .* failed|ERR_CONNECTION_REFUSED|Failed to load resource/);
    const dir = d.tempDir();
    const first = await d.site({ dir });
    const before = await first.supervisor.start({ type: 'echo', input: 'before' });
    const page = await d.open(`${first.url}/`);
    await statusOf(page, before.job.id, 'completed');
    await page.evaluate(() => ((globalThis as unknown as { marker: string }).marker = 'same document'));
    await first.close();
    await connection(page).getByText('Reconnecting…').waitFor();
    const second = await d.site({ dir, port: first.port });
    await live(page);
    const after = await second.supervisor.start({ type: 'steps' });
    await statusOf(page, after.job.id, 'running');
    second.gate.release(4);
    await statusOf(page, after.job.id, 'completed');
    await statusOf(page, before.job.id, 'completed');
    expect(await page.evaluate(() => (globalThis as unknown as { marker?: string }).marker)).toBe(
      'same document',
    );
  });
  it('shows an error and starts nothing for input that is not JSON or that the server refuses', async () => {
    d.allowConsoleErrors(/status of 400/);
    const s = await d.site();
    const page = await d.open(`${s.url}/`);
    await live(page);
    const form = startForm(page);
    await form.getByLabel('Type').selectOption('typed');
    await form.getByLabel('Input (JSON)').fill('{ "n": ');
    await form.getByRole('button', { name: 'Start' }).click();
    await form.getByRole('alert').getByText('The input is not valid JSON').waitFor();
    await form.getByLabel('Input (JSON)').fill('{ "n": "two" }');
    await form.getByRole('button', { name: 'Start' }).click();
    await form.getByRole('alert').getByText('invalid_input', { exact: true }).waitFor();
    expect(await form.getByRole('alert').textContent()).toMatch(/^invalid_input: .+/);
    expect(s.supervisor.list()).toEqual([]);
    expect(await page.locator('#jobs-body tr').count()).toBe(0);
    const id = await startFromForm(page, 'typed', '{ "n": 2 }');
    await statusOf(page, id, 'completed');
    expect(await form.getByRole('alert').count(), 'no error shown').toBe(0);
  });
});
