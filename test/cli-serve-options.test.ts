/**
 * `jobvisor serve` options end to end: real serve children (port 0, temp SQLite file, the bundled
 * example handlers) whose options come from flags, environment variables and a config file, observed
 * through the server. Waits on printed lines, HTTP answers and WebSocket changes only.
 */
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createClient, JobvisorClientError, type WireChange } from '../src/client/index.js';
import { runCli, startServe, type Served } from './cli-process.js';

const dir = mkdtempSync(join(tmpdir(), 'jobvisor-serve-options-'));
const servers: Served[] = [];

afterAll(async () => {
  await Promise.all(servers.map((s) => s.stop()));
  rmSync(dir, { recursive: true, force: true });
});

async function serve(args: string[], env: Record<string, string> = {}): Promise<Served> {
  const served = await startServe(args, env);
  servers.push(served);
  return served;
}

/** Every change of a live subscription to all jobs, and a promise for the first one that matches. */
function recorder() {
  const seen: WireChange[] = [];
  const waiting: { match: (c: WireChange) => boolean; resolve: (c: WireChange) => void }[] = [];
  return {
    seen,
    record(change: WireChange) {
      seen.push(change);
      for (const w of [...waiting]) {
        if (!w.match(change)) continue;
        waiting.splice(waiting.indexOf(w), 1);
        w.resolve(change);
      }
    },
    change(jobId: string, kind: WireChange['kind']): Promise<WireChange> {
      const match = (c: WireChange) => c.jobId === jobId && c.kind === kind;
      const found = seen.find(match);
      return found ? Promise.resolve(found) : new Promise((resolve) => waiting.push({ match, resolve }));
    },
  };
}

describe('jobvisor serve options through a running server', { timeout: 30_000 }, () => {
  it('--concurrency 2: two jobs run, the third waits for a slot; --retention-max-count 1: the oldest finished job is forgotten', async () => {
    const served = await serve([
      '--db',
      join(dir, 'concurrency.db'),
      '--handlers',
      './examples/handlers.ts',
      '--concurrency',
      '2',
      '--retention-max-count',
      '1',
    ]);
    const client = createClient({ url: served.url });
    const changes = recorder();
    const live = client.subscribe({ all: true });
    live.onChange((change) => changes.record(change));
    await live.ready;

    const start = async () => (await client.start({ type: 'sleep', input: { ms: 600_000 } })).job.id;
    const a = await start();
    const b = await start();
    const c = await start();
    await Promise.all([changes.change(a, 'started'), changes.change(b, 'started')]);
    const running = await client.list({ status: ['running'] });
    expect(running.jobs.map((job) => job.id).sort()).toEqual([a, b].sort());
    expect((await client.get(c)).status).toBe('pending');

    await client.cancel(a);
    const [aCancelled, cStarted] = await Promise.all([
      changes.change(a, 'cancelled'),
      changes.change(c, 'started'),
    ]);
    expect(cStarted.offset).toBeGreaterThan(aCancelled.offset);

    // One finished job (a) is kept; the second (b) pushes the oldest out.
    expect((await client.get(a)).status).toBe('cancelled');
    await client.cancel(b);
    expect((await client.get(b)).status).toBe('cancelled');
    const gone = await client.get(a).catch((error: unknown) => error);
    expect(gone).toBeInstanceOf(JobvisorClientError);
    expect((gone as JobvisorClientError).code).toBe('job_not_found');

    await client.cancel(c);
    client.close();
    expect(await served.stop()).toBe(0);
    expect(served.stderr()).toContain('"concurrency":2');
  });

  it('flag > environment variable > config file > default, the config carrying server fields too', async () => {
    const db = join(dir, 'from-config.db');
    const config = join(dir, 'serve.json');
    writeFileSync(
      config,
      JSON.stringify({
        db,
        handlers: './examples/handlers.ts',
        heartbeatTimeoutMs: 5_000,
        timeoutMs: 60_000,
        retries: { max: 2, backoffMs: 250 },
      }),
    );
    const served = await serve(['--timeout-ms', 'none'], {
      JOBVISOR_CONFIG: config,
      JOBVISOR_RETRIES_MAX: '4',
    });
    // The sleep type sets none of these itself, so it shows the supervisor's.
    const types = await createClient({ url: served.url }).types();
    expect(types.find((type) => type.name === 'sleep')).toMatchObject({
      heartbeatTimeoutMs: 5_000, // config
      timeoutMs: null, // flag over config
      retries: { max: 4, backoffMs: 250, factor: 2, maxBackoffMs: 300_000 }, // env, config, defaults
    });
    expect(existsSync(db)).toBe(true);
    expect(served.stderr()).toContain(`config ${config}`);
    expect(await served.stop()).toBe(0);
  });

  it('a bad value, a bad config file: exit 2 naming the flag, variable or key, nothing started', async () => {
    const db = join(dir, 'never.db');
    const unknownKey = join(dir, 'unknown-key.json');
    writeFileSync(unknownKey, JSON.stringify({ retention: { maxcount: 5 } }));
    const notJson = join(dir, 'not-json.json');
    writeFileSync(notJson, 'concurrency = 20\n');
    const missing = join(dir, 'missing.json');
    const args = ['serve', '--port', '0', '--db', db, '--handlers', './examples/handlers.ts'];
    const [flag, env, key, broken, absent] = await Promise.all([
      runCli([...args, '--concurrency', '0']),
      runCli(args, { JOBVISOR_RETENTION_MAX_COUNT: 'lots' }),
      runCli([...args, '--config', unknownKey]),
      runCli([...args, '--config', notJson]),
      runCli(args, { JOBVISOR_CONFIG: missing }),
    ]);
    for (const result of [flag, env, key, broken, absent]) {
      expect(result.code, result.stderr).toBe(2);
      expect(result.stdout).toBe(''); // never listening
    }
    expect(flag.stderr).toContain('jobvisor: --concurrency: must be greater than 0 (got "0")');
    expect(env.stderr).toContain('jobvisor: JOBVISOR_RETENTION_MAX_COUNT: must be an integer (got "lots")');
    expect(key.stderr).toContain(`jobvisor: config ${unknownKey}: unknown key "retention.maxcount"`);
    expect(broken.stderr).toContain(`jobvisor: config ${notJson}: is not valid JSON`);
    expect(absent.stderr).toContain(`jobvisor: JOBVISOR_CONFIG: cannot read the config file ${missing}`);
    expect(existsSync(db)).toBe(false);
  });

  it('serve --help lists every option with its environment variable and default', async () => {
    const help = await runCli(['serve', '--help']);
    expect(help.code).toBe(0);
    expect(help.stdout).toContain('--retention-max-count N');
    expect(help.stdout).toContain(
      'env JOBVISOR_RETENTION_MAX_COUNT, config retention.maxCount, default 10000',
    );
    expect(help.stdout).toContain('env JOBVISOR_CONFIG, default none');
  });
});
