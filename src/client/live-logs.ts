/**
 * Following a job's log over the WebSocket: the `logs` command, then its `log` messages, each told
 * once and in order, until `logEnd` (the job is final and every line was sent). A dropped socket
 * reconnects with backoff and asks again for the lines after the last id told, so no line is
 * missed or told twice. The lifecycle is the connection machine's (machines/connection.machine.ts),
 * as for live subscriptions: the follow is live once the server replies (its stored lines sent).
 */
import { createActor } from 'xstate';
import { createConnectionMachine, type ConnectionEvent } from '../../machines/connection.machine.js';
import type { ClientMessage, ServerMessage, WireJob, WireLogEntry } from '../protocol/schemas.js';
import { backoffDelay } from '../common/backoff.js';
import { JobvisorClientError } from './errors.js';
import type { LiveOptions } from './live.js';
import type { LiveStatus } from './live-store.js';
import { isolated, resolveOpener, socketActor, statusOf } from './socket.js';

export interface FollowLogsOptions {
  /** Lines after this id (0, the default: from the first line kept). */
  readonly after?: number;
  /** Each line, once, in order. */
  readonly onEntry: (entry: WireLogEntry) => void;
  /** The job is final and every line it wrote was told; the follow is over. */
  readonly onEnd?: (job: WireJob) => void;
  /** The follow ended with an error after it had started (e.g. the job was removed, or a new token is needed). */
  readonly onError?: (error: JobvisorClientError) => void;
  /** The connection's status, at each change: `connecting`, `live`, `reconnecting`, `closed`. */
  readonly onStatus?: (status: LiveStatus) => void;
}

export interface LogFollow {
  /** Resolves once the server has sent the stored lines; rejects with its refusal (`job_not_found`). */
  readonly started: Promise<void>;
  /** Resolves once the follow is over: ended, closed, or failed. */
  readonly done: Promise<void>;
  close(): void;
}

/** A log follow never gets a snapshot: the machine's SNAPSHOT events carry nothing. */
const connectionMachine = createConnectionMachine<undefined>();

let followCounter = 0;

export function followLogsLive(options: LiveOptions, jobId: string, follow: FollowLogsOptions): LogFollow {
  const id = `logs-${++followCounter}`;
  /** The cursor: the id of the last line told (each resumed command asks for the lines after it). */
  let last = follow.after ?? 0;

  const command = (): ClientMessage => ({ type: 'logs', id, jobId, after: last });

  const toEvent = (message: ServerMessage): ConnectionEvent<undefined> | null => {
    switch (message.type) {
      case 'log':
        if (message.subscription !== id || message.entry.id <= last) return null;
        last = message.entry.id;
        isolated('onEntry', () => follow.onEntry(message.entry));
        return null;
      case 'logEnd':
        if (message.subscription !== id) return null;
        isolated('onEnd', () => follow.onEnd?.(message.job));
        return { type: 'CLOSE' };
      case 'error': {
        const error = { code: message.error.code, message: message.error.message };
        // The command itself was refused (an unknown job, a bad cursor): it would be refused again.
        return message.id === id ? { type: 'REFUSED', error } : { type: 'SERVER_ERROR', error };
      }
      case 'reply':
        return message.id === id ? { type: 'REPLY' } : null;
      case 'hello':
      case 'snapshot':
      case 'change':
      case 'rejected':
        return null;
    }
  };

  const machine = connectionMachine.provide({
    actors: { socket: socketActor(resolveOpener(options.WebSocket), options, command, toEvent) },
    delays: { reconnectDelay: ({ context }) => backoffDelay(context.attempt, options.backoff) },
  });
  const { initialMs, maxMs } = options.backoff;
  // Always a resumed command: the reply, not a snapshot, makes it live.
  const actor = createActor(machine, {
    input: { resume: true, backoff: { initialMs, maxMs } },
    ...(options.clock === undefined ? {} : { clock: options.clock }),
  });

  /** The status last told to `onStatus`. */
  let shown: LiveStatus | null = null;
  let finished!: () => void;
  const done = new Promise<void>((resolve) => (finished = resolve));
  const started = new Promise<void>((resolve, reject) => {
    const fail = (error: JobvisorClientError) => {
      reject(error);
      // Told only when it had started: before, `started` carries the error.
      void started.then(
        () => isolated('onError', () => follow.onError?.(error)),
        () => undefined,
      );
    };
    actor.subscribe({
      next(snapshot) {
        const status = statusOf(snapshot);
        if (status !== shown) isolated('onStatus', () => follow.onStatus?.((shown = status)));
        if (snapshot.matches({ socket: 'live' })) resolve();
        else if (snapshot.status === 'done') {
          const error = snapshot.output;
          if (error) fail(new JobvisorClientError(error.code, error.message, 0));
          else reject(new JobvisorClientError('closed', 'the log follow was closed before it started', 0));
          finished();
        }
      },
      error(error) {
        isolated('onStatus', () => follow.onStatus?.('closed'));
        fail(new JobvisorClientError('closed', 'the log follow failed', 0, undefined, { cause: error }));
        finished();
      },
    });
  });
  // A caller who never awaits `started` must not get an unhandled rejection.
  started.catch(() => undefined);
  actor.start();

  return {
    started,
    done,
    close() {
      if (actor.getSnapshot().status === 'active') actor.send({ type: 'CLOSE' });
    },
  };
}
