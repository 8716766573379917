/**
 * One WebSocket connection: validates each client message, runs its command, and keeps the
 * connection's subscriptions. Every answer carries the command's `id`; a bad message gets an
 * `error` and the connection stays usable. Changes reach the socket through its Outbox.
 */
import type { RawData, WebSocket } from 'ws';
import { JobvisorError } from '../common/errors.js';
import {
  clientMessageSchema,
  PROTOCOL_VERSION,
  type ClientMessage,
  type Topic,
} from '../protocol/schemas.js';
import type { Supervisor } from '../supervisor/supervisor.js';
import type { JobChange, JobView } from '../common/types.js';
import { parseWire, toWireError } from './errors.js';
import { Outbox } from './outbox.js';
import { matches, type RejectionLog } from './rejection-log.js';

export interface ConnectionContext {
  readonly supervisor: Supervisor;
  readonly subscriberBufferLimit: number;
  /** The change as JSON, serialised once per change for every subscriber. */
  changeJson(change: JobChange): string;
  readonly rejections: RejectionLog;
  tooSlow(connection: Connection): void;
  coalesced(): void;
}

const ALL_JOBS = 1_000_000;

export class Connection {
  readonly #ws: WebSocket;
  readonly #ctx: ConnectionContext;
  readonly #outbox: Outbox;
  readonly #subscriptions = new Map<string, () => void>();

