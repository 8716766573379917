/**
 * The dashboard in headless Chromium against a real server on a SQLite file, with handlers the
 * test drives step by step: starting, live progress, cancelling, rejected events, reloads and the
 * job detail. Every wait is on a page condition (locators), never on a timer.
 */
import { describe, expect, it } from 'vitest';
import { LONG_MESSAGE } from './dashboard-site.js';
import type { JobView } from '../src/index.js';
import {
  attribute,
  bar,
  live,
  openDetail,
  row,
  startForm,
  startFromForm,
  statusOf,
  useDashboard,
} from './dashboard-page.js';

const d = useDashboard();

/**
 * Run in the page (a string: this project's TypeScript has no DOM types): the page's width, the
 * elements that reach past the viewport outside the table's own scroller, and whether the first
 * row's message cell is shown and cut.
 */
const MEASURE_LAYOUT = `(() => {
  const escaped = [...document.querySelectorAll('body *')]
    .filter((el) => el.getBoundingClientRect().right > window.innerWidth + 0.5 && !el.closest('.table-wrap'))
    .map((el) => el.tagName.toLowerCase() + '.' + el.className);
  const message = document.querySelector('#jobs-body td.message');
  const shown = message !== null && message.offsetParent !== null;
  return {
    pageWidth: document.documentElement.scrollWidth,
    escaped,
    message: shown ? { clipped: message.scrollWidth > message.clientWidth, width: message.clientWidth } : null,
  };
})()`;

