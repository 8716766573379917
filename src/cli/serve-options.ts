/**
 * The options of `jobvisor serve`, from four sources: flag > environment variable > config file
 * (`--config FILE`) > default. One table row per option: its config key names the flag
 * (`retention.maxCount` → `--retention-max-count`) and the environment variable
 * (`JOBVISOR_RETENTION_MAX_COUNT`); the parser turns flag and variable text into a value.
 * Every value, whatever its source, is checked by one zod schema: the library's
 * `supervisorOptionsSchema` restricted to the operator fields, plus the server's fields.
 * A bad value is a `UsageError` naming its flag, variable or config key; the result is frozen.
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import * as z from 'zod';
import { supervisorOptionsSchema } from '../supervisor/options.js';
import { noPositionals, parseArgv, UsageError, type OptionSpec } from './args.js';
import { wsUrl } from './inspect-to.js';

/** The supervisor options an operator sets; the defaults are the library's `DEFAULTS`. */
export const operatorOptionsSchema = supervisorOptionsSchema.pick({
  concurrency: true,
  heartbeatTimeoutMs: true,
  timeoutMs: true,
  retries: true,
  retention: true,
  idempotencyMs: true,
  storeTimeoutMs: true,
  limits: true,
  cluster: true,
});

const nonEmpty = z.string().min(1, 'must not be empty');

/** The server's own fields, with their defaults. */
export const serverOptionsSchema = z.strictObject({
  port: z.number().int().min(0).max(65_535).default(3_000),
  host: nonEmpty.default('127.0.0.1'),
  db: nonEmpty.default('./data/jobvisor.db'),
  /** A PostgreSQL connection string: the store is PostgreSQL instead of the SQLite file. */
  postgres: z
    .string()
    .regex(/^postgres(ql)?:\/\//, 'must be a postgres:// URL')
    .optional(),
  /** The PostgreSQL schema the tables live in. */
  postgresSchema: z
    .string()
    .regex(/^[a-z_][a-z0-9_]{0,62}$/, 'lower-case letters, digits and _ only')
    .default('jobvisor'),
  handlers: nonEmpty.optional(),
  token: nonEmpty.optional(),
  graceMs: z.number().int().min(0).max(3_600_000).default(10_000),
  inspectTo: wsUrl.optional(),
});

/** What a config file may hold (strict: an unknown key is refused), and what the sources merge into. */
export const serveConfigSchema = operatorOptionsSchema.extend(serverOptionsSchema.shape);

type ServeInput = z.input<typeof serveConfigSchema>;
type ServeConfig = z.output<typeof serveConfigSchema>;
type Leaf = number | string | null;
/** A config key: a top-level field, or `section.field` for `retries`, `retention` and `limits`. */
type Key = {
  [K in Extract<keyof ServeInput, string>]-?: NonNullable<ServeInput[K]> extends Leaf
    ? K
    : `${K}.${Extract<keyof NonNullable<ServeInput[K]>, string>}`;
}[Extract<keyof ServeInput, string>];

const integer = z
  .string()
  .trim()
  .regex(/^-?\d+$/, 'must be an integer')
  .transform(Number);
const decimal = z
  .string()
  .trim()
  .regex(/^-?\d+(\.\d+)?$/, 'must be a number')
  .transform(Number);
const integerOrNone = z.union([z.literal('none').transform(() => null), integer], {
  error: 'must be an integer, or none',
});
const text = z.string();

export interface ServeOption {
  /** The path in the config file and in the options object, e.g. `retention.maxCount`. */
  readonly key: Key;
  /** Without the dashes, e.g. `retention-max-count`. */
  readonly flag: string;
  readonly env: string;
  /** Turns the text of a flag or an environment variable into the value the schema checks. */
  readonly parse: z.ZodType<Leaf, string>;
  /** The placeholder in the help, e.g. `MS`. */
  readonly arg: string;
  readonly about: string;
  readonly short?: string;
}

function option(
  key: Key,
  parse: z.ZodType<Leaf, string>,
  arg: string,
  about: string,
  short?: string,
  /** An environment variable by another name than the rule's. */
  envName?: string,
) {
  const flag = key.replace('.', '-').replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);
  const env = envName ?? `JOBVISOR_${flag.toUpperCase().replaceAll('-', '_')}`;
  return Object.freeze({ key, flag, env, parse, arg, about, ...(short === undefined ? {} : { short }) });
}

