/**
 * `jobvisor serve --inspect-to ws://localhost:8080`: the inspection frames of every actor pushed
 * to a relay such as `createInspectorServer()` of `@statelyai/inspect/server`. A relay that is
 * down is retried with backoff (the latest 200 frames wait); serve goes on regardless.
 */
import * as z from 'zod';
import { relayInspection } from '../inspection/relay.js';
import type { Supervisor } from '../supervisor/supervisor.js';

export const wsUrl = z
  .string()
  .trim()
  .pipe(z.url({ protocol: /^wss?$/, error: 'must be a ws(s) URL, e.g. ws://localhost:8080' }));

export function inspectTo(supervisor: Supervisor, url: string): { close: () => Promise<void> } {
  const say = (line: string) => process.stderr.write(`jobvisor: ${line}\n`);
  const { close } = relayInspection(supervisor, {
    url,
    backoff: { initialMs: 250, maxMs: 5_000 },
    onStatus: (status, error) =>
      say(
        status === 'open'
          ? `inspection frames go to ${url}`
          : `inspection relay ${url} unreachable${error ? ` (${error.message})` : ''}: retrying`,
      ),
  });
  return { close };
}
