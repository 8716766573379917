/** The public types of inspection: what an observer receives, and what it may be. */
import type { InspectionEvent } from 'xstate';
import type { Rejection } from '../common/types.js';

/** A job rejected an event (the `rejected` event of the supervisor), for a job the tap selects. */
export interface JobvisorRejectedEvent {
  readonly type: '@jobvisor.rejected';
  /** The job actor's `sessionId` (its system's root), or the job id once the actor is gone. */
  readonly rootId: string;
  readonly jobId: string;
  readonly rejection: Rejection;
}

/** XState's inspection events of the selected actors, plus the rejections of the selected jobs. */
export type JobvisorInspectionEvent = InspectionEvent | JobvisorRejectedEvent;

/**
 * A function, or an observer object with `next` (XState's convention: `@statelyai/inspect`'s
 * `inspector.inspect` fits).
 */
export type InspectionObserver =
  ((event: JobvisorInspectionEvent) => void) | { next?(event: JobvisorInspectionEvent): void };
