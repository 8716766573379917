/**
 * The body of a pool thread: runs one job at a time. It imports the handler module (cached by
 * URL), calls the exported handler with a context shaped like the in-process one, and posts
 * progress, heartbeats and the outcome. It never touches supervisor state: the main side decides.
 */
import { parentPort } from 'node:worker_threads';
import { checkLogLine } from '../common/log-line.js';
import { withCarrier } from './handler-span.js';
import type { HandlerContext } from '../common/types.js';
import { toWorkerSchema, type FromWorker, type RunMessage } from './worker-protocol.js';

type AnyHandler = (ctx: HandlerContext) => unknown;

const port = parentPort;
if (!port) throw new Error('worker-entry.ts must run in a worker thread');

const modules = new Map<string, Promise<Record<string, unknown>>>();
let current: { jobId: string; attempt: number; controller: AbortController } | undefined;

const post = (message: FromWorker): void => port.postMessage(message);

port.on('message', (raw: unknown) => {
  const parsed = toWorkerSchema.safeParse(raw);
  if (!parsed.success) return; // the main side only sends valid messages
  const message = parsed.data;
  if (message.kind === 'abort') {
    if (current?.jobId === message.jobId && current.attempt === message.attempt) {
      current.controller.abort(new Error(`attempt ${message.attempt} of job ${message.jobId} is over`));
    }
    return;
  }
  void run(message);
});

async function run(message: RunMessage): Promise<void> {
  const { jobId, attempt } = message;
  const controller = new AbortController();
  current = { jobId, attempt, controller };
  try {
    const handler = await load(message.module, message.exportName);
    const result = await withCarrier(message.trace, () => handler(context(message, controller.signal)));
    try {
      post({ kind: 'done', jobId, attempt, result });
    } catch (error) {
      post({ kind: 'failed', jobId, attempt, error: toError(error) }); // e.g. a result that cannot be cloned
    }
  } catch (error) {
    post({ kind: 'failed', jobId, attempt, error: toError(error) });
  } finally {
    if (current?.controller === controller) current = undefined;
  }
}

async function load(href: string, exportName: string): Promise<AnyHandler> {
  let module = modules.get(href);
  if (!module) {
    module = import(href) as Promise<Record<string, unknown>>;
    modules.set(href, module);
    module.catch(() => modules.delete(href));
  }
  const handler = (await module)[exportName];
  if (typeof handler !== 'function') {
    throw Object.assign(new Error(`${href} has no function export "${exportName}"`), {
      code: 'handler_crashed',
    });
  }
  return handler as AnyHandler;
}

function context(message: RunMessage, signal: AbortSignal): HandlerContext {
  const { jobId, attempt } = message;
  return {
    jobId,
    type: message.type,
    key: message.key,
    input: message.input,
    attempt,
    signal,
    progress: (percent: number, text?: string) => {
      post({ kind: 'progress', jobId, attempt, percent, ...(text === undefined ? {} : { message: text }) });
      return true;
    },
    heartbeat: () => {
      post({ kind: 'heartbeat', jobId, attempt });
      return true;
    },
    // Checked here, so a bad line throws in the handler that wrote it; the supervisor checks it
    // again against its own depth limit (this thread does not know it) and drops a line too deep.
    log: (text: string, data?: unknown) => {
      post({ kind: 'log', jobId, attempt, message: text, data: checkLogLine(text, data, 1_000) });
      return true;
    },
  };
}

/** Whatever the handler threw, as the job's error (same rules as in-process). */
function toError(error: unknown): { code: string; message: string; retryable?: boolean } {
  if (error instanceof Error) {
    const { code, retryable } = error as { code?: unknown; retryable?: unknown };
    return {
      code: typeof code === 'string' && code.length > 0 ? code : 'handler_error',
      message: error.message,
      ...(typeof retryable === 'boolean' ? { retryable } : {}),
    };
  }
  let message: string;
  try {
    message = typeof error === 'string' ? error : (JSON.stringify(error) ?? String(error));
  } catch {
    message = Object.prototype.toString.call(error);
  }
  return { code: 'handler_error', message };
}

post({ kind: 'ready' });
