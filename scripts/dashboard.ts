/**
 * `npm run dashboard`: lays out the job machine diagram with ELK (dashboard/src/job-layout.json,
 * scripts/machine-layout.ts), then bundles dashboard/src into dashboard/public/app.js (both
 * committed, so users of the server never need a build step).
 * `npm run dashboard -- --check`: writes nothing; exits 1 when either committed file is stale.
 */
import { readFile, writeFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { BUNDLE, buildDashboard } from './dashboard-bundle.js';
import { jobGraph } from './machine-graph.js';
import { LAYOUT, layoutJobMachine } from './machine-layout.js';
import type { JobLayout } from '../dashboard/src/layout-types.js';

const args = process.argv.slice(2);
const check = args.includes('--check');
const unknown = args.filter((arg) => arg !== '--check');
if (unknown.length > 0) {
  console.error(`unknown argument: ${unknown.join(' ')}\nusage: npm run dashboard [-- --check]`);
  process.exit(2);
}

/** Writes `fresh` to `file` (relative to the repository) unless it holds it; with --check, only says. */
async function update(file: string, fresh: string): Promise<void> {
  const path = fileURLToPath(new URL(`../${file}`, import.meta.url));
  const current = await readFile(path, 'utf8').catch(() => undefined);
  if (current === fresh) {
    console.log(`${file} is up to date`);
  } else if (check) {
    console.error(`stale: ${file}\nrun \`npm run dashboard\` to rebuild it`);
    process.exit(1);
  } else {
    await writeFile(path, fresh);
    console.log(`wrote ${file} (${Math.round(Buffer.byteLength(fresh) / 1024)} KiB)`);
  }
}

// The layout first (the bundle imports it); the order found before is tried first.
const layoutPath = fileURLToPath(new URL(`../${LAYOUT}`, import.meta.url));
const before = await readFile(layoutPath, 'utf8')
  .then((text) => JSON.parse(text) as JobLayout)
  .catch(() => undefined);
await update(LAYOUT, `${JSON.stringify(await layoutJobMachine(jobGraph(), before?.order), null, 1)}\n`);
await update(BUNDLE, await buildDashboard());
