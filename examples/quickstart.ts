import * as z from 'zod';
import { createSupervisor } from 'jobvisor';

const supervisor = createSupervisor({ concurrency: 10, heartbeatTimeoutMs: 30_000 });

supervisor.register(
  'report',
  async (ctx) => {
    for (let step = 1; step <= 5; step++) {
      ctx.progress(step * 20, `Collecting prices (${step}/5)`); // percent 0..100, optional message
      await collectPrices(ctx.input.month, ctx.signal); // aborted on cancel, timeout, stall, shutdown
    }
    return { rows: 42 }; // becomes job.result
  },
  {
    input: z.object({ month: z.string() }),
    concurrency: 5,
    timeoutMs: 30 * 60_000,
    retries: { max: 3, backoffMs: 1_000 },
  },
);

const off = supervisor.subscribe((change) => {
  console.log(`${change.job.type} seq=${change.seq} ${change.kind} ${change.job.progress}%`);
});

const { job } = await supervisor.start({ type: 'report', input: { month: '2026-10' }, key: 'report:2026-10' });
const again = await supervisor.start({ type: 'report', input: { month: '2026-10' }, key: 'report:2026-10' });
console.log('deduplicated:', again.deduplicated, again.job.id === job.id); // deduplicated: true true

const done = await supervisor.waitFor(job.id);
console.log('finished:', done.status, JSON.stringify(done.result)); // finished: completed {"rows":42}

off();
await supervisor.shutdown({ graceMs: 10_000 });

async function collectPrices(_month: string, signal: AbortSignal): Promise<void> {
  await new Promise((resolve) => setImmediate(resolve));
  signal.throwIfAborted();
}
