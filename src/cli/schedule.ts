/**
 * Repeatable jobs from the command line: `jobvisor schedules` lists them (a table, or `--json`),
 * `jobvisor schedule NAME --type T (--cron EXPR | --every DURATION) …` creates one or replaces its
 * definition, `jobvisor unschedule NAME` removes one (the jobs it started stay). The shape is
 * checked here (exit 2); the cron pattern and the time zone by the server (exit 5, `invalid_request`).
 */
import * as z from 'zod';
import { MIN_EVERY_MS, missedPolicySchema, scheduleNameSchema } from '../common/repeatable.js';
import { MAX_START_DELAY_MS } from '../common/schedule.js';
import type { WireSchedule } from '../protocol/schemas.js';
import {
  clientFields,
  clientOptions,
  durationText,
  jsonText,
  noPositionals,
  onePositional,
  parseCommand,
} from './args.js';
import { withClient } from './connect.js';
import { EXIT } from './exit.js';
import { everyText, printJson, printLine, schedulesTable } from './render.js';

const scheduleOptions = {
  ...clientOptions,
  type: { type: 'string' },
  cron: { type: 'string' },
  every: { type: 'string' },
  input: { type: 'string' },
  tz: { type: 'string' },
  key: { type: 'string' },
  priority: { type: 'string' },
  missed: { type: 'string' },
} as const;

/** NAME: one positional argument, a valid schedule name. */
const nameArgument = onePositional('NAME (the schedule name)').transform((name, ctx) => {
  const parsed = scheduleNameSchema.safeParse(name);
  if (parsed.success) return parsed.data;
  ctx.addIssue({ code: 'custom', message: `NAME ${parsed.error.issues[0]?.message ?? 'is invalid'}` });
  return z.NEVER;
});

export async function schedulesCommand(argv: readonly string[]): Promise<number> {
  const args = parseCommand(
    argv,
    clientOptions,
    z.object({ ...clientFields(process.env), positionals: noPositionals }),
  );
  const schedules = await withClient(args, (client) => client.schedules());
  if (args.json) printJson({ schedules });
  else printLine(schedules.length === 0 ? 'no schedules' : schedulesTable(schedules));
  return EXIT.ok;
}

export async function scheduleCommand(argv: readonly string[]): Promise<number> {
  const args = parseCommand(
    argv,
    scheduleOptions,
    z
      .object({
        ...clientFields(process.env),
        positionals: nameArgument,
        type: z.string('is required (the job type of each occurrence)').min(1, 'must not be empty').max(200),
        cron: z.string().min(1, 'must not be empty').max(200).optional(),
        every: durationText(MAX_START_DELAY_MS)
          .pipe(z.number().min(MIN_EVERY_MS, `must be at least ${MIN_EVERY_MS} ms`))
          .optional(),
        input: jsonText.optional(),
        tz: z.string().min(1, 'must not be empty').max(100).optional(),
        key: z.string().min(1, 'must not be empty').max(500).optional(),
        priority: z.coerce.number().int('must be a whole number').min(-1_000_000).max(1_000_000).optional(),
        missed: z.enum(missedPolicySchema.options, 'must be latest or skip').optional(),
      })
      .refine((a) => (a.cron === undefined) !== (a.every === undefined), {
        message: 'give --cron or --every (exactly one)',
        path: ['cron'],
      })
      .refine((a) => a.tz === undefined || a.cron !== undefined, {
        message: 'a time zone applies to --cron only',
        path: ['tz'],
      }),
  );
  const schedule = await withClient(args, (client) =>
    client.schedule(args.positionals, {
      type: args.type,
      input: args.input,
      cron: args.cron,
      everyMs: args.every,
      timezone: args.tz,
      key: args.key,
      priority: args.priority,
      missed: args.missed,
    }),
  );
  if (args.json) printJson({ schedule });
  else printLine(`schedule ${schedule.name}: ${describe(schedule)}, next ${isoOrNone(schedule.nextAt)}`);
  return EXIT.ok;
}

export async function unscheduleCommand(argv: readonly string[]): Promise<number> {
  const args = parseCommand(
    argv,
    clientOptions,
    z.object({ ...clientFields(process.env), positionals: nameArgument }),
  );
  const schedule = await withClient(args, (client) => client.unschedule(args.positionals));
  if (args.json) printJson({ schedule });
  else printLine(`removed schedule ${schedule.name} (${describe(schedule)}); the jobs it started stay`);
  return EXIT.ok;
}

/** `report, cron "0 6 * * *" in Europe/Berlin` or `ping, every 5m`. */
function describe(schedule: WireSchedule): string {
  const when =
    schedule.cron !== null
      ? `cron "${schedule.cron}" in ${schedule.timezone ?? 'UTC'}`
      : `every ${everyText(schedule.everyMs ?? 0)}`;
  return `${schedule.type}, ${when}`;
}

function isoOrNone(at: number | null): string {
  return at === null ? 'none' : new Date(at).toISOString();
}
