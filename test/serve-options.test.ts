/**
 * The options of `jobvisor serve`: flag > environment variable > config file > default, each option
 * mapped to its place in the options object, bad values refused with the name of their source.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { UsageError } from '../src/cli/args.js';
import {
  resolveServeOptions,
  SERVE_OPTIONS,
  serveConfigSchema,
  serveHelp,
  type ServeSettings,
} from '../src/cli/serve-options.js';
import {
  clusterFields,
  DEFAULTS,
  limitsSchema,
  retentionSchema,
  retriesSchema,
} from '../src/supervisor/options.js';

const dir = mkdtempSync(join(tmpdir(), 'jobvisor-serve-options-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

let files = 0;
/** A config file in the temp directory with `content` (JSON unless a string); returns its path. */
function configFile(content: unknown): string {
  const path = join(dir, `config-${++files}.json`);
  writeFileSync(path, typeof content === 'string' ? content : JSON.stringify(content));
  return path;
}

/**
 * What the table must say, written out: config key → flag, environment variable, default as the
 * help shows it, and a valid sample as text (flag, variable) with the value it stands for.
 */
const EXPECTED: Record<string, [flag: string, env: string, shown: string, text: string, value: unknown]> = {
  port: ['port', 'JOBVISOR_PORT', '3000', '8080', 8080],
  host: ['host', 'JOBVISOR_HOST', '127.0.0.1', '0.0.0.0', '0.0.0.0'],
  db: ['db', 'JOBVISOR_DB', './data/jobvisor.db', './jobs.db', './jobs.db'],
  postgres: ['postgres', 'JOBVISOR_POSTGRES_URL', 'none', 'postgres://u@h/db', 'postgres://u@h/db'],
  postgresSchema: ['postgres-schema', 'JOBVISOR_POSTGRES_SCHEMA', 'jobvisor', 'jobs_eu', 'jobs_eu'],
  handlers: ['handlers', 'JOBVISOR_HANDLERS', 'none', './h.js', './h.js'],
  token: ['token', 'JOBVISOR_TOKEN', 'none', 's3cret', 's3cret'],
  graceMs: ['grace-ms', 'JOBVISOR_GRACE_MS', '10000', '500', 500],
  inspectTo: ['inspect-to', 'JOBVISOR_INSPECT_TO', 'none', 'ws://localhost:8080', 'ws://localhost:8080'],
  concurrency: ['concurrency', 'JOBVISOR_CONCURRENCY', '10', '20', 20],
  heartbeatTimeoutMs: ['heartbeat-timeout-ms', 'JOBVISOR_HEARTBEAT_TIMEOUT_MS', '30000', '5000', 5000],
  timeoutMs: ['timeout-ms', 'JOBVISOR_TIMEOUT_MS', 'none', '600000', 600_000],
  'retries.max': ['retries-max', 'JOBVISOR_RETRIES_MAX', '0', '3', 3],
  'retries.backoffMs': ['retries-backoff-ms', 'JOBVISOR_RETRIES_BACKOFF_MS', '1000', '250', 250],
  'retries.factor': ['retries-factor', 'JOBVISOR_RETRIES_FACTOR', '2', '1.5', 1.5],
  'retries.maxBackoffMs': [
    'retries-max-backoff-ms',
    'JOBVISOR_RETRIES_MAX_BACKOFF_MS',
    '300000',
    '60000',
    60_000,
  ],
  'retention.maxAgeMs': [
    'retention-max-age-ms',
    'JOBVISOR_RETENTION_MAX_AGE_MS',
    '86400000',
    '3600000',
    3_600_000,
  ],
  'retention.maxCount': ['retention-max-count', 'JOBVISOR_RETENTION_MAX_COUNT', '10000', '100', 100],
  idempotencyMs: ['idempotency-ms', 'JOBVISOR_IDEMPOTENCY_MS', '0', '60000', 60_000],
  storeTimeoutMs: ['store-timeout-ms', 'JOBVISOR_STORE_TIMEOUT_MS', '10000', '2500', 2_500],
  'limits.maxDepth': ['limits-max-depth', 'JOBVISOR_LIMITS_MAX_DEPTH', '64', '16', 16],
  'limits.maxInputBytes': [
    'limits-max-input-bytes',
    'JOBVISOR_LIMITS_MAX_INPUT_BYTES',
    '1048576',
    '4096',
    4_096,
  ],
  'limits.maxResultBytes': [
    'limits-max-result-bytes',
    'JOBVISOR_LIMITS_MAX_RESULT_BYTES',
    '1048576',
    '65536',
    65_536,
  ],
  'limits.maxLogLines': ['limits-max-log-lines', 'JOBVISOR_LIMITS_MAX_LOG_LINES', '1000', '50', 50],
  'cluster.leaseMs': ['cluster-lease-ms', 'JOBVISOR_CLUSTER_LEASE_MS', '15000', '30000', 30_000],
  'cluster.renewMs': ['cluster-renew-ms', 'JOBVISOR_CLUSTER_RENEW_MS', '5000', '2000', 2_000],
  'cluster.claimIntervalMs': [
    'cluster-claim-interval-ms',
    'JOBVISOR_CLUSTER_CLAIM_INTERVAL_MS',
    '1000',
    '500',
    500,
  ],
};
const KEYS = Object.keys(EXPECTED);

