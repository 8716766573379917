/**
 * What `npm run machines` generates: the machines' JSON definitions and Mermaid diagrams under
 * docs/machines/, and the diagrams in README.md between their marker comments. Pure apart from
 * reading the Prettier config, so the CLI and the docs test compare the same text.
 */
import { fileURLToPath } from 'node:url';
import { format, resolveConfig } from 'prettier';
import type { AnyStateMachine } from 'xstate';
import { jobMachine, leaseMachine, supervisorMachine } from '../machines/index.js';
import { toJSON, toMermaid } from './mermaid.js';

/** The repository's root directory. */
export const ROOT = fileURLToPath(new URL('..', import.meta.url));

export const README = 'README.md';

export interface DocumentedMachine {
  /** Base name of its files under docs/machines/. */
  readonly name: string;
  /** Its README block lies between `<!-- marker:start -->` and `<!-- marker:end -->`. */
  readonly marker: string;
  readonly machine: AnyStateMachine;
}

export const MACHINES: readonly DocumentedMachine[] = [
  { name: 'job', marker: 'job-machine', machine: jobMachine },
  { name: 'supervisor', marker: 'supervisor-machine', machine: supervisorMachine },
  { name: 'lease', marker: 'lease-machine', machine: leaseMachine },
];

function markers(marker: string): { start: string; end: string } {
  return { start: `<!-- ${marker}:start -->`, end: `<!-- ${marker}:end -->` };
}

/** What goes between a README's markers: the diagram fenced, with blank lines Prettier keeps. */
export function mermaidBlock(diagram: string): string {
  return `\n\n\`\`\`mermaid\n${diagram}\`\`\`\n\n`;
}

/** The text between the markers, or `undefined` when they are missing or out of order. */
export function readBlock(text: string, marker: string): string | undefined {
  const { start, end } = markers(marker);
  const from = text.indexOf(start);
  const to = from === -1 ? -1 : text.indexOf(end, from + start.length);
  return to === -1 ? undefined : text.slice(from + start.length, to);
}

/** The text with what lies between the markers replaced by `content`; nothing else changes. */
export function replaceBlock(text: string, marker: string, content: string): string {
  const { start } = markers(marker);
  const block = readBlock(text, marker);
  if (block === undefined) throw new Error(`${README} has no ${start} … ${markers(marker).end} block`);
  const at = text.indexOf(start) + start.length;
  return text.slice(0, at) + content + text.slice(at + block.length);
}

async function formatJson(path: string, data: unknown): Promise<string> {
  const options = (await resolveConfig(`${ROOT}${path}`)) ?? {};
  return format(JSON.stringify(data), { ...options, filepath: path });
}

/**
 * Every generated file, by path relative to the root, given README.md's current text:
 * docs/machines/<name>.json and .mmd, and README.md with its diagram blocks rewritten.
 */
export async function generatedFiles(readme: string): Promise<Map<string, string>> {
  const files = new Map<string, string>();
  let text = readme;
  for (const { name, marker, machine } of MACHINES) {
    const diagram = toMermaid(machine);
    files.set(`docs/machines/${name}.json`, await formatJson(`docs/machines/${name}.json`, toJSON(machine)));
    files.set(`docs/machines/${name}.mmd`, diagram);
    text = replaceBlock(text, marker, mermaidBlock(diagram));
  }
  files.set(README, text);
  return files;
}
