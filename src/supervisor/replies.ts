/**
 * Answers owed to callers whose request went through the supervisor's mailbox: the event carries
 * only a request id (events are plain data), and the action that handles it settles the caller.
 */
export class Replies<T> {
  readonly #waiting = new Map<number, { resolve(value: T): void; reject(error: unknown): void }>();
  #next = 0;

  /** A new request: its id for the event, and the promise of its answer. */
  open(): { id: number; answer: Promise<T> } {
    const id = ++this.#next;
    const answer = new Promise<T>((resolve, reject) => this.#waiting.set(id, { resolve, reject }));
    return { id, answer };
  }

  resolve(id: number, value: T): void {
    const waiting = this.#waiting.get(id);
    this.#waiting.delete(id);
    waiting?.resolve(value);
  }

  reject(id: number, error: unknown): void {
    const waiting = this.#waiting.get(id);
    this.#waiting.delete(id);
    waiting?.reject(error);
  }
}
