/**
 * The CLI end to end: real `jobvisor serve` children (port 0, temp SQLite file, the bundled example
 * handlers) and real CLI invocations as child processes. Waits on output lines and exit events only.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort, runCli, spawnCli, startServe, type Served } from './cli-process.js';

const dirs: string[] = [];
const servers: Served[] = [];

function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'jobvisor-cli-'));
  dirs.push(dir);
  return dir;
}

const cli = runCli;

/** Starts `jobvisor serve --port 0` (stopped after all tests) once it is listening. */
async function serve(args: string[]): Promise<Served> {
  const served = await startServe(args);
  servers.push(served);
  return served;
}

/** The last JSON line of an NDJSON output. */
function lastJson(stdout: string): { job: { id: string; status: string; result: unknown; error: unknown } } {
  const lines = stdout.trim().split('\n');
  return JSON.parse(lines[lines.length - 1]!) as ReturnType<typeof lastJson>;
}

afterAll(async () => {
  await Promise.all(servers.map((s) => s.stop()));
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

describe('jobvisor CLI against a running server', { timeout: 30_000 }, () => {
  let server: Served;
  let url: string[];
  beforeAll(async () => {
    server = await serve(['--db', join(tempDir(), 'jobs.db'), '--handlers', './examples/handlers.ts']);
    url = ['--url', server.url];
  });

  it('start --json answers with the created job; start --watch --json follows it to completed (exit 0)', async () => {
    const started = await cli(['start', 'sleep', '--input', '{"ms":10}', '--json', ...url]);
    expect(started.code, started.stderr).toBe(0);
    const answer = JSON.parse(started.stdout) as { job: { id: string; type: string }; deduplicated: boolean };
    expect(answer.job.type).toBe('sleep');
    expect(answer.deduplicated).toBe(false);

    const urgent = await cli(['start', 'sleep', '--input', '{"ms":1}', '--priority', '7', '--json', ...url]);
    expect(urgent.code, urgent.stderr).toBe(0);
    expect(JSON.parse(urgent.stdout)).toMatchObject({ job: { type: 'sleep', priority: 7 } });
    const fractional = await cli(['start', 'sleep', '--priority', '1.5', ...url]);
    expect(fractional.code).toBe(2);
    expect(fractional.stderr).toContain('--priority');

    const delayed = await cli(['start', 'sleep', '--input', '{"ms":1}', '--delay', '2h', '--json', ...url]);
    expect(delayed.code, delayed.stderr).toBe(0);
    const later = (JSON.parse(delayed.stdout) as { job: { runAt: number; createdAt: number } }).job;
    expect(later).toMatchObject({ state: 'pending.scheduled' });
    expect(later.runAt - later.createdAt).toBeGreaterThanOrEqual(2 * 3_600_000 - 1_000);
    const at = await cli(['start', 'sleep', '--input', '{"ms":1}', '--at', '2100-01-01T00:00:00Z', ...url]);
    expect(at.code, at.stderr).toBe(0);
    expect(at.stdout).toMatch(/^scheduled job \S+ \(sleep\) for 2100-01-01T00:00:00\.000Z/);
    for (const bad of [
      ['--delay', 'soon'],
      ['--at', 'tomorrow'],
      ['--delay', '5m', '--at', '2100-01-01T00:00:00Z'],
    ]) {
      const refused = await cli(['start', 'sleep', ...bad, ...url]);
      expect(refused.code, bad.join(' ')).toBe(2);
      expect(refused.stderr).toMatch(/--delay|--at/);
    }

    const watched = await cli(['start', 'sleep', '--input', '{"ms":200}', '--watch', '--json', ...url]);
    expect(watched.code, watched.stderr).toBe(0);
    const final = lastJson(watched.stdout).job;
    expect(final.status).toBe('completed');
    expect(final.result).toEqual({ slept: 200 });

    const text = await cli(['watch', answer.job.id, ...url]);
    expect(text.code).toBe(0);
    expect(text.stdout).toContain(`job ${answer.job.id} (sleep) completed`);
  });

  it('start --watch of a job that fails exits 1 and names the error', async () => {
    const result = await cli(['start', 'fail', '--input', '{"message":"no data"}', '--watch', ...url]);
    expect(result.code).toBe(1);
    expect(result.stdout).toMatch(/failed.*no data \(example_failure\)/);
  });

  it('cancel exits 0; ls shows the job cancelled; watch of it exits 3', async () => {
    const started = await cli([
      'start',
      'sleep',
      '--input',
      '{"ms":600000}',
      '--key',
      'cli-cancel',
      '--json',
      ...url,
    ]);
    expect(started.code, started.stderr).toBe(0);
    const id = (JSON.parse(started.stdout) as { job: { id: string } }).job.id;

    const cancelled = await cli(['cancel', id, '--reason', 'not needed', '--json', ...url]);
    expect(cancelled.code, cancelled.stderr).toBe(0);
    expect(JSON.parse(cancelled.stdout)).toMatchObject({ cancelled: true, job: { id, status: 'cancelled' } });

    // start-many from JSON Lines, then cancel in bulk: by ids, and by a filter.
    const file = join(tempDir(), 'batch.jsonl');
    const lines = [0, 1, 2].map((i) =>
      JSON.stringify({ type: 'sleep', input: { ms: 600_000 }, key: `many-${i}` }),
    );
    writeFileSync(file, `${lines.join('\n')}\n\n${lines[0]!}\n`);
    const many = await cli(['start-many', file, '--json', ...url]);
    expect(many.code, many.stderr).toBe(0);
    const batch = JSON.parse(many.stdout) as {
      created: number;
      deduplicated: number;
      results: { job: { id: string } }[];
    };
    expect(batch).toMatchObject({ created: 3, deduplicated: 1 });
    const text = await cli(['start-many', file, ...url]);
    expect(text.stdout).toContain('started 0 jobs, joined 4, 0 failed');
    const badFile = join(tempDir(), 'bad.jsonl');
    writeFileSync(badFile, `${lines[0]!}\n{"type":\n`);
    const bad = await cli(['start-many', badFile, ...url]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('line 2 is not valid JSON');

    const [first, second] = batch.results.map((r) => r.job.id);
    const byIds = await cli(['cancel', first!, second!, 'ghost', ...url]);
    expect(byIds.code, byIds.stderr).toBe(0);
    expect(byIds.stdout).toContain('cancelled 2 of 3 jobs (1 not found)');
    const byFilter = await cli([
      'cancel',
      '--type',
      'sleep',
      '--status',
      'pending,running',
      '--json',
      ...url,
    ]);
    expect(byFilter.code, byFilter.stderr).toBe(0);
    expect(JSON.parse(byFilter.stdout)).toMatchObject({ cancelled: expect.any(Number) as number });
    expect(
      (await cli(['ls', '--status', 'pending,running', '--type', 'sleep', '--json', ...url])).stdout,
    ).toContain('"jobs":[]');
    for (const wrong of [
      ['cancel', ...url],
      ['cancel', first!, '--type', 'sleep', ...url],
      ['cancel', '--status', 'done', ...url],
    ]) {
      expect((await cli(wrong)).code, wrong.join(' ')).toBe(2);
    }

    // pause / resume: a type, then the whole supervisor; --list shows them.
    expect((await cli(['pause', 'sleep', ...url])).stdout).toContain('paused: sleep');
    expect((await cli(['pause', ...url])).stdout).toContain('the whole supervisor is paused (and sleep)');
    expect(JSON.parse((await cli(['pause', '--list', '--json', ...url])).stdout)).toEqual({
      all: true,
      types: ['sleep'],
    });
    expect((await cli(['resume', ...url])).stdout).toContain('paused: sleep');
    expect((await cli(['resume', 'sleep', ...url])).stdout).toContain('nothing is paused');
    const unknown = await cli(['pause', 'nope', ...url]);
    expect(unknown.code).toBe(5);
    expect(unknown.stderr).toContain('unknown_job_type');
    expect((await cli(['pause', 'a', 'b', ...url])).code).toBe(2);

    // rm: a finished job, then in bulk (ids and a filter); a live job is left.
    const finished = await cli(['start', 'sleep', '--input', '{"ms":1}', '--watch', '--json', ...url]);
    const finishedId = lastJson(finished.stdout).job.id;
    expect((await cli(['rm', finishedId, ...url])).stdout).toContain(`removed job ${finishedId}`);
    expect((await cli(['rm', finishedId, ...url])).code).toBe(5);
    // retry: a cancelled job runs again (the same job), then in bulk; a live one is refused.
    const again = await cli(['retry', first!, ...url]);
    expect(again.code, again.stderr).toBe(0);
    expect(again.stdout).toContain(`retried job ${first!}`);
    expect((await cli(['retry', first!, ...url])).code).toBe(5); // live now
    await cli(['cancel', first!, ...url]);
    const retriedMany = await cli(['retry', '--status', 'cancelled', '--type', 'nosuchtype', ...url]);
    expect(retriedMany.stdout).toContain('retried 0 of 0 jobs');
    expect((await cli(['retry', '--status', 'completed', ...url])).code).toBe(2);

    const removedMany = await cli(['rm', first!, second!, '--json', ...url]);
    expect(removedMany.code, removedMany.stderr).toBe(0);
    expect(JSON.parse(removedMany.stdout)).toMatchObject({ matched: 2, removed: 2 });
    const byFilter2 = await cli([
      'rm',
      '--status',
      'failed',
      '--type',
      'sleep',
      '--older-than',
      '1h',
      ...url,
    ]);
    expect(byFilter2.code, byFilter2.stderr).toBe(0);
    expect(byFilter2.stdout).toContain('removed 0 of 0 jobs');
    expect((await cli(['rm', '--status', 'running', ...url])).code).toBe(2);

    const [listed, table, watched] = await Promise.all([
      cli(['ls', '--status', 'cancelled', '--json', ...url]),
      cli(['ls', '--type', 'sleep', ...url]),
      cli(['watch', id, ...url]),
    ]);
    expect(listed.code, listed.stderr).toBe(0);
    const page = JSON.parse(listed.stdout) as { jobs: { id: string; status: string }[]; next: string | null };
    expect(page.jobs.find((job) => job.id === id)?.status).toBe('cancelled');
    expect(table.code).toBe(0);
    expect(table.stdout).toMatch(/^ID\s+TYPE\s+STATUS/);
    expect(table.stdout).toMatch(new RegExp(`${id}\\s+sleep\\s+cancelled`));
    expect(watched.code).toBe(3);
  });

  it('schedule sets a repeatable job, schedules lists them (a table or --json), unschedule removes one', async () => {
    const set = await cli([
      'schedule',
      'nightly-report',
      '--type',
      'sleep',
      '--cron',
      '30 3 * * *',
      '--tz',
      'Europe/Berlin',
      '--input',
      '{"ms":1}',
      '--key',
      'nightly',
      '--priority',
      '2',
      '--missed',
      'skip',
      '--json',
      ...url,
    ]);
    expect(set.code, set.stderr).toBe(0);
    expect(JSON.parse(set.stdout)).toMatchObject({
      schedule: {
        name: 'nightly-report',
        type: 'sleep',
        cron: '30 3 * * *',
        timezone: 'Europe/Berlin',
        everyMs: null,
        input: { ms: 1 },
        key: 'nightly',
        priority: 2,
        missed: 'skip',
        lastAt: null,
      },
    });
    const every = await cli([
      'schedule',
      'tick',
      '--type',
      'sleep',
      '--every',
      '90m',
      '--input',
      '{"ms":1}',
      ...url,
    ]);
    expect(every.code, every.stderr).toBe(0);
    expect(every.stdout).toMatch(/^schedule tick: sleep, every 90m, next \d{4}-\d\d-\d\dT[\d:.]+Z\n$/);

    const [table, listed] = await Promise.all([
      cli(['schedules', ...url]),
      cli(['schedules', '--json', ...url]),
    ]);
    expect(table.code, table.stderr).toBe(0);
    expect(table.stdout).toMatch(/^NAME\s+TYPE\s+SCHEDULE\s+TIME ZONE\s+NEXT\s+LAST\s+LAST JOB\n/);
    expect(table.stdout).toMatch(
      /\nnightly-report\s+sleep\s+30 3 \* \* \*\s+Europe\/Berlin\s+\d{4}-\d\d-\d\dT\d\d:30:00\.000Z\s+—/,
    );
    expect(table.stdout).toMatch(/\ntick\s+sleep\s+every 90m\s+\d{4}-[\dT:.-]+Z\s+—/);
    const { schedules } = JSON.parse(listed.stdout) as {
      schedules: { name: string; everyMs: number | null }[];
    };
    expect(schedules.find((x) => x.name === 'tick')?.everyMs).toBe(5_400_000);

    const removed = await cli(['unschedule', 'tick', ...url]);
    expect(removed.code, removed.stderr).toBe(0);
    expect(removed.stdout).toBe('removed schedule tick (sleep, every 90m); the jobs it started stay\n');
    const [again, after] = await Promise.all([
      cli(['unschedule', 'tick', ...url]),
      cli(['schedules', '--json', ...url]),
    ]);
    expect(again.code).toBe(5);
    expect(again.stderr).toBe('jobvisor: No schedule is named "tick" (schedule_not_found).\n');
    expect(
      (JSON.parse(after.stdout) as { schedules: { name: string }[] }).schedules.map((x) => x.name),
    ).toEqual(['nightly-report']);

    // What the server refuses exits 5 with its code, on one line and without a stack.
    const refusals = await Promise.all(
      [
        [['--type', 'sleep', '--input', '{"ms":1}', '--cron', '61 * * * *'], 'invalid_request'],
        [
          ['--type', 'sleep', '--input', '{"ms":1}', '--cron', '* * * * *', '--tz', 'Mars/Olympus'],
          'invalid_request',
        ],
        [['--type', 'sleep', '--input', '{"ms":"soon"}', '--every', '1h'], 'invalid_input'],
        [['--type', 'nope', '--every', '1h'], 'unknown_job_type'],
      ].map(async ([args, code]) => ({ code, result: await cli(['schedule', 'bad', ...args!, ...url]) })),
    );
    for (const { code, result } of refusals) {
      expect(result.code, result.stderr).toBe(5);
      expect(result.stderr.trim().split('\n')).toEqual([expect.stringContaining(`(${code as string})`)]);
    }
    expect((await cli(['unschedule', 'nightly-report', ...url])).code).toBe(0);
  });

  it('schedule, unschedule and schedules refuse bad usage with exit 2 and a line naming the option', async () => {
    const usage = await Promise.all(
      [
        [['schedule', 'x', '--cron', '* * * * *'], '--type: is required'],
        [['schedule', 'x', '--type', 'sleep'], '--cron: give --cron or --every (exactly one)'],
        [['schedule', 'x', '--type', 'sleep', '--cron', '* * * * *', '--every', '5m'], 'exactly one'],
        [
          ['schedule', 'x', '--type', 'sleep', '--every', '5m', '--tz', 'UTC'],
          '--tz: a time zone applies to --cron only',
        ],
        [['schedule', 'x', '--type', 'sleep', '--every', '50'], '--every: must be at least 100 ms'],
        [['schedule', 'x', '--type', 'sleep', '--every', 'soon'], '--every: must be a duration'],
        [
          ['schedule', 'x', '--type', 'sleep', '--every', '5m', '--missed', 'all'],
          '--missed: must be latest or skip',
        ],
        [['schedule', 'x', '--type', 'sleep', '--every', '5m', '--input', '{'], '--input: is not valid JSON'],
        [['schedule', 'a b', '--type', 'sleep', '--every', '5m'], 'NAME must be 1 to 100 letters'],
        [['schedule', '--type', 'sleep', '--every', '5m'], 'NAME (the schedule name) is required'],
        [['unschedule', 'a', 'b'], 'unexpected argument "b"'],
        [['schedules', 'extra'], 'this command takes no arguments'],
      ].map(async ([args, text]) => ({ text, result: await cli([...args!, ...url]) })),
    );
    for (const { text, result } of usage) {
      expect(result.code, result.stderr).toBe(2);
      expect(result.stderr).toContain(text as string);
      expect(result.stderr).not.toMatch(/^\s+at /m);
    }
  });

  it("logs prints a job's log per attempt (text or --json); --follow prints each new line until the job is final, then exits 0", async () => {
    // A delayed start: the follow is there before the job's first line.
    const started = await cli(['start', 'flaky', '--delay', '1500', '--json', ...url]);
    expect(started.code, started.stderr).toBe(0);
    const id = (JSON.parse(started.stdout) as { job: { id: string } }).job.id;
    const followed = await cli(['logs', id, '--follow', ...url]);
    expect(followed.code, followed.stderr).toBe(0);
    const time = String.raw`\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z`;
    const expected = [
      new RegExp(`^${time}  #1  attempt 1 begins  \\{"failures":1\\}$`),
      new RegExp(`^${time}  #1  failing on purpose$`),
      new RegExp(`^${time}  #2  attempt 2 begins  \\{"failures":1\\}$`),
      new RegExp(`^${time}  #2  succeeded$`),
    ];
    const lines = followed.stdout.trimEnd().split('\n');
    expect(lines).toHaveLength(expected.length);
    lines.forEach((line, i) => expect(line).toMatch(expected[i]!));
    // It exited once the job was final, after its last line.
    const job = (
      JSON.parse((await cli(['ls', '--json', ...url])).stdout) as { jobs: { id: string; status: string }[] }
    ).jobs.find((j) => j.id === id);
    expect(job?.status).toBe('completed');

    const [text, second, followedJson] = await Promise.all([
      cli(['logs', id, ...url]),
      cli(['logs', id, '--attempt', '2', '--json', ...url]),
      cli(['logs', id, '-f', '--attempt', '1', '--json', ...url]),
    ]);
    expect(text.code, text.stderr).toBe(0);
    expect(text.stdout).toBe(followed.stdout);
    expect(second.code, second.stderr).toBe(0);
    const entries = second.stdout
      .trimEnd()
      .split('\n')
      .map((line) => JSON.parse(line) as { jobId: string; attempt: number; message: string; data: unknown });
    expect(entries).toMatchObject([
      { jobId: id, attempt: 2, message: 'attempt 2 begins', data: { failures: 1 } },
      { jobId: id, attempt: 2, message: 'succeeded', data: null },
    ]);
    expect(followedJson.code, followedJson.stderr).toBe(0);
    expect(
      followedJson.stdout
        .trimEnd()
        .split('\n')
        .map((line) => (JSON.parse(line) as { message: string }).message),
    ).toEqual(['attempt 1 begins', 'failing on purpose']);

    const quiet = await cli(['start', 'fail', '--json', ...url]);
    const quietId = (JSON.parse(quiet.stdout) as { job: { id: string } }).job.id;
    expect((await cli(['logs', quietId, ...url])).stdout).toBe('no log lines\n');
  });

  it('logs refuses bad usage with exit 2, and an unknown job with exit 5, on one line without a stack', async () => {
    const results = await Promise.all(
      [
        [['logs'], 2, 'ID (the job id) is required'],
        [['logs', 'a', 'b'], 2, 'unexpected argument "b"'],
        [['logs', 'a', '--attempt', '0'], 2, '--attempt: must be at least 1'],
        [['logs', 'a', '--attempt', 'two'], 2, '--attempt: must be an integer'],
        [['logs', 'a', '--since', '5'], 2, "Unknown option '--since'"],
        [['logs', 'no-such-job'], 5, 'job_not_found'],
        [['logs', 'no-such-job', '--follow'], 5, 'job_not_found'],
      ].map(async ([args, code, text]) => ({
        code,
        text,
        result: await cli([...(args as string[]), ...url]),
      })),
    );
    for (const { code, text, result } of results) {
      expect(result.code, result.stderr).toBe(code);
      expect(result.stderr).toContain(text as string);
      expect(result.stderr).not.toMatch(/^\s+at /m);
      if (code === 5) expect(result.stderr.trim().split('\n')).toHaveLength(1);
    }
    const json = await cli(['logs', 'no-such-job', '--json', ...url]);
    expect(json.code).toBe(5);
    expect(JSON.parse(json.stdout)).toMatchObject({ error: { code: 'job_not_found' } });
  });

  it('server errors exit 5 with the code: unknown type, invalid input, unknown job', async () => {
    const [unknownType, invalid, missing] = await Promise.all([
      cli(['start', 'nope', ...url]),
      cli(['start', 'sleep', '--input', '{"ms":"soon"}', '--json', ...url]),
      cli(['watch', 'no-such-job', ...url]),
    ]);
    expect(unknownType.code).toBe(5);
    expect(unknownType.stderr).toContain('unknown_job_type');
    expect(invalid.code).toBe(5);
    expect(JSON.parse(invalid.stdout)).toMatchObject({ error: { code: 'invalid_input' } });
    expect(missing.code).toBe(5);
    expect(missing.stderr).toContain('job_not_found');
  });

  it('bad usage exits 2 with a message: unknown command, bad JSON, unknown option, bad value', async () => {
    const [unknown, badJson, badOption, badStatus, noType, none] = await Promise.all([
      cli(['frobnicate']),
      cli(['start', 'sleep', '--input', '{ms: 5}', ...url]),
      cli(['ls', '--colour', ...url]),
      cli(['ls', '--status', 'running,sleeping', ...url]),
      cli(['start']),
      cli([]),
    ]);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain('unknown command "frobnicate"');
    expect(badJson.code).toBe(2);
    expect(badJson.stderr).toContain('--input: is not valid JSON');
    expect(badOption.code).toBe(2);
    expect(badOption.stderr).toContain('--colour');
    expect(badStatus.code).toBe(2);
    expect(badStatus.stderr).toContain('unknown status "sleeping"');
    expect(noType.code).toBe(2);
    expect(noType.stderr).toContain('TYPE (the job type) is required');
    expect(none.code).toBe(2);
    expect(none.stderr).toContain('Usage:');
  });
});

describe('jobvisor watch when the server goes away', { timeout: 30_000 }, () => {
  it('exits 4 (unreachable) once it could not reconnect for JOBVISOR_GIVE_UP_MS', async () => {
    const server = await serve(['--db', join(tempDir(), 'jobs.db'), '--handlers', './examples/handlers.ts']);
    const started = await cli(['start', 'sleep', '--input', '{"ms":60000}', '--json'], {
      JOBVISOR_URL: server.url,
    });
    const { job } = lastJson(started.stdout);
    const watch = spawnCli(['watch', job.id, '--json'], {
      JOBVISOR_URL: server.url,
      JOBVISOR_GIVE_UP_MS: '300',
    });
    let stderr = '';
    watch.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const exited = new Promise<number | null>((resolve) => watch.on('exit', (code) => resolve(code)));
    // Once watch has shown the running job (it is subscribed), the server dies.
    await new Promise<void>((resolve) =>
      watch.stdout.on('data', (d: Buffer) => d.includes('"running"') && resolve()),
    );
    server.child.kill('SIGKILL');
    expect(await exited).toBe(4);
    expect(stderr).toContain('unreachable');
  });
});

describe('jobvisor logs --follow when the server goes away', { timeout: 30_000 }, () => {
  it('exits 4 (unreachable) once it could not reconnect for JOBVISOR_GIVE_UP_MS', async () => {
    const server = await serve(['--db', join(tempDir(), 'jobs.db'), '--handlers', './examples/handlers.ts']);
    const started = await cli(['start', 'sleep', '--input', '{"ms":60000}', '--json'], {
      JOBVISOR_URL: server.url,
    });
    const { job } = lastJson(started.stdout);
    const follow = spawnCli(['logs', job.id, '--follow'], {
      JOBVISOR_URL: server.url,
      JOBVISOR_GIVE_UP_MS: '300',
    });
    let stderr = '';
    follow.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const exited = new Promise<number | null>((resolve) => follow.on('exit', (code) => resolve(code)));
    // Once it has printed the job's line (it follows), the server dies.
    await new Promise<void>((resolve) =>
      follow.stdout.on('data', (d: Buffer) => d.includes('sleeping 60000 ms') && resolve()),
    );
    server.child.kill('SIGKILL');
    expect(await exited).toBe(4);
    expect(stderr).toContain('unreachable');
    expect(stderr.trim().split('\n')).toHaveLength(1);
  });
});

describe.concurrent('jobvisor CLI without a server, or with a token', { timeout: 30_000 }, () => {
  it('an unreachable server exits 4 with a clear message', async () => {
    const port = await freePort();
    const result = await cli(['ls'], { JOBVISOR_URL: `http://127.0.0.1:${port}` });
    expect(result.code).toBe(4);
    expect(result.stderr).toContain('unreachable');
    expect(result.stderr).toContain('jobvisor serve');
    for (const args of [
      ['logs', 'x'],
      ['logs', 'x', '--follow'],
    ]) {
      const logs = await cli(args, { JOBVISOR_URL: `http://127.0.0.1:${port}` });
      expect(logs.code, args.join(' ')).toBe(4);
      expect(logs.stderr).toContain('unreachable');
    }
  });

  it('serve --token: commands without the token are refused (exit 5), with it they work', async () => {
    const served = await serve([
      '--db',
      join(tempDir(), 'jobs.db'),
      '--handlers',
      './examples/handlers.ts',
      '--token',
      's3cret',
    ]);
    const [refused, withFlag, withEnv] = await Promise.all([
      cli(['ls', '--url', served.url]),
      cli(['ls', '--json', '--url', served.url, '--token', 's3cret']),
      cli(['start', 'sleep', '--input', '{"ms":10}', '--watch', '--url', served.url], {
        JOBVISOR_TOKEN: 's3cret',
      }),
    ]);
    expect(refused.code).toBe(5);
    expect(refused.stderr).toMatch(/unauthori[sz]ed/i);
    expect(withFlag.code, withFlag.stderr).toBe(0);
    expect(withEnv.code, withEnv.stderr).toBe(0);
    expect(await served.stop()).toBe(0);
  });

  it("npm start's command (serve with the bundled examples) serves /health and exits 0 on SIGTERM", async () => {
    const served = await serve([
      '--handlers',
      './examples/handlers.ts',
      '--db',
      join(tempDir(), 'data', 'jobvisor.db'),
    ]);
    const health = await fetch(`${served.url}/health`);
    expect(health.status).toBe(200);
    expect(await served.stop()).toBe(0);
    expect(served.stderr()).toContain('shutting down');
  });

  it('serve on a database another process holds exits 1 naming store_locked, on one line, no stack', async () => {
    const db = join(tempDir(), 'jobs.db');
    const first = await serve(['--db', db]);
    const second = await cli(['serve', '--port', '0', '--db', db]);
    expect(second.code).toBe(1);
    expect(second.stderr.trim().split('\n')).toEqual([
      expect.stringMatching(/^jobvisor serve: cannot use the database .*jobs\.db: .* \(store_locked\)$/),
    ]);
    expect(await first.stop()).toBe(0);
  });
});