/** The settings as one object shaped like the config file. */
function flat(settings: ServeSettings): Record<string, unknown> {
  return JSON.parse(JSON.stringify({ ...settings.supervisor, ...settings.server })) as Record<
    string,
    unknown
  >;
}

const DEFAULT_FLAT = {
  concurrency: DEFAULTS.concurrency,
  heartbeatTimeoutMs: DEFAULTS.heartbeatTimeoutMs,
  timeoutMs: DEFAULTS.timeoutMs,
  retries: { ...DEFAULTS.retries },
  retention: { ...DEFAULTS.retention },
  idempotencyMs: DEFAULTS.idempotencyMs,
  storeTimeoutMs: DEFAULTS.storeTimeoutMs,
  limits: { ...DEFAULTS.limits },
  cluster: { leaseMs: 15_000, renewMs: 5_000, claimIntervalMs: 1_000 },
  port: 3000,
  host: '127.0.0.1',
  db: './data/jobvisor.db',
  postgresSchema: 'jobvisor',
  graceMs: 10_000,
};

/** The defaults with one option changed. */
function defaultsWith(key: string, value: unknown): Record<string, unknown> {
  const expected = structuredClone(DEFAULT_FLAT) as Record<string, unknown>;
  const [head, field] = key.split('.') as [string, string | undefined];
  if (field === undefined) expected[head] = value;
  else (expected[head] as Record<string, unknown>)[field] = value;
  // The renewal's default follows the lease: a third of it.
  if (key === 'cluster.leaseMs') (expected.cluster as Record<string, unknown>).renewMs = Number(value) / 3;
  return expected;
}

/** `{ retries: { max: 3 } }` for `retries.max`. */
function nested(key: string, value: unknown): Record<string, unknown> {
  const [head, field] = key.split('.') as [string, string | undefined];
  return field === undefined ? { [head]: value } : { [head]: { [field]: value } };
}

/** The message of the `UsageError` that resolving throws. */
function refusal(argv: string[], env: NodeJS.ProcessEnv = {}): string {
  try {
    resolveServeOptions(argv, env, dir);
  } catch (error) {
    expect(error).toBeInstanceOf(UsageError);
    return (error as UsageError).message;
  }
  throw new Error(`resolved without an error: ${argv.join(' ')} ${JSON.stringify(env)}`);
}

