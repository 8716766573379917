/**
 * A fixed-size pool of worker threads for handlers registered as modules. Threads spawn lazily,
 * run one job each, and jobs wait in a queue when all are busy. Everything a thread posts is
 * validated and becomes an event of its job's actor through `RuntimeHost.dispatch`, so the job
 * machine fences it by attempt. When an attempt ends (cancel, timeout, stall, shutdown) the thread
 * is told to abort; a thread that does not finish within `terminateGraceMs` is terminated and
 * replaced. A thread that crashes fails its attempt with `worker_crashed` and is replaced.
 */
import { context as otel } from '@opentelemetry/api';
import { endHandlerSpan, handlerSpan, traceCarrier, type HandlerTrace } from './handler-span.js';
import type { Worker } from 'node:worker_threads';
import { entryUrl, spawnThread } from '../common/thread.js';
import type { HandlerInput } from '../../machines/job.types.js';
import type { RuntimeHost, SendToJob, HandlerEvent } from './in-process.js';
import type { InFlight } from './in-flight.js';
import { fromWorkerSchema, type FromWorker, type ToWorker } from './worker-protocol.js';

export interface WorkerModule {
  readonly module: string;
  readonly exportName: string;
}

export interface PoolHost extends RuntimeHost {
  workerOf(type: string): WorkerModule | undefined;
}

interface Run {
  readonly input: HandlerInput;
  /** To the run's own job (bound when its attempt started). */
  readonly send: SendToJob;
  readonly began: number;
  /** Its `jobvisor.handler` span; `failure`: the error it ends with, if its attempt failed. */
  readonly trace: HandlerTrace;
  failure?: unknown;
  slot: Slot | undefined;
  over: boolean;
  grace: NodeJS.Timeout | undefined;
}

interface Slot {
  readonly worker: Worker;
  run: Run | undefined;
  /** The run this thread ran before the current one: a late message of it still reaches its job. */
  previous: Run | undefined;
  retired: boolean;
  /** The thread loaded its entry: only such a thread is replaced at once when it dies. */
  ready: boolean;
}

const ENTRY = entryUrl(import.meta.url, 'worker-entry');

export class WorkerPool {
  readonly #host: PoolHost;
  readonly #size: number;
  readonly #graceMs: number;
  readonly #slots = new Set<Slot>();
  readonly #queue: Run[] = [];
  readonly #inflight = new Set<Run>();
  readonly #all: InFlight;
  #closed = false;

  /** `all` counts the runs of every runtime, for `settled`. */
  constructor(host: PoolHost, all: InFlight, options: { size: number; terminateGraceMs: number }) {
    this.#host = host;
    this.#all = all;
    this.#size = options.size;
    this.#graceMs = options.terminateGraceMs;
  }

  get threadCount(): number {
    return this.#slots.size;
  }

  /** Runs queued or in a thread whose outcome is not in yet. */
  get inflight(): number {
    return this.#inflight.size;
  }

