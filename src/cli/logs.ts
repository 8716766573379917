/**
 * `jobvisor logs ID [--follow] [--attempt N]`: a job's log, one line per entry
 * (`time  #attempt  message  data`, or one JSON object per entry with `--json`). `--follow` then
 * prints each new line as the server tells it, until the job is final, and exits 0.
 */
import * as z from 'zod';
import type { WireLogEntry } from '../protocol/schemas.js';
import { clientFields, clientOptions, intString, onePositional, parseCommand } from './args.js';
import { withClient, type Client } from './connect.js';
import { EXIT } from './exit.js';
import { logLine, printJson, printLine } from './render.js';
import { giveUpMs, lostServer } from './watch.js';

const options = {
  ...clientOptions,
  follow: { type: 'boolean', short: 'f', default: false },
  attempt: { type: 'string' },
} as const;

/** Lines asked for per request while reading the whole log. */
const PAGE = 1_000;

export async function logsCommand(argv: readonly string[]): Promise<number> {
  const args = parseCommand(
    argv,
    options,
    z.object({
      ...clientFields(process.env),
      positionals: onePositional('ID (the job id)'),
      follow: z.boolean(),
      attempt: intString(1, 1_000_000).optional(),
    }),
  );
  const { positionals: id, attempt } = args;
  const print = (entry: WireLogEntry): void => {
    if (attempt !== undefined && entry.attempt !== attempt) return;
    if (args.json) printJson(entry);
    else printLine(logLine(entry));
  };
  await withClient(args, async (client) => {
    if (args.follow) return follow(client, id, print);
    let printed = 0;
    for (let after = 0; ;) {
      const page = await client.logs(id, { after, limit: PAGE, attempt });
      page.logs.forEach(print);
      printed += page.logs.length;
      if (page.next === null) break;
      after = page.next;
    }
    if (printed === 0 && !args.json) printLine('no log lines');
  });
  return EXIT.ok;
}

/**
 * Prints the stored lines, then each new one, until the job is final. A server that stays away for
 * JOBVISOR_GIVE_UP_MS (default 10 s) ends it as `unreachable`, as `watch` does.
 */
async function follow(client: Client, id: string, print: (entry: WireLogEntry) => void): Promise<void> {
  const giveUpAfter = giveUpMs();
  // An unknown job, or no server at all, is told at once.
  await client.get(id);
  let giveUp: NodeJS.Timeout | undefined;
  try {
    await new Promise<void>((resolve, reject) => {
      client
        .followLogs(id, {
          onEntry: print,
          onEnd: () => resolve(),
          onError: reject,
          onStatus: (status) => {
            if (status === 'live' || status === 'closed') {
              clearTimeout(giveUp);
              giveUp = undefined;
            } else giveUp ??= setTimeout(() => reject(lostServer(giveUpAfter)), giveUpAfter);
          },
        })
        .catch(reject);
    });
  } finally {
    clearTimeout(giveUp);
  }
}
