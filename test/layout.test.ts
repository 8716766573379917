/**
 * The folder layout is the architecture (docs/ARCHITECTURE.md): each folder of src/ may import
 * only the folders below it, so there is no cycle between folders, and machines/ imports nothing
 * from src/. Read from the import statements of every file.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, normalize, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('..', import.meta.url));

/** What each folder may import (besides itself and packages); `entry` is src/index.ts, src/sqlite.ts and src/postgres.ts. */
const ALLOWED: Record<string, readonly string[]> = {
  machines: [],
  common: ['machines'],
  protocol: ['common'],
  store: ['common', 'machines'],
  durability: ['store', 'common', 'machines'],
  runtime: ['common', 'machines'],
  inspection: ['common', 'machines'],
  cluster: ['store', 'common', 'machines'],
  supervisor: ['cluster', 'durability', 'store', 'runtime', 'inspection', 'common', 'machines'],
  client: ['protocol', 'common', 'machines'],
  server: ['supervisor', 'inspection', 'store', 'protocol', 'common'],
  entry: ['supervisor', 'durability', 'store', 'inspection', 'common', 'machines'],
  cli: ['entry', 'server', 'client', 'supervisor', 'inspection', 'store', 'protocol', 'common'],
};

function files(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    return entry.isDirectory() ? files(path) : entry.name.endsWith('.ts') ? [path] : [];
  });
}

function folderOf(path: string): string {
  const [top, second, third] = relative(root, path).split('/');
  if (top === 'machines') return 'machines';
  return third === undefined ? 'entry' : second!;
}

/** Every relative import (static, type-only and dynamic) of every file, as folder → folder. */
function edges(): { from: string; to: string; file: string; spec: string }[] {
  const out: { from: string; to: string; file: string; spec: string }[] = [];
  for (const file of [...files(join(root, 'src')), ...files(join(root, 'machines'))]) {
    const text = readFileSync(file, 'utf8');
    for (const match of text.matchAll(/(?:from|import)\s*\(?\s*['"](\.{1,2}\/[^'"]+)['"]/g)) {
      const spec = match[1]!;
      const target = normalize(join(dirname(file), spec));
      out.push({ from: folderOf(file), to: folderOf(target), file: relative(root, file), spec });
    }
  }
  return out;
}

describe('the layout', () => {
  const all = edges();

  it('reads the imports of every folder', () => {
    const folders = new Set(all.map((e) => e.from));
    expect([...folders].sort()).toEqual(Object.keys(ALLOWED).sort());
  });

  it('lets each folder import only the folders below it', () => {
    const wrong = all
      .filter((e) => e.from !== e.to && !ALLOWED[e.from]!.includes(e.to))
      .map((e) => `${e.file} imports ${e.spec} (${e.from} → ${e.to})`);
    expect(wrong).toEqual([]);
  });

  it('has no cycle between folders, and machines/ imports nothing from src/', () => {
    const graph = new Map<string, Set<string>>();
    for (const e of all)
      if (e.from !== e.to) (graph.get(e.from) ?? graph.set(e.from, new Set()).get(e.from)!).add(e.to);
    const visiting = new Set<string>();
    const done = new Set<string>();
    const cycles: string[] = [];
    const visit = (node: string, path: string[]) => {
      if (done.has(node)) return;
      if (visiting.has(node)) return void cycles.push([...path, node].join(' → '));
      visiting.add(node);
      for (const next of graph.get(node) ?? []) visit(next, [...path, node]);
      visiting.delete(node);
      done.add(node);
    };
    for (const node of graph.keys()) visit(node, []);
    expect(cycles).toEqual([]);
    expect(all.filter((e) => e.from === 'machines' && e.to !== 'machines')).toEqual([]);
  });

  it('keeps only the entry points at the top of src/', () => {
    const top = readdirSync(join(root, 'src'), { withFileTypes: true }).filter((e) => e.isFile());
    expect(top.map((e) => e.name).sort()).toEqual(['index.ts', 'postgres.ts', 'sqlite.ts']);
  });
});
