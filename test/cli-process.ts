/** The `jobvisor` CLI (src/cli/main.ts through tsx) as a child process, and a free TCP port. */
import { spawn, type ChildProcess, type ChildProcessByStdio } from 'node:child_process';
import { createServer, type AddressInfo } from 'node:net';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const main = join(root, 'src/cli/main.ts');

/** The environment without the user's JOBVISOR_* settings, plus `extra`. */
function cleanEnv(extra: Record<string, string>): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [name, value] of Object.entries(process.env))
    if (!name.startsWith('JOBVISOR_')) env[name] = value;
  return { ...env, ...extra };
}

/** `jobvisor ...args` from the repository root, stdout and stderr piped, JOBVISOR_* settings only from `env`. */
export function spawnCli(
  args: readonly string[],
  env: Record<string, string> = {},
): ChildProcessByStdio<null, Readable, Readable> {
  return spawn(process.execPath, ['--import', 'tsx', main, ...args], {
    cwd: root,
    env: cleanEnv(env),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
}

/** A port on 127.0.0.1 that was free a moment ago. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const { port } = probe.address() as AddressInfo;
      probe.close(() => resolve(port));
    });
  });
}

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs `jobvisor ...args` to its end. */
export function runCli(args: string[], env: Record<string, string> = {}): Promise<CliResult> {
  const child = spawnCli(args, env);
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

export interface Served {
  url: string;
  child: ChildProcess;
  stderr: () => string;
  /** SIGTERM, then the exit code. */
  stop: () => Promise<number | null>;
  /** How it ended: the signal (`SIGKILL`, …) or `exit N`. */
  ended: Promise<string>;
  dead: () => boolean;
}

/** Starts `jobvisor serve --port 0 ...args` and resolves once it printed `listening on URL`. */
export function startServe(args: string[], env: Record<string, string> = {}): Promise<Served> {
  const child = spawnCli(['serve', '--port', '0', ...args], env);
  let stdout = '';
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  let dead = false;
  const ended = new Promise<string>((resolve) =>
    child.once('exit', (code, signal) => {
      dead = true;
      resolve(signal ?? `exit ${code}`);
    }),
  );
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return new Promise((resolve, reject) => {
    child.stdout.on('data', (d: Buffer) => {
      stdout += d.toString();
      const match = /^listening on (http:\/\/\S+)\n/.exec(stdout);
      if (match?.[1] === undefined) return;
      resolve({
        url: match[1],
        child,
        stderr: () => stderr,
        ended,
        dead: () => dead,
        stop: () => {
          if (child.exitCode === null) child.kill('SIGTERM');
          return exited;
        },
      });
    });
    void exited.then((code) => reject(new Error(`serve exited (${code}) before listening: ${stderr}`)));
  });
}
