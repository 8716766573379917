/**
 * The in-process handler runtime: runs an attempt's handler in this thread.
 *
 * Entering `running` launches the handler outside the machine's step (`launchHandler`, through the
 * job's cell); leaving `running` aborts its signal. Whatever the handler reports — progress,
 * heartbeat, its result or its error — is an event for the job actor, fenced by attempt: a handler
 * whose attempt is over cannot change the job. Every handler promise is tracked until it settles,
 * so shutdown can wait for all of them.
 */
import type { AttemptError, HandlerInput, JobEvent } from '../../machines/job.types.js';
import { JobFailure, JobvisorError } from '../common/errors.js';
import type { Handler, HandlerContext, Outcome } from '../common/types.js';
import { context as otel, type Context } from '@opentelemetry/api';
import { endHandlerSpan, handlerSpan } from './handler-span.js';
import type { InFlight } from './in-flight.js';

/**
 * An event for the job a handler runs for, without its time (the receiver stamps it), or a line
 * for its log (`LOG`: no event of the job's machine; the job's log takes it).
 */
export type HandlerEvent =
  | DistributiveOmit<Extract<JobEvent, { attempt: number }>, 'at'>
  | { readonly type: 'LOG'; readonly attempt: number; readonly message: string; readonly data: unknown };

/**
 * Sends to the handler's own job: bound once, when the attempt starts, to that job's actor; the
 * answer says whether the job applied the event.
 */
export type SendToJob = (event: HandlerEvent) => Outcome;

/** What the runtime needs from the supervisor. */
export interface RuntimeHost {
  handlerOf(type: string): Handler | undefined;
  /** A handler promise settled (after its job was told the outcome); `inflight` are left. */
  settled(inflight: number): void;
  reportError(jobId: string, error: unknown): void;
  /** How long a handler of `type` ran (ms), whatever its outcome: feeds the duration histograms. */
  handlerFinished(ms: number, type: string): void;
  /** The context a handler of this attempt runs in (its attempt's span active); none: the active one. */
  traceParent?(input: HandlerInput): Context;
}

type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;

export class InProcessRuntime {
  readonly #host: RuntimeHost;
  readonly #inflight = new Set<Promise<void>>();
  readonly #all: InFlight;
  #abandoned = 0;

  /** `all` counts the runs of every runtime, for `settled`. */
  constructor(host: RuntimeHost, all: InFlight) {
    this.#host = host;
    this.#all = all;
  }

  /** Handler promises that have not settled yet. */
  get inflight(): number {
    return this.#inflight.size;
  }

  /** Handlers whose attempt is over (signal aborted) but whose promise still runs. */
  get abandoned(): number {
    return this.#abandoned;
  }

  /** Launches the handler outside the current step; returns the cleanup that aborts it. */
  launch(input: HandlerInput, send: SendToJob): () => void {
    const abort = new LazyAbort();
    const state = { finished: false };
    const promise = this.#run(input, send, abort, state);
    this.#inflight.add(promise);
    this.#all.began();
    const done = () => {
      this.#inflight.delete(promise);
      if (abort.aborted && !state.finished) this.#abandoned--;
      this.#host.settled(this.#all.ended());
    };
    promise.then(done, done);
    return () => {
      if (state.finished) return;
      this.#abandoned++;
      abort.abort(
        new JobvisorError('internal_error', `attempt ${input.attempt} of job ${input.jobId} is over`),
      );
    };
  }

  async #run(
    input: HandlerInput,
    send: SendToJob,
    abort: LazyAbort,
    state: { finished: boolean },
  ): Promise<void> {
    await Promise.resolve(); // run outside the job actor's step
    if (abort.aborted) return; // the attempt ended before the handler began: it never runs
    const { jobId, attempt } = input;
    let event: HandlerEvent;
    const began = performance.now();
    const traced = handlerSpan(this.#host.traceParent?.(input) ?? otel.active(), input);
    try {
      const handler = this.#host.handlerOf(input.type);
      if (!handler) throw new JobFailure('handler_crashed', `no handler for type ${input.type}`);
      const result = await otel.with(traced.context, () => handler(context(input, send, abort)));
      event = { type: 'COMPLETE', attempt, result };
      endHandlerSpan(traced.span);
    } catch (error) {
      event = { type: 'FAIL', attempt, error: toAttemptError(error) };
      endHandlerSpan(traced.span, error);
    }
    if (!abort.aborted) state.finished = true;
    this.#host.handlerFinished(performance.now() - began, input.type);
    try {
      send(event);
    } catch (error) {
      this.#host.reportError(jobId, error);
    }
  }
}

/**
 * An attempt's abort signal, made when the handler first reads `ctx.signal` (most handlers never
 * do, and an AbortController per attempt is a cost on every job): a signal read after the abort is
 * aborted already, with the same reason.
 */
class LazyAbort {
  #controller: AbortController | undefined;
  #reason: unknown;
  aborted = false;

  get signal(): AbortSignal {
    if (!this.#controller) {
      this.#controller = new AbortController();
      if (this.aborted) this.#controller.abort(this.#reason);
    }
    return this.#controller.signal;
  }

  abort(reason: unknown): void {
    if (this.aborted) return;
    this.aborted = true;
    this.#reason = reason;
    this.#controller?.abort(reason);
  }
}

/** What a handler sees: its job, and progress and heartbeat sent straight to its job's actor. */
function context(input: HandlerInput, send: SendToJob, abort: LazyAbort): HandlerContext {
  const { jobId, attempt } = input;
  return {
    jobId,
    type: input.type,
    key: input.key,
    input: input.input,
    attempt,
    get signal() {
      return abort.signal;
    },
    // Methods, not arrows: their names show in CPU profiles (bench/phases.ts).
    progress(percent: number, message?: string) {
      return send({ type: 'PROGRESS', attempt, percent, message }).accepted;
    },
    heartbeat() {
      return send({ type: 'HEARTBEAT', attempt }).accepted;
    },
    log(message: string, data?: unknown) {
      return send({ type: 'LOG', attempt, message, data }).accepted;
    },
  };
}

/** Turns whatever a handler threw into the error stored on the job. */
export function toAttemptError(error: unknown): AttemptError {
  if (error instanceof JobFailure)
    return { code: error.code, message: error.message, retryable: error.retryable };
  if (error instanceof Error) {
    const code = (error as { code?: unknown }).code;
    return {
      code: typeof code === 'string' && code.length > 0 ? code : 'handler_error',
      message: error.message,
    };
  }
  return {
    code: 'handler_error',
    message: typeof error === 'string' ? error : describeThrown(error),
  };
}

/** A message for a thrown non-Error value; never throws itself (circular objects, BigInt, …). */
function describeThrown(value: unknown): string {
  try {
    return JSON.stringify(value) ?? String(value);
  } catch {
    try {
      return String(value);
    } catch {
      return Object.prototype.toString.call(value);
    }
  }
}
