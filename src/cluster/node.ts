/**
 * This supervisor as a node of a cluster (a store several nodes share, PostgreSQL): it holds a
 * lease that it renews, claims pending jobs while it has free slots, takes over the jobs of nodes
 * whose lease ended, hears cancellations asked on other nodes, and follows the others' commits.
 *
 * joining → held ⇄ lost → left: the lease machine (machines/lease.machine.ts) decides; this class
 * does the I/O. The lease is decided on the store's clock. Locally the node keeps a safe deadline
 * — the send time of its last successful renewal plus the lease minus a margin — and once it passes
 * without a renewal (partitioned, paused, the database unreachable) the node abandons its attempts
 * before its lease can lapse: their handlers are aborted and nothing more is written for them.
 * Every write is fenced by the store anyway (a job another node took over refuses it). When a
 * renewal succeeds again the node is `held` again and re-runs its own abandoned jobs as interrupted.
 */
import type { Clock } from '../common/clock.js';
import { withTimeout } from '../common/timeout.js';
import { createActor, type Actor } from 'xstate';
import { leaseMachine, type LeaseMachine } from '../../machines/lease.machine.js';
import { LiveNodes, withinShare } from './claim-share.js';
import type { ClusterStatus, LeaseState } from '../common/types.js';
import type { ClusterHost, ClusterSettings } from './host.js';
import type {
  ClaimRequest,
  ClusterEvent,
  ClusterStore,
  JobRecord,
  NodeRecord,
  TakenOver,
} from '../store/port.js';

export { CLUSTER_DEFAULTS, type ClusterHost, type ClusterSettings } from './host.js';

/** The margin before the lease ends at which the node abandons its attempts. */
export function safetyMargin(settings: ClusterSettings): number {
  return Math.min(3_000, Math.floor(settings.leaseMs / 5));
}

/** Jobs taken over per query; the loop goes on while a page comes back full. */
const TAKEOVER_PAGE = 100;

export class ClusterNode {
  readonly #cluster: ClusterStore;
  readonly #host: ClusterHost;
  readonly #clock: Clock;
  readonly #settings: ClusterSettings;
  /** The lease's state (machines/lease.machine.ts); this class does its I/O. */
  readonly #lease: Actor<LeaseMachine>;
  #dbLatencyMs: number | null = null;
  #counts = { claimed: 0, takenOver: 0, abandoned: 0 };
  #renewTimer: unknown;
  #tickTimer: unknown;
  #unlisten: (() => Promise<void>) | undefined;
  #claiming: Promise<void> | undefined;
  #claimAgain = false;
  #cancelling: Promise<void> | undefined;
  #cancelAgain = false;
  #ticking = false;
  /** The last commit claimed for this node and found no more to claim: its durable end needs no claim. */
  #claimedInCommit = false;
  /** Commit claims held to this node's share (`#commitClaim`): a short answer leaves work for others. */
  readonly #shareCapped = new WeakSet<ClaimRequest>();
  /** The nodes holding a lease, this one included. */
  readonly #liveNodes: LiveNodes;
  /** Everything still running in the background: `stop()` waits for it. */
  readonly #tasks = new Set<Promise<void>>();

