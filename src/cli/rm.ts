/**
 * `jobvisor rm ID…`: removes finished jobs with their history. One id removes that job; several ids,
 * or a filter (`--status`, `--type`, `--older-than`), remove in bulk (POST /bulk/remove) and print
 * the counts. A pending or running job is left as it is (cancel it first).
 */
import * as z from 'zod';
import { clientFields, clientOptions, durationText, parseCommand } from './args.js';
import { withClient } from './connect.js';
import { EXIT } from './exit.js';
import { printJson, printLine } from './render.js';
import { MAX_BULK } from '../common/bulk.js';

const options = {
  ...clientOptions,
  status: { type: 'string' },
  type: { type: 'string' },
  'older-than': { type: 'string' },
} as const;

const finishedStatuses = z
  .string()
  .transform((s) => s.split(','))
  .pipe(
    z.array(
      z.enum(
        ['completed', 'failed', 'cancelled'],
        'must be completed, failed or cancelled (comma-separated)',
      ),
    ),
  );

export async function rmCommand(argv: readonly string[]): Promise<number> {
  const args = parseCommand(
    argv,
    options,
    z
      .object({
        ...clientFields(process.env),
        positionals: z.array(z.string().min(1)).max(MAX_BULK, `at most ${MAX_BULK} ids`),
        status: finishedStatuses.optional(),
        type: z.string().min(1).optional(),
        'older-than': durationText(Number.MAX_SAFE_INTEGER).optional(),
      })
      .refine(
        (a) => a.positionals.length > 0 !== [a.status, a.type, a['older-than']].some((f) => f !== undefined),
        {
          message: 'give job ids, or a filter (--status, --type, --older-than), not both and not neither',
          path: ['positionals'],
        },
      ),
  );
  const ids = args.positionals;
  if (ids.length === 1 && ids[0] !== undefined) {
    const { job } = await withClient(args, (client) => client.remove(ids[0]!));
    if (args.json) printJson({ job, removed: true });
    else printLine(`removed job ${job.id} (${job.type}, ${job.status})`);
    return EXIT.ok;
  }
  const olderThan = args['older-than'];
  const answer = await withClient(args, (client) =>
    client.removeMany(
      ids.length > 0
        ? { ids }
        : {
            status: args.status,
            type: args.type,
            finishedBefore: olderThan === undefined ? undefined : Date.now() - olderThan,
          },
    ),
  );
  if (args.json) printJson(answer);
  else {
    const { matched, removed, live, notFound } = answer;
    const notes = [
      ...(live > 0 ? [`${live} still live`] : []),
      ...(notFound > 0 ? [`${notFound} not found`] : []),
    ];
    printLine(`removed ${removed} of ${matched} jobs${notes.length > 0 ? ` (${notes.join(', ')})` : ''}`);
  }
  return EXIT.ok;
}
