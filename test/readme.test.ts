/** The README opens with runnable code: it is examples/quickstart.ts, verbatim, and it runs. */
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

const run = promisify(execFile);
const root = new URL('..', import.meta.url);
const example = readFileSync(new URL('examples/quickstart.ts', root), 'utf8').trimEnd();
const readme = readFileSync(new URL('README.md', root), 'utf8');

describe('README quick start', () => {
  it('shows examples/quickstart.ts verbatim in its first code block', () => {
    const first = /```ts\n([\s\S]*?)\n```/.exec(readme)?.[1];
    expect(first).toBe(example);
  });

  it('runs the example: the duplicate start is deduplicated and the job completes', async () => {
    const { stdout } = await run(process.execPath, ['--import', 'tsx', 'examples/quickstart.ts'], {
      cwd: root,
      timeout: 20_000,
    });
    expect(stdout).toContain('deduplicated: true true');
    expect(stdout).toContain('finished: completed {"rows":42}');
    const seqs = [...stdout.matchAll(/seq=(\d+)/g)].map((m) => Number(m[1]));
    expect(seqs).toEqual(seqs.map((_, i) => i + 1));
    expect(stdout).toContain('seq=8 completed 100%');
  });
});