describe('the table of serve options', () => {
  it('derives each flag and environment variable from the config key', () => {
    expect(SERVE_OPTIONS.map((o) => [o.key, o.flag, o.env])).toEqual(
      KEYS.map((key) => [key, EXPECTED[key]![0], EXPECTED[key]![1]]),
    );
    expect(SERVE_OPTIONS.find((o) => o.key === 'port')?.short).toBe('p');
  });

  it('covers every field of the config schema, and nothing else', () => {
    const sections: Record<string, { shape: object }> = {
      retries: retriesSchema,
      retention: retentionSchema,
      limits: limitsSchema,
      clusterFields,
      cluster: clusterFields,
    };
    const leaves = Object.keys(serveConfigSchema.shape).flatMap((key) =>
      key in sections ? Object.keys(sections[key]!.shape).map((field) => `${key}.${field}`) : [key],
    );
    expect(SERVE_OPTIONS.map((o) => o.key).sort()).toEqual(leaves.sort());
  });
});

describe('resolveServeOptions', () => {
  it("without flags, environment or config: the library's DEFAULTS and the server's, all frozen", () => {
    const settings = resolveServeOptions([], {}, dir);
    expect(flat(settings)).toEqual(DEFAULT_FLAT);
    expect(settings.config).toBeUndefined();
    expect(Object.keys(settings.supervisor).sort()).toEqual(
      [
        'concurrency',
        'heartbeatTimeoutMs',
        'idempotencyMs',
        'retention',
        'retries',
        'timeoutMs',
        'storeTimeoutMs',
        'limits',
        'cluster',
      ].sort(),
    );
    for (const part of [settings, settings.supervisor, settings.server, settings.supervisor.retries]) {
      expect(Object.isFrozen(part)).toBe(true);
    }
    expect(Object.isFrozen(settings.supervisor.retention)).toBe(true);
    expect(Object.isFrozen(settings.supervisor.limits)).toBe(true);
  });

  it.each(KEYS)('%s: its flag, its environment variable and its config key each set it, alone', (key) => {
    const [flag, env, , text, value] = EXPECTED[key]!;
    const expected = defaultsWith(key, value);
    expect(flat(resolveServeOptions([`--${flag}`, text], {}, dir))).toEqual(expected);
    expect(flat(resolveServeOptions([], { [env]: text }, dir))).toEqual(expected);
    expect(flat(resolveServeOptions(['--config', configFile(nested(key, value))], {}, dir))).toEqual(
      expected,
    );
  });

  it('-p is --port', () => {
    expect(resolveServeOptions(['-p', '0'], {}, dir).server.port).toBe(0);
  });

  it('precedence: flag > environment variable > config file > default', () => {
    const config = configFile({ concurrency: 3 });
    const concurrency = (argv: string[], env: NodeJS.ProcessEnv) =>
      resolveServeOptions(argv, env, dir).supervisor.concurrency;
    expect(concurrency([], {})).toBe(10);
    expect(concurrency(['--config', config], {})).toBe(3);
    expect(concurrency(['--config', config], { JOBVISOR_CONCURRENCY: '4' })).toBe(4);
    expect(concurrency(['--config', config, '--concurrency', '5'], { JOBVISOR_CONCURRENCY: '4' })).toBe(5);
  });

  it('precedence field by field inside a section: the config keeps the fields nobody else sets', () => {
    const config = configFile({ retention: { maxAgeMs: 1000, maxCount: 5 } });
    const env = { JOBVISOR_RETENTION_MAX_COUNT: '6' };
    expect(resolveServeOptions(['--config', config], env, dir).supervisor.retention).toEqual({
      maxAgeMs: 1000,
      maxCount: 6,
    });
    const withFlag = resolveServeOptions(['--config', config, '--retention-max-count', '7'], env, dir);
    expect(withFlag.supervisor.retention).toEqual({ maxAgeMs: 1000, maxCount: 7 });
    expect(withFlag.supervisor.retries).toEqual(DEFAULTS.retries);
  });

  it('the config file comes from --config, else JOBVISOR_CONFIG; a relative path is relative to cwd', () => {
    writeFileSync(join(dir, 'from-flag.json'), JSON.stringify({ concurrency: 7 }));
    writeFileSync(join(dir, 'from-env.json'), JSON.stringify({ concurrency: 8 }));
    const fromEnv = resolveServeOptions([], { JOBVISOR_CONFIG: 'from-env.json' }, dir);
    expect([fromEnv.config, fromEnv.supervisor.concurrency]).toEqual(['from-env.json', 8]);
    const fromFlag = resolveServeOptions(
      ['--config', 'from-flag.json'],
      { JOBVISOR_CONFIG: 'from-env.json' },
      dir,
    );
    expect([fromFlag.config, fromFlag.supervisor.concurrency]).toEqual(['from-flag.json', 7]);
  });

  it('a config file may carry the server fields too', () => {
    const config = configFile({ port: 0, host: '::1', db: '/var/jobs.db', handlers: './h.js', graceMs: 0 });
    expect(resolveServeOptions(['--config', config], {}, dir).server).toEqual({
      port: 0,
      host: '::1',
      db: '/var/jobs.db',
      postgresSchema: 'jobvisor',
      handlers: './h.js',
      graceMs: 0,
    });
  });

  it('an empty environment variable counts as unset', () => {
    const settings = resolveServeOptions([], { JOBVISOR_CONCURRENCY: '', JOBVISOR_CONFIG: '' }, dir);
    expect(settings.supervisor.concurrency).toBe(10);
    expect(settings.config).toBeUndefined();
  });

  it('timeoutMs: "none" (flag, variable) or null (config) is no timeout, and overrides a config value', () => {
    const timeout = (argv: string[], env: NodeJS.ProcessEnv = {}) =>
      resolveServeOptions(argv, env, dir).supervisor.timeoutMs;
    const withTimeout = configFile({ timeoutMs: 60_000 });
    expect(timeout(['--config', withTimeout])).toBe(60_000);
    expect(timeout(['--config', withTimeout, '--timeout-ms', 'none'])).toBeNull();
    expect(timeout(['--config', withTimeout], { JOBVISOR_TIMEOUT_MS: 'none' })).toBeNull();
    expect(timeout(['--config', configFile({ timeoutMs: null })], { JOBVISOR_TIMEOUT_MS: '' })).toBeNull();
    expect(refusal(['--timeout-ms', '0'])).toBe('--timeout-ms: must be greater than 0 (got "0")');
  });
});

