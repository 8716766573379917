/**
 * A PostgreSQL server of the test's own (initdb in a temporary directory, a free port), so that a
 * test may restart or stop it without touching the machine's server that other tests use. As
 * root it runs as the `postgres` user (PostgreSQL refuses root). `binDir` finds Debian's layout.
 */
import { execFileSync } from 'node:child_process';
import { chownSync, existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { freePort } from './cli-process.js';

function binDir(): string | undefined {
  const root = '/usr/lib/postgresql';
  if (!existsSync(root)) return undefined;
  const versions = readdirSync(root).sort((a, b) => Number(b) - Number(a));
  return versions.map((v) => join(root, v, 'bin')).find((dir) => existsSync(join(dir, 'initdb')));
}

export class PrivatePostgres {
  readonly #dir: string;
  readonly #bin: string;
  readonly port: number;

  private constructor(dir: string, bin: string, port: number) {
    this.#dir = dir;
    this.#bin = bin;
    this.port = port;
  }

  /** Whether this machine can run one (Debian's PostgreSQL binaries are installed). */
  static available(): boolean {
    return binDir() !== undefined;
  }

  static async create(): Promise<PrivatePostgres> {
    const bin = binDir();
    if (!bin) throw new Error('no PostgreSQL binaries under /usr/lib/postgresql');
    const dir = mkdtempSync(join(tmpdir(), 'jobvisor-pg-'));
    const server = new PrivatePostgres(dir, bin, await freePort());
    if (userInfo().uid === 0) {
      const uid = Number(execFileSync('id', ['-u', 'postgres']).toString());
      const gid = Number(execFileSync('id', ['-g', 'postgres']).toString());
      chownSync(dir, uid, gid);
    }
    server.#run('initdb', ['-D', join(dir, 'data'), '-A', 'trust', '-U', 'postgres', '--no-sync']);
    server.start();
    return server;
  }

  get url(): string {
    return `postgres://postgres@127.0.0.1:${this.port}/postgres`;
  }

  start(): void {
    this.#ctl('start', ['-o', `-p ${this.port} -k ${this.#dir} -c listen_addresses=127.0.0.1 -c fsync=off`]);
  }

  /** A fast restart: every connection is closed, the server is back when this returns. */
  restart(): void {
    this.#ctl('restart', ['-m', 'fast']);
  }

  stop(): void {
    this.#ctl('stop', ['-m', 'fast']);
  }

  close(): void {
    try {
      this.#ctl('stop', ['-m', 'immediate']);
    } catch {
      // already stopped
    }
    rmSync(this.#dir, { recursive: true, force: true });
  }

  #ctl(action: string, args: string[]): void {
    this.#run('pg_ctl', ['-D', join(this.#dir, 'data'), '-w', '-l', join(this.#dir, 'log'), action, ...args]);
  }

  #run(tool: string, args: string[]): void {
    const path = join(this.#bin, tool);
    if (userInfo().uid === 0)
      execFileSync('runuser', ['-u', 'postgres', '--', path, ...args], { stdio: 'pipe' });
    else execFileSync(path, args, { stdio: 'pipe' });
  }
}
