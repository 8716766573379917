/**
 * OpenTelemetry spans through `@opentelemetry/api`, recorded by the SDK's in-memory exporter:
 * a start, each attempt and each handler run, with the job's id, type and attempt; the handler's
 * own spans nest in its handler span (in-process), and a worker thread's handler runs in its
 * handler span's trace context when that thread has OpenTelemetry set up.
 */
import { context, propagation, SpanStatusCode, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import {
  BasicTracerProvider,
  InMemorySpanExporter,
  SimpleSpanProcessor,
  type ReadableSpan,
} from '@opentelemetry/sdk-trace-base';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createSupervisor, JobFailure, type Supervisor } from '../src/index.js';

const exporter = new InMemorySpanExporter();
beforeAll(() => {
  trace.setGlobalTracerProvider(
    new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] }),
  );
  context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
  propagation.setGlobalPropagator(new W3CTraceContextPropagator());
});
afterAll(() => {
  trace.disable();
  context.disable();
  propagation.disable();
});
const open: Supervisor[] = [];
afterEach(async () => {
  for (const s of open.splice(0)) await s.shutdown({ graceMs: 0 });
  exporter.reset();
});

const named = (name: string) => exporter.getFinishedSpans().filter((s) => s.name === name);
const parentOf = (span: ReadableSpan) => span.parentSpanContext?.spanId;
const idOf = (span: ReadableSpan) => span.spanContext().spanId;

describe('OpenTelemetry spans', () => {
  it("a start, its attempt and its handler nest in the caller's span; the handler's own spans nest in it", async () => {
    const supervisor = createSupervisor();
    open.push(supervisor);
    const tracer = trace.getTracer('test');
    supervisor.register('report', async () =>
      tracer.startActiveSpan('build report', async (span) => {
        await Promise.resolve();
        span.end();
        return 'ok';
      }),
    );
    const job = await tracer.startActiveSpan('http request', async (span) => {
      const { job } = await supervisor.start({ type: 'report', key: 'monthly' });
      span.end();
      return job;
    });
    await supervisor.waitFor(job.id);
    await supervisor.shutdown();

    const [request] = named('http request');
    const [start] = named('jobvisor.start');
    const [attempt] = named('jobvisor.attempt');
    const [handler] = named('jobvisor.handler');
    const [work] = named('build report');
    expect(start!.attributes).toEqual({
      'jobvisor.job.type': 'report',
      'jobvisor.job.key': 'monthly',
      'jobvisor.job.id': job.id,
      'jobvisor.start.deduplicated': false,
    });
    expect(attempt!.attributes).toEqual({
      'jobvisor.job.id': job.id,
      'jobvisor.job.type': 'report',
      'jobvisor.job.attempt': 1,
      'jobvisor.attempt.outcome': 'completed',
    });
    expect(handler!.attributes).toMatchObject({ 'jobvisor.job.id': job.id, 'jobvisor.job.attempt': 1 });
    expect(parentOf(start!)).toBe(idOf(request!));
    expect(parentOf(attempt!)).toBe(idOf(start!));
    expect(parentOf(handler!)).toBe(idOf(attempt!));
    expect(parentOf(work!)).toBe(idOf(handler!));
    expect(new Set([request, start, attempt, handler, work].map((s) => s!.spanContext().traceId)).size).toBe(
      1,
    );
    for (const span of [start, attempt, handler]) expect(span!.status.code).not.toBe(SpanStatusCode.ERROR);
  });

  it("a failed attempt's spans say so; the retry is an attempt span of its own", async () => {
    const supervisor = createSupervisor({ retries: { max: 1, backoffMs: 1 } });
    open.push(supervisor);
    supervisor.register('flaky', (ctx) => {
      if (ctx.attempt === 1) throw new JobFailure('flaky', 'first attempt fails');
      return 'second';
    });
    const { job } = await supervisor.start({ type: 'flaky' });
    await supervisor.waitFor(job.id);
    await supervisor.shutdown();
    const attempts = named('jobvisor.attempt').sort(
      (a, b) => Number(a.attributes['jobvisor.job.attempt']) - Number(b.attributes['jobvisor.job.attempt']),
    );
    expect(
      attempts.map((a) => [
        a.attributes['jobvisor.job.attempt'],
        a.attributes['jobvisor.attempt.outcome'],
        a.status.code,
      ]),
    ).toEqual([
      [1, 'retrying', SpanStatusCode.ERROR],
      [2, 'completed', SpanStatusCode.UNSET],
    ]);
    const handlers = named('jobvisor.handler');
    const failed = handlers.find((h) => h.attributes['jobvisor.job.attempt'] === 1)!;
    expect(failed.status).toEqual({ code: SpanStatusCode.ERROR, message: 'first attempt fails' });
    expect(failed.events.map((e) => e.name)).toEqual(['exception']);
    expect(new Set(attempts.map((a) => parentOf(a)))).toEqual(new Set([idOf(named('jobvisor.start')[0]!)]));
  });

  it("a worker thread's handler runs in its handler span's trace context", async () => {
    const supervisor = createSupervisor({ workers: { size: 1, terminateGraceMs: 200 } });
    open.push(supervisor);
    supervisor.register('traced', { module: new URL('./fixtures/traced-job.ts', import.meta.url) });
    const { job } = await supervisor.start({ type: 'traced' });
    const done = await supervisor.waitFor(job.id);
    await supervisor.shutdown();
    const [handler] = named('jobvisor.handler');
    expect(done.result).toEqual({
      traceId: handler!.spanContext().traceId,
      spanId: handler!.spanContext().spanId,
    });
    expect(parentOf(handler!)).toBe(idOf(named('jobvisor.attempt')[0]!));
  });
});