/** Every option of `jobvisor serve` but `--config`, in the order of the help. */
export const SERVE_OPTIONS: readonly ServeOption[] = Object.freeze([
  option('port', integer, 'N', 'port to listen on; 0: any free one (the first line tells)', 'p'),
  option('host', text, 'HOST', 'address to listen on'),
  option('db', text, 'PATH', 'the SQLite database file (created if missing)'),
  option(
    'postgres',
    text,
    'URL',
    'a PostgreSQL database (postgres://…) instead of the SQLite file',
    undefined,
    'JOBVISOR_POSTGRES_URL',
  ),
  option('postgresSchema', text, 'NAME', 'the PostgreSQL schema of the tables (created if missing)'),
  option('handlers', text, 'PATH', 'module whose default export register(supervisor) adds types'),
  option('token', text, 'TOKEN', 'bearer token that every request and WebSocket must carry'),
  option('graceMs', integer, 'MS', 'on SIGINT/SIGTERM, how long running jobs get to finish'),
  option('inspectTo', text, 'URL', 'push inspection frames to this relay (ws:// or wss://)'),
  option('concurrency', integer, 'N', 'handlers running at once, across all types'),
  option('heartbeatTimeoutMs', integer, 'MS', 'an attempt silent this long fails as stalled'),
  option('timeoutMs', integerOrNone, 'MS|none', 'an attempt running longer fails as timeout; none: no limit'),
  option('retries.max', integer, 'N', 'retries after the first attempt'),
  option('retries.backoffMs', integer, 'MS', 'delay before the first retry'),
  option('retries.factor', decimal, 'X', 'each further retry waits this many times longer'),
  option('retries.maxBackoffMs', integer, 'MS', 'upper bound of one backoff'),
  option('retention.maxAgeMs', integer, 'MS', 'finished jobs older than this are forgotten'),
  option('retention.maxCount', integer, 'N', 'finished jobs kept at most (the oldest go first)'),
  option('idempotencyMs', integer, 'MS', 'a keyed start returns the job completed this recently; 0: off'),
  option(
    'storeTimeoutMs',
    integer,
    'MS',
    'a start or cancel not durable this long answers store_unavailable',
  ),
  option('limits.maxDepth', integer, 'N', 'nesting levels a job input or result may have'),
  option('limits.maxInputBytes', integer, 'BYTES', 'largest job input, as JSON'),
  option('limits.maxResultBytes', integer, 'BYTES', 'largest job result, as JSON'),
  option('limits.maxLogLines', integer, 'N', 'lines of its log a job keeps (ctx.log; the oldest go)'),
  option('cluster.leaseMs', integer, 'MS', 'with --postgres: how long a node lease lasts (database clock)'),
  option(
    'cluster.renewMs',
    integer,
    'MS',
    'with --postgres: how often a node renews its lease (≤ lease / 3)',
  ),
  option(
    'cluster.claimIntervalMs',
    integer,
    'MS',
    "with --postgres: how often a node takes over dead nodes' jobs and polls (± 20 %)",
  ),
]);

/** The option whose value no message repeats. */
const SECRET: Key = 'token';

export const CONFIG_FLAG = 'config';
export const CONFIG_ENV = 'JOBVISOR_CONFIG';

export type OperatorOptions = Readonly<z.output<typeof operatorOptionsSchema>>;
export type ServerOptions = Readonly<z.output<typeof serverOptionsSchema>>;

export interface ServeSettings {
  /** For `createSupervisor({ ...supervisor, store })`. */
  readonly supervisor: OperatorOptions;
  readonly server: ServerOptions;
  /** The config file as given, if any. */
  readonly config: string | undefined;
}

const spec: OptionSpec = { [CONFIG_FLAG]: { type: 'string' } };
for (const o of SERVE_OPTIONS) {
  spec[o.flag] = { type: 'string', ...(o.short === undefined ? {} : { short: o.short }) };
}

/**
 * The settings of `jobvisor serve` from its arguments, the environment (an empty variable counts
 * as unset) and the config file they name; relative paths are relative to `cwd`.
 */
export function resolveServeOptions(
  argv: readonly string[],
  env: NodeJS.ProcessEnv,
  cwd: string = process.cwd(),
): ServeSettings {
  const { values, positionals } = parseArgv(argv, spec);
  const extra = noPositionals.safeParse(positionals);
  if (!extra.success) throw new UsageError(extra.error.issues[0]!.message);

  const flag = (name: string) => values[name] as string | undefined;
  const fromEnv = (name: string) => env[name] || undefined;
  const configPath = flag(CONFIG_FLAG) ?? fromEnv(CONFIG_ENV);
  const merged: Record<string, unknown> =
    configPath === undefined
      ? {}
      : readConfig(configPath, flag(CONFIG_FLAG) === undefined ? CONFIG_ENV : `--${CONFIG_FLAG}`, cwd);

  for (const row of SERVE_OPTIONS) {
    const given = flag(row.flag);
    const source = given === undefined ? row.env : `--${row.flag}`;
    const raw = given ?? fromEnv(row.env);
    if (raw === undefined) continue;
    const got = row.key === SECRET ? '' : ` (got "${raw}")`;
    const parsed = row.parse.safeParse(raw);
    if (!parsed.success) throw new UsageError(`${source}: ${parsed.error.issues[0]!.message}${got}`);
    const alone = check(setAt({}, row.key, parsed.data));
    if (!alone.success) {
      throw new UsageError(`${source}: ${alone.error.issues.map((issue) => issue.message).join('; ')}${got}`);
    }
    setAt(merged, row.key, parsed.data);
  }

  const all = check(merged);
  if (!all.success) throw new UsageError(describe(all.error.issues)); // each part passed: not expected
  return freeze(all.data, configPath);
}

