/**
 * The one `runHandler` actor of the job machine: a job whose type was registered with a module
 * runs in the worker pool, any other in-process. With a store, the handler is called only once
 * the attempt's START is durable (`durable` resolves), so an attempt number is executed at most
 * once even across a crash; an attempt that ends before that never runs its handler.
 */
import { fromCallback, type EventObject } from 'xstate';
import type { HandlerInput } from '../../machines/job.types.js';
import type { InProcessRuntime } from './in-process.js';
import type { WorkerPool } from './worker-pool.js';

export function routeHandlers(
  inProcess: InProcessRuntime,
  pool: WorkerPool,
  isThreaded: (type: string) => boolean,
  /** Resolves once the attempt's START is durable; undefined when nothing needs waiting for. */
  durable: (input: HandlerInput) => Promise<void> | undefined,
) {
  return fromCallback<EventObject, HandlerInput>(({ input }) => {
    const launch = () => (isThreaded(input.type) ? pool.launch(input) : inProcess.launch(input));
    const started = durable(input);
    if (!started) return launch();
    let over = false;
    let stop: (() => void) | undefined;
    // A refused or never durable START: the attempt ends without its handler (the job says why).
    started.then(
      () => {
        if (!over) stop = launch();
      },
      () => undefined,
    );
    return () => {
      over = true;
      stop?.();
    };
  });
}
