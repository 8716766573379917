/**
 * The dashboard bundle: dashboard/src/main.ts (with the client SDK, zod and the job machine's JSON)
 * as one ES module for browsers. Deterministic, so the committed dashboard/public/app.js can be
 * compared with a fresh build (`npm run dashboard -- --check`, test/dashboard-bundle.test.ts).
 */
import { build } from 'esbuild';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('..', import.meta.url));

/** Where the committed bundle lives, relative to the repository root. */
export const BUNDLE = 'dashboard/public/app.js';

/** The bundle's text, built in memory. */
export async function buildDashboard(): Promise<string> {
  const result = await build({
    absWorkingDir: ROOT,
    entryPoints: ['dashboard/src/main.ts'],
    bundle: true,
    write: false,
    format: 'esm',
    platform: 'browser',
    target: 'es2022',
    tsconfig: 'dashboard/tsconfig.json',
    // The SDK loads `ws` only where there is no global WebSocket: never in a browser.
    external: ['ws'],
    minify: true,
    legalComments: 'none',
    sourcemap: false,
    charset: 'utf8',
    logLevel: 'silent',
    banner: { js: '// Built by `npm run dashboard` from dashboard/src: do not edit.' },
  });
  const [file] = result.outputFiles;
  if (!file) throw new Error('esbuild produced no output');
  return file.text;
}
