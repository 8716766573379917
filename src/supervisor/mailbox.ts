/**
 * The supervisor actor's mailbox, as the parts built before the actor see it: what they send is
 * handed on once the actor is attached (XState itself holds events sent before `start()`), and
 * nothing is sent to an actor that has stopped.
 */
import type { Actor } from 'xstate';
import type { SupervisorEvent, SupervisorMachine } from '../../machines/supervisor.machine.js';

export class Mailbox {
  #actor: Actor<SupervisorMachine> | undefined;
  readonly #early: SupervisorEvent[] = [];

  send(event: SupervisorEvent): void {
    const actor = this.#actor;
    if (!actor) this.#early.push(event);
    else if (actor.getSnapshot().status === 'active') actor.send(event);
  }

  /**
   * Whether the supervisor accepts starts: then a settled handler is no news to it (its machine
   * takes `HANDLER_SETTLED` and changes nothing; the count matters once it drains).
   */
  get accepting(): boolean {
    return this.#actor?.getSnapshot().value === 'accepting';
  }

  /** The actor, created and not started yet. */
  attach(actor: Actor<SupervisorMachine>): void {
    this.#actor = actor;
    for (const event of this.#early.splice(0)) actor.send(event);
  }
}
