/** `jobvisor watch ID`: follows one job live until it is final; the exit code says how it ended. */
import * as z from 'zod';
import type { WireJob } from '../protocol/schemas.js';
import { clientFields, clientOptions, onePositional, parseCommand, UsageError } from './args.js';
import { withClient, type Client } from './connect.js';
import { exitCodeOfStatus, FINAL_STATUSES } from './exit.js';
import { finalLine, printJson, printLine, progressBar, progressLine } from './render.js';

export async function watchCommand(argv: readonly string[]): Promise<number> {
  const args = parseCommand(
    argv,
    clientOptions,
    z.object({ ...clientFields(process.env), positionals: onePositional('ID (the job id)') }),
  );
  const job = await withClient(args, async (client) => {
    const current = await client.get(args.positionals);
    return watchJob(client, current, { json: args.json });
  });
  return exitCodeOfStatus(job.status);
}

/** How long `watch` keeps reconnecting to a server that went away before it exits `unreachable`. */
const giveUpMsSchema = z.coerce.number().int().min(1).max(3_600_000).default(10_000);

/** JOBVISOR_GIVE_UP_MS (default 10 s), or a usage error naming it. */
export function giveUpMs(): number {
  const parsed = giveUpMsSchema.safeParse(process.env.JOBVISOR_GIVE_UP_MS || undefined);
  if (!parsed.success) throw new UsageError('JOBVISOR_GIVE_UP_MS must be a whole number of milliseconds');
  return parsed.data;
}

/** The error `watch` and `logs --follow` end with when the server stayed away for `ms`. */
export function lostServer(ms: number): Error {
  return Object.assign(new Error(`lost the server for ${ms} ms`), { code: 'unreachable' });
}

/**
 * Shows `job` and every later state of it until it is final, then resolves with the final job.
 * On a TTY one line is redrawn in place; otherwise (and with `json`) one line per change.
 */
export async function watchJob(client: Client, job: WireJob, options: { json: boolean }): Promise<WireJob> {
  const giveUpAfter = giveUpMs();
  const tty = !options.json && process.stdout.isTTY;
  const seen: { last: WireJob | null } = { last: null };
  const show = (next: WireJob): void => {
    if (seen.last !== null && next.seq <= seen.last.seq) return;
    seen.last = next;
    if (options.json) printJson({ job: next });
    // One column short of the width: a line that fills it leaves the cursor past the edge on some terminals.
    else if (tty) process.stdout.write(`\r\x1b[2K${progressBar(next, (process.stdout.columns || 80) - 1)}`);
    else printLine(progressLine(next));
  };
  const finish = (final: WireJob): WireJob => {
    if (tty) process.stdout.write('\n');
    if (!options.json) printLine(finalLine(final));
    return final;
  };

  show(job);
  if (FINAL_STATUSES.has(job.status)) return finish(job);

  const subscription = client.subscribe({ jobId: job.id });
  let giveUp: NodeJS.Timeout | undefined;
  let observer: { unsubscribe(): void } | undefined;
  try {
    const final = await new Promise<WireJob>((resolve, reject) => {
      const check = (): void => {
        const { jobs, status, error } = subscription.store.getSnapshot().context;
        // Not connected (lost the server, or never reached it): keep trying for a while, then
        // give up as unreachable.
        if ((status === 'reconnecting' || status === 'connecting') && giveUp === undefined) {
          giveUp = setTimeout(() => reject(lostServer(giveUpAfter)), giveUpAfter);
        } else if (status === 'live' && giveUp !== undefined) {
          clearTimeout(giveUp);
          giveUp = undefined;
        }
        const latest = jobs[job.id];
        if (latest !== undefined) show(latest);
        if (latest !== undefined && FINAL_STATUSES.has(latest.status)) resolve(latest);
        else if (status === 'closed') {
          reject(
            Object.assign(new Error(error?.message ?? 'the subscription was closed by the server'), {
              code: error?.code ?? 'subscription_closed',
            }),
          );
        }
      };
      // The store covers snapshots, changes and status (a subscription closed by the server).
      observer = subscription.store.subscribe(check);
      subscription.ready.then(check, (error: unknown) => {
        reject(error instanceof Error ? error : Object.assign(new Error('cannot follow the job'), error));
      });
    });
    return finish(final);
  } finally {
    observer?.unsubscribe();
    clearTimeout(giveUp);
    if (tty && seen.last !== null && !FINAL_STATUSES.has(seen.last.status)) process.stdout.write('\n');
    subscription.close();
  }
}
