/**
 * The one `runHandler` actor of the job machine: a job whose type was registered with a module
 * runs in the worker pool, any other in-process.
 */
import { fromCallback, type EventObject } from 'xstate';
import type { HandlerInput } from '../../machines/job.types.js';
import type { InProcessRuntime } from './in-process.js';
import type { WorkerPool } from './worker-pool.js';

export function routeHandlers(
  inProcess: InProcessRuntime,
  pool: WorkerPool,
  isThreaded: (type: string) => boolean,
) {
  return fromCallback<EventObject, HandlerInput>(({ input }) =>
    isThreaded(input.type) ? pool.launch(input) : inProcess.launch(input),
  );
}
