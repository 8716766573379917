/** `jobvisor cancel ID`: cancels a pending or running job; a finished job is left as it is. */
import * as z from 'zod';
import { clientFields, clientOptions, onePositional, parseCommand } from './args.js';
import { withClient } from './connect.js';
import { EXIT } from './exit.js';
import { printJson, printLine } from './render.js';

const options = { ...clientOptions, reason: { type: 'string' } } as const;

export async function cancelCommand(argv: readonly string[]): Promise<number> {
  const args = parseCommand(
    argv,
    options,
    z.object({
      ...clientFields(process.env),
      positionals: onePositional('ID (the job id)'),
      reason: z.string().max(1_000, 'must be at most 1000 characters').optional(),
    }),
  );
  const { job, cancelled } = await withClient(args, (client) => client.cancel(args.positionals, args.reason));
  if (args.json) printJson({ job, cancelled });
  else if (cancelled) printLine(`cancelled job ${job.id} (${job.type})`);
  else printLine(`job ${job.id} (${job.type}) is already ${job.status}: nothing to cancel`);
  return EXIT.ok;
}
