/**
 * `npm run machines`: regenerates docs/machines/*.json, docs/machines/*.mmd and the machine
 * diagrams in README.md (only between their marker comments).
 * `npm run machines -- --check`: writes nothing; exits 1, naming each stale file, if any differs.
 */
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { generatedFiles, README, ROOT } from './machine-docs.js';

async function readIfExists(path: string): Promise<string | undefined> {
  try {
    return await readFile(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
}

const args = process.argv.slice(2);
const check = args.includes('--check');
const unknown = args.filter((arg) => arg !== '--check');
if (unknown.length > 0) {
  console.error(`unknown argument: ${unknown.join(' ')}\nusage: npm run machines [-- --check]`);
  process.exit(2);
}

const files = await generatedFiles(await readFile(join(ROOT, README), 'utf8'));
const stale: string[] = [];
for (const [path, content] of files) {
  const absolute = join(ROOT, path);
  if ((await readIfExists(absolute)) === content) continue;
  stale.push(path);
  if (!check) {
    await mkdir(dirname(absolute), { recursive: true });
    await writeFile(absolute, content);
    console.log(`wrote ${path}`);
  }
}

if (check && stale.length > 0) {
  for (const path of stale) console.error(`stale: ${path}`);
  console.error('run `npm run machines` to regenerate');
  process.exit(1);
}
if (stale.length === 0) console.log('machine docs are up to date');
