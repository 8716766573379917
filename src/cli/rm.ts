/**
 * `jobvisor rm ID…`: removes finished jobs with their history. One id removes that job; several ids,
 * or a filter (`--status`, `--type`, `--older-than`), remove in bulk (POST /bulk/remove) and print
 * the counts. A pending or running job is left as it is (cancel it first).
 */
import { withClient } from './connect.js';
import { EXIT } from './exit.js';
import { countsLine, parseFinishedJobs } from './finished-jobs.js';
import { printJson, printLine } from './render.js';

export async function rmCommand(argv: readonly string[]): Promise<number> {
  const { args, query } = parseFinishedJobs(argv, ['completed', 'failed', 'cancelled']);
  const [only, ...more] = args.positionals;
  if (only !== undefined && more.length === 0) {
    const { job } = await withClient(args, (client) => client.remove(only));
    if (args.json) printJson({ job, removed: true });
    else printLine(`removed job ${job.id} (${job.type}, ${job.status})`);
    return EXIT.ok;
  }
  const answer = await withClient(args, (client) => client.removeMany(query));
  if (args.json) printJson(answer);
  else
    printLine(
      countsLine(`removed ${answer.removed}`, answer, [
        [answer.live, 'still live'],
        [answer.notFound, 'not found'],
      ]),
    );
  return EXIT.ok;
}
