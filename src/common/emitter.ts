/**
 * A typed event emitter whose listeners are isolated: one that throws never stops delivery to
 * the others. Event names come from a typed map, never from concatenated strings.
 */
export type Unsubscribe = () => void;

export class TypedEmitter<M extends object> {
  readonly #listeners = new Map<keyof M, Set<(event: never) => void>>();
  readonly #onListenerError: (error: unknown) => void;

  constructor(onListenerError: (error: unknown) => void) {
    this.#onListenerError = onListenerError;
  }

  on<K extends keyof M>(name: K, listener: (event: M[K]) => void): Unsubscribe {
    let set = this.#listeners.get(name);
    if (!set) this.#listeners.set(name, (set = new Set()));
    set.add(listener);
    return () => {
      set.delete(listener);
    };
  }

  listenerCount(name: keyof M): number {
    return this.#listeners.get(name)?.size ?? 0;
  }

  emit<K extends keyof M>(name: K, event: M[K]): void {
    const set = this.#listeners.get(name);
    if (!set) return;
    for (const listener of set) {
      try {
        (listener as (event: M[K]) => void)(event);
      } catch (error) {
        this.#onListenerError(error);
      }
    }
  }
}
