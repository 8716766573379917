/**
 * `jobvisor retry ID…`: makes failed or cancelled jobs pending again (same id, history kept, the next
 * attempt). One id retries that job; several ids, or a filter (`--status`, `--type`, `--older-than`),
 * retry in bulk (POST /bulk/retry) and print the counts.
 */
import { withClient } from './connect.js';
import { EXIT } from './exit.js';
import { countsLine, parseFinishedJobs } from './finished-jobs.js';
import { printJson, printLine } from './render.js';

export async function retryCommand(argv: readonly string[]): Promise<number> {
  const { args, query } = parseFinishedJobs(argv, ['failed', 'cancelled']);
  const [only, ...more] = args.positionals;
  if (only !== undefined && more.length === 0) {
    const { job } = await withClient(args, (client) => client.retry(only));
    if (args.json) printJson({ job, retried: true });
    else printLine(`retried job ${job.id} (${job.type}): pending, attempt ${job.attempt + 1} next`);
    return EXIT.ok;
  }
  const answer = await withClient(args, (client) => client.retryMany(query));
  if (args.json) printJson(answer);
  else
    printLine(
      countsLine(`retried ${answer.retried}`, answer, [
        [answer.notRetryable, 'not failed or cancelled'],
        [answer.keyHeld, 'key held by another job'],
        [answer.notFound, 'not found'],
      ]),
    );
  return EXIT.ok;
}
