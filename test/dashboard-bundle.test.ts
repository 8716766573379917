/** The committed dashboard bundle is what `npm run dashboard` builds from dashboard/src today. */
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { BUNDLE, buildDashboard } from '../scripts/dashboard-bundle.js';

describe('dashboard bundle', () => {
  it(`${BUNDLE} is up to date (run \`npm run dashboard\` after changing dashboard/src)`, async () => {
    const committed = await readFile(fileURLToPath(new URL(`../${BUNDLE}`, import.meta.url)), 'utf8');
    const fresh = await buildDashboard();
    expect(committed === fresh, `${BUNDLE} is stale: run \`npm run dashboard\``).toBe(true);
  });

  it('is deterministic and leaves the `ws` package out (browsers have WebSocket)', async () => {
    const [a, b] = await Promise.all([buildDashboard(), buildDashboard()]);
    expect(a).toBe(b);
    expect(a).not.toMatch(/from\s*"ws"/);
  });
});
