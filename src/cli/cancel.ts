/**
 * `jobvisor cancel ID…`: cancels pending or running jobs (a finished job is left as it is). One id
 * cancels that job; several ids, or a filter (`--status`, `--type`, `--key`, `--older-than`), cancel
 * in bulk (POST /bulk/cancel) and print the counts.
 */
import * as z from 'zod';
import { clientFields, clientOptions, durationText, jobIdList, parseCommand, statusList } from './args.js';
import { withClient } from './connect.js';
import { EXIT } from './exit.js';
import { printJson, printLine } from './render.js';

const options = {
  ...clientOptions,
  reason: { type: 'string' },
  status: { type: 'string' },
  type: { type: 'string' },
  key: { type: 'string' },
  'older-than': { type: 'string' },
} as const;

export async function cancelCommand(argv: readonly string[]): Promise<number> {
  const args = parseCommand(
    argv,
    options,
    z
      .object({
        ...clientFields(process.env),
        positionals: jobIdList,
        reason: z.string().max(1_000, 'must be at most 1000 characters').optional(),
        status: statusList(['pending', 'running']).optional(),
        type: z.string().min(1).optional(),
        key: z.string().min(1).optional(),
        'older-than': durationText(Number.MAX_SAFE_INTEGER).optional(),
      })
      .refine((a) => a.positionals.length > 0 !== filtered(a), {
        message:
          'give job ids, or a filter (--status, --type, --key, --older-than), not both and not neither',
        path: ['positionals'],
      }),
  );
  const { positionals: ids, reason } = args;
  if (ids.length === 1 && ids[0] !== undefined) {
    const { job, cancelled } = await withClient(args, (client) => client.cancel(ids[0]!, reason));
    if (args.json) printJson({ job, cancelled });
    else if (cancelled) printLine(`cancelled job ${job.id} (${job.type})`);
    else printLine(`job ${job.id} (${job.type}) is already ${job.status}: nothing to cancel`);
    return EXIT.ok;
  }
  const olderThan = args['older-than'];
  const answer = await withClient(args, (client) =>
    client.cancelMany(
      ids.length > 0
        ? { ids, reason }
        : {
            status: args.status,
            type: args.type,
            key: args.key,
            createdBefore: olderThan === undefined ? undefined : Date.now() - olderThan,
            reason,
          },
    ),
  );
  if (args.json) printJson(answer);
  else {
    const { matched, cancelled, unchanged, notFound } = answer;
    const notes = [
      ...(unchanged > 0 ? [`${unchanged} already finished`] : []),
      ...(notFound > 0 ? [`${notFound} not found`] : []),
    ];
    printLine(`cancelled ${cancelled} of ${matched} jobs${notes.length > 0 ? ` (${notes.join(', ')})` : ''}`);
  }
  return EXIT.ok;
}

function filtered(a: { status?: unknown; type?: unknown; key?: unknown; 'older-than'?: unknown }): boolean {
  return [a.status, a.type, a.key, a['older-than']].some((f) => f !== undefined);
}
