/**
 * The bundled example job types, loaded by `npm start` (`jobvisor serve --handlers ./examples/handlers.ts`).
 * A handlers module default-exports `register(supervisor)`. Every handler honours `ctx.signal`, so a
 * cancel, a stall, a timeout or a shutdown ends it at once.
 *
 *   report  a slow report (~5 s) with progress              { month: "2026-10" }
 *   flaky   fails its first attempt(s), succeeds on retry; logs each attempt  { failures?: 1 }
 *   hang    reports once, then goes silent: stalled after 3 s (no retry)
 *   sleep   waits ms milliseconds, with progress (and a log line)  { ms: 500 }
 *   fail    fails at once with code example_failure         { message?: "…" }
 *   backwards  reports 60 %, then 30 % (rejected: progress_backwards), then completes
 *   hash    CPU-bound, runs in a worker thread (hash-job.ts)  { text?: "jobvisor", rounds?: 2000000 }
 */
import { setTimeout as delay } from 'node:timers/promises';
import * as z from 'zod';
import type { Supervisor } from 'jobvisor';

export default function register(supervisor: Supervisor): void {
  supervisor.register(
    'report',
    async (ctx) => {
      const steps = 20;
      for (let step = 1; step <= steps; step++) {
        await delay(250, undefined, { signal: ctx.signal });
        ctx.progress((step * 100) / steps, `Collecting prices for ${ctx.input.month} (${step}/${steps})`);
      }
      return { month: ctx.input.month, rows: 42 };
    },
    { input: z.strictObject({ month: z.string().regex(/^\d{4}-\d{2}$/, 'month must be YYYY-MM') }) },
  );

  supervisor.register(
    'flaky',
    async (ctx) => {
      ctx.progress(10, `attempt ${ctx.attempt}`);
      ctx.log(`attempt ${ctx.attempt} begins`, { failures: ctx.input.failures });
      await delay(300, undefined, { signal: ctx.signal });
      if (ctx.attempt <= ctx.input.failures) {
        ctx.log('failing on purpose');
        throw Object.assign(new Error(`attempt ${ctx.attempt} fails on purpose`), { code: 'flaky_failure' });
      }
      ctx.log('succeeded');
      ctx.progress(100, `succeeded on attempt ${ctx.attempt}`);
      return { attempts: ctx.attempt };
    },
    {
      input: z.strictObject({ failures: z.number().int().min(0).max(3).default(1) }).default({ failures: 1 }),
      retries: { max: 3, backoffMs: 500 },
    },
  );

  supervisor.register(
    'hang',
    async (ctx) => {
      ctx.progress(10, 'working… and now going silent (no heartbeat)');
      // Never heartbeats again: the watchdog fails the attempt as `stalled` and aborts the signal.
      await new Promise<never>((_resolve, reject) => {
        ctx.signal.addEventListener('abort', () => reject(ctx.signal.reason as Error), { once: true });
      });
    },
    { heartbeatTimeoutMs: 3_000, retries: { max: 0 } },
  );

  supervisor.register(
    'sleep',
    async (ctx) => {
      const { ms } = ctx.input;
      ctx.log(`sleeping ${ms} ms`);
      const steps = ms >= 100 ? 10 : 1;
      for (let step = 1; step <= steps; step++) {
        await delay(ms / steps, undefined, { signal: ctx.signal });
        ctx.progress((step * 100) / steps, `slept ${Math.round((ms * step) / steps)} of ${ms} ms`);
      }
      return { slept: ms };
    },
    { input: z.strictObject({ ms: z.number().int().min(0).max(3_600_000) }) },
  );

  supervisor.register(
    'fail',
    (ctx) => {
      throw Object.assign(new Error(ctx.input.message), { code: 'example_failure' });
    },
    {
      input: z
        .strictObject({ message: z.string().max(1_000).default('this job always fails') })
        .default({ message: 'this job always fails' }),
    },
  );

  supervisor.register(
    'backwards',
    async (ctx) => {
      ctx.progress(60, 'more than half done');
      await delay(200, undefined, { signal: ctx.signal });
      // A buggy worker reporting an older value: the job refuses it (progress never goes back).
      const accepted = ctx.progress(30, 'a stale report');
      await delay(200, undefined, { signal: ctx.signal });
      ctx.progress(100, 'done');
      return { staleReportAccepted: accepted };
    },
    { input: z.strictObject({}).default({}) },
  );

  supervisor.register(
    'hash',
    // hash-job.ts here, hash-job.js once compiled (the installed package's dist/examples/).
    { module: new URL(`./hash-job${import.meta.url.endsWith('.ts') ? '.ts' : '.js'}`, import.meta.url) },
    {
      input: z
        .strictObject({
          text: z.string().max(1_000).default('jobvisor'),
          rounds: z.number().int().min(1).max(100_000_000).default(2_000_000),
        })
        .default({ text: 'jobvisor', rounds: 2_000_000 }),
      heartbeatTimeoutMs: 10_000,
    },
  );
}
