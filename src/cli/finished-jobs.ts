/**
 * The arguments of the commands that act on finished jobs (`rm`, `retry`): job ids, or a filter
 * (`--status`, `--type`, `--older-than`), never both and never neither; and how their counts print.
 */
import * as z from 'zod';
import { clientFields, clientOptions, durationText, jobIdList, parseCommand, statusList } from './args.js';

const options = {
  ...clientOptions,
  status: { type: 'string' },
  type: { type: 'string' },
  'older-than': { type: 'string' },
} as const;

export function parseFinishedJobs<S extends string>(argv: readonly string[], statuses: readonly [S, ...S[]]) {
  const args = parseCommand(
    argv,
    options,
    z
      .object({
        ...clientFields(process.env),
        positionals: jobIdList,
        status: statusList(statuses).optional(),
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
  const olderThan = args['older-than'];
  /** The bulk query: the ids, or the filter (`--older-than`: finished before now minus it). */
  const query =
    args.positionals.length > 0
      ? { ids: args.positionals }
      : {
          status: args.status,
          type: args.type,
          finishedBefore: olderThan === undefined ? undefined : Date.now() - olderThan,
        };
  return { args, query };
}

/** `… 2 of 3 jobs (1 still live, …)`: the notes that are not zero. */
export function countsLine(
  done: string,
  counts: { matched: number },
  notes: readonly [number, string][],
): string {
  const shown = notes.filter(([n]) => n > 0).map(([n, text]) => `${n} ${text}`);
  return `${done} of ${counts.matched} jobs${shown.length > 0 ? ` (${shown.join(', ')})` : ''}`;
}
