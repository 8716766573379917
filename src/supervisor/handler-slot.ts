/**
 * The handler of a job's running attempt, as the job's cell runs it. The job machine marks the
 * moments with two actions: `launchHandler` on entering `running`, `stopHandler` on leaving it (by
 * any transition). The supervisor provides them as `handlerActions`, which tell the actor's cell;
 * the cell launches or aborts the handler once the step is over, so a handler never runs inside a
 * step of its own job's actor. One attempt, one launch: `running` is entered once per START.
 */
import type { HandlerInput, JobContext } from '../../machines/job.types.js';

/** Starts an attempt's handler; returns what aborts it. May throw: the attempt then fails. */
export type Launch = (input: HandlerInput) => () => void;

/** What the machine's handler actions tell: the cell of the actor they run in. */
export interface HandlerMoments {
  handlerEntered(attempt: number): void;
  handlerExited(attempt: number): void;
}

const cells = new WeakMap<object, HandlerMoments>();

/** Makes `cell` the one the handler actions of `actor` tell. */
export function attachCell(actor: object, cell: HandlerMoments): void {
  cells.set(actor, cell);
}

interface ActionArgs {
  readonly self: object;
  readonly context: JobContext;
}

/** The job machine's `launchHandler` / `stopHandler`, as the supervisor provides them. */
export const handlerActions = {
  launchHandler: ({ self, context }: ActionArgs) => cells.get(self)?.handlerEntered(context.run.attempt),
  stopHandler: ({ self, context }: ActionArgs) => cells.get(self)?.handlerExited(context.run.attempt),
};

export class HandlerSlot {
  readonly #launch: Launch | undefined;
  #attempt = 0;
  #stop: (() => void) | undefined;

  /** Without `launch` (a cell in a test), attempts run no handler. */
  constructor(launch: Launch | undefined) {
    this.#launch = launch;
  }

  /** Launches the attempt's handler; `crashed` is told (and nothing runs) when launching throws. */
  launch(input: HandlerInput, crashed: (error: unknown) => void): void {
    this.halt();
    if (!this.#launch) return;
    this.#attempt = input.attempt;
    try {
      this.#stop = this.#launch(input);
    } catch (error) {
      crashed(error);
    }
  }

  /** Aborts the running handler: any, or only `attempt`'s. */
  halt(attempt?: number): void {
    if (attempt !== undefined && attempt !== this.#attempt) return;
    const stop = this.#stop;
    this.#stop = undefined;
    stop?.();
  }
}
