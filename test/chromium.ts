/**
 * The Chromium the browser tests drive: `CHROMIUM_PATH` when set, else Debian's `/usr/bin/chromium`
 * when present, else the one the devDependency `@sparticuz/chromium` ships brotli-compressed in its
 * tarball. Vitest runs this file as `globalSetup`, once per run before any test file starts, and
 * hands the result to the test files with `provide`/`inject`, so parallel files never unpack at once.
 */
import { execFile } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, rename, rm, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import { inject } from 'vitest';
import type { TestProject } from 'vitest/node';

/** A Chromium executable and the environment variables it needs on top of the test process's. */
export interface ChromiumExecutable {
  readonly path: string;
  readonly env: Readonly<Record<string, string>>;
}

declare module 'vitest' {
  export interface ProvidedContext {
    chromium: ChromiumExecutable;
  }
}

const DEBIAN_CHROMIUM = '/usr/bin/chromium';

export async function findChromium(): Promise<ChromiumExecutable> {
  const given = process.env.CHROMIUM_PATH;
  if (given) {
    if (!existsSync(given)) throw new Error(`CHROMIUM_PATH is "${given}", which does not exist`);
    return { path: given, env: {} };
  }
  if (existsSync(DEBIAN_CHROMIUM)) return { path: DEBIAN_CHROMIUM, env: {} };
  return unpackSparticuzChromium();
}

/**
 * Unpacks `@sparticuz/chromium` into `<tmpdir>/jobvisor-chromium-<version>/` unless it is there.
 * Its `executablePath()` inflates the binary, fonts and SwiftShader into `os.tmpdir()` and takes an
 * existing `chromium` file there as done, half-written or not; so it runs in a child process whose
 * `TMPDIR` is a fresh directory, renamed into place once complete: a run killed half-way, or two
 * runs at once (another checkout's), never leave or see a partial unpack.
 */
async function unpackSparticuzChromium(): Promise<ChromiumExecutable> {
  if (process.platform !== 'linux' || process.arch !== 'x64') {
    throw new Error(
      `no Chromium: @sparticuz/chromium ships one for linux x64, this is ${process.platform} ${process.arch}; set CHROMIUM_PATH`,
    );
  }
  const entry = createRequire(import.meta.url).resolve('@sparticuz/chromium'); // <package>/build/cjs/index.cjs
  const { version } = JSON.parse(readFileSync(join(dirname(entry), '..', '..', 'package.json'), 'utf8')) as {
    version: string;
  };
  const dir = join(tmpdir(), `jobvisor-chromium-${version}`);
  const found = {
    path: join(dir, 'chromium'),
    // The pack's own fonts.conf names /tmp/fonts; ours names the fonts where they are, so text has
    // glyphs on a machine without system fonts too.
    env: { FONTCONFIG_FILE: join(dir, 'fonts.conf') },
  };
  if (existsSync(found.path) && existsSync(found.env.FONTCONFIG_FILE)) return found;
  await rm(dir, { recursive: true, force: true }); // what a temp-file cleaner left of one, if any
  const staging = await mkdtemp(`${dir}.partial-`);
  try {
    await promisify(execFile)(
      process.execPath,
      ['-e', 'require(process.argv[1]).executablePath().then((path) => console.log(path))', entry],
      { env: { ...process.env, TMPDIR: staging } },
    );
    if (!existsSync(join(staging, 'chromium'))) {
      throw new Error(`@sparticuz/chromium unpacked no ${staging}/chromium`);
    }
    await writeFile(
      join(staging, 'fonts.conf'),
      `<?xml version="1.0"?>\n<!DOCTYPE fontconfig SYSTEM "fonts.dtd">\n<fontconfig>\n` +
        `  <dir>${dir}/fonts/fonts</dir>\n  <cachedir>${dir}/fonts-cache</cachedir>\n</fontconfig>\n`,
    );
    await rename(staging, dir).catch((error: NodeJS.ErrnoException) => {
      // Another run renamed its own unpack into place first: use that one.
      if (error.code !== 'ENOTEMPTY' && error.code !== 'EEXIST') throw error;
    });
  } finally {
    await rm(staging, { recursive: true, force: true });
  }
  return found;
}

/** Vitest's `globalSetup`: finds (and if need be unpacks) Chromium once for the whole run. */
export async function setup(project: TestProject): Promise<void> {
  project.provide('chromium', await findChromium());
}

/** In a test file: the Chromium that `setup` found. */
export function injectedChromium(): ChromiumExecutable {
  const found = inject('chromium');
  if (!found) throw new Error('no Chromium: vitest.config.ts must list test/chromium.ts in globalSetup');
  return found;
}
