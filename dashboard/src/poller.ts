/**
 * A panel's load, now and then every few seconds (the nodes, the pauses, the schedules): a failed
 * load keeps what is shown — the connection status says why — and the next one tries again.
 */
const EVERY_MS = 3_000;

export class Poller {
  readonly #load: () => Promise<void>;
  #timer: ReturnType<typeof setTimeout> | undefined;

  constructor(load: () => Promise<void>) {
    this.#load = load;
  }

  /** Loads now (again, if it was loading), then every few seconds. */
  start(): void {
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    void this.#run();
  }

  async #run(): Promise<void> {
    try {
      await this.#load();
    } catch {
      // The connection status says why; the next load tries again.
    } finally {
      this.#timer = setTimeout(() => void this.#run(), EVERY_MS);
    }
  }
}
