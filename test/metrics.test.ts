/**
 * Metrics through prom-client: `supervisor.metrics(registry?)` registers the supervisor's metrics
 * into an application's registry (or a new one); the server, given the application's registry,
 * serves its metrics and the application's in one scrape, without Node's default ones (the
 * application's choice there); a bad registry option is refused with a coded error.
 */
import { Counter, Registry } from 'prom-client';
import { afterEach, describe, expect, it } from 'vitest';
import { createSupervisor, JobFailure, type Supervisor } from '../src/index.js';
import { createJobvisorServer, type JobvisorServer } from '../src/server/index.js';
import { thrownBy } from './helpers.js';

const open: Supervisor[] = [];
const servers: JobvisorServer[] = [];
afterEach(async () => {
  for (const server of servers.splice(0)) await server.close();
  for (const s of open.splice(0)) await s.shutdown({ graceMs: 0 });
});

function supervisor(): Supervisor {
  const made = createSupervisor({ retries: { max: 0 } });
  open.push(made);
  made.register('ok', () => 'fine');
  made.register('bad', () => {
    throw new JobFailure('nope', 'always fails');
  });
  return made;
}

describe('prom-client metrics', () => {
  it("registers into the application's own registry: counts by type and status, durations by type", async () => {
    const s = supervisor();
    const registry = new Registry();
    expect(s.metrics(registry)).toBe(registry);
    expect(s.metrics(registry)).toBe(registry); // once per registry
    for (const type of ['ok', 'ok', 'bad']) await s.waitFor((await s.start({ type })).job);
    const text = await registry.metrics();
    expect(text).toContain('jobvisor_jobs_finished_total{type="ok",status="completed"} 2');
    expect(text).toContain('jobvisor_jobs_finished_total{type="bad",status="failed"} 1');
    expect(text).toContain('jobvisor_jobs{type="ok",status="completed"} 2');
    expect(text).toContain('jobvisor_handler_duration_seconds_count{type="bad"} 1');
    expect(text).toContain('jobvisor_starts_total 3');
    expect(text).not.toContain('process_cpu_user_seconds_total');
    const json = await registry.getMetricsAsJSON();
    expect(json.find((m) => m.name === 'jobvisor_jobs')?.type).toBe('gauge');
  });

  it("the server serves the application's registry: its metrics and jobvisor's in one scrape", async () => {
    const s = supervisor();
    const registry = new Registry();
    const requests = new Counter({ name: 'app_requests_total', help: 'Requests.', registers: [registry] });
    requests.inc(7);
    const server = createJobvisorServer({ supervisor: s, metrics: { registry } });
    servers.push(server);
    const { url } = await server.listen(0);
    await s.waitFor((await s.start({ type: 'ok' })).job);
    const answer = await fetch(`${url}/metrics`);
    expect(answer.headers.get('content-type')).toBe(registry.contentType);
    const text = await answer.text();
    expect(text).toContain('app_requests_total 7');
    expect(text).toContain('jobvisor_jobs_finished_total{type="ok",status="completed"} 1');
    expect(text).toContain('jobvisor_ws_connections 0');
    expect(text).not.toContain('process_cpu_user_seconds_total');
    // The application serves the same registry itself.
    expect(await registry.metrics()).toContain('jobvisor_ws_connections 0');
  });

  it('refuses a metrics option that is not a prom-client registry, with a coded error', () => {
    const s = supervisor();
    for (const metrics of [{ registry: {} }, { defaultMetrics: 'yes' }, { other: 1 }]) {
      const error = thrownBy(() => createJobvisorServer({ supervisor: s, metrics: metrics as never }));
      expect(error.code, JSON.stringify(metrics)).toBe('invalid_options');
      expect(error.message).toMatch(/metrics/);
    }
  });
});