  constructor(cluster: ClusterStore, host: ClusterHost, clock: Clock, settings: ClusterSettings) {
    this.#cluster = cluster;
    this.#host = host;
    this.#clock = clock;
    this.#settings = settings;
    this.#liveNodes = new LiveNodes(settings.leaseMs);
    const machine = leaseMachine.provide({
      actions: {
        abandonAttempts: () => {
          this.#counts.abandoned += this.#host.abandonAll();
        },
        adoptOwn: () => void this.#track(this.#adoptOwn()),
        claimNow: () => this.claimSoon(),
      },
    });
    this.#lease = createActor(machine, {
      clock,
      input: { leaseMs: settings.leaseMs, marginMs: safetyMargin(settings) },
    });
    this.#lease.start();
  }

  get #state(): LeaseState {
    const { value, status } = this.#lease.getSnapshot();
    return status === 'done' ? 'left' : value;
  }

  get status(): ClusterStatus {
    const { safeUntil, leaseUntil, failures } = this.#lease.getSnapshot().context;
    return {
      state: this.#state,
      leaseUntil,
      safeUntil,
      dbLatencyMs: this.#dbLatencyMs,
      renewFailures: failures,
      ...this.#counts,
    };
  }

  /** Whether the node may write and claim now: its lease is held and its safe deadline not passed. */
  get holds(): boolean {
    const { safeUntil } = this.#lease.getSnapshot().context;
    return this.#state === 'held' && safeUntil !== null && this.#clock.now() < safeUntil;
  }

  /**
   * Joins (the first renewal), listens, and starts the loops. A store it cannot reach now is
   * reported and tried again: the renewals go on, and each tick tries to listen again.
   */
  async start(): Promise<void> {
    this.#cluster.claimWithCommits?.(
      () => this.#commitClaim(),
      (records, request) => this.#claimedWithCommit(records, request),
    );
    await this.#renew();
    await this.#listen();
    this.#scheduleTick(0);
  }

  async #listen(): Promise<void> {
    if (this.#unlisten || this.#state === 'left') return;
    try {
      // Proven as often as the lease is renewed: a lost listener costs at most that much delay.
      this.#unlisten = await this.#cluster.listen((event) => this.#heard(event), {
        checkMs: this.#settings.renewMs,
      });
    } catch (error) {
      this.#host.reportError(error);
    }
  }

  /** Leaves the cluster: stops the loops, stops listening, and frees what it claimed and did not start. */
  async stop(): Promise<void> {
    if (this.#state === 'left') return;
    const wasHeld = this.#state === 'held';
    this.#lease.send({ type: 'LEAVE' });
    for (const timer of [this.#renewTimer, this.#tickTimer])
      if (timer !== undefined) this.#clock.clearTimeout(timer);
    for (const task of [...this.#tasks]) await task;
    await this.#unlisten?.().catch((error: unknown) => this.#host.reportError(error));
    if (wasHeld)
      await this.#cluster.leave(this.#host.node.id).catch((error: unknown) => this.#host.reportError(error));
  }

  /**
   * The supervisor drains (shutdown, SIGTERM): it claims nothing more, and the jobs it claimed but
   * did not start go back to the others at once. Its running attempts keep their lease until they end.
   */
  async drain(): Promise<void> {
    this.#host.dropQueued();
    await this.#cluster.release(this.#host.node.id).catch((error: unknown) => this.#host.reportError(error));
  }

  /** Asks the owner of a live job (any node) to cancel it; false when the job is not live. */
  requestCancel(jobId: string, reason: string | null): Promise<boolean> {
    return this.#cluster.requestCancel(jobId, reason);
  }

  /** The live nodes of the cluster. */
  nodes(): Promise<readonly NodeRecord[]> {
    return this.#cluster.nodes();
  }

  /**
   * A commit of this node's that ended attempts or queued jobs is durable: claim now, unless that
   * commit claimed already (in its own round trip) and found nothing more.
   */
  committedClaimable(): void {
    if (this.#claimedInCommit) {
      this.#claimedInCommit = false;
      return;
    }
    this.claimSoon();
  }

  /**
   * The claim a commit of this node's may make in its round trip: as `#claim` would, if none runs,
   * held to this node's share of the limits while other nodes hold a lease (claim-share.ts).
   */
  #commitClaim(): ClaimRequest | undefined {
    const host = this.#host;
    if (this.#claiming || !host.active() || !this.holds) return undefined;
    const max = host.freeSlots();
    const types = host.typeLimits();
    if (max <= 0 || types.size === 0) return undefined;
    const request = { node: host.node.id, max, types, concurrency: host.concurrency };
    const share = withinShare(request, this.#liveNodes.count(this.#clock.now()), (type) =>
      host.runningOf(type),
    );
    if (share?.capped) this.#shareCapped.add(share.request);
    return share?.request;
  }

  #claimedWithCommit(records: readonly JobRecord[], request: ClaimRequest): void {
    if (this.#state === 'left') return;
    if (records.length > 0) {
      this.#counts.claimed += records.length;
      this.#host.adopt(records, 'claimed');
    }
    // A full answer: more may be waiting, claim again once the commit is told; else nothing is
    // (unless the claim was held to this node's share: what is beyond it is anyone's).
    this.#claimedInCommit = records.length < request.max && !this.#shareCapped.has(request);
  }

  /**
   * A cell of a job this node owns was dropped after a refused write (another writer of the same
   * job here, such as a cancel of a job it had not claimed yet, lost the compare-and-set and took
   * this cell's changes with it): adopt again what the store says this node still owns and runs
   * nowhere here, with any cancellation asked meanwhile. A job another node owns is not touched.
   */
  reclaimOwn(): void {
    if (this.holds) void this.#track(this.#adoptOwn());
  }

  /** Claims pending jobs now (a slot freed, a job became claimable); one claim at a time. */
  claimSoon(): void {
    if (this.#claiming) {
      this.#claimAgain = true;
      return;
    }
    this.#claiming = this.#track(this.#claim()).finally(() => {
      this.#claiming = undefined;
      if (this.#claimAgain) {
        this.#claimAgain = false;
        this.claimSoon();
      }
    });
  }

  async #claim(): Promise<void> {
    const host = this.#host;
    await Promise.resolve(); // after the step that freed a slot is over: the free slots are counted then
    for (;;) {
      if (!host.active() || !this.holds) return;
      const max = host.freeSlots();
      const types = host.typeLimits();
      if (max <= 0 || types.size === 0) return;
      const records = await this.#cluster.claim({
        node: host.node.id,
        max,
        types,
        concurrency: host.concurrency,
      });
      if (records.length > 0) {
        this.#counts.claimed += records.length;
        host.adopt(records, 'claimed');
      }
      if (records.length < max) return;
    }
  }

  #heard(event: ClusterEvent): void {
    if (this.#state === 'left') return;
    if (event.type === 'cancel') return this.#checkCancels();
    if (event.type === 'committed' && event.writer !== null && event.writer !== this.#host.node.id)
      this.#liveNodes.heard(event.writer, this.#clock.now());
    this.#host.catchUp();
    if (event.type === 'reconnected') {
      this.#checkCancels();
      this.claimSoon();
      // This node's own commits wake its claims as they return (the host's `claimable`), sooner
      // than their notification; a claim on both would be one too many.
    } else if (event.claimable && event.writer !== this.#host.node.id) this.claimSoon();
  }

  /** Acts on the cancellations asked for this node's jobs. */
  #checkCancels(): void {
    if (this.#cancelling) {
      this.#cancelAgain = true;
      return;
    }
    this.#cancelling = this.#track(
      (async () => {
        const asked = await this.#cluster.cancelRequests(this.#host.node.id);
        const orphans = new Set<string>();
        for (const { jobId, reason } of asked) {
          if (this.#host.isLocal(jobId)) this.#host.cancel(jobId, reason);
          else orphans.add(jobId);
        }
        // Owned here, asked to cancel, and no cell for it here (its cells were dropped after a
        // refused write): adopt it with its cancellation, so that it ends cancelled (never run).
        if (orphans.size > 0 && this.holds) {
          const own = await this.#cluster.takeover(this.#host.node.id, TAKEOVER_PAGE, { own: true });
          this.#adoptTaken(
            own.filter(
              (t) =>
                orphans.has(t.record.id) && t.cancelRequested !== null && !this.#host.isLocal(t.record.id),
            ),
          );
        }
      })(),
    ).finally(() => {
      this.#cancelling = undefined;
      if (this.#cancelAgain) {
        this.#cancelAgain = false;
        this.#checkCancels();
      }
    });
  }

  async #renew(): Promise<void> {
    const sentAt = this.#clock.now();
    const { leaseMs, renewMs } = this.#settings;
    try {
      const answer = await withTimeout(this.#cluster.renew(this.#host.node, leaseMs), renewMs);
      if (this.#state === 'left') return;
      const at = this.#clock.now();
      this.#dbLatencyMs = at - sentAt;
      this.#liveNodes.renewed(answer.nodes);
      this.#host.reachable();
      this.#lease.send({ type: 'RENEWED', sentAt, until: answer.until, at });
    } catch (error) {
      if (this.#state !== 'left') this.#lease.send({ type: 'RENEW_FAILED', at: this.#clock.now() });
      this.#host.reportError(error);
    } finally {
      if (this.#state !== 'left') {
        // After a failure, try again sooner (still at most once per second).
        const failing = this.#lease.getSnapshot().context.failures > 0;
        const next = failing ? Math.min(renewMs, 1_000) : renewMs;
        this.#renewTimer = this.#clock.setTimeout(() => void this.#track(this.#renew()), next);
      }
    }
  }

  /** Back after a lost lease: the jobs still owned by this node were abandoned; run them as interrupted. */
  async #adoptOwn(): Promise<void> {
    const own = await this.#cluster.takeover(this.#host.node.id, TAKEOVER_PAGE, { own: true });
    this.#adoptTaken(own.filter((t) => !this.#host.isLocal(t.record.id)));
  }

  #adoptTaken(taken: readonly TakenOver[]): void {
    if (taken.length === 0) return;
    this.#counts.takenOver += taken.length;
    const cancels = new Map<string, string | null>();
    for (const t of taken) {
      if (t.cancelRequested !== null)
        cancels.set(t.record.id, t.cancelRequested === '' ? null : t.cancelRequested);
    }
    this.#host.adopt(
      taken.map((t) => t.record),
      'takenOver',
      cancels,
    );
  }

  /** Every claim interval: take over from dead nodes, claim, act on cancellations, poll the log. */
  #scheduleTick(ms: number): void {
    if (this.#state === 'left') return;
    this.#tickTimer = this.#clock.setTimeout(() => {
      this.#tickTimer = undefined;
      void this.#track(this.#tick());
    }, ms);
  }

  async #tick(): Promise<void> {
    if (this.#ticking) return;
    this.#ticking = true;
    try {
      this.#host.catchUp();
      await this.#listen();
      await this.#host.refreshShared();
      if (this.holds && this.#host.active()) {
        for (;;) {
          const taken = await this.#cluster.takeover(this.#host.node.id, TAKEOVER_PAGE);
          this.#adoptTaken(taken);
          if (taken.length < TAKEOVER_PAGE || !this.holds) break;
        }
        this.#checkCancels();
        this.claimSoon();
      }
    } finally {
      this.#ticking = false;
      const { claimIntervalMs } = this.#settings;
      this.#scheduleTick(claimIntervalMs * (0.8 + Math.random() * 0.4));
    }
  }

  /** A background task: its failure is reported, and `stop()` waits for it. */
  #track(task: Promise<void>): Promise<void> {
    const tracked = task.catch((error: unknown) => this.#host.reportError(error));
    this.#tasks.add(tracked);
    void tracked.finally(() => this.#tasks.delete(tracked));
    return tracked;
  }
}
