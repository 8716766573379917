/**
 * The timers of one job's actor, kept in a Map by id in place of XState's default scheduler.
 *
 * XState's default scheduler keeps a system's timers in plain objects keyed by
 * `${sessionId}.${id}`. Each job's actor is the root of a system of its own, so every key is new
 * to V8: arming the watchdog at START and cancelling it at the end made new hidden classes for two
 * objects per attempt (about 1.5 µs each, and garbage), some 5 % of an in-memory job's time.
 *
 * The contract is XState's `Scheduler` (the `system.scheduler` of its public `ActorSystem`):
 * `schedule` arms a timer on the actor's clock and, when it fires, relays the event from its
 * source as XState does (so inspection sees the same event from the same actor); `cancel` and
 * `cancelAll` (XState calls it when the actor stops) clear them. A job actor schedules only its
 * own `after` delays and delayed raises, so the timers are the actor's, by id. The persisted
 * system snapshot XState could build from its own bookkeeping is not used here: `after` timers
 * are re-armed from the deadlines in the job's context (machines/job.machine.ts).
 */
import type { AnyActorRef, EventObject } from 'xstate';
import type { Clock } from '../common/clock.js';

type Relay = (source: AnyActorRef | undefined, target: AnyActorRef, event: EventObject) => void;

/** What this file needs of an XState system: its scheduler slot, and the relay its scheduler uses. */
interface SystemParts {
  scheduler: unknown;
  readonly _relay?: unknown;
}

export class ActorTimers {
  readonly #clock: Clock;
  readonly #relay: Relay;
  /** Made on the first timer: most actors arm one watchdog at a time. */
  #timers: Map<string, unknown> | undefined;

  constructor(clock: Clock, relay: Relay) {
    this.#clock = clock;
    this.#relay = relay;
  }

  /** Timers armed and not fired or cancelled yet. */
  get size(): number {
    return this.#timers?.size ?? 0;
  }

  schedule(
    source: AnyActorRef,
    target: AnyActorRef,
    event: EventObject,
    delay: number,
    id: string = Math.random().toString(36).slice(2),
  ): void {
    const timers = (this.#timers ??= new Map<string, unknown>());
    const previous = timers.get(id);
    if (previous !== undefined) this.#clock.clearTimeout(previous);
    const timer = this.#clock.setTimeout(() => {
      if (timers.get(id) !== timer) return;
      timers.delete(id);
      this.#relay(source, target, event);
    }, delay);
    timers.set(id, timer);
  }

  cancel(_source: AnyActorRef, id: string): void {
    const timer = this.#timers?.get(id);
    if (timer === undefined) return;
    this.#timers!.delete(id);
    this.#clock.clearTimeout(timer);
  }

  cancelAll(): void {
    const timers = this.#timers;
    if (!timers) return;
    for (const timer of timers.values()) this.#clock.clearTimeout(timer);
    timers.clear();
  }
}

/**
 * Gives `actor` (created, not started) timers of its own on `clock`, the clock it was created
 * with. Answers them, or undefined when this XState's system lacks the relay they need: the actor
 * then keeps XState's scheduler, which behaves the same, only slower.
 */
export function installActorTimers(actor: AnyActorRef, clock: Clock): ActorTimers | undefined {
  const system = actor.system as unknown as SystemParts;
  const relay = system._relay;
  if (typeof relay !== 'function' || !('scheduler' in system)) return undefined;
  const timers = new ActorTimers(clock, (source, target, event) => {
    relay.call(system, source, target, event);
  });
  system.scheduler = timers;
  return timers;
}
