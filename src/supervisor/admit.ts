/**
 * A start's way in: validated (the request, the input against its type's schema and the JSON
 * limits), then admitted through the supervisor's mailbox — or, with a store several nodes share,
 * through the store's dedup (shared-ops.ts) — and answered once the job's creation is durable.
 */
import { JobvisorError } from '../common/errors.js';
import { toEpochMs } from '../common/schedule.js';
import type { StartResult } from '../common/types.js';
import { parseOrThrow } from '../common/validation.js';
import type { StartJobRequest } from '../../machines/supervisor.machine.js';
import { startRequestSchema, type StartRequest } from './options.js';
import { startShared } from './shared-ops.js';
import type { Parts } from './wiring.js';

/** A start validated (request, input against its type's schema), ready for the mailbox. */
export function checkStart(parts: Pick<Parts, 'types'>, request: StartRequest): StartJobRequest {
  const parsed = parseOrThrow(startRequestSchema, request, 'invalid_request', 'Invalid start request');
  const { input } = parts.types.resolve(parsed.type, parsed.input);
  // A literal (not a spread of `parsed`): this runs for every start. No key: `key` is undefined.
  const { type, key, onConflict, priority, delayMs } = parsed;
  const runAt = parsed.runAt === undefined ? undefined : toEpochMs(parsed.runAt);
  return { type, input, key, onConflict, priority, runAt, delayMs };
}

/** Admits a checked start; answers once its creation is durable (`store_unavailable` if it never is). */
export async function admitStart(parts: Parts, startRequest: StartJobRequest): Promise<StartResult> {
  return parts.tracing.start(startRequest.type, startRequest.key, () => admit(parts, startRequest));
}

async function admit(parts: Parts, startRequest: StartJobRequest): Promise<StartResult> {
  const { actor, replies, durability, registry, views } = parts;
  await parts.ready;
  if (actor.getSnapshot().value === 'stopped')
    throw new JobvisorError('shutting_down', 'The supervisor has shut down');
  durability?.assertWritable();
  if (parts.cluster) return startShared(parts, startRequest);
  const { id, answer } = replies.open();
  actor.send({ type: 'START_JOB', requestId: id, request: startRequest });
  const admitted = await answer;
  const result: StartResult = { job: admitted.job, deduplicated: admitted.deduplicated };
  if (durability) {
    await durability.created(result.deduplicated ? undefined : registry.live(result.job.id));
    if (!views.get(result.job.id))
      throw new JobvisorError('store_unavailable', `Job ${result.job.id} was not stored`);
  }
  return result;
}