  /** Queues the attempt; returns the cleanup to call when the attempt is over. */
  launch(input: HandlerInput, send: SendToJob): () => void {
    const run: Run = {
      input,
      send,
      began: performance.now(),
      trace: handlerSpan(this.#host.traceParent?.(input) ?? otel.active(), input),
      slot: undefined,
      over: false,
      grace: undefined,
    };
    this.#inflight.add(run);
    this.#all.began();
    this.#queue.push(run);
    queueMicrotask(() => this.#pump()); // outside the job actor's step
    return () => this.#abort(run);
  }

  /** Terminates every thread (after the supervisor drained). */
  async close(): Promise<void> {
    this.#closed = true;
    const slots = [...this.#slots];
    for (const slot of slots) slot.retired = true;
    this.#slots.clear();
    await Promise.all(slots.map((slot) => slot.worker.terminate()));
  }

  #abort(run: Run): void {
    if (run.over || !this.#inflight.has(run)) return;
    run.over = true;
    const { slot } = run;
    if (!slot) {
      this.#queue.splice(this.#queue.indexOf(run), 1);
      return this.#finish(run);
    }
    const { jobId, attempt } = run.input;
    this.#post(slot, { kind: 'abort', jobId, attempt });
    run.grace = setTimeout(() => {
      if (slot.run !== run) return;
      this.#retire(slot);
      this.#finish(run);
    }, this.#graceMs);
  }

  #pump(): void {
    while (this.#queue.length > 0 && !this.#closed) {
      const slot = this.#idleSlot();
      if (!slot) return;
      const run = this.#queue.shift()!;
      const worker = this.#host.workerOf(run.input.type);
      if (!worker) {
        this.#crashed(run, 'no module');
        this.#finish(run);
        continue;
      }
      slot.run = run;
      run.slot = slot;
      const { jobId, attempt, type, key, input } = run.input;
      const carrier = traceCarrier(run.trace.context);
      const trace = Object.keys(carrier).length > 0 ? { trace: carrier } : {};
      this.#post(slot, { kind: 'run', jobId, attempt, type, key, input, ...worker, ...trace });
    }
  }

  #idleSlot(): Slot | undefined {
    for (const slot of this.#slots) if (!slot.run) return slot;
    return this.#slots.size < this.#size ? this.#spawn() : undefined;
  }

  #spawn(): Slot {
    const worker = spawnThread(ENTRY);
    const slot: Slot = { worker, run: undefined, previous: undefined, retired: false, ready: false };
    this.#slots.add(slot);
    worker.on('message', (raw: unknown) => this.#onMessage(slot, raw));
    worker.on('error', (error) => this.#onCrash(slot, error));
    worker.on('exit', (code) => this.#onCrash(slot, new Error(`the worker thread exited with code ${code}`)));
    return slot;
  }

  #onMessage(slot: Slot, raw: unknown): void {
    const parsed = fromWorkerSchema.safeParse(raw);
    if (!parsed.success) {
      const jobId = slot.run?.input.jobId ?? '';
      return this.#host.reportError(jobId, new Error(`invalid worker message: ${parsed.error.message}`));
    }
    const message: FromWorker = parsed.data;
    if (message.kind === 'ready') {
      slot.ready = true;
      return;
    }
    const { jobId, attempt } = message;
    // A thread speaks only for the jobs it ran: its current one, or (late) the one before.
    const owner = [slot.run, slot.previous].find((r) => r?.input.jobId === jobId);
    if (!owner) {
      return this.#host.reportError(
        jobId,
        new Error(`a worker message for job ${jobId}, which that thread does not run`),
      );
    }
    if (message.kind === 'progress') {
      const { percent } = message;
      return this.#send(owner, { type: 'PROGRESS', attempt, percent, message: message.message });
    }
    if (message.kind === 'heartbeat') return this.#send(owner, { type: 'HEARTBEAT', attempt });
    if (message.kind === 'log') {
      return this.#send(owner, { type: 'LOG', attempt, message: message.message, data: message.data });
    }
    const event: HandlerEvent =
      message.kind === 'done'
        ? { type: 'COMPLETE', attempt, result: message.result }
        : { type: 'FAIL', attempt, error: message.error };
    if (owner === slot.run && owner.input.attempt === attempt) {
      this.#host.handlerFinished(performance.now() - owner.began, owner.input.type);
      slot.run = undefined;
      slot.previous = owner;
      this.#send(owner, event);
      this.#finish(owner);
      this.#pump();
    } else {
      this.#send(owner, event); // a late outcome: the job machine rejects and counts it
    }
  }

  #onCrash(slot: Slot, error: Error): void {
    if (slot.retired) return;
    this.#retire(slot);
    const run = slot.run;
    if (!run) return;
    if (!run.over) {
      this.#host.handlerFinished(performance.now() - run.began, run.input.type);
      this.#crashed(run, error.message);
    }
    this.#finish(run);
  }

  /** Stops a thread for good and replaces it (the pool keeps its size once spawned). */
  #retire(slot: Slot): void {
    if (slot.retired) return;
    slot.retired = true;
    this.#slots.delete(slot);
    void slot.worker.terminate();
    if (!this.#closed && slot.ready) this.#spawn(); // a thread that never started is not respawned in a loop
    queueMicrotask(() => this.#pump());
  }

  #finish(run: Run): void {
    clearTimeout(run.grace);
    if (run.slot?.run === run) {
      run.slot.run = undefined;
      run.slot.previous = run;
    }
    if (!this.#inflight.delete(run)) return;
    endHandlerSpan(run.trace.span, run.failure);
    this.#host.settled(this.#all.ended());
  }

  /** Fails the run's attempt with `worker_crashed`. */
  #crashed(run: Run, detail: string): void {
    const error = { code: 'worker_crashed', message: `The worker thread crashed: ${detail}` };
    this.#send(run, { type: 'FAIL', attempt: run.input.attempt, error });
  }

  #send(run: Run, event: HandlerEvent): void {
    if (event.type === 'FAIL' && run.failure === undefined) run.failure = event.error;
    try {
      run.send(event);
    } catch (error) {
      this.#host.reportError(run.input.jobId, error);
    }
  }

  #post(slot: Slot, message: ToWorker): void {
    try {
      slot.worker.postMessage(message);
    } catch (error) {
      this.#onCrash(slot, error instanceof Error ? error : new Error(String(error)));
    }
  }
}
