/** The HTTP API on a real server (port 0): every route, the bad-input matrix, the token, and a bounded load. */
import { describe, expect, it } from 'vitest';
import { JobFailure } from '../src/index.js';
import type { LogsAnswer } from '../src/protocol/schemas.js';
import { occurrenceId } from '../src/supervisor/occurrences.js';
import { deferred, type Deferred } from './helpers.js';
import { http, servePerTest, type Answer } from './server-harness.js';

const start = servePerTest();

describe('HTTP routes', () => {
  it('POST /jobs creates (201) and a duplicate key answers the existing job (200, deduplicated)', async () => {
    const s = await start();
    const first = await http(s, 'POST', '/jobs', { type: 'gated', input: { a: 1 }, key: 'k1' });
    expect(first.status).toBe(201);
    expect(first.body).toMatchObject({
      deduplicated: false,
      job: { type: 'gated', key: 'k1', input: { a: 1 }, seq: 1 },
    });
    const again = await http(s, 'POST', '/jobs', { type: 'gated', input: { a: 2 }, key: 'k1' });
    expect(again.status).toBe(200);
    expect(again.body.deduplicated).toBe(true);
    expect(again.body.job.id).toBe(first.body.job.id);
    const rejected = await http(s, 'POST', '/jobs', { type: 'gated', key: 'k1', onConflict: 'reject' });
    expect(rejected.status).toBe(409);
    expect(rejected.body.error).toMatchObject({
      code: 'duplicate_key',
      details: { jobId: first.body.job.id },
    });
    expect(s.supervisor.list()).toHaveLength(1);
    const urgent = await http(s, 'POST', '/jobs', { type: 'gated', priority: 9 });
    expect(urgent.status).toBe(201);
    expect(urgent.body.job).toMatchObject({ priority: 9 });
    expect(s.supervisor.get(urgent.body.job.id)?.priority).toBe(9);
    expect(first.body.job).toMatchObject({ priority: 0 });
  });

  it('POST /jobs with delayMs or runAt (ms or ISO 8601) creates a job waiting in pending.scheduled', async () => {
    const s = await start();
    const before = Date.now();
    const delayed = await http(s, 'POST', '/jobs', { type: 'echo', input: 1, delayMs: 3_600_000 });
    expect(delayed.status).toBe(201);
    expect(delayed.body.job).toMatchObject({ status: 'pending', state: 'pending.scheduled', attempt: 0 });
    expect(delayed.body.job.runAt).toBeGreaterThanOrEqual(before + 3_600_000);
    const at = Date.UTC(2100, 0, 1);
    for (const runAt of [at, '2100-01-01T00:00:00Z', '2100-01-01T01:00:00+01:00']) {
      const answer = await http(s, 'POST', '/jobs', { type: 'echo', runAt });
      expect(answer.status).toBe(201);
      expect(answer.body.job).toMatchObject({ runAt: at, state: 'pending.scheduled' });
    }
    expect((await http(s, 'GET', '/metrics')).text).toContain('jobvisor_jobs_scheduled 4');
    const got = await http(s, 'GET', `/jobs/${encodeURIComponent(delayed.body.job.id)}`);
    expect(got.body.job).toMatchObject({ runAt: delayed.body.job.runAt, state: 'pending.scheduled' });
  });

  it('GET /jobs/:id answers the job, 404 job_not_found for an unknown id', async () => {
    const s = await start();
    const { body } = await http(s, 'POST', '/jobs', { type: 'echo', input: 'hi' });
    const done = await s.supervisor.waitFor(body.job.id);
    const got = await http(s, 'GET', `/jobs/${encodeURIComponent(body.job.id)}`);
    expect(got.status).toBe(200);
    expect(got.body.job).toEqual(JSON.parse(JSON.stringify(done)));
    const missing = await http(s, 'GET', '/jobs/nope');
    expect(missing.status).toBe(404);
    expect(missing.body.error.code).toBe('job_not_found');
  });

  it('GET /jobs filters and pages with a cursor ordered by (createdAt, id), each job exactly once', async () => {
    const s = await start({ supervisor: { concurrency: 50 } });
    for (let i = 0; i < 23; i++) await http(s, 'POST', '/jobs', { type: i % 2 ? 'gated' : 'echo', input: i });
    await Promise.all(s.supervisor.list({ type: 'echo' }).map((j) => s.supervisor.waitFor(j.id)));
    const seen: { id: string; createdAt: number }[] = [];
    let after: string | null = null;
    let pages = 0;
    do {
      const q: string = after === null ? '' : `&after=${encodeURIComponent(after)}`;
      const page = await http(s, 'GET', `/jobs?limit=5${q}`);
      expect(page.status).toBe(200);
      expect(page.body.jobs.length).toBeLessThanOrEqual(5);
      seen.push(...page.body.jobs);
      after = page.body.next;
      pages++;
    } while (after !== null);
    expect(pages).toBe(5);
    expect(new Set(seen.map((j) => j.id)).size).toBe(23);
    const sorted = [...seen].sort((a, b) => a.createdAt - b.createdAt || (a.id < b.id ? -1 : 1));
    expect(seen).toEqual(sorted);
    const completed = await http(s, 'GET', '/jobs?status=completed&type=echo');
    expect(completed.body.jobs).toHaveLength(12);
    const live = await http(s, 'GET', '/jobs?status=pending,running');
    expect(live.body.jobs).toHaveLength(11);
    expect(live.body.next).toBeNull();
  });

  it('POST /jobs/:id/cancel cancels once; a finished job answers cancelled:false; unknown id 404', async () => {
    const s = await start();
    const { body } = await http(s, 'POST', '/jobs', { type: 'gated' });
    const cancel = await http(s, 'POST', `/jobs/${body.job.id}/cancel`, { reason: 'user asked' });
    expect(cancel.status).toBe(200);
    expect(cancel.body).toMatchObject({ cancelled: true, job: { status: 'cancelled' } });
    const again = await http(s, 'POST', `/jobs/${body.job.id}/cancel`);
    expect(again.body).toMatchObject({ cancelled: false, job: { status: 'cancelled' } });
    expect((await http(s, 'POST', '/jobs/ghost/cancel', {})).body.error.code).toBe('job_not_found');
  });

  it('GET /jobs/:id/changes reads the stored history with since/limit (sqlite store)', async () => {
    const s = await start({ store: 'sqlite' });
    const { body } = await http(s, 'POST', '/jobs', { type: 'echo', input: 7 });
    await s.supervisor.waitFor(body.job.id);
    await http(s, 'POST', '/jobs', { type: 'echo' });
    const all = await http(s, 'GET', `/jobs/${body.job.id}/changes`);
    expect(all.status).toBe(200);
    expect(all.body.changes.map((c) => c.kind)).toEqual(['created', 'started', 'completed']);
    expect(all.body.changes.map((c) => c.seq)).toEqual([1, 2, 3]);
    const mine = s.changes.filter((c) => c.jobId === body.job.id).map((c) => c.offset);
    expect(all.body.changes.map((c) => c.offset)).toEqual(mine);
    const page = await http(s, 'GET', `/jobs/${body.job.id}/changes?since=${mine[0]}&limit=1`);
    expect(page.body.changes.map((c) => c.seq)).toEqual([2]);
    expect((await http(s, 'GET', '/jobs/ghost/changes')).status).toBe(404);
    expect((await http(s, 'GET', `/jobs/${body.job.id}/changes?limit=0`)).body.error.code).toBe(
      'invalid_request',
    );
  });

  it('GET /jobs/:id/changes without a store is invalid_request', async () => {
    const s = await start();
    const { body } = await http(s, 'POST', '/jobs', { type: 'echo' });
    const answer = await http(s, 'GET', `/jobs/${body.job.id}/changes`);
    expect(answer.status).toBe(400);
    expect(answer.body.error.code).toBe('invalid_request');
  });

  it("GET /jobs/:id/logs pages the job's log by cursor and by attempt; 404 for an unknown job, 400 for a bad query", async () => {
    const s = await start({ store: 'sqlite' });
    s.supervisor.register(
      'logging',
      (ctx) => {
        ctx.log('begin', { attempt: ctx.attempt, list: [1, 'two'] });
        ctx.log('step');
        if (ctx.attempt === 1) throw new JobFailure('flaky', 'the first attempt fails');
        ctx.log('done');
      },
      { retries: { max: 1, backoffMs: 0 } },
    );
    const { body } = await http(s, 'POST', '/jobs', { type: 'logging' });
    const id = encodeURIComponent(body.job.id);
    await s.supervisor.waitFor(body.job.id);
    const logs = (answer: Answer) => answer.body as unknown as LogsAnswer;
    const all = await http(s, 'GET', `/jobs/${id}/logs`);
    expect(all.status).toBe(200);
    const stored = (await s.supervisor.logs(body.job.id)).entries;
    expect(logs(all)).toEqual({ logs: JSON.parse(JSON.stringify(stored)) as unknown, next: null });
    expect(logs(all).logs.map((e) => `${e.attempt}:${e.message}`)).toEqual([
      '1:begin',
      '1:step',
      '2:begin',
      '2:step',
      '2:done',
    ]);
    expect(logs(all).logs[0]).toMatchObject({ jobId: body.job.id, data: { attempt: 1, list: [1, 'two'] } });
    const first = logs(await http(s, 'GET', `/jobs/${id}/logs?limit=2`));
    expect(first).toEqual({ logs: logs(all).logs.slice(0, 2), next: logs(all).logs[1]!.id });
    const rest = logs(await http(s, 'GET', `/jobs/${id}/logs?after=${first.next}&limit=10`));
    expect(rest).toEqual({ logs: logs(all).logs.slice(2), next: null });
    const second = logs(await http(s, 'GET', `/jobs/${id}/logs?attempt=2&after=0`));
    expect(second.logs.map((e) => e.message)).toEqual(['begin', 'step', 'done']);

    const ghost = await http(s, 'GET', '/jobs/ghost/logs');
    expect(ghost.status).toBe(404);
    expect(ghost.body.error.code).toBe('job_not_found');
    for (const q of [
      'limit=0',
      'limit=1001',
      'after=-1',
      'after=x',
      'attempt=0',
      'attempt=1.5',
      'level=info',
    ]) {
      const refused = await http(s, 'GET', `/jobs/${id}/logs?${q}`);
      expect(refused.status, q).toBe(400);
      expect(refused.body.error.code, q).toBe('invalid_request');
      expect(refused.body.error.message, q).toMatch(/^Invalid logs query/);
      expect(Array.isArray(refused.body.error.details), q).toBe(true);
    }
  });

  it('POST /pause and /resume, GET /pauses: a paused type waits and /health and /metrics say so', async () => {
    const s = await start();
    expect((await http(s, 'GET', '/pauses')).body).toEqual({ all: false, types: [] });
    const paused = await http(s, 'POST', '/pause', { type: 'echo' });
    expect(paused).toMatchObject({ status: 200, body: { all: false, types: ['echo'] } });
    const { body } = await http(s, 'POST', '/jobs', { type: 'echo', input: 1 });
    expect((await http(s, 'POST', '/pause')).body).toEqual({ all: true, types: ['echo'] });
    const health = await http(s, 'GET', '/health');
    expect(health).toMatchObject({
      status: 200,
      body: { status: 'ok', paused: { all: true, types: ['echo'] } },
    });
    const metrics = (await http(s, 'GET', '/metrics')).text;
    expect(metrics).toContain('jobvisor_paused 1');
    expect(metrics).toContain('jobvisor_paused_type{type="echo"} 1');
    expect(s.supervisor.get(body.job.id)?.status).toBe('pending');
    await http(s, 'POST', '/resume', {});
    expect((await http(s, 'POST', '/resume', { type: 'echo' })).body).toEqual({ all: false, types: [] });
    expect((await s.supervisor.waitFor(body.job.id)).status).toBe('completed');
    expect((await http(s, 'GET', '/metrics')).text).toContain('jobvisor_paused 0');
  });

  it('PUT /schedules/:name sets a schedule (the same again changes nothing), GET /schedules lists them, DELETE removes one', async () => {
    const s = await start();
    const nightly = {
      type: 'typed',
      input: { n: 2 },
      cron: '30 3 * * *',
      timezone: 'Europe/Berlin',
      key: 'n',
    };
    const put = await http(s, 'PUT', '/schedules/nightly', nightly);
    expect(put.status).toBe(200);
    expect(put.body.schedule).toMatchObject({
      ...nightly,
      name: 'nightly',
      everyMs: null,
      priority: 0,
      missed: 'latest',
      lastAt: null,
      lastJobId: null,
    });
    // The next occurrence is 03:30 in Berlin, whatever UTC says.
    const berlin = new Intl.DateTimeFormat('en-GB', {
      timeZone: 'Europe/Berlin',
      hour: '2-digit',
      minute: '2-digit',
    });
    expect(berlin.format(put.body.schedule.nextAt!)).toBe('03:30');
    const again = await http(s, 'PUT', '/schedules/nightly', nightly);
    expect(again.body.schedule.anchor).toBe(put.body.schedule.anchor);
    const hourly = await http(s, 'PUT', '/schedules/hourly.echo', {
      type: 'echo',
      everyMs: 3_600_000,
      missed: 'skip',
      priority: 3,
    });
    expect(hourly.body.schedule).toMatchObject({
      cron: null,
      everyMs: 3_600_000,
      missed: 'skip',
      priority: 3,
    });
    expect(hourly.body.schedule.nextAt).toBe(hourly.body.schedule.anchor + 3_600_000);

    const listed = await http(s, 'GET', '/schedules');
    expect(listed.status).toBe(200);
    expect(listed.body.schedules.map((x) => x.name).sort()).toEqual(['hourly.echo', 'nightly']);
    expect(listed.body.schedules).toEqual(JSON.parse(JSON.stringify(await s.supervisor.schedules())));

    // A bad cron pattern or time zone is refused by the supervisor's check: 400, nothing changed.
    for (const bad of [
      { type: 'echo', cron: '61 * * * *' },
      { type: 'echo', cron: '* * * * *', timezone: 'Mars/Olympus' },
    ]) {
      const refused = await http(s, 'PUT', '/schedules/nightly', bad);
      expect(refused).toMatchObject({ status: 400, body: { error: { code: 'invalid_request' } } });
    }
    expect((await s.supervisor.schedules()).find((x) => x.name === 'nightly')).toMatchObject(nightly);

    const removed = await http(s, 'DELETE', '/schedules/nightly');
    expect(removed).toMatchObject({ status: 200, body: { schedule: { name: 'nightly', type: 'typed' } } });
    expect((await http(s, 'GET', '/schedules')).body.schedules.map((x) => x.name)).toEqual(['hourly.echo']);
    const gone = await http(s, 'DELETE', '/schedules/nightly');
    expect(gone).toMatchObject({ status: 404, body: { error: { code: 'schedule_not_found' } } });
    const garbled = await http(s, 'DELETE', '/schedules/%E0%A4%A');
    expect(garbled.body.error.message).toBe('The schedule name in the path is not valid percent-encoding');
  });

  it('a schedule set over HTTP starts its jobs (ids derived from name and time); its removal leaves them', async () => {
    const s = await start();
    const completed = new Map<string, Deferred<void>>();
    const completion = (id: string) => completed.get(id) ?? completed.set(id, deferred()).get(id)!;
    s.supervisor.subscribe((c) => c.kind === 'completed' && completion(c.jobId).resolve(), { type: 'echo' });
    const put = await http(s, 'PUT', '/schedules/often', { type: 'echo', everyMs: 100, input: 'tick' });
    const first = occurrenceId('often', put.body.schedule.anchor + 100);
    await completion(first).promise;
    const removed = await http(s, 'DELETE', '/schedules/often');
    const { lastJobId, lastAt } = removed.body.schedule;
    expect(lastAt).toBeGreaterThanOrEqual(put.body.schedule.anchor + 100);
    expect(lastJobId).toBe(occurrenceId('often', lastAt!));
    await completion(lastJobId!).promise; // taken before the removal: started all the same
    expect(await s.supervisor.find(first)).toMatchObject({
      type: 'echo',
      input: 'tick',
      status: 'completed',
    });
    expect(await s.supervisor.find(lastJobId!)).toMatchObject({ type: 'echo', input: 'tick' });
    expect((await http(s, 'GET', '/schedules')).body.schedules).toEqual([]);
  });

  it('POST /jobs/:id/retry makes a cancelled job pending again; 409 for a live one; POST /bulk/retry counts', async () => {
    const s = await start();
    const { body } = await http(s, 'POST', '/jobs', { type: 'gated', key: 'r' });
    expect((await http(s, 'POST', `/jobs/${body.job.id}/retry`)).body.error.code).toBe('job_not_retryable');
    await s.supervisor.cancel(body.job.id);
    const retried = await http(s, 'POST', `/jobs/${body.job.id}/retry`);
    expect(retried).toMatchObject({
      status: 200,
      body: { retried: true, job: { id: body.job.id, status: 'pending' } },
    });
    await s.supervisor.cancel(body.job.id);
    const bulk = await http(s, 'POST', '/bulk/retry', { ids: [body.job.id, 'ghost'] });
    expect(bulk.body).toMatchObject({ matched: 2, retried: 1, notFound: 1 });
    expect((await http(s, 'POST', '/bulk/retry', { status: 'completed' })).status).toBe(400);
    expect((await http(s, 'POST', '/jobs/ghost/retry')).status).toBe(404);
  });

  it('DELETE /jobs/:id removes a finished job (409 job_not_finished for a live one); POST /bulk/remove counts', async () => {
    const s = await start();
    const { body } = await http(s, 'POST', '/jobs', { type: 'echo', input: 1 });
    await s.supervisor.waitFor(body.job.id);
    const live = await http(s, 'POST', '/jobs', { type: 'gated' });
    const refused = await http(s, 'DELETE', `/jobs/${live.body.job.id}`);
    expect(refused).toMatchObject({ status: 409, body: { error: { code: 'job_not_finished' } } });
    const removed = await http(s, 'DELETE', `/jobs/${body.job.id}`);
    expect(removed).toMatchObject({ status: 200, body: { removed: true, job: { id: body.job.id } } });
    expect((await http(s, 'GET', `/jobs/${body.job.id}`)).status).toBe(404);
    expect((await http(s, 'DELETE', `/jobs/${body.job.id}`)).status).toBe(404);
    const other = await http(s, 'POST', '/jobs', { type: 'echo', input: 2 });
    await s.supervisor.waitFor(other.body.job.id);
    const bulk = await http(s, 'POST', '/bulk/remove', { status: ['completed'], type: 'echo' });
    expect(bulk.body).toEqual({ matched: 1, removed: 1, live: 0, notFound: 0, jobIds: [other.body.job.id] });
    expect((await http(s, 'POST', '/bulk/remove', {})).status).toBe(400);
  });

  it('GET /health and GET /metrics', async () => {
    const s = await start();
    const { body } = await http(s, 'POST', '/jobs', { type: 'echo', key: 'x' });
    await http(s, 'POST', '/jobs', { type: 'gated', key: 'g' });
    await http(s, 'POST', '/jobs', { type: 'gated', key: 'g' });
    await s.supervisor.waitFor(body.job.id);
    const health = await http(s, 'GET', '/health');
    expect(health.status).toBe(200);
    expect(health.body).toEqual({
      status: 'ok',
      lifecycle: 'accepting',
      live: 1,
      offset: s.supervisor.offset,
      node: s.supervisor.node,
      paused: { all: false, types: [] },
    });
    const metrics = await http(s, 'GET', '/metrics');
    expect(metrics.status).toBe(200);
    expect(metrics.headers.get('content-type')).toContain('text/plain; version=0.0.4');
    const text = metrics.text;
    // By job type (and status): prom-client's exposition.
    expect(text).toContain('jobvisor_jobs{type="echo",status="completed"} 1');
    const { id, label } = s.supervisor.node;
    expect(text).toContain(`jobvisor_node_info{node="${id}",label="${label}"} 1`);
    expect(text).toContain('jobvisor_jobs{type="gated",status="running"} 1');
    expect(text).toContain('jobvisor_jobs_finished_total{type="echo",status="completed"} 1');
    expect(text).toContain('jobvisor_starts_total 3');
    expect(text).toContain('jobvisor_dedup_hits_total 1');
    expect(text).toContain('jobvisor_rejected_events_total{reason="job_final"} 0');
    expect(text).toContain('jobvisor_stalls_total 0');
    expect(text).toContain('jobvisor_handler_duration_seconds_count{type="echo"} 1');
    expect(text).toContain('jobvisor_handler_duration_seconds_bucket{le="+Inf",type="echo"} 1');
    expect(text).toMatch(/# TYPE jobvisor_handler_duration_seconds histogram/);
    // Node's default process metrics, in the server's own registry.
    expect(text).toMatch(/^process_cpu_user_seconds_total \d/m);
    expect(text).toMatch(/^nodejs_eventloop_lag_seconds \d/m);
    expect(text).toContain('# TYPE nodejs_gc_duration_seconds histogram');
  });
});

describe('bad input: a coded error, and afterwards the server serves and no job changed', () => {
  const big = JSON.stringify({ type: 'echo', input: 'x'.repeat(5_000) });
  const cases: [string, string, string, unknown, number, string, Record<string, string>?][] = [
    ['malformed JSON', 'POST', '/jobs', '{"type": "echo",', 400, 'invalid_request'],
    ['a wrong type', 'POST', '/jobs', { type: 5 }, 400, 'invalid_request'],
    ['an unknown field', 'POST', '/jobs', { type: 'echo', urgency: 1 }, 400, 'invalid_request'],
    ['a fractional priority', 'POST', '/jobs', { type: 'echo', priority: 1.5 }, 400, 'invalid_request'],
    ['an empty batch', 'POST', '/bulk/start', { jobs: [] }, 400, 'invalid_request'],
    [
      'a batch with a bad start',
      'POST',
      '/bulk/start',
      { jobs: [{ type: 'echo' }, { type: 5 }] },
      400,
      'invalid_request',
    ],
    [
      'a batch of an unknown type',
      'POST',
      '/bulk/start',
      { jobs: [{ type: 'nope' }] },
      400,
      'invalid_request',
    ],
    ['a pause of an unknown type', 'POST', '/pause', { type: 'nope' }, 400, 'unknown_job_type'],
    ['a pause with a wrong field', 'POST', '/pause', { types: ['echo'] }, 400, 'invalid_request'],
    ['a resume of an empty type', 'POST', '/resume', { type: '' }, 400, 'invalid_request'],
    ['a schedule without cron or everyMs', 'PUT', '/schedules/s1', { type: 'echo' }, 400, 'invalid_request'],
    [
      'a schedule with both cron and everyMs',
      'PUT',
      '/schedules/s1',
      { type: 'echo', cron: '* * * * *', everyMs: 1_000 },
      400,
      'invalid_request',
    ],
    ['a schedule every 50 ms', 'PUT', '/schedules/s1', { type: 'echo', everyMs: 50 }, 400, 'invalid_request'],
    [
      'a time zone for an interval',
      'PUT',
      '/schedules/s1',
      { type: 'echo', everyMs: 1_000, timezone: 'UTC' },
      400,
      'invalid_request',
    ],
    [
      'an unknown schedule field',
      'PUT',
      '/schedules/s1',
      { type: 'echo', everyMs: 1_000, at: 5 },
      400,
      'invalid_request',
    ],
    [
      'a bad missed policy',
      'PUT',
      '/schedules/s1',
      { type: 'echo', everyMs: 1_000, missed: 'all' },
      400,
      'invalid_request',
    ],
    [
      'a schedule name with a space',
      'PUT',
      '/schedules/a%20b',
      { type: 'echo', everyMs: 1_000 },
      400,
      'invalid_request',
    ],
    [
      'a schedule name of 101 characters',
      'PUT',
      `/schedules/${'n'.repeat(101)}`,
      { type: 'echo', everyMs: 1_000 },
      400,
      'invalid_request',
    ],
    [
      'a schedule name in bad percent-encoding',
      'DELETE',
      '/schedules/%E0%A4%A',
      undefined,
      400,
      'invalid_request',
    ],
    ['a schedule without a body', 'PUT', '/schedules/s1', undefined, 400, 'invalid_request'],
    [
      'a schedule of an unknown type',
      'PUT',
      '/schedules/s1',
      { type: 'nope', everyMs: 1_000 },
      400,
      'unknown_job_type',
    ],
    [
      'a schedule whose input fails the schema',
      'PUT',
      '/schedules/s1',
      { type: 'typed', everyMs: 1_000, input: { n: 'one' } },
      400,
      'invalid_input',
    ],
    ['an oversized schedule', 'PUT', '/schedules/s1', big, 413, 'payload_too_large'],
    ['an unknown schedule', 'DELETE', '/schedules/ghost', undefined, 404, 'schedule_not_found'],
    ['a POST of schedules', 'POST', '/schedules', { type: 'echo' }, 405, 'method_not_allowed'],
    ['a GET of one schedule', 'GET', '/schedules/s1', undefined, 405, 'method_not_allowed'],
    [
      'a schedule without the token',
      'PUT',
      '/schedules/s1',
      { type: 'echo', everyMs: 1_000 },
      401,
      'unauthorized',
      {},
    ],
    ['an empty bulk cancel', 'POST', '/bulk/cancel', {}, 400, 'invalid_request'],
    ['a bulk cancel of finished jobs', 'POST', '/bulk/cancel', { status: 'failed' }, 400, 'invalid_request'],
    [
      'both runAt and delayMs',
      'POST',
      '/jobs',
      { type: 'echo', runAt: 1, delayMs: 1 },
      400,
      'invalid_request',
    ],
    ['a negative delay', 'POST', '/jobs', { type: 'echo', delayMs: -5 }, 400, 'invalid_request'],
    [
      'a time without offset',
      'POST',
      '/jobs',
      { type: 'echo', runAt: '2100-01-01T00:00' },
      400,
      'invalid_request',
    ],
    ['a bad onConflict', 'POST', '/jobs', { type: 'echo', onConflict: 'maybe' }, 400, 'invalid_request'],
    ['no body', 'POST', '/jobs', undefined, 400, 'invalid_request'],
    ['an oversized body', 'POST', '/jobs', big, 413, 'payload_too_large'],
    ['an unknown job type', 'POST', '/jobs', { type: 'nope' }, 400, 'unknown_job_type'],
    [
      'input against the schema',
      'POST',
      '/jobs',
      { type: 'typed', input: { n: 'one' } },
      400,
      'invalid_input',
    ],
    ['an unknown job id', 'GET', '/jobs/ghost', undefined, 404, 'job_not_found'],
    ['cancel of an unknown id', 'POST', '/jobs/ghost/cancel', undefined, 404, 'job_not_found'],
    ['an unknown cancel field', 'POST', '/jobs/ghost/cancel', { why: 'x' }, 400, 'invalid_request'],
    ['a bad limit', 'GET', '/jobs?limit=abc', undefined, 400, 'invalid_request'],
    ['the logs of an unknown job', 'GET', '/jobs/ghost/logs', undefined, 404, 'job_not_found'],
    ['a logs limit over 1,000', 'GET', '/jobs/ghost/logs?limit=1001', undefined, 400, 'invalid_request'],
    ['an unknown logs query field', 'GET', '/jobs/ghost/logs?level=info', undefined, 400, 'invalid_request'],
    ['a POST of logs', 'POST', '/jobs/ghost/logs', {}, 405, 'method_not_allowed'],
    ['logs without the token', 'GET', '/jobs/ghost/logs', undefined, 401, 'unauthorized', {}],
    ['an unknown query field', 'GET', '/jobs?colour=red', undefined, 400, 'invalid_request'],
    ['a bad status', 'GET', '/jobs?status=done', undefined, 400, 'invalid_request'],
    ['a bad cursor', 'GET', '/jobs?after=garbage', undefined, 400, 'invalid_request'],
    ['an unknown route', 'GET', '/nope', undefined, 404, 'not_found'],
    ['a wrong method', 'DELETE', '/jobs', undefined, 405, 'method_not_allowed'],
    ['a missing token', 'GET', '/health', undefined, 401, 'unauthorized', {}],
    ['a wrong token', 'GET', '/jobs', undefined, 401, 'unauthorized', { authorization: 'Bearer wrong' }],
    [
      'a token of another length',
      'POST',
      '/jobs',
      { type: 'echo' },
      401,
      'unauthorized',
      { authorization: 'Bearer s' },
    ],
  ];

  it.each(cases)('%s', async (_name, method, path, body, status, code, auth) => {
    const token = 'secret-token';
    const s = await start({ server: { maxBodyBytes: 4_096, token } });
    const ok = { authorization: `Bearer ${token}` };
    await http(s, 'POST', '/jobs', { type: 'gated', key: 'held' }, ok);
    const before = { jobs: s.supervisor.list(), offset: s.supervisor.offset };
    const answer = await http(s, method, path, body, auth ?? ok);
    expect(answer.status).toBe(status);
    expect(answer.body.error.code).toBe(code);
    expect(typeof answer.body.error.message).toBe('string');
    if (code === 'invalid_request' && typeof body === 'object')
      expect(Array.isArray(answer.body.error.details)).toBe(true);
    expect(s.supervisor.list()).toEqual(before.jobs);
    expect(s.supervisor.offset).toBe(before.offset);
    expect(await s.supervisor.schedules()).toEqual([]);
    const health = await http(s, 'GET', '/health', undefined, ok);
    expect(health.body.status).toBe('ok');
    const created = await http(s, 'POST', '/jobs', { type: 'echo' }, ok);
    expect(created.status).toBe(201);
  });

  it('a valid token passes', async () => {
    const s = await start({ server: { token: 't0k' } });
    expect((await http(s, 'GET', '/health', undefined, { authorization: 'Bearer t0k' })).status).toBe(200);
  });
});

describe('load (loopback, bounded)', () => {
  it('1,000 creates at concurrency 50 over 100 keys make exactly 100 jobs and 100 executions', async () => {
    const s = await start({ supervisor: { concurrency: 200 } });
    let next = 0;
    const statuses: number[] = [];
    const worker = async () => {
      while (next < 1_000) {
        const i = next++;
        const answer = await http(s, 'POST', '/jobs', { type: 'gated', input: i, key: `key-${i % 100}` });
        statuses.push(answer.status);
      }
    };
    await Promise.all(Array.from({ length: 50 }, worker));
    expect(statuses.filter((x) => x === 201)).toHaveLength(100);
    expect(statuses.filter((x) => x === 200)).toHaveLength(900);
    expect(s.supervisor.list()).toHaveLength(100);
    for (const call of s.gated) call.done.resolve('ok');
    await Promise.all(s.supervisor.list().map((j) => s.supervisor.waitFor(j.id)));
    expect(s.executions.size).toBe(100);
    expect([...s.executions.values()].every((n) => n === 1)).toBe(true);
    expect(s.supervisor.list({ status: 'completed' })).toHaveLength(100);
  });
});