  constructor(ws: WebSocket, ctx: ConnectionContext) {
    this.#ws = ws;
    this.#ctx = ctx;
    this.#outbox = new Outbox(ws, ctx.subscriberBufferLimit, {
      tooSlow: () => ctx.tooSlow(this),
      coalesced: () => ctx.coalesced(),
    });
    ws.on('message', (data) => this.#onMessage(data));
    this.#sendMessage({ type: 'hello', protocol: PROTOCOL_VERSION, offset: ctx.supervisor.offset });
  }

  get socket(): WebSocket {
    return this.#ws;
  }

  get subscriptions(): number {
    return this.#subscriptions.size;
  }

  /** Ends every subscription and drops waiting frames (on close). */
  dispose(): void {
    for (const off of this.#subscriptions.values()) off();
    this.#subscriptions.clear();
    this.#outbox.discard();
  }

  #sendMessage(message: object): void {
    this.#outbox.send(JSON.stringify(message));
  }

  #sendError(id: string | null, error: unknown): void {
    this.#sendMessage({ type: 'error', id, error: toWireError(error).body.error });
  }

  #onMessage(data: RawData): void {
    let raw: unknown;
    try {
      raw = JSON.parse(rawText(data));
    } catch {
      this.#sendError(null, new JobvisorError('invalid_request', 'The message is not valid JSON'));
      return;
    }
    const candidate = (raw as { id?: unknown } | null)?.id;
    const id = typeof candidate === 'string' ? candidate : null;
    let message: ClientMessage;
    try {
      message = parseWire(clientMessageSchema, raw, 'message');
    } catch (error) {
      this.#sendError(id, error);
      return;
    }
    this.#run(message).catch((error: unknown) => this.#sendError(message.id, error));
  }

  async #run(message: ClientMessage): Promise<void> {
    const { supervisor } = this.#ctx;
    switch (message.type) {
      case 'subscribe':
        this.#subscribe(message.id, message.topic, message.since);
        if (message.rejections) this.#followRejections(message.id, message.topic);
        return;
      case 'logs':
        return this.#followLogs(message.id, message.jobId, message.after);
      case 'unsubscribe': {
        const off = this.#subscriptions.get(message.subscription);
        off?.();
        this.#subscriptions.delete(message.subscription);
        return this.#reply(message.id, {
          subscription: message.subscription,
          unsubscribed: off !== undefined,
        });
      }
      case 'start':
        return this.#reply(message.id, await supervisor.start(message.job));
      case 'cancel':
        return this.#reply(message.id, await supervisor.cancel(message.jobId, message.reason));
      case 'startMany':
        return this.#reply(message.id, await supervisor.startMany(message.jobs));
      case 'cancelMany':
        return this.#reply(message.id, await supervisor.cancelMany(message.query));
      case 'retry':
        return this.#reply(message.id, await supervisor.retry(message.jobId));
      case 'retryMany':
        return this.#reply(message.id, await supervisor.retryMany(message.query));
      case 'remove':
        return this.#reply(message.id, await supervisor.remove(message.jobId));
      case 'removeMany':
        return this.#reply(message.id, await supervisor.removeMany(message.query));
      case 'pause':
        return this.#reply(message.id, await supervisor.pause(message.jobType));
      case 'resume':
        return this.#reply(message.id, await supervisor.resume(message.jobType));
      case 'schedules':
        return this.#reply(message.id, { schedules: await supervisor.schedules() });
      case 'schedule':
        return this.#reply(message.id, {
          schedule: await supervisor.schedule(message.name, message.options),
        });
      case 'unschedule':
        return this.#reply(message.id, { schedule: await supervisor.unschedule(message.name) });
    }
  }

  #reply(id: string, result: unknown): void {
    this.#sendMessage({ type: 'reply', id, result });
  }

  /**
   * Without `since`: a snapshot of the topic's jobs, then every change after it. With `since`: the
   * changes missed after that offset (replayed from the store, then live), or a resync snapshot
   * when they are past retention. The subscription's name is the command's `id`.
   */
  #subscribe(id: string, topic: Topic, since: number | undefined): void {
    this.#checkNew(id);
    const { supervisor } = this.#ctx;
    const prefix = `{"type":"change","subscription":${JSON.stringify(id)},"change":`;
    const ids = 'jobIds' in topic ? new Set(topic.jobIds) : null;
    const listener = (change: JobChange) => {
      if (ids && !ids.has(change.jobId)) return;
      const key = `${id}\0${change.jobId}`;
      const frame = `${prefix}${this.#ctx.changeJson(change)}}`;
      if (change.kind === 'progress') this.#outbox.send(frame, key);
      else this.#outbox.send(frame, null, key);
    };
    const filter = 'jobId' in topic ? { jobId: topic.jobId } : 'type' in topic ? { type: topic.type } : {};
    const offset = supervisor.offset;
    const snapshot = (jobs: JobView[], resync: boolean) =>
      this.#sendMessage({ type: 'snapshot', subscription: id, offset, jobs, resync });
    const off =
      since === undefined
        ? supervisor.subscribe(listener, filter)
        : supervisor.subscribe(listener, {
            ...filter,
            since,
            onResync: (jobs) => snapshot(ids ? jobs.filter((j) => ids.has(j.id)) : jobs, true),
          });
    this.#subscriptions.set(id, off);
    this.#reply(id, { subscription: id, offset });
    if (since === undefined) snapshot(this.#currentJobs(topic), false);
  }

  #checkNew(id: string): void {
    if (this.#subscriptions.has(id)) {
      throw new JobvisorError('invalid_request', `Subscription "${id}" already exists on this connection`);
    }
  }

  /**
   * Follows a job's log: the stored lines after `after` as `log` messages, the reply once they are
   * sent, then each new line once the store holds it, then `logEnd` once the job is final (the
   * subscription is over). Lines never coalesce: a socket that falls behind is closed as too slow,
   * and its client resumes after the last id it got. The subscription is on while the map holds
   * its `stop`: an unsubscribe (or the close) while it starts stops it as soon as it has started,
   * and none of its frames is sent after.
   */
  async #followLogs(id: string, jobId: string, after: number | undefined): Promise<void> {
    this.#checkNew(id);
    const linePrefix = `{"type":"log","subscription":${JSON.stringify(id)},"entry":`;
    const current = () => this.#subscriptions.get(id) === stop;
    const following = this.#ctx.supervisor.followLogs(jobId, {
      ...(after === undefined ? {} : { after }),
      onEntry: (entry) => {
        if (current()) this.#outbox.send(`${linePrefix}${JSON.stringify(entry)}}`);
      },
      // After the reply (it may come while the stored lines are read).
      onEnd: (job) =>
        void following.then(() => {
          if (!current()) return;
          this.#subscriptions.delete(id);
          stop();
          this.#sendMessage({ type: 'logEnd', subscription: id, job });
        }),
    });
    // Lines come only after the follow has checked the job (awaited): `stop` is set by then.
    const stop = (): void =>
      void following.then(
        (off) => off(),
        () => undefined,
      );
    this.#subscriptions.set(id, stop);
    try {
      await following;
    } catch (error) {
      if (current()) this.#subscriptions.delete(id);
      throw error;
    }
    if (current()) this.#reply(id, { subscription: id });
  }

  /** The kept rejections of the topic, then live ones; ended with the subscription. */
  #followRejections(id: string, topic: Topic): void {
    const prefix = `{"type":"rejected","subscription":${JSON.stringify(id)},"rejection":`;
    const log = this.#ctx.rejections;
    for (const { json } of log.recent(topic)) this.#outbox.send(`${prefix}${json}}`);
    const ids = 'jobIds' in topic ? new Set(topic.jobIds) : null;
    const off = log.subscribe((rejection, json) => {
      if (ids ? ids.has(rejection.jobId) : matches(topic, rejection)) this.#outbox.send(`${prefix}${json}}`);
    });
    const offChanges = this.#subscriptions.get(id);
    this.#subscriptions.set(id, () => {
      offChanges?.();
      off();
    });
  }

  #currentJobs(topic: Topic): JobView[] {
    const { supervisor } = this.#ctx;
    if ('jobId' in topic) return present([supervisor.get(topic.jobId)]);
    if ('jobIds' in topic) return present(topic.jobIds.map((jobId) => supervisor.get(jobId)));
    if ('type' in topic) return supervisor.list({ type: topic.type, limit: ALL_JOBS });
    return supervisor.list({ limit: ALL_JOBS });
  }
}

function present(views: (JobView | undefined)[]): JobView[] {
  return views.filter((v): v is JobView => v !== undefined);
}

function rawText(data: RawData): string {
  if (Array.isArray(data)) return Buffer.concat(data).toString('utf8');
  if (data instanceof ArrayBuffer) return Buffer.from(data).toString('utf8');
  return data.toString('utf8');
}
