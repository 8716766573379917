/**
 * `jobvisor serve`: the HTTP/WebSocket server on a SQLite store (or PostgreSQL, where several nodes
 * share one database), with the job types that a handlers module registers. The first stdout line is
 * `listening on URL` (with the real port for `--port 0`),
 * the second the dashboard's address.
 * SIGINT/SIGTERM close the server, drain the supervisor (`--grace-ms`) and exit 0. The options
 * (flags, environment, `--config FILE`) are resolved in `serve-options.ts` before anything starts.
 */
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { createSupervisor, type Supervisor } from '../index.js';
import { createJobvisorServer } from '../server/index.js';
import { postgresStore } from '../postgres.js';
import { sqliteStore } from '../sqlite.js';
import { EXIT, isCodedError } from './exit.js';
import { printLine } from './render.js';
import { inspectTo } from './inspect-to.js';
import { resolveServeOptions } from './serve-options.js';

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
  const { supervisor: options, server: args, config } = resolveServeOptions(argv, process.env);
  const fail = (message: string): number => {
    process.stderr.write(`jobvisor serve: ${message}\n`);
    return EXIT.failed;
  };

  let supervisor: Supervisor;
  const started = { ready: false };
  try {
    const register = args.handlers === undefined ? undefined : await loadHandlers(args.handlers);
    const store =
      args.postgres === undefined
        ? sqliteStore({ path: resolve(args.db) })
        : postgresStore({ connectionString: args.postgres, schema: args.postgresSchema });
    supervisor = createSupervisor({ ...options, store });
    reportErrors(supervisor, started);
    await register?.(supervisor);
  } catch (error) {
    return fail(error instanceof StartupError ? error.message : describe(error));
  }
  try {
    await supervisor.ready();
    started.ready = true;
  } catch (error) {
    return fail(`cannot use the database ${where(args)}: ${describe(error)}`);
  }

  const inspection = args.inspectTo === undefined ? undefined : inspectTo(supervisor, args.inspectTo);
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
    `jobvisor: database ${where(args)}, handlers ${args.handlers ?? '(none)'}${config === undefined ? '' : `, config ${config}`}${args.token === undefined ? '' : ', token required'}\n` +
      `jobvisor: supervisor options ${JSON.stringify(options)}\n`,
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
  process.stderr.write(`jobvisor: ${signal}, shutting down (grace ${args.graceMs} ms)…\n`);
  await server.close();
  const result = await supervisor.shutdown({ graceMs: args.graceMs });
  await inspection?.close();
  process.stderr.write(
    `jobvisor: stopped (${result.interrupted} interrupted, ${result.pending} pending, resumed at the next start)\n`,
  );
  return EXIT.ok;
}

/** The database, as messages name it (never the connection string's password). */
function where(args: { db: string; postgres?: string; postgresSchema: string }): string {
  if (args.postgres === undefined) return args.db;
  const url = new URL(args.postgres);
  url.password = '';
  return `${url.toString()} (schema ${args.postgresSchema})`;
}

/**
 * The supervisor's errors on stderr, one line each for an expected (coded) one, with its stack for
 * anything else. A store error before the supervisor is ready is left to the one line that says the
 * database cannot be used (store_locked, a newer schema…).
 */
function reportErrors(supervisor: Supervisor, started: { readonly ready: boolean }): void {
  supervisor.on('error', ({ where, jobId, error }) => {
    if (where === 'store' && !started.ready) return;
    const prefix = `jobvisor: ${where} error${jobId === undefined ? '' : ` (job ${jobId})`}:`;
    const expected = isCodedError(error) && error.code !== 'internal_error';
    const text = expected || !(error instanceof Error) ? describe(error) : (error.stack ?? error.message);
    process.stderr.write(`${prefix} ${text}\n`);
  });
}

function describe(error: unknown): string {
  if (isCodedError(error)) return `${error.message} (${error.code})`;
  return error instanceof Error ? error.message : String(error);
}
