/**
 * A node's share of the cluster-wide limits, for the claim its commits make in their own round trip
 * (cluster/node.ts): each limit over the live nodes, rounded up. A node that holds every place a
 * limit allows would otherwise take back, in the same round trip, each place its commits free,
 * before another node's claim could see it, and run every job of that type while the others wait.
 * What is beyond its share goes to whichever node claims first once the commit is told.
 */
import type { ClaimRequest } from '../store/port.js';

/**
 * The nodes holding a lease, as this node knows them: the count its last renewal answered, or more
 * if other nodes were heard committing since (a notification names its writer) within a lease.
 */
export class LiveNodes {
  readonly #leaseMs: number;
  #atRenewal = 1;
  /** Other nodes heard committing, with when. */
  readonly #heard = new Map<string, number>();

  constructor(leaseMs: number) {
    this.#leaseMs = leaseMs;
  }

  renewed(count: number | undefined): void {
    if (count !== undefined) this.#atRenewal = Math.max(1, count);
  }

  heard(node: string, at: number): void {
    this.#heard.set(node, at);
  }

  count(now: number): number {
    const since = now - this.#leaseMs;
    for (const [node, at] of this.#heard) if (at < since) this.#heard.delete(node);
    return Math.max(this.#atRenewal, 1 + this.#heard.size);
  }
}

/**
 * `request` (the node's free slots, every type it runs) held to the node's share among `nodes`:
 * itself when the share does not bind, a smaller request (`capped`), or undefined when nothing is
 * left within the share. `runningOf`: the attempts of a type running on this node.
 */
export function withinShare(
  request: ClaimRequest,
  nodes: number,
  runningOf: (type: string) => number,
): { readonly request: ClaimRequest; readonly capped: boolean } | undefined {
  if (nodes <= 1) return { request, capped: false };
  const { max: free, types: all, concurrency } = request;
  // What this node may still take under a limit: its share less what it holds (no limit: any).
  const room = (limit: number, held: number) =>
    limit === Infinity ? Infinity : Math.ceil(limit / nodes) - held;
  let max = Math.min(free, room(concurrency, concurrency - free));
  const types = new Map<string, number>();
  let typeRoom = 0;
  for (const [type, limit] of all) {
    const left = room(limit, runningOf(type));
    if (left <= 0) continue;
    types.set(type, limit);
    typeRoom += left;
  }
  max = Math.min(max, typeRoom);
  if (max >= free && types.size === all.size) return { request, capped: false };
  if (max <= 0 || types.size === 0) return undefined;
  return { request: { ...request, max, types }, capped: true };
}
