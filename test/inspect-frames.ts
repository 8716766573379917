/** Frames from `@statelyai/inspect`'s `createWebSocketReceiver`, awaited as they arrive (no polling). */
import { createWebSocketReceiver } from '@statelyai/inspect';
import type { StatelyFrame } from '../src/index.js';

export class Frames {
  readonly list: StatelyFrame[] = [];
  readonly #waiters = new Set<() => void>();

  constructor(url: string) {
    createWebSocketReceiver({ server: url }).subscribe((event) => {
      this.list.push(event as unknown as StatelyFrame);
      for (const wake of [...this.#waiters]) wake();
    });
  }

  /** The first frame that matches, once it has arrived. */
  async next(match: (frame: StatelyFrame) => boolean): Promise<StatelyFrame> {
    for (;;) {
      const found = this.list.find(match);
      if (found) return found;
      await new Promise<void>((resolve) => {
        const wake = () => {
          this.#waiters.delete(wake);
          resolve();
        };
        this.#waiters.add(wake);
      });
    }
  }
}

/** The job id in an `@xstate.actor` frame of a job actor. */
export const jobIdOf = (frame: StatelyFrame): string | undefined =>
  frame.type === '@xstate.actor'
    ? (frame.snapshot as { context?: { spec?: { id?: string } } }).context?.spec?.id
    : undefined;

/** The event types sent to one session, in order. */
export const eventsOf = (frames: readonly StatelyFrame[], sessionId: string): string[] =>
  frames.flatMap((f) =>
    f.type === '@xstate.event' && f.sessionId === sessionId ? [(f.event as { type: string }).type] : [],
  );

export const isDone = (sessionId: string) => (f: StatelyFrame) =>
  f.type === '@xstate.snapshot' &&
  f.sessionId === sessionId &&
  (f.snapshot as { status: string }).status === 'done';
