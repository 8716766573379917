/**
 * `npm run dashboard`: bundles dashboard/src into dashboard/public/app.js (committed, so users of
 * the server never need a build step).
 * `npm run dashboard -- --check`: writes nothing; exits 1 when the committed bundle is stale.
 */
import { readFile, writeFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { BUNDLE, buildDashboard } from './dashboard-bundle.js';

const args = process.argv.slice(2);
const check = args.includes('--check');
const unknown = args.filter((arg) => arg !== '--check');
if (unknown.length > 0) {
  console.error(`unknown argument: ${unknown.join(' ')}\nusage: npm run dashboard [-- --check]`);
  process.exit(2);
}

const path = fileURLToPath(new URL(`../${BUNDLE}`, import.meta.url));
const fresh = await buildDashboard();
const current = await readFile(path, 'utf8').catch(() => undefined);
if (current === fresh) {
  console.log(`${BUNDLE} is up to date`);
} else if (check) {
  console.error(`stale: ${BUNDLE}\nrun \`npm run dashboard\` to rebuild it`);
  process.exit(1);
} else {
  await writeFile(path, fresh);
  console.log(`wrote ${BUNDLE} (${Math.round(Buffer.byteLength(fresh) / 1024)} KiB)`);
}
