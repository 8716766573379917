/**
 * `jobvisor pause [TYPE]` and `jobvisor resume [TYPE]`: pause or resume a job type, or the whole
 * supervisor when no type is given (pending jobs wait, running ones go on); `jobvisor pause --list`
 * only shows what is paused. Each prints what is paused afterwards.
 */
import * as z from 'zod';
import { clientFields, clientOptions, parseCommand } from './args.js';
import { withClient } from './connect.js';
import { EXIT } from './exit.js';
import { printJson, printLine } from './render.js';

const options = { ...clientOptions, list: { type: 'boolean', default: false } } as const;

function describe(state: { all: boolean; types: readonly string[] }): string {
  if (state.all)
    return `the whole supervisor is paused${state.types.length > 0 ? ` (and ${state.types.join(', ')})` : ''}`;
  return state.types.length > 0 ? `paused: ${state.types.join(', ')}` : 'nothing is paused';
}

function command(action: 'pause' | 'resume') {
  return async (argv: readonly string[]): Promise<number> => {
    const args = parseCommand(
      argv,
      options,
      z
        .object({
          ...clientFields(process.env),
          positionals: z.array(z.string().min(1).max(200)).max(1, 'give at most one TYPE'),
          list: z.boolean(),
        })
        .refine((a) => !a.list || (action === 'pause' && a.positionals.length === 0), {
          message: '--list only shows the pauses: give no TYPE with it',
          path: ['list'],
        }),
    );
    const type = args.positionals[0];
    const state = await withClient(args, (client) =>
      args.list ? client.pauses() : action === 'pause' ? client.pause(type) : client.resume(type),
    );
    if (args.json) printJson(state);
    else printLine(describe(state));
    return EXIT.ok;
  };
}

export const pauseCommand = command('pause');
export const resumeCommand = command('resume');
