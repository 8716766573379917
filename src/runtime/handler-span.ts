/**
 * The `jobvisor.handler` span of one handler run (supervisor/tracing.ts names them all), a child
 * of its attempt's span: active while an in-process handler runs, and carried to a worker thread
 * as W3C trace context in the run message (the thread's handler runs in it when the application
 * set up OpenTelemetry there too). A no-op without an OpenTelemetry SDK.
 */
import { context, propagation, SpanStatusCode, trace, type Context, type Span } from '@opentelemetry/api';
import type { HandlerInput } from '../../machines/job.types.js';

export interface HandlerTrace {
  readonly span: Span;
  /** The context the handler runs in: its span active. */
  readonly context: Context;
}

export function handlerSpan(parent: Context, input: HandlerInput): HandlerTrace {
  const span = trace.getTracer('jobvisor').startSpan(
    'jobvisor.handler',
    {
      attributes: {
        'jobvisor.job.id': input.jobId,
        'jobvisor.job.type': input.type,
        'jobvisor.job.attempt': input.attempt,
      },
    },
    parent,
  );
  return { span, context: trace.setSpan(parent, span) };
}

/** Ends the span: failed with `error` (a code and message, or what was thrown) when given. */
export function endHandlerSpan(span: Span, error?: unknown): void {
  if (error !== undefined) {
    if (error instanceof Error) span.recordException(error);
    const message = messageOf(error);
    span.setStatus({ code: SpanStatusCode.ERROR, message });
  }
  span.end();
}

/** The message of an `Error` or of a job's error (`{ code, message }`), or a string thrown. */
function messageOf(error: unknown): string {
  if (typeof error === 'string') return error;
  if (typeof error !== 'object' || error === null || !('message' in error)) return 'the handler failed';
  return typeof error.message === 'string' ? error.message : 'the handler failed';
}

/** The W3C trace context of `ctx` as message fields (empty without a propagator). */
export function traceCarrier(ctx: Context): Record<string, string> {
  const carrier: Record<string, string> = {};
  propagation.inject(ctx, carrier);
  return carrier;
}

/** Runs `fn` in the context a carrier holds (in a worker thread). */
export function withCarrier<T>(carrier: Record<string, string> | undefined, fn: () => T): T {
  if (!carrier || Object.keys(carrier).length === 0) return fn();
  return context.with(propagation.extract(context.active(), carrier), fn);
}
