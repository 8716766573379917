/**
 * One round of one throughput variant in a fresh process (bench/throughput.ts): a warm-up run of
 * `warmupN` jobs, a full GC, then the measured run; prints the Sample as JSON on its last line.
 *
 *   tsx --expose-gc bench/variant-child.ts <variant> <n> <concurrency> <steps> <warmupN>
 */
import { collect } from './util.js';
import { VARIANTS, type VariantName } from './variants.js';
import { checkSample } from './workload.js';

const [name, n, concurrency, steps, warmupN] = process.argv.slice(2);
const variant = VARIANTS[name as VariantName];
if (!variant) throw new Error(`unknown variant ${name}`);
const spec = { n: Number(n), concurrency: Number(concurrency), progressSteps: Number(steps) };
if (Number(warmupN) > 0)
  checkSample(name!, { ...spec, n: Number(warmupN) }, await variant.run({ ...spec, n: Number(warmupN) }));
await collect();
const sample = checkSample(name!, spec, await variant.run(spec));
// Exit once the line is out: a peer's client may keep a handle open.
process.stdout.write(`${JSON.stringify(sample)}\n`, () => process.exit(0));
