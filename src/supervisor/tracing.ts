/**
 * OpenTelemetry spans, through `@opentelemetry/api` only: a no-op until the application installs
 * an SDK (a tracer provider, and a context manager to carry context across awaits).
 *
 *   jobvisor.start     a start (`start`, `startMany`, a schedule's occurrence): its job, its type,
 *                      whether it joined an existing job; a child of whatever span is active
 *   jobvisor.attempt   one attempt of a job that runs on this node, from its durable `started`
 *                      change to the change that ends it (completed, failed, retrying,
 *                      cancelled, interrupted): a child of the start's span when the job was
 *                      started in this process
 *   jobvisor.handler   the handler's run (in-process or on a worker thread), a child of its
 *                      attempt's span; active while the handler runs, so its own spans nest in it
 *
 * Attributes: `jobvisor.job.id`, `jobvisor.job.type`, `jobvisor.job.attempt` (and `jobvisor.job.key`,
 * `jobvisor.start.deduplicated`, `jobvisor.attempt.outcome`).
 */
import { context, SpanStatusCode, trace, type Context, type Span, type Tracer } from '@opentelemetry/api';
import type { ChangeKind } from '../../machines/job.types.js';
import type { JobView, StartResult } from '../common/types.js';

export const ATTRIBUTES = Object.freeze({
  jobId: 'jobvisor.job.id',
  type: 'jobvisor.job.type',
  attempt: 'jobvisor.job.attempt',
  key: 'jobvisor.job.key',
  deduplicated: 'jobvisor.start.deduplicated',
  outcome: 'jobvisor.attempt.outcome',
});

/** The changes that end an attempt that ran. */
const ENDS_ATTEMPT: ReadonlySet<ChangeKind> = new Set<ChangeKind>([
  'completed',
  'failed',
  'retrying',
  'cancelled',
  'interrupted',
  'requeued',
]);

/** A started job's creation context is kept this long at most (its first attempt's parent). */
const MAX_CREATED = 10_000;

export class Tracing {
  readonly #tracer: () => Tracer;
  readonly #node: string;
  /** The start span's context of jobs created in this process, until their first attempt. */
  readonly #created = new Map<string, Context>();
  /** The open attempt span of each job running here. */
  readonly #attempts = new Map<string, { readonly attempt: number; readonly span: Span }>();

  constructor(node: string) {
    this.#node = node;
    // Read at each use: the application may install its SDK after the supervisor is made.
    this.#tracer = () => trace.getTracer('jobvisor');
  }

  /** Runs a start inside its span. */
  async start(type: string, key: string | undefined, run: () => Promise<StartResult>): Promise<StartResult> {
    const attributes = { [ATTRIBUTES.type]: type, ...(key === undefined ? {} : { [ATTRIBUTES.key]: key }) };
    return this.#tracer().startActiveSpan('jobvisor.start', { attributes }, async (span) => {
      try {
        const result = await run();
        span.setAttributes({
          [ATTRIBUTES.jobId]: result.job.id,
          [ATTRIBUTES.deduplicated]: result.deduplicated,
        });
        if (!result.deduplicated && span.isRecording())
          this.#remember(result.job.id, trace.setSpan(context.active(), span));
        return result;
      } catch (error) {
        fail(span, error);
        throw error;
      } finally {
        span.end();
      }
    });
  }

  /** A change was told: an attempt of a job running on this node began or ended. */
  told(kind: ChangeKind, job: JobView): void {
    if (kind === 'started' && job.node === this.#node) this.#attempt(job.id, job.type, job.attempt);
    else if (ENDS_ATTEMPT.has(kind)) this.#end(job, kind);
  }

  /** The context a handler of this attempt runs in: its attempt's span active. */
  handlerParent(jobId: string, type: string, attempt: number): Context {
    return trace.setSpan(context.active(), this.#attempt(jobId, type, attempt));
  }

  /** The attempt's span, begun if it was not yet (its handler may launch before the change is told). */
  #attempt(jobId: string, type: string, attempt: number): Span {
    const open = this.#attempts.get(jobId);
    if (open?.attempt === attempt) return open.span;
    open?.span.end();
    const parent = this.#created.get(jobId) ?? context.active();
    this.#created.delete(jobId);
    const attributes = { [ATTRIBUTES.jobId]: jobId, [ATTRIBUTES.type]: type, [ATTRIBUTES.attempt]: attempt };
    const span = this.#tracer().startSpan('jobvisor.attempt', { attributes }, parent);
    if (span.isRecording()) this.#attempts.set(jobId, { attempt, span });
    return span;
  }

  #end(job: JobView, kind: ChangeKind): void {
    this.#created.delete(job.id);
    const open = this.#attempts.get(job.id);
    if (!open) return;
    this.#attempts.delete(job.id);
    open.span.setAttribute(ATTRIBUTES.outcome, kind);
    if (kind === 'failed' || kind === 'retrying') {
      open.span.setStatus({ code: SpanStatusCode.ERROR, message: job.error?.message ?? kind });
    }
    open.span.end();
  }

  #remember(jobId: string, parent: Context): void {
    if (this.#created.size >= MAX_CREATED) this.#created.delete(this.#created.keys().next().value!);
    this.#created.set(jobId, parent);
  }
}

/** Marks a span failed with what was thrown. */
export function fail(span: Span, error: unknown): void {
  if (error instanceof Error) span.recordException(error);
  span.setStatus({
    code: SpanStatusCode.ERROR,
    message: error instanceof Error ? error.message : String(error),
  });
}
