/**
 * The published package, as a user gets it: `npm pack`, the tarball installed into a fresh
 * project, a strict TypeScript consumer compiled against the package's own types and run
 * (library with typed jobs, SQLite store, server, client, a worker-thread handler), a plain
 * JavaScript consumer run, and the `jobvisor` command serving the packaged example handlers. So
 * the published shape cannot drift from the repository's.
 */
import { execFile, spawn } from 'node:child_process';
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';

const run = promisify(execFile);
const root = fileURLToPath(new URL('..', import.meta.url));
const fixtures = fileURLToPath(new URL('./fixtures/consumer/', import.meta.url));
const own = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as {
  dependencies: Record<string, string>;
  devDependencies: Record<string, string>;
};
const work = mkdtempSync(join(tmpdir(), 'jobvisor-package-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

const npm = (args: string[], cwd: string) =>
  run('npm', [...args, '--no-audit', '--no-fund', '--loglevel=error'], { cwd, maxBuffer: 64 << 20 });

describe('the package', () => {
  it('installs from its tarball into a fresh project; a strict TypeScript consumer and a plain JS one run', async () => {
    const { stdout } = await npm(['pack', '--json', '--pack-destination', work], root);
    const [packed] = JSON.parse(stdout) as { filename: string; files: { path: string }[] }[];
    const files = packed!.files.map((f) => f.path);
    expect(files).toContain('LICENSE');
    expect(files).toContain('dist/src/index.js');
    expect(files).toContain('dist/examples/handlers.js');
    expect(files).toContain('dashboard/public/app.js');
    expect(files.filter((f) => f.startsWith('src/') || f.startsWith('test/'))).toEqual([]);

    const project = join(work, 'consumer');
    await run('mkdir', ['-p', project]);
    writeFileSync(
      join(project, 'package.json'),
      JSON.stringify({
        name: 'consumer',
        private: true,
        type: 'module',
        dependencies: { jobvisor: `file:${join(work, packed!.filename)}`, zod: own.dependencies.zod },
        devDependencies: { '@types/node': own.devDependencies['@types/node'] },
        allowScripts: { 'better-sqlite3': true },
      }),
    );
    for (const file of ['consumer.ts', 'worker.ts', 'plain.mjs', 'tsconfig.json'])
      copyFileSync(join(fixtures, file), join(project, file));
    // The native SQLite binding is the one slow part of an install (it compiles): when the project
    // got the same better-sqlite3 as this checkout, its built binding is reused; else it is built.
    await npm(['install', '--prefer-offline', '--ignore-scripts'], project);
    const versionOf = (dir: string) =>
      (
        JSON.parse(readFileSync(join(dir, 'node_modules/better-sqlite3/package.json'), 'utf8')) as {
          version: string;
        }
      ).version;
    if (versionOf(project) === versionOf(root)) {
      const binding = 'node_modules/better-sqlite3/build/Release';
      await run('mkdir', ['-p', join(project, binding)]);
      copyFileSync(join(root, binding, 'better_sqlite3.node'), join(project, binding, 'better_sqlite3.node'));
    } else {
      await npm(['rebuild', 'better-sqlite3'], project);
    }

    // Source maps carry their sources: the package holds no src/.
    const map = JSON.parse(
      readFileSync(join(project, 'node_modules/jobvisor/dist/src/index.js.map'), 'utf8'),
    ) as { sourcesContent?: string[] };
    expect(map.sourcesContent?.[0]).toContain('createSupervisor');

    // Strict TypeScript against the package's own declarations (skipLibCheck off), then run.
    await run(process.execPath, [join(root, 'node_modules/typescript/bin/tsc'), '-p', project], {
      cwd: project,
    });
    const typed = await run(process.execPath, [join(project, 'dist/consumer.js')], { cwd: project });
    expect(JSON.parse(typed.stdout.trim().split('\n').at(-1)!)).toEqual({
      sum: 5,
      status: 'ok',
      hash: 'fc3be90b0904dc2f',
      refused: 'invalid_input',
    });
    const plain = await run(process.execPath, [join(project, 'plain.mjs')], { cwd: project });
    expect(JSON.parse(plain.stdout.trim())).toEqual({ result: 'hello plain js' });

    // The command, serving the packaged example handlers.
    const serve = spawn(
      process.execPath,
      [
        join(project, 'node_modules/jobvisor/bin/jobvisor.js'),
        'serve',
        '--port',
        '0',
        '--db',
        join(project, 'data/jobs.db'),
        '--handlers',
        './node_modules/jobvisor/dist/examples/handlers.js',
      ],
      { cwd: project, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    try {
      const url = await new Promise<string>((resolve, reject) => {
        let out = '';
        serve.stdout.on('data', (d: Buffer) => {
          out += d.toString();
          const found = /listening on (\S+)/.exec(out);
          if (found) resolve(found[1]!);
        });
        serve.on('exit', (code) => reject(new Error(`serve exited (${code}): ${out}`)));
      });
      const types = (await (await fetch(`${url}/types`)).json()) as { types: { name: string }[] };
      expect(types.types.map((t) => t.name)).toEqual(expect.arrayContaining(['report', 'sleep', 'hash']));
      const created = await fetch(`${url}/jobs`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ type: 'hash', input: { text: 'packaged', rounds: 1_000 } }),
      });
      expect(created.status).toBe(201);
    } finally {
      serve.kill('SIGTERM');
    }
  }, 300_000);
});
