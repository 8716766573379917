/**
 * A node's claim in its commits' round trips is held to its share of the limits when several nodes
 * hold a lease (src/cluster/node.ts `#commitClaim`): a node holding every place a cluster-wide limit
 * allows would otherwise take back each place its commits free before any other node's claim could
 * see it, and run every job while the others wait. Alone, it claims as before. The node count comes
 * from the renewals and, sooner, from the other nodes heard committing. (The spread over real nodes
 * on PostgreSQL: test/cluster.test.ts.)
 */
import { SimulatedClock } from 'xstate';
import { describe, expect, it } from 'vitest';
import { ClusterNode, type ClusterHost } from '../src/cluster/node.js';
import type { ClaimRequest, ClusterEvent, ClusterStore, JobRecord } from '../src/store/port.js';

interface Fake {
  readonly node: ClusterNode;
  readonly host: { free: number; running: Map<string, number> };
  /** The claim the node's next commit would make. */
  want(): ClaimRequest | undefined;
  /** What the commit that made `request` claimed. */
  claimed(records: readonly JobRecord[], request: ClaimRequest): void;
  hear(event: ClusterEvent): void;
  /** Standalone claims the node made. */
  readonly claims: ClaimRequest[];
}

async function fakeNode(options: {
  nodes?: number;
  concurrency: number;
  limits: Record<string, number>;
}): Promise<Fake> {
  const clock = new SimulatedClock();
  const claims: ClaimRequest[] = [];
  let withCommits: Parameters<NonNullable<ClusterStore['claimWithCommits']>> | undefined;
  let listener: ((event: ClusterEvent) => void) | undefined;
  const store: ClusterStore = {
    renew: async (_node, leaseMs) => ({
      until: clock.now() + leaseMs,
      now: clock.now(),
      ...(options.nodes === undefined ? {} : { nodes: options.nodes }),
    }),
    leave: async () => undefined,
    release: async () => undefined,
    claim: async (request) => (claims.push(request), []),
    claimWithCommits: (want, claimed) => (withCommits = [want, claimed]),
    takeover: async () => [],
    requestCancel: async () => false,
    cancelRequests: async () => [],
    listen: async (heard) => ((listener = heard), async () => undefined),
    nodes: async () => [],
  };
  const state = { free: options.concurrency, running: new Map<string, number>() };
  const host: ClusterHost = {
    node: { id: 'me', label: 'me' },
    concurrency: options.concurrency,
    freeSlots: () => state.free,
    typeLimits: () => new Map(Object.entries(options.limits)),
    runningOf: (type) => state.running.get(type) ?? 0,
    adopt: () => undefined,
    isLocal: () => false,
    cancel: () => undefined,
    dropQueued: () => undefined,
    abandonAll: () => 0,
    catchUp: () => undefined,
    reachable: () => undefined,
    refreshShared: async () => undefined,
    active: () => true,
    reportError: (error) => {
      throw error;
    },
  };
  const node = new ClusterNode(store, host, clock, {
    leaseMs: 15_000,
    renewMs: 5_000,
    claimIntervalMs: 1_000,
  });
  await node.start();
  // The first tick's claim (the node joined with free slots) is over.
  await Promise.resolve();
  await Promise.resolve();
  claims.length = 0;
  return {
    node,
    host: state,
    want: () => withCommits![0](),
    claimed: (records, request) => withCommits![1](records, request),
    hear: (event) => listener!(event),
    claims,
  };
}

const limitsOf = (request: ClaimRequest | undefined) => request && Object.fromEntries(request.types);
/** Lets what the node started meanwhile (a claim) run to its end. */
const settle = () => new Promise<void>((resolve) => setImmediate(resolve));

describe("a node's claim with its commits, among several nodes", () => {
  it('alone, claims every free slot of every type, as a claim of its own does', async () => {
    const fake = await fakeNode({ nodes: 1, concurrency: 4, limits: { work: 3, other: Infinity } });
    fake.host.free = 1;
    fake.host.running.set('work', 3);
    const request = fake.want();
    expect(request?.max).toBe(1);
    expect(limitsOf(request)).toEqual({ work: 3, other: Infinity });
    await fake.node.stop();
  });

  it("among 3 nodes, leaves a type alone once this node runs its share of the type's limit", async () => {
    const fake = await fakeNode({ nodes: 3, concurrency: 9, limits: { work: 3, other: 6 } });
    fake.host.free = 8;
    fake.host.running.set('work', 1); // its share of 3 over 3 nodes: 1
    const request = fake.want();
    expect(limitsOf(request)).toEqual({ other: 6 }); // the cluster-wide limits, for the store to count
    expect(request?.max).toBe(2); // its share of 9 slots is 3, it holds 1; of `other` 2 are left
    fake.host.running.set('other', 2);
    expect(fake.want()).toBeUndefined(); // nothing left within its share: the commit claims nothing
    await fake.node.stop();
  });

  it('after a claim held to its share comes back short, claims again once the commit is told', async () => {
    const fake = await fakeNode({ nodes: 2, concurrency: 4, limits: { work: 4 } });
    fake.host.free = 3; // holds 1 of its share of 2
    const request = fake.want()!;
    expect(request.max).toBe(1);
    fake.claimed([], request);
    fake.node.committedClaimable();
    await settle();
    // A free place beyond its share is anyone's: this node claims too, as the others do when told.
    expect(fake.claims.map((c) => c.max)).toEqual([3]);
    await fake.node.stop();
  });

  it('after a full claim came back short, does not claim again (nothing more is pending)', async () => {
    const fake = await fakeNode({ nodes: 1, concurrency: 4, limits: { work: 4 } });
    fake.host.free = 3;
    const request = fake.want()!;
    fake.claimed([], request);
    fake.node.committedClaimable();
    await settle();
    expect(fake.claims).toEqual([]);
    await fake.node.stop();
  });

  it('counts the nodes it hears committing before its next renewal says so', async () => {
    const fake = await fakeNode({ concurrency: 4, limits: { work: 2 } }); // its store counts no nodes
    fake.host.free = 3;
    fake.host.running.set('work', 1);
    expect(limitsOf(fake.want())).toEqual({ work: 2 });
    fake.hear({ type: 'committed', offset: 7, claimable: true, writer: 'other' });
    await settle(); // the claim that notification woke is over
    expect(fake.want()).toBeUndefined(); // 2 nodes: its share of `work` is 1, and it runs 1
    fake.hear({ type: 'committed', offset: 8, claimable: true, writer: 'me' }); // itself: still 2
    fake.host.running.set('work', 0);
    expect(fake.want()?.max).toBe(1);
    await fake.node.stop();
  });
});
