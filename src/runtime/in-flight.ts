/** Handler runs not settled yet, counted across the in-process runtime and the worker pool. */
export class InFlight {
  #count = 0;

  get count(): number {
    return this.#count;
  }

  began(): void {
    this.#count++;
  }

  /** A run settled: answers how many are left. */
  ended(): number {
    return --this.#count;
  }
}