function readConfig(path: string, source: string, cwd: string): Record<string, unknown> {
  let content: string;
  try {
    content = readFileSync(resolve(cwd, path), 'utf8');
  } catch (error) {
    throw new UsageError(`${source}: cannot read the config file ${path} (${(error as Error).message})`);
  }
  let json: unknown;
  try {
    json = JSON.parse(content.replace(/^\uFEFF/, ''));
  } catch (error) {
    throw new UsageError(`config ${path}: is not valid JSON (${(error as Error).message})`);
  }
  const checked = check(json);
  if (!checked.success) throw new UsageError(`config ${path}: ${describe(checked.error.issues)}`);
  return json as Record<string, unknown>;
}

function check(value: unknown) {
  return serveConfigSchema.safeParse(value, { error: message, reportInput: true });
}

function setAt(target: Record<string, unknown>, key: Key, value: Leaf): Record<string, unknown> {
  const [head, field] = key.split('.') as [string, string | undefined];
  if (field === undefined) target[head] = value;
  else target[head] = { ...(target[head] as Record<string, unknown> | undefined), [field]: value };
  return target;
}

/** Plain sentences for the zod issues that options produce (the schemas' own messages win). */
function message(issue: z.core.$ZodRawIssue): string | undefined {
  switch (issue.code) {
    case 'invalid_type':
      return issue.expected === 'int' ? 'must be an integer' : `must be ${article(issue.expected)}`;
    case 'too_small':
      return issue.inclusive
        ? `must be at least ${String(issue.minimum)}`
        : `must be greater than ${String(issue.minimum)}`;
    case 'too_big':
      return issue.inclusive
        ? `must be at most ${String(issue.maximum)}`
        : `must be less than ${String(issue.maximum)}`;
    default:
      return undefined;
  }
}

function article(type: string): string {
  return /^[aeiou]/.test(type) ? `an ${type}` : `a ${type}`;
}

/** `retention.maxCount: must be at least 0 (got -1)`, `unknown key "retention.maxcount"`. */
function describe(issues: readonly z.core.$ZodIssue[]): string {
  return issues
    .map((issue) => {
      const path = issue.path.map(String).join('.');
      if (issue.code === 'unrecognized_keys') {
        const keys = issue.keys.map((key) => `"${path ? `${path}.` : ''}${key}"`).join(', ');
        return `unknown key${issue.keys.length > 1 ? 's' : ''} ${keys}`;
      }
      const got = issue.input === undefined || path === SECRET ? '' : ` (got ${JSON.stringify(issue.input)})`;
      return `${path ? `${path}: ` : ''}${issue.message}${got}`;
    })
    .join('; ');
}

const OPERATOR_KEYS: ReadonlySet<string> = new Set(Object.keys(operatorOptionsSchema.shape));

/** The supervisor's options and the server's, each frozen (sections too). */
function freeze(config: ServeConfig, path: string | undefined): ServeSettings {
  const supervisor: Record<string, unknown> = {};
  const server: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(config)) {
    (OPERATOR_KEYS.has(key) ? supervisor : server)[key] =
      value !== null && typeof value === 'object' ? Object.freeze(value) : value;
  }
  return Object.freeze({
    supervisor: Object.freeze(supervisor) as OperatorOptions,
    server: Object.freeze(server) as ServerOptions,
    config: path,
  });
}

/** The defaults, straight from the schema. */
export const SERVE_DEFAULTS: Readonly<ServeConfig> = Object.freeze(serveConfigSchema.parse({}));

/** The default of an option as the help and the README show it. */
export function defaultText(key: Key): string {
  const [head, field] = key.split('.') as [keyof ServeConfig, string | undefined];
  const top: unknown = SERVE_DEFAULTS[head];
  const value = (field === undefined ? top : (top as Record<string, unknown>)[field]) as Leaf | undefined;
  return value === undefined || value === null ? 'none' : String(value);
}

/** `jobvisor serve --help`: every option with its environment variable, config key and default. */
export function serveHelp(): string {
  const lines = SERVE_OPTIONS.map((o) => {
    const name = `${o.short ? `-${o.short}, ` : ''}--${o.flag} ${o.arg}`;
    return `  ${name}\n      ${o.about}\n      env ${o.env}, config ${o.key}, default ${defaultText(o.key)}\n`;
  });
  return `Usage: jobvisor serve [--config FILE] [OPTIONS]

The HTTP/WebSocket server on a SQLite file, or on PostgreSQL (--postgres) where several serve
processes form one cluster, with the job types that --handlers registers.
Each option comes from its flag, else its environment variable (an empty one counts as unset),
else the config file, else its default. Per-type options given in the handlers module override
the supervisor's for their type.

  --config FILE
      a JSON object with any of the config keys below (retries.max is {"retries": {"max": 3}});
      an unknown key is refused. Paths in it are relative to the working directory.
      env ${CONFIG_ENV}, default none

${lines.join('\n')}`;
}
