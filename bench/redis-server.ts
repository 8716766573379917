/**
 * Private redis-server processes for the BullMQ peer (bench/bullmq.ts). Each one is a child of this
 * process on a free loopback port with its own temp dir, so a bench run never touches a shared Redis
 * (127.0.0.1:6379 is refused outright) and never needs a FLUSH: stop() ends the process and deletes
 * its dir.
 *
 * Modes: 'memory' (`--appendonly no --save ""`: nothing is written to disk) and 'aof-always'
 * (`--appendonly yes --appendfsync always`: every write command is fsynced to the AOF before
 * Redis replies to it). Neither mode writes RDB snapshots.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';

export type RedisMode = 'memory' | 'aof-always';

/** The environment variable that hands a child process the port of the private server of `mode`. */
export const redisPortEnv = (mode: RedisMode): string =>
  `BENCH_REDIS_PORT_${mode.toUpperCase().replace('-', '_')}`;

export interface PrivateRedis {
  readonly host: string;
  readonly port: number;
  readonly mode: RedisMode;
  readonly pid: number;
  /** SIGTERM, then SIGKILL if it has not exited within 3 s; removes the temp dir. Idempotent. */
  stop(): Promise<void>;
}

const HOST = '127.0.0.1';
/** The shared Redis of this machine: never ours. */
const SHARED_PORT = 6379;
const READY_LINE = 'Ready to accept connections';
const READY_TIMEOUT_MS = 10_000;
const KILL_AFTER_MS = 3_000;
/** How much of the child's stdout/stderr is kept for error messages. */
const TAIL_CHARS = 8_192;

/** The version of `redis-server` on PATH (e.g. "7.0.15"), or null when there is none. */
export function redisServerVersion(): string | null {
  const out = spawnSync('redis-server', ['--version'], { encoding: 'utf8', timeout: 5_000 });
  if (out.error || out.status !== 0) return null;
  const line = out.stdout.trim();
  return /\bv=(\S+)/.exec(line)?.[1] ?? (line || null);
}

/** A port that was free a moment ago: listen on port 0, read the number, close. */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.once('error', reject);
    server.listen(0, HOST, () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => (port > 0 ? resolve(port) : reject(new Error('no free port'))));
    });
  });
}

/** Children still running, killed (SIGKILL) if this process exits without stopping them. */
const running = new Set<ChildProcess>();
let exitHookInstalled = false;
function trackChild(child: ChildProcess): void {
  running.add(child);
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.once('exit', () => {
    for (const c of running) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  });
}

const appendTail = (tail: string, chunk: string): string => (tail + chunk).slice(-TAIL_CHARS);

function exited(child: ChildProcess): boolean {
  return child.exitCode !== null || child.signalCode !== null;
}

function waitForExit(child: ChildProcess, ms: number): Promise<boolean> {
  if (exited(child)) return Promise.resolve(true);
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      child.off('exit', onExit);
      resolve(false);
    }, ms);
    const onExit = () => {
      clearTimeout(timer);
      resolve(true);
    };
    child.once('exit', onExit);
  });
}

async function ping(port: number): Promise<void> {
  // One connection attempt, no reconnects, no offline queue: a failure is reported, not retried.
  const client = new Redis({
    host: HOST,
    port,
    lazyConnect: true,
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
    connectTimeout: 2_000,
  });
  client.on('error', () => {}); // reported through the rejected connect()/ping()
  try {
    await client.connect();
    const reply: string = await client.ping();
    if (reply !== 'PONG') throw new Error(`PING answered ${reply}`);
  } finally {
    client.disconnect();
  }
}

async function launch(mode: RedisMode, port: number): Promise<PrivateRedis> {
  if (port === SHARED_PORT) throw new Error('refusing port 6379 (the shared Redis)');
  const dir = await mkdtemp(join(tmpdir(), `jvbench-redis-${mode}-`));
  // prettier-ignore
  const args = [
    '--port', String(port),
    '--bind', HOST,
    '--dir', dir,
    '--save', '',
    '--daemonize', 'no',
    ...(mode === 'memory' ? ['--appendonly', 'no'] : ['--appendonly', 'yes', '--appendfsync', 'always']),
  ];
  const child = spawn('redis-server', args, { stdio: ['ignore', 'pipe', 'pipe'] });
  trackChild(child);
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8');
  child.stderr.setEncoding('utf8');
  // Both pipes are read for the child's whole life, so Redis never blocks on a full pipe.
  child.stderr.on('data', (chunk: string) => (stderr = appendTail(stderr, chunk)));

  let stopping: Promise<void> | null = null;
  const stop = (): Promise<void> =>
    (stopping ??= (async () => {
      if (!exited(child) && child.pid !== undefined) {
        try {
          process.kill(child.pid, 'SIGTERM');
        } catch {
          /* already gone */
        }
        if (!(await waitForExit(child, KILL_AFTER_MS))) {
          try {
            process.kill(child.pid, 'SIGKILL');
          } catch {
            /* already gone */
          }
          await waitForExit(child, KILL_AFTER_MS);
        }
      }
      running.delete(child);
      await rm(dir, { recursive: true, force: true });
    })());

  const describe = (why: string): Error =>
    new Error(
      `redis-server (${mode}, port ${port}) ${why}\n--- stderr ---\n${stderr.trim() || '(empty)'}` +
        `\n--- stdout (tail) ---\n${stdout.trim().split('\n').slice(-10).join('\n') || '(empty)'}`,
    );

  try {
    await new Promise<void>((resolve, reject) => {
      let ready = false;
      const timer = setTimeout(() => {
        cleanup();
        reject(describe(`did not print "${READY_LINE}" within ${READY_TIMEOUT_MS / 1_000} s`));
      }, READY_TIMEOUT_MS);
      const onData = (chunk: string) => {
        stdout = appendTail(stdout, chunk);
        if (!ready && stdout.includes(READY_LINE)) {
          ready = true;
          cleanup();
          resolve();
        }
      };
      const onError = (error: Error) => {
        cleanup();
        reject(describe(`failed to start: ${error.message}`));
      };
      const onExit = (code: number | null, signal: NodeJS.Signals | null) => {
        cleanup();
        // stderr/stdout may still be arriving: give them one turn.
        setImmediate(() => reject(describe(`exited before it was ready (code ${code}, signal ${signal})`)));
      };
      const cleanup = () => {
        clearTimeout(timer);
        child.off('error', onError);
        child.off('exit', onExit);
      };
      child.stdout.on('data', onData);
      child.once('error', onError);
      child.once('exit', onExit);
    });
    try {
      await ping(port);
    } catch (error) {
      throw describe(`printed "${READY_LINE}" but did not answer PING: ${String(error)}`);
    }
  } catch (error) {
    await stop();
    throw error;
  }
  if (child.pid === undefined) throw describe('has no pid');
  return { host: HOST, port, mode, pid: child.pid, stop };
}

/**
 * Starts a private redis-server in `mode`; null when `redis-server` is not on PATH. Throws (with the
 * server's stderr) when it does not become ready within 10 s. A port taken between picking and
 * binding (the server exits with "Address already in use") is retried on a new port, twice.
 */
export async function startPrivateRedis(mode: RedisMode): Promise<PrivateRedis | null> {
  if (redisServerVersion() === null) return null;
  for (let attempt = 1; ; attempt++) {
    const port = await freePort();
    if (port === SHARED_PORT) continue;
    try {
      return await launch(mode, port);
    } catch (error) {
      if (attempt >= 3 || !/already in use/i.test(String(error))) throw error;
    }
  }
}
