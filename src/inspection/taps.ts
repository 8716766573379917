/**
 * Inspection taps: each attached observer, with its selection, watches the actor systems it
 * selects. Jobs are root actors, each with its own system: a tap subscribes to a job's system
 * with `system.inspect` right after the actor is created (before it starts) or, for jobs already
 * live when it attaches, at once, and in both cases first announces the actor (and its children)
 * with the `@xstate.actor` event XState sends from the actor's constructor. A watched actor that
 * stops is let go. With no tap attached nothing here runs: job actors are created as always.
 */
import type { AnyActorRef, InspectionEvent, Snapshot, Subscription } from 'xstate';
import type { Unsubscribe } from '../common/emitter.js';
import { JobvisorError } from '../common/errors.js';
import { parseOrThrow } from '../common/validation.js';
import type { Rejection } from '../common/types.js';
import {
  inspectionSelectionSchema,
  isInspectionObserver,
  Selector,
  type InspectionSelection,
  type ParsedInspectOption,
} from './selection.js';
import type { InspectionObserver, JobvisorInspectionEvent, JobvisorRejectedEvent } from './types.js';

/** What a tap needs of a job. */
export interface InspectedJob {
  readonly id: string;
  readonly type: string;
  readonly actor: AnyActorRef | undefined;
}

export interface InspectionHost {
  readonly liveJobs: () => Iterable<InspectedJob>;
  readonly liveJob: (jobId: string) => InspectedJob | undefined;
  readonly onRejected: (listener: (rejection: Rejection) => void) => Unsubscribe;
  /** An observer threw. */
  readonly reportError: (error: unknown) => void;
}

/** Session ids of jobs remembered for rejections that come after their actor is gone. */
const REMEMBERED_SESSIONS = 1_024;

type ErrorCode = 'invalid_options' | 'invalid_request';

export class Inspection {
  readonly #host: InspectionHost;
  readonly #taps = new Set<Tap>();
  #rejections: Unsubscribe | undefined;
  readonly #sessions = new Map<string, string>();
  #supervisor: AnyActorRef | undefined;

  constructor(host: InspectionHost) {
    this.#host = host;
  }

  /**
   * The supervisor's actor, created and not started yet: taps that select it watch it from its
   * start. `option` (the `inspect` option, already validated) attaches its observer now.
   */
  supervisorCreated(actor: AnyActorRef, option?: ParsedInspectOption): void {
    this.#supervisor = actor;
    if (option) {
      const { observer, ...selection } = option;
      this.attach(observer, selection, 'invalid_options');
    }
  }

  /** Taps attached now. */
  get taps(): number {
    return this.#taps.size;
  }

