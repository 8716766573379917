/** `jobvisor start TYPE --input JSON`: creates a job (or joins the one holding its key), optionally watches it. */
import * as z from 'zod';
import {
  clientFields,
  clientOptions,
  durationText,
  jsonText,
  onePositional,
  parseCommand,
  timeText,
} from './args.js';
import { MAX_START_DELAY_MS } from '../common/schedule.js';
import { withClient } from './connect.js';
import { EXIT, exitCodeOfStatus } from './exit.js';
import { printJson, printLine } from './render.js';
import { watchJob } from './watch.js';

const options = {
  ...clientOptions,
  input: { type: 'string' },
  key: { type: 'string' },
  'on-conflict': { type: 'string' },
  priority: { type: 'string' },
  delay: { type: 'string' },
  at: { type: 'string' },
  watch: { type: 'boolean', short: 'w', default: false },
} as const;

export async function startCommand(argv: readonly string[]): Promise<number> {
  const args = parseCommand(
    argv,
    options,
    z
      .object({
        ...clientFields(process.env),
        positionals: onePositional('TYPE (the job type)'),
        input: jsonText.optional(),
        key: z.string().min(1, 'must not be empty').max(500).optional(),
        'on-conflict': z.enum(['join', 'reject', 'replace']).optional(),
        priority: z.coerce.number().int('must be a whole number').min(-1_000_000).max(1_000_000).optional(),
        delay: durationText(MAX_START_DELAY_MS).optional(),
        at: timeText.optional(),
        watch: z.boolean(),
      })
      .refine((a) => a.delay === undefined || a.at === undefined, {
        message: 'give --delay or --at, not both',
        path: ['delay'],
      }),
  );
  return withClient(args, async (client) => {
    const { job, deduplicated } = await client.start({
      type: args.positionals,
      input: args.input,
      key: args.key,
      onConflict: args['on-conflict'],
      priority: args.priority,
      delayMs: args.delay,
      runAt: args.at,
    });
    if (args.json) printJson({ job, deduplicated });
    else if (deduplicated)
      printLine(`joined job ${job.id} (${job.type}, ${job.status}): it already holds key "${job.key ?? ''}"`);
    else if (job.runAt !== null)
      printLine(`scheduled job ${job.id} (${job.type}) for ${new Date(job.runAt).toISOString()}`);
    else printLine(`started job ${job.id} (${job.type})`);
    if (!args.watch) return EXIT.ok;
    const final = await watchJob(client, job, { json: args.json });
    return exitCodeOfStatus(final.status);
  });
}
