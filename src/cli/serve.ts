/**
 * `jobvisor serve`: the HTTP/WebSocket server on a SQLite store, with the job types that a handlers
 * module registers. The first stdout line is `listening on URL` (with the real port for `--port 0`),
 * the second the dashboard's address.
 * SIGINT/SIGTERM close the server, drain the supervisor (`--grace-ms`) and exit 0.
 */
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import * as z from 'zod';
import { createSupervisor, type Supervisor } from '../index.js';
import { createJobvisorServer } from '../server/index.js';
import { sqliteStore } from '../sqlite.js';
import { intString, noPositionals, parseCommand, tokenField } from './args.js';
import { EXIT, isCodedError } from './exit.js';
import { printLine } from './render.js';
import { inspectTo, wsUrl } from './inspect-to.js';

const options = {
  port: { type: 'string', short: 'p' },
  host: { type: 'string' },
  db: { type: 'string' },
  handlers: { type: 'string' },
  token: { type: 'string' },
  'grace-ms': { type: 'string' },
  'inspect-to': { type: 'string' },
  help: { type: 'boolean', short: 'h', default: false },
} as const;

function serveSchema(env: NodeJS.ProcessEnv) {
  return z.object({
    positionals: noPositionals,
    port: intString(0, 65_535).prefault(env.JOBVISOR_PORT ?? '3000'),
    host: z.string().min(1, 'must not be empty').default('127.0.0.1'),
    db: z
      .string()
      .min(1, 'must not be empty')
      .default(env.JOBVISOR_DB ?? './data/jobvisor.db'),
    handlers: z.string().min(1, 'must not be empty').optional(),
    token: tokenField(env),
    'grace-ms': intString(0, 3_600_000).prefault('10000'),
    'inspect-to': wsUrl.optional(),
    help: z.boolean(),
  });
}

type Register = (supervisor: Supervisor) => void | Promise<void>;

/** Imports a handlers module (relative to the working directory) and returns its `register`. */
async function loadHandlers(path: string): Promise<Register> {
  let module: { default?: unknown };
  try {
    module = (await import(pathToFileURL(resolve(path)).href)) as { default?: unknown };
  } catch (error) {
    const code = (error as { code?: unknown }).code;
    const hint =
      code === 'ERR_UNKNOWN_FILE_EXTENSION'
        ? ' (a .ts handlers module needs tsx: "npm start", or compile it to .js)'
        : '';
    throw new StartupError(`cannot load the handlers module ${path}: ${(error as Error).message}${hint}`);
  }
  if (typeof module.default !== 'function') {
    throw new StartupError(
      `the handlers module ${path} must default-export a function register(supervisor) (it exports ${typeof module.default})`,
    );
  }
  return module.default as Register;
}

class StartupError extends Error {}

export async function serveCommand(argv: readonly string[]): Promise<number> {
  const args = parseCommand(argv, options, serveSchema(process.env));
  const fail = (message: string): number => {
    process.stderr.write(`jobvisor serve: ${message}\n`);
    return EXIT.failed;
  };

  let supervisor: Supervisor;
  try {
    const register = args.handlers === undefined ? undefined : await loadHandlers(args.handlers);
    supervisor = createSupervisor({ store: sqliteStore({ path: resolve(args.db) }) });
    await register?.(supervisor);
  } catch (error) {
    return fail(error instanceof StartupError ? error.message : describe(error));
  }
  try {
    await supervisor.ready();
  } catch (error) {
    return fail(`cannot use the database ${args.db}: ${describe(error)}`);
  }

  const inspection = args['inspect-to'] === undefined ? undefined : inspectTo(supervisor, args['inspect-to']);
  const server = createJobvisorServer({ supervisor, token: args.token });
  let url: string;
  try {
    ({ url } = await server.listen(args.port, args.host));
  } catch (error) {
    await supervisor.shutdown({ graceMs: 0 });
    await inspection?.close();
    return fail(`cannot listen on ${args.host}:${args.port}: ${describe(error)}`);
  }
  printLine(`listening on ${url}`);
  printLine(
    `dashboard ${url}/${args.token === undefined ? '' : ' (open it with #token=<token> or enter the token)'}`,
  );
  process.stderr.write(
    `jobvisor: database ${args.db}, handlers ${args.handlers ?? '(none)'}${args.token === undefined ? '' : ', token required'}\n`,
  );

  const signal = await new Promise<NodeJS.Signals>((done) => {
    process.once('SIGINT', done);
    process.once('SIGTERM', done);
  });
  const force = (): never => {
    process.stderr.write('jobvisor: forced exit\n');
    process.exit(EXIT.failed);
  };
  process.once('SIGINT', force);
  process.once('SIGTERM', force);
  process.stderr.write(`jobvisor: ${signal}, shutting down (grace ${args['grace-ms']} ms)…\n`);
  await server.close();
  const result = await supervisor.shutdown({ graceMs: args['grace-ms'] });
  await inspection?.close();
  process.stderr.write(
    `jobvisor: stopped (${result.interrupted} interrupted, ${result.pending} pending, resumed at the next start)\n`,
  );
  return EXIT.ok;
}

function describe(error: unknown): string {
  if (isCodedError(error)) return `${error.message} (${error.code})`;
  return error instanceof Error ? error.message : String(error);
}
