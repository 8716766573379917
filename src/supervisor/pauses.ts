/**
 * Pauses: a job type, or the whole supervisor (`*`), whose pending jobs wait while running ones go
 * on. Kept in the store (its optional `paused` / `setPaused` verbs) and told only once durable:
 * `pause` and `resume` answer after the store's write, and the scheduler sees the change after that.
 * With a store several nodes share, the store's claims skip paused types, and every node reads the
 * pauses again at each claim interval (`refresh`).
 */
import * as z from 'zod';
import { JobvisorError } from '../common/errors.js';
import { parseOrThrow } from '../common/validation.js';
import type { JobStore } from '../store/port.js';

/** The whole supervisor's scope in the store. */
export const ALL = '*';

/** What is paused now. */
export interface PauseState {
  /** The whole supervisor: no pending job of any type starts. */
  readonly all: boolean;
  /** Paused job types, by name (sorted). */
  readonly types: readonly string[];
}

const scopeSchema = z.string().min(1).max(200).optional();

export class Pauses {
  readonly #store: Pick<JobStore, 'paused' | 'setPaused'> | undefined;
  readonly #resumed: () => void;
  #all = false;
  #types = new Set<string>();

  /** `resumed`: a pause was lifted (queued jobs may start now). */
  constructor(store: Pick<JobStore, 'paused' | 'setPaused'> | undefined, resumed: () => void) {
    this.#store = store;
    this.#resumed = resumed;
  }

  /** Whether a pending job of `type` must wait. */
  isPaused(type: string): boolean {
    return this.#all || this.#types.has(type);
  }

  get state(): PauseState {
    return { all: this.#all, types: [...this.#types].sort() };
  }

  /** Reads the store's pauses (at recovery, and at each claim interval in a cluster). */
  async refresh(): Promise<void> {
    const scopes = (await this.#store?.paused?.()) ?? [];
    const before = this.#all ? [...this.#types, ALL] : [...this.#types];
    this.#all = scopes.includes(ALL);
    this.#types = new Set(scopes.filter((scope) => scope !== ALL));
    // Another node lifted a pause: the queued jobs it held may start.
    if (before.some((scope) => !scopes.includes(scope))) this.#resumed();
  }

  /**
   * Pauses (or resumes) `type`, or every type when none is given; `known` checks a type name.
   * Answers the pauses in force once the store holds the change.
   */
  async set(
    type: string | undefined,
    paused: boolean,
    known: (type: string) => boolean,
  ): Promise<PauseState> {
    parseOrThrow(scopeSchema, type, 'invalid_request', 'Invalid job type to pause');
    if (type !== undefined && !known(type))
      throw new JobvisorError('unknown_job_type', `No job type "${type}" is registered`);
    await this.#store?.setPaused?.(type ?? ALL, paused);
    if (type === undefined) this.#all = paused;
    else if (paused) this.#types.add(type);
    else this.#types.delete(type);
    if (!paused) this.#resumed();
    return this.state;
  }
}
