/**
 * `jobvisor start-many [FILE]`: starts a batch from JSON Lines (one `POST /jobs` body per line) or a
 * JSON array, read from FILE or standard input (`-` or no FILE). A bad line refuses the batch and
 * starts nothing; otherwise each start's outcome is counted (and listed with --json).
 */
import { readFile } from 'node:fs/promises';
import { text } from 'node:stream/consumers';
import * as z from 'zod';
import { clientFields, clientOptions, parseCommand, UsageError } from './args.js';
import { withClient } from './connect.js';
import { EXIT } from './exit.js';
import { printJson, printLine } from './render.js';
import type { StartBody } from '../client/index.js';

const options = { ...clientOptions } as const;

export async function startManyCommand(argv: readonly string[]): Promise<number> {
  const args = parseCommand(
    argv,
    options,
    z.object({
      ...clientFields(process.env),
      positionals: z.array(z.string().min(1)).max(1, 'give at most one FILE (or - for standard input)'),
    }),
  );
  const file = args.positionals[0] ?? '-';
  const source =
    file === '-' ? await text(process.stdin) : await readFile(file, 'utf8').catch(unreadable(file));
  const jobs = parseBatch(source, file);
  const answer = await withClient(args, (client) => client.startMany(jobs as StartBody[]));
  if (args.json) printJson(answer);
  else {
    const { created, deduplicated, failed } = answer;
    printLine(`started ${created} jobs, joined ${deduplicated}, ${failed} failed`);
    answer.results.forEach((result, i) => {
      if ('error' in result) printLine(`  [${i}] ${result.error.code}: ${result.error.message}`);
    });
  }
  return answer.failed > 0 ? EXIT.error : EXIT.ok;
}

function unreadable(file: string) {
  return (error: Error): never => {
    throw new UsageError(`cannot read ${file}: ${error.message}`);
  };
}

/** A JSON array, or JSON Lines (blank lines skipped). */
function parseBatch(source: string, file: string): unknown[] {
  const trimmed = source.trim();
  if (trimmed === '') throw new UsageError(`${file} holds no jobs`);
  if (trimmed.startsWith('[')) {
    try {
      return JSON.parse(trimmed) as unknown[];
    } catch (error) {
      throw new UsageError(`${file} is not valid JSON (${(error as Error).message})`);
    }
  }
  return trimmed.split('\n').flatMap((line, i) => {
    if (line.trim() === '') return [];
    try {
      return [JSON.parse(line) as unknown];
    } catch (error) {
      throw new UsageError(`${file} line ${i + 1} is not valid JSON (${(error as Error).message})`);
    }
  });
}
