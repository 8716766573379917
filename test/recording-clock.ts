/** A SimulatedClock that remembers every delay it was asked for and which timers are still pending. */
import { SimulatedClock } from 'xstate';

export class RecordingClock extends SimulatedClock {
  readonly delays: number[] = [];
  readonly pending = new Set<number>();

  override setTimeout(fn: (...args: unknown[]) => void, timeout: number): number {
    const id: number = super.setTimeout(() => {
      this.pending.delete(id);
      fn();
    }, timeout);
    this.pending.add(id);
    this.delays.push(timeout);
    return id;
  }

  override clearTimeout(id: number): void {
    this.pending.delete(id);
    super.clearTimeout(id);
  }
}
