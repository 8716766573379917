/** What a node of a cluster (cluster/node.ts) is configured with, and what it needs from the engine. */
import type { JobRecord } from '../store/port.js';

export interface ClusterSettings {
  /** How long a renewal keeps the lease (on the store's clock). */
  readonly leaseMs: number;
  /** How often the node renews. */
  readonly renewMs: number;
  /** How often it claims, takes over and polls the log when nothing woke it (± 20 % jitter). */
  readonly claimIntervalMs: number;
}

export const CLUSTER_DEFAULTS: ClusterSettings = Object.freeze({
  leaseMs: 15_000,
  renewMs: 5_000,
  claimIntervalMs: 1_000,
});

/** What the node needs from the supervisor's engine. */
export interface ClusterHost {
  readonly node: { readonly id: string; readonly label: string };
  /** Cluster-wide limit of attempts at once. */
  readonly concurrency: number;
  /** Local slots that claimed jobs may take. */
  freeSlots(): number;
  /** The registered types with their (cluster-wide) limits. */
  typeLimits(): ReadonlyMap<string, number>;
  /** Attempts of `type` running here. */
  runningOf(type: string): number;
  /**
   * Jobs this node owns now: claimed (pending), or taken over / its own abandoned ones (run as
   * interrupted; those in `cancels` are cancelled instead, with the reason asked).
   */
  adopt(
    records: readonly JobRecord[],
    how: 'claimed' | 'takenOver',
    cancels?: ReadonlyMap<string, string | null>,
  ): void;
  /** Whether the job has a cell here that runs it. */
  isLocal(jobId: string): boolean;
  /** A cancellation another node asked for a job this node owns. */
  cancel(jobId: string, reason: string | null): void;
  /** Draining: let go of the claimed jobs not started here (the store frees them next). */
  dropQueued(): void;
  /** The lease may have lapsed: abandon every attempt here without writing; answers how many. */
  abandonAll(): number;
  /** Another node committed (or a notification may have been missed): read the log. */
  catchUp(): void;
  /** Reads again what the nodes share (another node may have changed it): pauses and schedules. */
  refreshShared(): Promise<void>;
  /** A renewal succeeded: the store answers. */
  reachable(): void;
  /** Accepting work (not draining or stopped). */
  active(): boolean;
  reportError(error: unknown): void;
}
