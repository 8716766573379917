/**
 * Every subscriber sees every change, in order, on any node: 3 `jobvisor serve` nodes on one
 * schema commit 10,000 changes each while 6 WebSocket subscribers (2 per node) follow them. Each
 * subscriber's offsets are strictly increasing without a gap and name exactly the store's log;
 * each job's seq is contiguous; one subscriber leaves mid-run and resumes on another node with
 * `since`, and gets exactly the changes it missed.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { eventually, TestCluster } from './cluster-harness.js';
import { sql } from './postgres-helpers.js';
import { WsSubscriber } from './ws-subscriber.js';

const CHANGES_PER_NODE = 10_000;
/** created, started, 10 progress, completed. */
const CHANGES_PER_JOB = 13;
/** Concurrent POST /jobs per node. */
const PRODUCERS = 8;

const clusters: TestCluster[] = [];
afterEach(async () => {
  for (const c of clusters.splice(0)) await c.close();
});

describe('3 nodes × 10,000 changes to 6 subscribers', () => {
  it(
    'each subscriber gets the whole log in order, without a gap, and a resume on another node is exact',
    { timeout: 240_000 },
    async () => {
      const c = new TestCluster();
      clusters.push(c);
      const nodes = await Promise.all([c.spawn(), c.spawn(), c.spawn()]);
      const subscribers = Array.from({ length: 6 }, () => new WsSubscriber());
      await Promise.all(subscribers.map((s, i) => s.connect(nodes[i % 3]!.url)));
      const mover = subscribers[5]!; // on node 2; resumes on node 0

      const jobsPerNode = Math.ceil(CHANGES_PER_NODE / CHANGES_PER_JOB);
      let posted = 0;
      const ids: string[] = [];
      const began = Date.now();
      const produce = async (node: (typeof nodes)[number]) => {
        while (posted < jobsPerNode * 3) {
          posted++;
          ids.push((await c.start(node, { type: 'work', input: { steps: 10, ms: 0 } })).id);
        }
      };
      const producing = Promise.all(
        nodes.flatMap((node) => Array.from({ length: PRODUCERS }, () => produce(node))),
      );
      await eventually('a third of the run', () => mover.changes.length >= CHANGES_PER_NODE, 120_000);
      await mover.disconnect();
      await producing;
      await mover.connect(nodes[0].url);
      await eventually(
        'every job finishes',
        async () => {
          const [row] = await sql<{ n: number }>(
            `SELECT count(*)::int AS n FROM ${c.schema}.jobs WHERE status IN ('pending', 'running')`,
          );
          return row!.n === 0;
        },
        120_000,
      );
      const log = (
        await sql<{ offset: string; job_id: string; seq: number }>(
          `SELECT "offset", job_id, seq FROM ${c.schema}.changes ORDER BY "offset"`,
        )
      ).map((r) => ({ offset: Number(r.offset), jobId: r.job_id, seq: r.seq }));
      const last = log.at(-1)!.offset;
      await Promise.all(subscribers.map((s) => s.reached(last)));
      const seconds = (Date.now() - began) / 1_000;
      console.log(
        `cluster stream: ${log.length} changes of ${ids.length} jobs in ${seconds.toFixed(1)} s ` +
          `(${Math.round(log.length / seconds)} changes/s over 3 nodes) to 6 subscribers`,
      );
      expect(log.length).toBeGreaterThanOrEqual(3 * CHANGES_PER_NODE);
      expect(log.map((e) => e.offset)).toEqual(log.map((_, i) => log[0]!.offset + i));

      for (const s of subscribers) {
        const got = s.changes.map((ch) => ({ offset: ch.offset, jobId: ch.jobId, seq: ch.seq }));
        // Exactly the log after its first snapshot: strictly increasing, no gap, nothing twice.
        expect(got).toEqual(log.filter((e) => e.offset > s.from!));
        expect(s.resyncs).toBe(0);
      }
      // Each job's seq is contiguous from its first change, as every subscriber heard it.
      const byJob = new Map<string, number[]>();
      for (const ch of subscribers[0]!.changes) byJob.set(ch.jobId, [...(byJob.get(ch.jobId) ?? []), ch.seq]);
      for (const seqs of byJob.values()) expect(seqs).toEqual(seqs.map((_, i) => seqs[0]! + i));
      await Promise.all(subscribers.map((s) => s.disconnect()));
    },
  );
});