describe('bad values are refused, naming the flag, the variable or the config key', () => {
  it.each([
    [['--concurrency', '0'], {}, '--concurrency: must be greater than 0 (got "0")'],
    [['--concurrency', 'abc'], {}, '--concurrency: must be an integer (got "abc")'],
    [['--concurrency', '1.5'], {}, '--concurrency: must be an integer (got "1.5")'],
    [[], { JOBVISOR_CONCURRENCY: '-1' }, 'JOBVISOR_CONCURRENCY: must be greater than 0 (got "-1")'],
    [
      [],
      { JOBVISOR_RETENTION_MAX_COUNT: 'lots' },
      'JOBVISOR_RETENTION_MAX_COUNT: must be an integer (got "lots")',
    ],
    [['--retention-max-age-ms=-1'], {}, '--retention-max-age-ms: must be at least 0 (got "-1")'],
    [['--retries-factor', '0.5'], {}, '--retries-factor: must be at least 1 (got "0.5")'],
    [['--retries-max', '1001'], {}, '--retries-max: must be at most 1000 (got "1001")'],
    [
      ['--heartbeat-timeout-ms', '2147483648'],
      {},
      '--heartbeat-timeout-ms: must be at most 2147483647 (got "2147483648")',
    ],
    [['--timeout-ms', 'never'], {}, '--timeout-ms: must be an integer, or none (got "never")'],
    [['--port', '70000'], {}, '--port: must be at most 65535 (got "70000")'],
    [[], { JOBVISOR_GRACE_MS: '1s' }, 'JOBVISOR_GRACE_MS: must be an integer (got "1s")'],
    [['--host', ''], {}, '--host: must not be empty (got "")'],
    [
      ['--inspect-to', 'http://x'],
      {},
      '--inspect-to: must be a ws(s) URL, e.g. ws://localhost:8080 (got "http://x")',
    ],
    // The token is never repeated in a message.
    [['--token', ''], {}, '--token: must not be empty'],
  ])('%j %j', (argv, env, message) => {
    expect(refusal(argv, env)).toBe(message);
  });

  it('a flag is checked even when a valid environment variable sets the same option', () => {
    expect(refusal(['--concurrency', '0'], { JOBVISOR_CONCURRENCY: '4' })).toBe(
      '--concurrency: must be greater than 0 (got "0")',
    );
  });

  it('a config file: every bad value, named by its key, with the value', () => {
    const path = configFile({ concurrency: '20', retention: { maxCount: -1 }, retries: 3, timeoutMs: 0 });
    expect(refusal(['--config', path])).toBe(
      `config ${path}: concurrency: must be a number (got "20"); timeoutMs: must be greater than 0 (got 0); ` +
        'retries: must be an object (got 3); retention.maxCount: must be at least 0 (got -1)',
    );
  });

  it('a config file: the token is named, never repeated', () => {
    const path = configFile({ token: 12345 });
    expect(refusal(['--config', path])).toBe(`config ${path}: token: must be a string`);
  });

  it('a config file: an unknown key is refused, also a library option an operator does not set', () => {
    const path = configFile({ retention: { maxcount: 5 }, 'grace-ms': 5, workers: { size: 2 } });
    expect(refusal(['--config', path])).toBe(
      `config ${path}: unknown key "retention.maxcount"; unknown keys "grace-ms", "workers"`,
    );
  });

  it('a config file that is missing, not JSON, or not an object is a usage error', () => {
    const missing = join(dir, 'missing.json');
    expect(refusal(['--config', missing])).toMatch(
      new RegExp(`^--config: cannot read the config file ${missing} \\(ENOENT`),
    );
    expect(refusal([], { JOBVISOR_CONFIG: missing })).toMatch(
      /^JOBVISOR_CONFIG: cannot read the config file/,
    );
    const broken = configFile('{ concurrency: 20 }');
    expect(refusal(['--config', broken])).toMatch(new RegExp(`^config ${broken}: is not valid JSON \\(`));
    const list = configFile([{ concurrency: 20 }]);
    expect(refusal(['--config', list])).toBe(`config ${list}: must be an object (got [{"concurrency":20}])`);
  });

  it('an unknown flag, a missing value, an argument', () => {
    expect(refusal(['--retries', '3'])).toContain("Unknown option '--retries'");
    expect(refusal(['--concurrency'])).toContain("'--concurrency <value>' argument missing");
    expect(refusal(['now'])).toBe('this command takes no arguments, only options');
  });
});

describe('documentation of the serve options', () => {
  it('--help lists every option with its environment variable, config key and default', () => {
    const help = serveHelp();
    expect(help).toContain('  --config FILE\n');
    expect(help).toContain('env JOBVISOR_CONFIG, default none');
    for (const key of KEYS) {
      const [flag, env, shown] = EXPECTED[key]!;
      expect(help).toMatch(
        new RegExp(
          `^  (-p, )?--${flag} \\S+\\n.+\\n      env ${env}, config ${key}, default ${shown.replaceAll('.', '\\.')}$`,
          'm',
        ),
      );
    }
  });

  it('the README has a row per option: flag, environment variable, config key, default', () => {
    const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8');
    for (const key of KEYS) {
      const [flag, env, shown] = EXPECTED[key]!;
      const row = readme.split('\n').find((line) => line.startsWith(`| \`--${flag} `));
      expect(row, `README.md has no row for --${flag}`).toBeDefined();
      expect(row!.split(' | ').slice(1, 4)).toEqual([`\`${env}\``, `\`${key}\``, `\`${shown}\``]);
    }
    expect(readme).toContain('`JOBVISOR_CONFIG`');
  });
});
