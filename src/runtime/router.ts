/**
 * How an attempt's handler is launched (the `Launch` its job's cell calls once the attempt's START
 * is told): a job whose type was registered with a module runs in the worker pool, any other
 * in-process. When the attempt starts, the handler gets a send
 * bound to its own job's actor (`bind`): what it reports goes straight there, fenced by attempt.
 * With a store, the handler is called only once the attempt's START is durable (`durable`
 * resolves), so an attempt number is executed at most once even across a crash; an attempt that
 * ends before that never runs its handler.
 */
import type { HandlerInput } from '../../machines/job.types.js';
import type { InProcessRuntime, SendToJob } from './in-process.js';
import type { WorkerPool } from './worker-pool.js';

export interface HandlerRouting {
  readonly inProcess: InProcessRuntime;
  readonly pool: WorkerPool;
  readonly isThreaded: (type: string) => boolean;
  /** The send to the attempt's own job actor. */
  readonly bind: (input: HandlerInput) => SendToJob;
  /** Resolves once the attempt's START is durable; undefined when nothing needs waiting for. */
  readonly durable: (input: HandlerInput) => Promise<void> | undefined;
}

/** The launch of every attempt's handler; what it returns aborts the handler. */
export function routeHandlers(routing: HandlerRouting): (input: HandlerInput) => () => void {
  const { inProcess, pool, isThreaded, bind, durable } = routing;
  return (input) => {
    const send = bind(input);
    const launch = () => (isThreaded(input.type) ? pool.launch(input, send) : inProcess.launch(input, send));
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
  };
}