describe('dashboard', () => {
  it('starts a job from the form and shows its progress live until it completes', async () => {
    const s = await d.site();
    const page = await d.open(`${s.url}/`);
    await live(page);
    const id = await startFromForm(page, 'steps', '');
    await statusOf(page, id, 'running');
    for (const value of ['25', '50', '75', '100']) {
      s.gate.release();
      await attribute(bar(page, id), 'aria-valuenow', value);
    }
    await statusOf(page, id, 'completed');
    expect(await row(page, id).textContent()).toContain('step 4 of 4');
    await page.getByRole('button', { name: /1\s*completed/ }).waitFor();
  });
  it('cancels a running job from its row', async () => {
    const s = await d.site();
    const keep = await s.supervisor.start({ type: 'block' });
    const { job } = await s.supervisor.start({ type: 'block' });
    const page = await d.open(`${s.url}/`);
    await statusOf(page, job.id, 'running');
    await page.getByRole('button', { name: `Cancel job ${job.id}`, exact: true }).click();
    await statusOf(page, job.id, 'cancelled');
    expect(s.supervisor.get(job.id)?.status).toBe('cancelled');
    expect(s.supervisor.get(keep.job.id)?.status).toBe('running');
    await statusOf(page, keep.job.id, 'running');
  });
  it('shows a rejected event (progress going backwards) in the Rejected events panel', async () => {
    const s = await d.site();
    const page = await d.open(`${s.url}/`);
    await live(page);
    const { job } = await s.supervisor.start({ type: 'backwards' });
    const panel = page.getByRole('list', { name: 'Rejected events', exact: true });
    const item = panel.getByRole('listitem').filter({ hasText: 'progress_backwards' });
    await item.waitFor();
    expect(await item.textContent()).toMatch(/PROGRESS from handler.*\(backwards\).*attempt 1.*in running/);
    await statusOf(page, job.id, 'completed');
    await attribute(bar(page, job.id), 'aria-valuenow', '100');
  });
  it('shows the same jobs, statuses and progress after a reload', async () => {
    const s = await d.site();
    const done = await s.supervisor.start({ type: 'echo', input: { hello: 'world' } });
    const blocked = await s.supervisor.start({ type: 'block' });
    const cancelled = await s.supervisor.start({ type: 'block' });
    await s.supervisor.waitFor(done.job.id);
    await s.supervisor.cancel(cancelled.job.id);
    const page = await d.open(`${s.url}/`);
    await attribute(bar(page, blocked.job.id), 'aria-valuenow', '40');
    const rows = async () => {
      const shown: (string | null)[][] = [];
      for (const tr of await page.locator('#jobs-body tr').all()) {
        shown.push([
          await tr.getAttribute('data-job-id'),
          await tr.locator('.status').textContent(),
          await tr.getByRole('progressbar').getAttribute('aria-valuenow'),
        ]);
      }
      return shown;
    };
    await statusOf(page, cancelled.job.id, 'cancelled');
    const before = await rows();
    expect(before).toHaveLength(3);
    await page.reload();
    await live(page);
    await statusOf(page, cancelled.job.id, 'cancelled');
    expect(await rows()).toEqual(before);
  });
  it("shows a job's change history and its current state in the machine diagram", async () => {
    const s = await d.site();
    const done = await s.supervisor.start({ type: 'echo', input: { n: 1 } });
    const waiting = await s.supervisor.start({ type: 'retry' });
    const backwards = await s.supervisor.start({ type: 'backwards' });
    await s.supervisor.waitFor(done.job.id);
    const page = await d.open(`${s.url}/`);
    await statusOf(page, backwards.job.id, 'completed');
    await page.screenshot({ path: 'test-artifacts/dashboard.png' });

    const dialog = await openDetail(page, done.job.id);
    const history = dialog.getByRole('table', { name: 'Change history' });
    await history.locator('tbody tr', { hasText: 'completed' }).waitFor();
    const kinds = await history.locator('tbody tr td:nth-child(2)').allTextContents();
    expect(kinds).toEqual((await s.supervisor.history(done.job.id)).map((change) => change.kind));
    expect(kinds).toEqual(['created', 'started', 'completed']);
    await dialog.locator('svg g.state.current[data-state="completed"]').waitFor();
    expect(await dialog.locator('svg g.state.current').count()).toBe(1);
    await dialog.getByRole('button', { name: 'Close details' }).click();

    const retrying = await openDetail(page, waiting.job.id);
    await retrying.locator('svg g.state.current[data-state="pending.backoff"]').waitFor();
    await retrying.locator('svg g.state.active[data-state="pending"]').waitFor();
    await page.screenshot({ path: 'test-artifacts/dashboard-detail.png' });
    await retrying.getByRole('button', { name: 'Close details' }).click();

    const refused = await openDetail(page, backwards.job.id);
    await refused
      .getByRole('list', { name: 'Rejected events of this job' })
      .getByText('progress_backwards')
      .waitFor();
  });
  it("shows an attempt's error on the change that reported it, not on the next attempt's changes", async () => {
    const s = await d.site();
    const { job } = await s.supervisor.start({ type: 'second' });
    await s.supervisor.waitFor(job.id);
    const page = await d.open(`${s.url}/`);
    await statusOf(page, job.id, 'completed');
    const dialog = await openDetail(page, job.id);
    const history = dialog.getByRole('table', { name: 'Change history' });
    await history.locator('tbody tr', { hasText: 'completed' }).waitFor();
    const rows: [string, string][] = [];
    for (const tr of await history.locator('tbody tr').all()) {
      rows.push([
        await tr.locator('td:nth-child(2)').innerText(),
        await tr.locator('td.message').innerText(),
      ]);
    }
    expect(rows).toEqual([
      ['created', ''],
      ['started', ''],
      ['retrying', 'test_failure: the first try fails'],
      ['requeued', ''],
      ['started', ''],
      ['progress', 'second try, halfway'],
      ['completed', 'second try, halfway'],
    ]);
  });
  it('holds its layout at 420 px and at 1440 px with a long message and a long key', async () => {
    const s = await d.site();
    const { job } = await s.supervisor.start({ type: 'long', key: 'k'.repeat(300) });
    // A schedule's name has no place to break it either (up to 100 characters).
    const name = `nightly.${'n'.repeat(92)}`;
    await s.supervisor.schedule(name, {
      type: 'echo',
      cron: '0 0 1 1 *',
      timezone: 'America/Argentina/ComodRivadavia',
    });
    for (const width of [420, 1440]) {
      const page = await d.open(`${s.url}/`);
      await page.setViewportSize({ width, height: 900 });
      await statusOf(page, job.id, 'running');
      await page.getByRole('button', { name: `Remove schedule ${name}` }).waitFor();
      await page
        .getByText(LONG_MESSAGE.slice(0, 20))
        .first()
        .waitFor({ state: width < 700 ? 'attached' : 'visible' });
      // Nothing widens the page: what reaches past the viewport is inside the table's own scroller.
      const layout = await page.evaluate<{
        pageWidth: number;
        escaped: string[];
        message: { clipped: boolean; width: number } | null;
      }>(MEASURE_LAYOUT);
      expect(layout.pageWidth, `page width at ${width} px`).toBeLessThanOrEqual(width);
      expect(layout.escaped, `elements past the viewport at ${width} px`).toEqual([]);
      // The table cuts the message (the detail shows it whole); a phone's table leaves it out.
      if (width < 700) expect(layout.message).toBeNull();
      else expect(layout.message).toEqual({ clipped: true, width: expect.any(Number) as number });
      if (layout.message) expect(layout.message.width).toBeLessThanOrEqual(300);

      const dialog = await openDetail(page, job.id);
      await dialog.getByText(LONG_MESSAGE, { exact: true }).first().waitFor();
      // The log line too: its message and its data wrap inside the dialog.
      const logLine = dialog.getByRole('list', { name: 'Log of attempt 1' }).getByRole('listitem');
      await logLine.getByText(LONG_MESSAGE, { exact: true }).waitFor();
      const logs = await page.evaluate<{ overflow: number; lineHeight: number; height: number }>(
        `(() => { const box = document.querySelector('#detail-logs');
                  const li = box.querySelector('li');
                  return { overflow: box.scrollWidth - box.clientWidth,
                           lineHeight: parseFloat(getComputedStyle(li).lineHeight),
                           height: li.getBoundingClientRect().height }; })()`,
      );
      expect(logs.overflow, `the log's horizontal overflow at ${width} px`).toBe(0);
      expect(logs.height, `the log line wraps at ${width} px`).toBeGreaterThan(2 * logs.lineHeight);
      const box = await page.evaluate<{ left: number; right: number; overflow: number }>(
        `(() => { const el = document.querySelector('dialog[open]');
                  const r = el.getBoundingClientRect();
                  return { left: r.left, right: r.right, overflow: el.scrollWidth - el.clientWidth }; })()`,
      );
      expect(box.left).toBeGreaterThanOrEqual(0);
      expect(box.right).toBeLessThanOrEqual(width);
      expect(box.overflow, `the detail's horizontal overflow at ${width} px`).toBe(0);
      await dialog.getByRole('button', { name: 'Close details' }).click();
      await page.close();
    }
  });
  it('starts a job with a priority from the form and shows it in the detail; refuses a fractional one', async () => {
    const s = await d.site();
    const page = await d.open(`${s.url}/`);
    await live(page);
    const form = startForm(page);
    await form.getByLabel(/^Priority/).fill('2.5');
    await form.getByLabel('Type').selectOption('echo');
    await form.getByRole('button', { name: 'Start' }).click();
    // The browser's own check (a whole-number field) holds the form back: nothing is sent.
    expect(
      await page.evaluate<boolean>("document.getElementById('start-priority').validity.stepMismatch"),
    ).toBe(true);
    expect(s.supervisor.list()).toEqual([]);

    await form.getByLabel(/^Priority/).fill('7');
    const id = await startFromForm(page, 'echo', '{"n":1}');
    expect(s.supervisor.get(id)?.priority).toBe(7);
    const dialog = await openDetail(page, id);
    const priority = dialog
      .locator('dt', { hasText: /^Priority$/ })
      .locator('xpath=following-sibling::dd[1]');
    await priority.getByText('7', { exact: true }).waitFor();
  });

  it('schedules a job with a delay from the form: the table, the detail and the diagram show pending.scheduled', async () => {
    const s = await d.site();
    const page = await d.open(`${s.url}/`);
    await live(page);
    const form = startForm(page);
    await form.getByLabel('Type').selectOption('echo');
    await form.getByLabel(/^Delay/).fill('soon');
    await form.getByRole('button', { name: 'Start' }).click();
    await form
      .getByRole('alert')
      .getByText(/The delay must be a duration/)
      .waitFor();
    expect(s.supervisor.list()).toEqual([]);

    await form.getByLabel(/^Delay/).fill('2h');
    await form.getByLabel('Input (JSON)').fill('{"n":2}');
    await form.getByRole('button', { name: 'Start' }).click();
    const answer = form.getByRole('status');
    await answer.getByText('Scheduled job').waitFor();
    const id = /Scheduled job (\S+)/.exec((await answer.textContent()) ?? '')![1]!;
    const job = s.supervisor.get(id)!;
    expect(job).toMatchObject({ state: 'pending.scheduled', status: 'pending' });
    expect(job.runAt! - job.createdAt).toBe(2 * 3_600_000);
    await page.getByRole('row').filter({ hasText: 'scheduled for' }).first().waitFor();
    const dialog = await openDetail(page, id);
    await dialog.getByText('this job is in pending.scheduled').waitFor();
    const runAt = dialog.locator('dt', { hasText: /^Run at$/ }).locator('xpath=following-sibling::dd[1]');
    expect(await runAt.textContent()).not.toBe('—');
  });

  it('cancels the ticked jobs in one request from the bulk bar, and leaves the others running', async () => {
    const s = await d.site();
    const jobs = [];
    for (let i = 0; i < 4; i++) jobs.push((await s.supervisor.start({ type: 'block', input: i })).job);
    const page = await d.open(`${s.url}/`);
    await live(page);
    const bar = page.getByRole('toolbar', { name: 'Selected jobs' });
    expect(await bar.isVisible()).toBe(false);
    for (const job of jobs.slice(0, 3))
      await page.getByRole('checkbox', { name: `Select job ${job.id}` }).check();
    await bar.getByText('3 selected').waitFor();
    await page.getByRole('checkbox', { name: `Select job ${jobs[2]!.id}` }).uncheck();
    await bar.getByText('2 selected').waitFor();
    await bar.getByRole('button', { name: 'Cancel selected' }).click();
    await page.getByRole('status').getByText('Cancelled 2 of 2 selected jobs').waitFor();
    expect(await bar.isVisible()).toBe(false);
    expect(jobs.map((job) => s.supervisor.get(job.id)?.status)).toEqual([
      'cancelled',
      'cancelled',
      'running',
      'running',
    ]);

    // Select-all ticks every row shown; the cancel leaves the finished ones as they are.
    await page.getByRole('checkbox', { name: 'Select every job shown' }).check();
    await bar.getByText('4 selected').waitFor();
    await bar.getByRole('button', { name: 'Cancel selected' }).click();
    await page
      .getByRole('status')
      .getByText('Cancelled 2 of 4 selected jobs (2 had already finished or gone)')
      .waitFor();
    expect(s.supervisor.list({ status: ['pending', 'running'] })).toEqual([]);
  });

  it('pauses and resumes the type chosen in the filter, and the whole supervisor, from the jobs card', async () => {
    const s = await d.site();
    const page = await d.open(`${s.url}/`);
    await live(page);
    const state = page.locator('#pause-state');
    await state.getByText('Nothing is paused').waitFor();
    await page.locator('#filter-type').selectOption('echo');
    await page.getByRole('button', { name: 'Pause echo' }).click();
    await state.getByText('Paused: echo').waitFor();
    expect(s.supervisor.paused()).toEqual({ all: false, types: ['echo'] });
    const { job } = await s.supervisor.start({ type: 'echo', input: 1 });
    await page.getByRole('button', { name: 'Resume echo' }).click();
    await state.getByText('Nothing is paused').waitFor();
    expect((await s.supervisor.waitFor(job.id)).status).toBe('completed');

    await page.locator('#filter-type').selectOption('');
    await page.getByRole('button', { name: 'Pause all' }).click();
    await state.getByText('Paused: every type').waitFor();
    expect(s.supervisor.paused().all).toBe(true);
    // Paused elsewhere (another client): the card shows it within its refresh.
    await s.supervisor.pause('typed');
    await state.getByText('Paused: every type, typed').waitFor();
    await page.getByRole('button', { name: 'Resume all' }).click();
    await state.getByText('Paused: typed').waitFor();
  });

  it('lists the schedules made through the library and over HTTP, opens the last job of one, removes one', async () => {
    const s = await d.site();
    await s.supervisor.schedule('each-second', { type: 'echo', cron: '* * * * * *', input: { n: 1 } });
    await s.supervisor.schedule('hourly', { type: 'echo', everyMs: 3_600_000 });
    const put = await fetch(`${s.url}/schedules/nightly.typed`, {
      method: 'PUT',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ type: 'typed', input: { n: 2 }, cron: '30 3 * * *', timezone: 'Europe/Berlin' }),
    });
    expect(put.status).toBe(200);
    const page = await d.open(`${s.url}/`);
    await live(page);
    const panel = page.getByRole('list', { name: 'Schedules', exact: true });
    const nightly = panel.locator('li[data-schedule="nightly.typed"]');
    await nightly.getByText('30 3 * * *', { exact: true }).waitFor();
    await nightly.getByText('Europe/Berlin').waitFor();
    expect(await nightly.textContent()).toMatch(/typed.*next .*· last —/);
    await panel.locator('li[data-schedule="hourly"]').getByText('every 1 h').waitFor();
    await page.getByRole('heading', { name: 'Schedules 3' }).waitFor();

    // Each second an occurrence starts a job; once one did, the panel names it. Then the schedule
    // is made yearly (it keeps its latest occurrence), so the job shown stays put.
    await panel.getByRole('button', { name: 'Open the last job of schedule each-second' }).waitFor();
    await s.supervisor.schedule('each-second', { type: 'echo', cron: '0 0 1 1 *', input: { n: 1 } });
    await panel.locator('li[data-schedule="each-second"]').getByText('0 0 1 1 *').waitFor();
    const last = (await s.supervisor.schedules()).find((x) => x.name === 'each-second')!.lastJobId!;
    await panel.locator(`button[data-job="${last}"]`).click();
    const dialog = page.getByRole('dialog', { name: `Job ${last}` });
    await dialog.waitFor();
    expect(await s.supervisor.find(last)).toMatchObject({ type: 'echo', input: { n: 1 } });
    await dialog.getByRole('button', { name: 'Close details' }).click();

    await nightly.getByRole('button', { name: 'Remove schedule nightly.typed' }).click();
    await nightly.waitFor({ state: 'detached' });
    await page.getByRole('heading', { name: 'Schedules 2' }).waitFor();
    expect((await s.supervisor.schedules()).map((x) => x.name).sort()).toEqual(['each-second', 'hourly']);
  });

  it('removes the ticked finished jobs from the bulk bar, and leaves a live one', async () => {
    const s = await d.site();
    const done = [];
    for (let i = 0; i < 2; i++) {
      const { job } = await s.supervisor.start({ type: 'echo', input: i });
      done.push(await s.supervisor.waitFor(job.id));
    }
    const running = (await s.supervisor.start({ type: 'block' })).job;
    const page = await d.open(`${s.url}/`);
    await live(page);
    for (const job of [...done, running])
      await page.getByRole('checkbox', { name: `Select job ${job.id}` }).check();
    await page
      .getByRole('toolbar', { name: 'Selected jobs' })
      .getByRole('button', { name: 'Remove selected' })
      .click();
    await page
      .getByRole('status')
      .getByText('Removed 2 of 3 selected jobs (1 still pending or running)')
      .waitFor();
    for (const job of done) {
      await page
        .getByRole('button', { name: `Open job ${job.id}`, exact: true })
        .waitFor({ state: 'detached' });
      expect(await s.supervisor.find(job.id)).toBeUndefined();
    }
    expect(s.supervisor.get(running.id)?.status).toBe('running');
  });

  it('retries a cancelled job from its detail, and the ticked ones from the bulk bar', async () => {
    const s = await d.site();
    const jobs: JobView[] = [];
    for (let i = 0; i < 3; i++) {
      const { job } = await s.supervisor.start({ type: 'block', input: i });
      await s.supervisor.cancel(job.id);
      jobs.push(job);
    }
    const page = await d.open(`${s.url}/`);
    await live(page);
    const dialog = await openDetail(page, jobs[0]!.id);
    await dialog.getByRole('button', { name: 'Retry job' }).click();
    await dialog.getByText('this job is in running').waitFor();
    expect(await dialog.getByRole('button', { name: 'Retry job' }).isVisible()).toBe(false);
    expect(s.supervisor.get(jobs[0]!.id)).toMatchObject({ status: 'running', attempt: 2 });
    await dialog.getByRole('button', { name: 'Close details' }).click();

    for (const job of jobs) await page.getByRole('checkbox', { name: `Select job ${job.id}` }).check();
    await page
      .getByRole('toolbar', { name: 'Selected jobs' })
      .getByRole('button', { name: 'Retry selected' })
      .click();
    await page
      .getByRole('status')
      .getByText('Retried 2 of 3 selected jobs (1 not failed or cancelled)')
      .waitFor();
    await expect
      .poll(() => jobs.map((job) => s.supervisor.get(job.id)?.status))
      .toEqual(['running', 'running', 'running']);
  });

  it('time travel: a change picked in the history shows the machine as it was right after it, with its event', async () => {
    const s = await d.site();
    const page = await d.open(`${s.url}/`);
    await live(page);
    const id = await startFromForm(page, 'echo', '{"n":3}');
    await s.supervisor.waitFor(id);
    const dialog = await openDetail(page, id);
    await dialog.locator('svg g.state.current[data-state="completed"]').waitFor();
    const now = dialog.getByRole('button', { name: 'Back to now' });
    expect(await now.isVisible()).toBe(false);

    await dialog.getByRole('button', { name: 'Show the machine after change 1' }).click();
    await dialog.locator('svg g.state.current[data-state="pending.queued"]').waitFor();
    await dialog
      .getByText(
        'after change #1 (created, by the job was created (its initial state)) this job was in pending.queued',
      )
      .waitFor();
    expect(await dialog.locator('tr[aria-current="true"]').getAttribute('data-seq')).toBe('1');

    await dialog.getByRole('button', { name: 'Show the machine after change 2' }).click();
    await dialog.locator('svg g.state.current[data-state="running"]').waitFor();
    await dialog.getByText('after change #2 (started, by START) this job was in running').waitFor();
    expect(await dialog.locator('svg g.state.current').count()).toBe(1);

    await now.click();
    await dialog.locator('svg g.state.current[data-state="completed"]').waitFor();
    await dialog.getByText('this job is in completed').waitFor();
    expect(await dialog.locator('tr[aria-current="true"]').count()).toBe(0);
  });

  it('shows a per-type overview: counts by status, throughput over the last minutes, paused or not', async () => {
    const s = await d.site();
    for (let i = 0; i < 3; i++)
      await s.supervisor.waitFor((await s.supervisor.start({ type: 'echo', input: i })).job.id);
    const blocked = await s.supervisor.start({ type: 'block' });
    await s.supervisor.cancel((await s.supervisor.start({ type: 'block' })).job.id);
    const page = await d.open(`${s.url}/`);
    await live(page);
    const table = page.getByRole('table', { name: 'Job types' });
    const echo = table.locator('tr[data-type="echo"]');
    await echo.locator('td[data-status="completed"]').getByText('3', { exact: true }).waitFor();
    // Three completions within the last five minutes: 0.6 per minute.
    await echo.getByText('0.6', { exact: true }).waitFor();
    const block = table.locator('tr[data-type="block"]');
    await block.locator('td[data-status="running"]').getByText('1', { exact: true }).waitFor();
    await block.locator('td[data-status="cancelled"]').getByText('1', { exact: true }).waitFor();
    // A registered type with no job is listed too.
    await table
      .locator('tr[data-type="typed"]')
      .locator('td[data-status="pending"]')
      .getByText('0')
      .waitFor();

    await table.getByRole('button', { name: 'Pause type echo' }).click();
    await echo.getByText('paused', { exact: true }).waitFor();
    expect(s.supervisor.paused().types).toEqual(['echo']);
    await table.getByRole('button', { name: 'Resume type echo' }).click();
    await echo.getByText('running', { exact: true }).waitFor();
    expect(s.supervisor.paused().types).toEqual([]);
    await s.supervisor.cancel(blocked.job.id);
  });

  it("lists a job's attempts in its detail, each with its own error", async () => {
    const s = await d.site();
    const { job } = await s.supervisor.start({ type: 'second' });
    await s.supervisor.waitFor(job.id);
    const page = await d.open(`${s.url}/`);
    await live(page);
    const dialog = await openDetail(page, job.id);
    const attempts = dialog.getByRole('list', { name: 'Attempts' });
    await attempts
      .locator('li[data-attempt="2"]')
      .getByText(/completed after/)
      .waitFor();
    const first = attempts.locator('li[data-attempt="1"]');
    await first.getByText(/retrying after/).waitFor();
    await first.getByText('test_failure: the first try fails').waitFor();
    expect(await attempts.locator('li').count()).toBe(2);
    expect(await attempts.locator('li[data-attempt="2"] .error').count()).toBe(0);
  });

  it("shows a job's log per attempt in its detail, and a line that arrives while the detail is open", async () => {
    const s = await d.site();
    const { job } = await s.supervisor.start({ type: 'chatty' });
    const page = await d.open(`${s.url}/`);
    await live(page);
    await statusOf(page, job.id, 'running');
    const dialog = await openDetail(page, job.id);
    const logs = dialog.getByRole('region', { name: 'Logs' });
    const first = logs.getByRole('list', { name: 'Log of attempt 1' });
    const second = logs.getByRole('list', { name: 'Log of attempt 2' });
    await second.getByRole('listitem').first().waitFor();
    const texts = async (list: typeof first) =>
      (await list.getByRole('listitem').allInnerTexts()).map((text) => text.replace(/^\S+ /, ''));
    expect(await texts(first)).toEqual(['attempt 1 begins {"attempt":1}']);
    expect(await texts(second)).toEqual(['attempt 2 begins {"attempt":2}']);
    expect(await logs.getByRole('heading').allInnerTexts()).toEqual(['Logs', 'Attempt 1', 'Attempt 2']);

    s.gate.release();
    await second.getByText('the gate opened').waitFor();
    expect(await texts(second)).toEqual(['attempt 2 begins {"attempt":2}', 'the gate opened {"step":2}']);
    const stored = (await s.supervisor.logs(job.id)).entries;
    const items = await logs.locator('li[data-id]').all();
    const shown = await Promise.all(items.map(async (li) => Number(await li.getAttribute('data-id'))));
    expect(shown).toEqual(stored.map((e) => e.id));
    await statusOf(page, job.id, 'completed');
    expect(await first.getByRole('listitem').count()).toBe(1);
  });

  it('pages through every matching job with a cursor (100 a page), and filters by creation time', async () => {
    const s = await d.site();
    const answer = await s.supervisor.startMany(
      Array.from({ length: 230 }, (_, i) => ({ type: 'echo', input: i })),
    );
    expect(answer.created).toBe(230);
    const page = await d.open(`${s.url}/`);
    await live(page);
    const pager = page.getByRole('group', { name: 'Pages of jobs' });
    const rows = page.locator('#jobs-body tr');
    await pager.getByText('Jobs 1–100 of 230').waitFor();
    expect(await rows.count()).toBe(100);
    const newer = pager.getByRole('button', { name: 'Newer' });
    const older = pager.getByRole('button', { name: 'Older' });
    expect(await newer.isDisabled()).toBe(true);
    const firstPage = await rows.evaluateAll((trs) =>
      trs.map((tr) => (tr as { dataset: { jobId: string } }).dataset.jobId),
    );
    await older.click();
    await pager.getByText('Jobs 101–200 of 230').waitFor();
    await older.click();
    await pager.getByText('Jobs 201–230 of 230').waitFor();
    expect(await rows.count()).toBe(30);
    expect(await older.isDisabled()).toBe(true);
    const lastPage = await rows.evaluateAll((trs) =>
      trs.map((tr) => (tr as { dataset: { jobId: string } }).dataset.jobId),
    );
    // An older page stays put while new jobs arrive on top.
    await s.supervisor.start({ type: 'echo', input: 'new' });
    await pager.getByText('Jobs 202–231 of 231').waitFor();
    expect(
      await rows.evaluateAll((trs) => trs.map((tr) => (tr as { dataset: { jobId: string } }).dataset.jobId)),
    ).toEqual(lastPage);
    await newer.click();
    await newer.click();
    await pager.getByText('Jobs 1–100 of 231').waitFor();
    const all = new Set([...firstPage, ...lastPage]);
    expect(all.size).toBe(130); // the pages did not overlap

    // Created within the last hour: all of them; with the page's clock two hours ahead: none.
    await page.locator('#filter-created').selectOption('3600000');
    await pager.getByText('Jobs 1–100 of 231').waitFor();
    await page.clock.install({ time: Date.now() + 2 * 3_600_000 });
    await page.locator('#filter-created').selectOption('900000');
    await page.getByText('No job matches the filters.').waitFor();
    await page.locator('#filter-created').selectOption('86400000');
    await pager.getByText('Jobs 1–100 of 231').waitFor();
  });
});
