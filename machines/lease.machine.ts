/**
 * The lease machine: a node's hold on its place in a cluster (several supervisors sharing one
 * store). src/cluster/node.ts runs it: it renews the lease on the store's clock and tells the
 * machine how each renewal went; the machine decides when the node may no longer act.
 *
 * joining → held ⇄ lost → left
 *
 * A renewal sent at `sentAt` keeps the lease until at least `sentAt + leaseMs` on the store's clock.
 * The node's safe deadline is `sentAt + leaseMs − marginMs` on its own clock: `held` lasts until it
 * (the `deadline` delay, re-armed by each renewal), then the node is `lost` — it abandons its
 * attempts (`abandonAttempts`) before its lease can lapse, whatever kept it from renewing (a
 * partition, a pause, the database gone). A renewal that succeeds in `lost` brings it back to
 * `held`, and it takes back its own abandoned jobs (`adoptOwn`). `left` is final (shutdown).
 */
import { assign, setup } from 'xstate';

export interface LeaseInput {
  readonly leaseMs: number;
  /** Before the lease ends on the store's clock, the node stops this much earlier on its own. */
  readonly marginMs: number;
}

export interface LeaseContext extends LeaseInput {
  /** The local time past which the node may not act without a new renewal; null before the first. */
  readonly safeUntil: number | null;
  /** The lease's end on the store's clock, as the last renewal answered. */
  readonly leaseUntil: number | null;
  /** Renewals failed in a row. */
  readonly failures: number;
  /** The local time of the latest event (the `deadline` delay counts from it). */
  readonly at: number;
}

export type LeaseEvent =
  /** A renewal sent at `sentAt` succeeded at `at`; the store keeps the lease until `until`. */
  | { readonly type: 'RENEWED'; readonly sentAt: number; readonly until: number; readonly at: number }
  /** A renewal failed (or took longer than the renewal interval). */
  | { readonly type: 'RENEW_FAILED'; readonly at: number }
  /** The node leaves the cluster. */
  | { readonly type: 'LEAVE' };

/** An effect of the node: provided by src/cluster/node.ts (machines/ does no I/O). */
const provided = () => undefined;

export const leaseMachine = setup({
  types: {
    context: {} as LeaseContext,
    events: {} as LeaseEvent,
    input: {} as LeaseInput,
  },
  actions: {
    /** Past the safe deadline: abort every attempt of this node, write nothing more for them. */
    abandonAttempts: provided,
    /** Back after a lost lease: re-run this node's own abandoned jobs as interrupted. */
    adoptOwn: provided,
    /** The lease is held (again): claim pending jobs now. */
    claimNow: provided,
    recordRenewal: assign(({ context, event }) =>
      event.type === 'RENEWED'
        ? {
            safeUntil: event.sentAt + context.leaseMs - context.marginMs,
            leaseUntil: event.until,
            failures: 0,
            at: event.at,
          }
        : {},
    ),
    countFailure: assign(({ context, event }) =>
      event.type === 'RENEW_FAILED' ? { failures: context.failures + 1, at: event.at } : {},
    ),
  },
  guards: {
    /** The renewal still leaves time before its safe deadline (a late answer may not). */
    isInTime: ({ context, event }) =>
      event.type === 'RENEWED' && event.sentAt + context.leaseMs - context.marginMs > event.at,
  },
  delays: {
    /** Until the safe deadline, from the latest event's time. */
    deadline: ({ context }) => Math.max(0, (context.safeUntil ?? context.at) - context.at),
  },
}).createMachine({
  id: 'lease',
  // A visualizer may start it without input: the defaults (15 s lease, 3 s margin).
  context: ({ input }) => ({
    leaseMs: (input as LeaseInput | undefined)?.leaseMs ?? 15_000,
    marginMs: (input as LeaseInput | undefined)?.marginMs ?? 3_000,
    safeUntil: null,
    leaseUntil: null,
    failures: 0,
    at: 0,
  }),
  initial: 'joining',
  on: {
    LEAVE: '.left',
  },
  states: {
    joining: {
      on: {
        RENEWED: { guard: 'isInTime', target: 'held', actions: ['recordRenewal', 'claimNow'] },
        RENEW_FAILED: { actions: 'countFailure' },
      },
    },
    held: {
      after: {
        deadline: 'lost',
      },
      on: {
        // Re-entered: the deadline is re-armed from the new renewal.
        RENEWED: { guard: 'isInTime', target: 'held', reenter: true, actions: 'recordRenewal' },
        RENEW_FAILED: { actions: 'countFailure' },
      },
    },
    lost: {
      entry: 'abandonAttempts',
      on: {
        RENEWED: { guard: 'isInTime', target: 'held', actions: ['recordRenewal', 'adoptOwn', 'claimNow'] },
        RENEW_FAILED: { actions: 'countFailure' },
      },
    },
    left: { type: 'final' },
  },
});

export type LeaseMachine = typeof leaseMachine;
