/**
 * The dashboard of a node in a cluster, in headless Chromium: two supervisors on one PostgreSQL
 * schema, each with its own server. The Nodes panel lists both with the job running on each, a
 * running job's button there opens its detail, and the detail names the node of its attempt.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser } from 'playwright-core';
import { createSupervisor, type Supervisor } from '../src/index.js';
import { postgresStore } from '../src/postgres.js';
import { createJobvisorServer, type JobvisorServer } from '../src/server/index.js';
import { launch, PageWatch } from './dashboard-site.js';
import { dropSchema, POSTGRES_URL, schemaName } from './postgres-helpers.js';

const schema = schemaName();
let browser: Browser;
const nodes: { supervisor: Supervisor; server: JobvisorServer; url: string }[] = [];

beforeAll(async () => {
  browser = await launch();
  for (const label of ['node-a', 'node-b']) {
    const supervisor = createSupervisor({
      store: postgresStore({ connectionString: POSTGRES_URL, schema }),
      cluster: { leaseMs: 3_000, renewMs: 500, claimIntervalMs: 100 },
      node: { label },
    });
    // Each node runs a type of its own, so the test knows where each job runs.
    supervisor.register(
      `block-${label}`,
      (ctx) =>
        new Promise((resolve) => {
          ctx.progress(40, 'blocked until cancelled');
          ctx.signal.addEventListener('abort', () => resolve(null), { once: true });
        }),
    );
    await supervisor.ready();
    const server = createJobvisorServer({ supervisor });
    const { url } = await server.listen(0, '127.0.0.1');
    nodes.push({ supervisor, server, url });
  }
}, 30_000);

afterAll(async () => {
  await browser?.close();
  for (const { supervisor, server } of nodes) {
    await server.close();
    await supervisor.shutdown({ graceMs: 0 });
  }
  await dropSchema(schema);
});

describe('the dashboard of a cluster node', () => {
  it('lists the live nodes with their running jobs, and the detail names the node of the attempt', async () => {
    const [a, b] = nodes as [(typeof nodes)[number], (typeof nodes)[number]];
    // Each node starts (and only it runs) a job of its own type; the page is node A's, which is
    // told of both jobs' changes: wait there until both started.
    const ids: string[] = [];
    const started = new Set<string>();
    let bothStarted!: () => void;
    const both = new Promise<void>((resolve) => (bothStarted = resolve));
    const check = () => ids.length === 2 && ids.every((id) => started.has(id)) && bothStarted();
    const off = a.supervisor.subscribe((change) => {
      if (change.kind === 'started') started.add(change.jobId);
      check();
    });
    const first = await a.supervisor.start({ type: 'block-node-a' });
    const second = await b.supervisor.start({ type: 'block-node-b' });
    ids.push(first.job.id, second.job.id);
    check();
    await both;
    off();
    const context = await browser.newContext();
    const watch = new PageWatch();
    const page = await context.newPage();
    await watch.add(page);
    await page.goto(`${a.url}/`);
    const panel = page.getByRole('list', { name: 'Live nodes' });
    await panel.getByText('node-a').waitFor();
    await panel.getByText('node-b').waitFor();
    const onB = page.getByRole('list', { name: 'Running on node-b' });
    const jobOnB = second.job.id;
    expect(a.supervisor.get(jobOnB)?.node).toBe(b.supervisor.node.id);
    await onB.getByRole('button', { name: jobOnB.slice(0, 8) }).click();
    const detail = page.getByRole('dialog');
    await detail.getByText(b.supervisor.node.id).waitFor();
    expect(await detail.textContent()).toContain(`Job ${jobOnB}`);
    expect(await watch.violations()).toEqual([]);
    expect(watch.console).toEqual([]);
    expect(watch.errors).toEqual([]);
    await context.close();
    await a.supervisor.cancel(first.job.id);
    await b.supervisor.cancel(second.job.id);
  });
});
