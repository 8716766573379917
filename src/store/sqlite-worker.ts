/**
 * The SQLite thread of a process (sqlite-threaded.ts): holds the connections of the process's
 * threaded SQLite stores and runs each request in the order it came, one at a time — a commit
 * (its fsync included) blocks this thread, not the engine's. Errors go back with code and details.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { JobvisorError } from '../common/errors.js';
import type { JobStore, LogStore, ScheduleStore } from './port.js';
import { SqliteStore, type SqliteConnectionOptions } from './sqlite-connection.js';

export type StoreMethod =
  | 'open'
  | 'commitPacked'
  | 'get'
  | 'list'
  | 'changesSince'
  | 'changesOf'
  | 'firstOffset'
  | 'expire'
  | 'paused'
  | 'setPaused'
  | 'remove'
  | `schedules.${keyof ScheduleStore}`
  | `logs.${keyof LogStore}`
  | 'close';

export interface StoreRequest {
  readonly id: number;
  /** Which store of the process. */
  readonly store: number;
  readonly method: StoreMethod;
  readonly args: readonly unknown[];
  /** With `open`: the store's options (it is made on its first open in this thread). */
  readonly options?: SqliteConnectionOptions;
}

export type StoreReply =
  | { readonly id: number; readonly ok: true; readonly value: unknown }
  | {
      readonly id: number;
      readonly ok: false;
      readonly error: { readonly code?: string; readonly message: string; readonly details?: unknown };
    };

/** What the thread starts with: memory shared with the engine's thread (sqlite-threaded.ts). */
export interface ThreadData {
  /** Int32 at 0: the id of the last commit finished; Float64 at 8: the first offset it wrote. */
  readonly done: SharedArrayBuffer;
}

const port = parentPort!;
const shared = (workerData as ThreadData | undefined)?.done;
const doneId = shared && new Int32Array(shared, 0, 1);
const doneFirst = shared && new Float64Array(shared, 8, 1);
const stores = new Map<number, JobStore>();
let queue = Promise.resolve();

function errorOf(error: unknown): Extract<StoreReply, { ok: false }>['error'] {
  if (error instanceof JobvisorError)
    return { code: error.code, message: error.message, details: error.details };
  return { message: error instanceof Error ? error.message : String(error) };
}

function storeOf({ store, method, options }: StoreRequest): JobStore | undefined {
  const found = stores.get(store);
  if (found || method !== 'open' || !options) return found;
  const made = new SqliteStore(options);
  stores.set(store, made);
  return made;
}

async function serve(request: StoreRequest): Promise<void> {
  const { id, method, args } = request;
  let reply: StoreReply;
  try {
    const store = storeOf(request);
    let value: unknown;
    if (store) {
      // `schedules.take`, `logs.append`: a verb of the store's schedules or logs.
      const [part, verb] = method.includes('.') ? method.split('.') : [undefined, method];
      const target = part === 'schedules' ? store.schedules! : part === 'logs' ? store.logs! : store;
      const call = (target as unknown as Record<string, (...a: unknown[]) => Promise<unknown>>)[verb]!;
      value = await call.call(target, ...args);
      if (method === 'close') stores.delete(request.store);
    } else if (method !== 'close') {
      throw new JobvisorError('store_unavailable', 'The SQLite store is not open');
    }
    reply = { id, ok: true, value };
    if (method === 'commitPacked' && doneId && doneFirst) {
      doneFirst[0] = value as number;
      Atomics.store(doneId, 0, id); // after the offset: whoever reads this id reads that offset
    }
  } catch (error) {
    reply = { id, ok: false, error: errorOf(error) };
  }
  port.postMessage(reply);
}

port.on('message', (request: StoreRequest) => {
  queue = queue.then(() => serve(request));
});
