/**
 * The supervisor's rejected events for WebSocket subscribers: the latest `capacity` kept for
 * subscribers that arrive later (a dashboard that reloads), each with an id unique across restarts.
 */
import { randomUUID } from 'node:crypto';
import type { Topic, WireRejection } from '../protocol/schemas.js';
import type { Supervisor } from '../supervisor/supervisor.js';
import type { Rejection } from '../common/types.js';

export type RejectionListener = (rejection: WireRejection, json: string) => void;

export class RejectionLog {
  readonly #capacity: number;
  readonly #recent: { rejection: WireRejection; json: string }[] = [];
  readonly #listeners = new Set<RejectionListener>();
  /** Ids are `<boot>-<n>`: a client that saw `n` before a restart does not mistake a new one for it. */
  readonly #boot = randomUUID().slice(0, 8);
  #next = 0;
  readonly #off: () => void;

  constructor(supervisor: Supervisor, capacity: number) {
    this.#capacity = capacity;
    this.#off = supervisor.on('rejected', (rejection) => this.#add(rejection));
  }

  /** The kept rejections of `topic`, oldest first. */
  recent(topic: Topic): { rejection: WireRejection; json: string }[] {
    return this.#recent.filter(({ rejection }) => matches(topic, rejection));
  }

  subscribe(listener: RejectionListener): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  close(): void {
    this.#off();
    this.#listeners.clear();
  }

  #add(r: Rejection): void {
    const rejection: WireRejection = {
      id: `${this.#boot}-${++this.#next}`,
      jobId: r.jobId,
      jobType: r.jobType,
      event: r.event,
      attempt: r.attempt,
      state: r.state,
      reason: r.reason,
      source: r.source,
      at: r.at,
    };
    const entry = { rejection, json: JSON.stringify(rejection) };
    this.#recent.push(entry);
    if (this.#recent.length > this.#capacity) this.#recent.shift();
    for (const listener of this.#listeners) listener(rejection, entry.json);
  }
}

export function matches(topic: Topic, rejection: WireRejection): boolean {
  if ('jobId' in topic) return rejection.jobId === topic.jobId;
  if ('jobIds' in topic) return topic.jobIds.includes(rejection.jobId);
  if ('type' in topic) return rejection.jobType === topic.type;
  return true;
}
