/**
 * Several real `jobvisor serve --postgres` children on one schema of their own, for the multi-node
 * tests: each node's URL, pid and node id, HTTP helpers, the handlers' execution log
 * (fixtures/cluster-handlers.ts), and cleanup (SIGKILL of what is left, the schema dropped).
 */
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, watch, writeFileSync, type FSWatcher } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { healthAnswerSchema, type HealthAnswer, type WireJob } from '../src/protocol/schemas.js';
import { startServe } from './cli-process.js';
import { EXEC_LOG_ENV } from './fixtures/cluster-handlers.js';
import { dropSchema, POSTGRES_URL, schemaName } from './postgres-helpers.js';

const HANDLERS = fileURLToPath(new URL('./fixtures/cluster-handlers.ts', import.meta.url));

/** Short leases, so that no test waits out the defaults (15 s / 5 s / 1 s). */
export const LEASE = { leaseMs: 1_500, renewMs: 300, claimIntervalMs: 100 } as const;
/** The failover bound: a dead node's jobs run again within one lease plus one claim interval (+20 % jitter). */
export const FAILOVER_MS = LEASE.leaseMs + LEASE.claimIntervalMs * 1.2;

export interface ServeNode {
  readonly child: ChildProcess;
  readonly url: string;
  readonly pid: number;
  readonly id: string;
  readonly exited: Promise<string>;
  dead(): boolean;
  stderr(): string;
}

export interface Execution {
  readonly what: 'start' | 'end' | 'abort';
  readonly jobId: string;
  readonly attempt: number;
  readonly pid: number;
  readonly at: number;
}

export class TestCluster {
  readonly schema = schemaName();
  readonly dir = mkdtempSync(join(tmpdir(), 'jobvisor-cluster-'));
  readonly execLog = join(this.dir, 'executions.log');
  readonly nodes: ServeNode[] = [];

  readonly #watcher: FSWatcher;

  constructor() {
    writeFileSync(this.execLog, '');
    // A line in the execution log wakes whoever waits (`eventually`).
    this.#watcher = watch(this.execLog, () => changed());
  }

  /** Starts a node; resolves once it listens and has joined the cluster. */
  async spawn(options: { postgresUrl?: string; args?: readonly string[] } = {}): Promise<ServeNode> {
    const served = await startServe(
      [
        '--postgres',
        options.postgresUrl ?? POSTGRES_URL,
        '--postgres-schema',
        this.schema,
        '--handlers',
        HANDLERS,
        '--cluster-lease-ms',
        String(LEASE.leaseMs),
        '--cluster-renew-ms',
        String(LEASE.renewMs),
        '--cluster-claim-interval-ms',
        String(LEASE.claimIntervalMs),
        ...(options.args ?? []),
      ],
      { [EXEC_LOG_ENV]: this.execLog },
    );
    const { child, url, stderr } = served;
    // `serve` listens once the supervisor is ready, and ready means the node has tried to join.
    const health = await this.health(url);
    if (health.cluster?.state !== 'held') throw new Error(`node did not join: ${stderr()}`);
    const node: ServeNode = {
      child,
      url,
      pid: child.pid!,
      id: health.node!.id,
      exited: served.ended,
      dead: served.dead,
      stderr,
    };
    this.nodes.push(node);
    return node;
  }

  async health(url: string): Promise<HealthAnswer> {
    return healthAnswerSchema.parse(await (await fetch(`${url}/health`)).json());
  }

  async post<T = unknown>(
    node: ServeNode,
    path: string,
    body: unknown,
  ): Promise<{ status: number; body: T }> {
    const res = await fetch(`${node.url}${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    return { status: res.status, body: (await res.json()) as T };
  }

  async start(node: ServeNode, body: unknown): Promise<WireJob> {
    const answer = await this.post<{ job: WireJob }>(node, '/jobs', body);
    if (answer.status !== 201 && answer.status !== 200)
      throw new Error(`start answered ${answer.status}: ${JSON.stringify(answer.body)}`);
    return answer.body.job;
  }

  async job(node: ServeNode, id: string): Promise<WireJob> {
    const answer = (await (await fetch(`${node.url}/jobs/${id}`)).json()) as WireJob | { job: WireJob };
    return 'job' in answer ? answer.job : answer;
  }

  executions(): Execution[] {
    return readFileSync(this.execLog, 'utf8')
      .split('\n')
      .filter(Boolean)
      .map((text) => {
        const [what, jobId, attempt, pid, at] = text.split(' ') as [
          Execution['what'],
          string,
          string,
          string,
          string,
        ];
        return { what, jobId, attempt: Number(attempt), pid: Number(pid), at: Number(at) };
      });
  }

  /** SIGKILL of every node still running, and the schema and files gone. */
  async close(): Promise<void> {
    for (const node of this.nodes) {
      if (node.dead()) continue;
      node.child.kill('SIGCONT');
      node.child.kill('SIGKILL');
      await node.exited;
    }
    this.#watcher.close();
    await dropSchema(this.schema);
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/** Waiters of `eventually`, woken when an execution log changes. */
const wakers = new Set<() => void>();
function changed(): void {
  for (const wake of [...wakers]) wake();
}

/**
 * Resolves once `test` holds; rejects with `what` after `ms`. The conditions live in other
 * processes (their execution log, the database, their HTTP answers): `test` runs again whenever an
 * execution log changes, and at the latest after `everyMs` for what no event here can tell.
 */
export async function eventually(
  what: string,
  test: () => boolean | Promise<boolean>,
  ms = 20_000,
  everyMs = 100,
): Promise<void> {
  const end = Date.now() + ms;
  while (!(await test())) {
    if (Date.now() > end) throw new Error(`not within ${ms} ms: ${what}`);
    await new Promise<void>((resolve) => {
      const wake = () => {
        clearTimeout(timer);
        wakers.delete(wake);
        resolve();
      };
      const timer = setTimeout(wake, everyMs);
      wakers.add(wake);
    });
  }
}
