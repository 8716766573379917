/** `jobvisor ls`: lists jobs (live ones oldest first, then finished ones) as a table or JSON. */
import * as z from 'zod';
import { jobStatusSchema } from '../protocol/schemas.js';
import { clientFields, clientOptions, intString, noPositionals, parseCommand } from './args.js';
import { withClient } from './connect.js';
import { EXIT } from './exit.js';
import { jobsTable, printJson, printLine } from './render.js';

const options = {
  ...clientOptions,
  status: { type: 'string' },
  type: { type: 'string' },
  key: { type: 'string' },
  limit: { type: 'string' },
  after: { type: 'string' },
} as const;

const statuses: readonly string[] = jobStatusSchema.options;

/** `running,pending` → the statuses, each one checked. */
const statusList = z.string().transform((text, ctx) => {
  const list = text.split(',').map((s) => s.trim());
  const unknown = list.filter((s) => !statuses.includes(s));
  if (unknown.length === 0) return list as z.infer<typeof jobStatusSchema>[];
  ctx.addIssue({
    code: 'custom',
    message: `unknown status ${unknown.map((s) => `"${s}"`).join(', ')} (use ${statuses.join(', ')})`,
  });
  return z.NEVER;
});

export async function lsCommand(argv: readonly string[]): Promise<number> {
  const args = parseCommand(
    argv,
    options,
    z.object({
      ...clientFields(process.env),
      positionals: noPositionals,
      status: statusList.optional(),
      type: z.string().min(1, 'must not be empty').max(200).optional(),
      key: z.string().min(1, 'must not be empty').max(500).optional(),
      limit: intString(1, 1_000).optional(),
      after: z.string().min(1, 'must not be empty').optional(),
    }),
  );
  const { status, type, key, limit, after } = args;
  const page = await withClient(args, (client) => client.list({ status, type, key, limit, after }));
  if (args.json) {
    printJson(page);
    return EXIT.ok;
  }
  printLine(page.jobs.length === 0 ? 'no jobs' : jobsTable(page.jobs, Date.now()));
  if (page.next !== null) printLine(`more jobs: jobvisor ls --after ${page.next}`);
  return EXIT.ok;
}
