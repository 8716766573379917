/**
 * jobvisor + SQLite with an I/O-awaiting handler (variant e) against raw better-sqlite3 replaying
 * the same batches (raw-sqlite.ts): one warm-up, then 3 interleaved rounds of each.
 * Run: npx tsx bench/raw-sqlite-run.ts
 */
import { runJobvisorSqliteIo } from './jobvisor-sqlite.js';
import { recordSqliteTrace, replayRaw, runRawSqlite, traceShape } from './raw-sqlite.js';
import { fmt, fmtInt, median } from './util.js';
import { checkSample, type Sample, type WorkloadSpec } from './workload.js';

const spec: WorkloadSpec = { n: 3_000, concurrency: 50, progressSteps: 10 };
const ROUNDS = 3;

const perSecond = (sample: Sample): number => sample.jobs / (sample.ms / 1000);

async function main(): Promise<void> {
  console.log(`n=${spec.n}, concurrency ${spec.concurrency}, ${spec.progressSteps} progress steps`);

  // Warm-up: one of each (the raw one split to look at the trace).
  checkSample('jobvisor+sqlite io (warm-up)', spec, await runJobvisorSqliteIo(spec));
  const trace = await recordSqliteTrace(spec);
  const shape = traceShape(trace);
  checkSample('raw sqlite (warm-up)', spec, replayRaw(trace));
  console.log(
    `trace: ${shape.transactions} transactions, ${shape.changes} changes; changes per transaction ` +
      `min ${shape.min} / median ${shape.median} / mean ${fmt(shape.mean, 1)} / max ${shape.max}`,
  );
  console.log(`store calls in the recorded run: ${JSON.stringify(trace.calls)}`);

  const jv: number[] = [];
  const raw: number[] = [];
  for (let round = 1; round <= ROUNDS; round++) {
    const a = checkSample('jobvisor+sqlite io', spec, await runJobvisorSqliteIo(spec));
    const b = await runRawSqlite(spec);
    checkSample('raw sqlite', spec, b);
    jv.push(perSecond(a));
    raw.push(perSecond(b));
    console.log(
      `round ${round}: jobvisor ${fmtInt(perSecond(a))} jobs/s (${fmt(a.ms, 0)} ms), ` +
        `raw ${fmtInt(perSecond(b))} jobs/s (${fmt(b.ms, 0)} ms, ${b.transactions} transactions; close ${fmt(b.closeMs, 0)} ms untimed), ` +
        `ratio ${fmt(perSecond(a) / perSecond(b))}`,
    );
  }
  console.log(
    `median: jobvisor ${fmtInt(median(jv))} jobs/s, raw ${fmtInt(median(raw))} jobs/s, ` +
      `ratio ${fmt(median(jv) / median(raw))} (goal ≥ 0.6)`,
  );
}

await main();