  /** Attaches `observer`; validates first, so a bad selection changes nothing. */
  attach(observer: InspectionObserver, selection: InspectionSelection = {}, code: ErrorCode): Unsubscribe {
    const next = toNext(observer, code);
    const parsed = parseOrThrow(inspectionSelectionSchema, selection, code, 'Invalid inspection selection');
    const tap = new Tap(next, new Selector(parsed), this.#host.reportError);
    this.#taps.add(tap);
    if (tap.selector.rejections) this.#rejections ??= this.#host.onRejected((r) => this.#rejected(r));
    if (tap.selector.supervisor && this.#supervisor) tap.watch(this.#supervisor);
    if (tap.selector.anyJob) {
      for (const job of this.#host.liveJobs()) {
        if (job.actor && tap.selector.selects(job.id, job.type)) this.#watch(tap, job.id, job.actor);
      }
    }
    let attached = true;
    return () => {
      if (!attached) return;
      attached = false;
      tap.close();
      this.#taps.delete(tap);
      this.#released();
    };
  }

  /** Whether a tap selects this job: its actor is then made at once, so its creation is seen. */
  watches(jobId: string, jobType: string): boolean {
    if (this.#taps.size === 0) return false;
    for (const tap of this.#taps) if (tap.selector.selects(jobId, jobType)) return true;
    return false;
  }

  /** A job's actor was just created and is not started yet (JobCell's hook). */
  readonly jobActorCreated = (job: InspectedJob, actor: AnyActorRef): void => {
    if (this.#taps.size === 0) return;
    for (const tap of this.#taps) if (tap.selector.selects(job.id, job.type)) this.#watch(tap, job.id, actor);
  };

  #watch(tap: Tap, jobId: string, actor: AnyActorRef): void {
    if (!this.#sessions.has(jobId)) {
      this.#sessions.set(jobId, actor.sessionId);
      if (this.#sessions.size > REMEMBERED_SESSIONS)
        this.#sessions.delete(this.#sessions.keys().next().value!);
    }
    tap.watch(actor);
  }

  #rejected(rejection: Rejection): void {
    const { jobId, jobType } = rejection;
    let event: JobvisorRejectedEvent | undefined;
    for (const tap of this.#taps) {
      if (!tap.selector.rejections || !tap.selector.selects(jobId, jobType)) continue;
      event ??= {
        type: '@jobvisor.rejected',
        rootId: this.#host.liveJob(jobId)?.actor?.sessionId ?? this.#sessions.get(jobId) ?? jobId,
        jobId,
        rejection,
      };
      tap.deliver(event);
    }
  }

  /** After a detach: back to zero cost once no tap needs rejections or sessions. */
  #released(): void {
    if (this.#taps.size === 0) this.#sessions.clear();
    for (const tap of this.#taps) if (tap.selector.rejections) return;
    this.#rejections?.();
    this.#rejections = undefined;
  }
}

/** One observer and the actor systems it watches (by their root actor). */
class Tap {
  readonly selector: Selector;
  readonly #next: (event: JobvisorInspectionEvent) => void;
  readonly #reportError: (error: unknown) => void;
  readonly #watched = new Map<AnyActorRef, Subscription>();
  #closed = false;

  constructor(
    next: (event: JobvisorInspectionEvent) => void,
    selector: Selector,
    reportError: (error: unknown) => void,
  ) {
    this.#next = next;
    this.selector = selector;
    this.#reportError = reportError;
  }

  deliver(event: JobvisorInspectionEvent): void {
    if (this.#closed) return;
    try {
      this.#next(event);
    } catch (error) {
      this.#reportError(error);
    }
  }

  /** Subscribes to the system of `root` (a root actor) and announces it and its children. */
  watch(root: AnyActorRef): void {
    if (this.#closed || this.#watched.has(root) || statusOf(root) !== 'active') return;
    const subscription = root.system.inspect({ next: (event) => this.#onEvent(root, event) });
    this.#watched.set(root, subscription);
    this.#announce(root, root.sessionId);
  }

  close(): void {
    this.#closed = true;
    for (const subscription of this.#watched.values()) subscription.unsubscribe();
    this.#watched.clear();
  }

  #onEvent(root: AnyActorRef, event: InspectionEvent): void {
    this.deliver(event);
    if (event.type === '@xstate.snapshot' && event.actorRef === root && event.snapshot.status !== 'active') {
      this.#watched.get(root)?.unsubscribe();
      this.#watched.delete(root);
    }
  }

  /** The `@xstate.actor` event XState sent when the actor was constructed, and its children's. */
  #announce(actor: AnyActorRef, rootId: string): void {
    this.deliver({ type: '@xstate.actor', actorRef: actor, rootId });
    const children = (actor.getSnapshot() as { children?: Record<string, AnyActorRef | undefined> }).children;
    if (!children) return;
    for (const child of Object.values(children)) if (child) this.#announce(child, rootId);
  }
}

function toNext(observer: InspectionObserver, code: ErrorCode): (event: JobvisorInspectionEvent) => void {
  if (!isInspectionObserver(observer)) {
    throw new JobvisorError(code, 'The inspection observer must be a function or an object with next()');
  }
  if (typeof observer === 'function') return observer;
  return (event) => observer.next?.(event);
}

function statusOf(actor: AnyActorRef): string {
  return (actor.getSnapshot() as Snapshot<unknown>).status;
}
