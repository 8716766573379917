/**
 * `jobvisor/client`: typed HTTP calls and live subscriptions for Node and browsers. Imports only
 * the wire protocol (`src/protocol`), shared helpers and its connection machine (`machines/`), never
 * server or supervisor internals.
 */
import {
  cancelAnswerSchema,
  cancelManyAnswerSchema,
  changesAnswerSchema,
  startManyAnswerSchema,
  pauseStateSchema,
  removeAnswerSchema,
  removeManyAnswerSchema,
  retryAnswerSchema,
  retryManyAnswerSchema,
  type RetryManyAnswer,
  type RetryManyBody,
  type PauseStateAnswer,
  type RemoveManyAnswer,
  type RemoveManyBody,
  type CancelManyAnswer,
  type CancelManyBody,
  type StartManyAnswer,
  createJobAnswerSchema,
  healthAnswerSchema,
  jobViewSchema,
  listAnswerSchema,
  logsAnswerSchema,
  type LogsAnswer,
  typesAnswerSchema,
  nodesAnswerSchema,
  scheduleAnswerSchema,
  schedulesAnswerSchema,
  type NodesAnswer,
  type ScheduleBody,
  type WireSchedule,
  type CreateJobBody,
  type Topic,
  type WireChange,
  type WireJob,
  type WireJobType,
} from '../protocol/schemas.js';
import * as z from 'zod';
import type { BackoffOptions } from '../common/backoff.js';
import { scheduleNameSchema } from '../common/repeatable.js';
import type { HealthAnswer } from '../protocol/schemas.js';
import type {
  AnyJobTypes,
  IfUntyped,
  JobTypeName,
  NoJobTypes,
  TypedScheduleOptions,
  TypedStartRequest,
} from '../common/job-map.js';
import { JobvisorClientError } from './errors.js';
import { request, type HttpOptions } from './http.js';
import { subscribeLive, type LiveSubscription, type SubscribeOptions, type WebSocketCtor } from './live.js';
import { followLogsLive, type FollowLogsOptions } from './live-logs.js';

export { JobvisorClientError } from './errors.js';
export { backoffDelay, type BackoffOptions } from '../common/backoff.js';
export type {
  AnyJobTypes,
  JobTypeName,
  NoJobTypes,
  TypedScheduleOptions,
  TypedStartRequest,
} from '../common/job-map.js';
export type { LiveSubscription, SubscribeOptions, WebSocketCtor, WebSocketLike } from './live.js';
export type { FollowLogsOptions } from './live-logs.js';
export type { LiveContext, LiveError, LiveStatus, LiveStore } from './live-store.js';
export type {
  CancelManyAnswer,
  CancelManyBody,
  HealthAnswer,
  StartManyAnswer,
  PauseStateAnswer,
  RemoveManyAnswer,
  RemoveManyBody,
  RetryManyAnswer,
  RetryManyBody,
  CreateJobBody,
  ScheduleBody,
  Topic,
  WireChange,
  WireJob,
  WireJobType,
  WireLogEntry,
  WireRejection,
  WireSchedule,
  LogsAnswer,
} from '../protocol/schemas.js';
export type JobStatus = WireJob['status'];

export interface ClientOptions {
  /** The server's base URL, e.g. `http://127.0.0.1:8080`; the WebSocket is `<url>/ws`. */
  url: string;
  /** Bearer token: `Authorization` header on HTTP and with `ws`; `?token=` with a browser WebSocket. */
  token?: string;
  fetch?: typeof fetch;
  /** Default: `globalThis.WebSocket` when present, else the `ws` package (loaded on first subscribe). */
  WebSocket?: WebSocketCtor;
  reconnect?: BackoffOptions;
}

export interface LogsQuery {
  /** Lines after this id (`next` of the page before); default 0. */
  after?: number;
  /** 1 to 1,000; default 100. */
  limit?: number;
  /** Only this attempt's lines. */
  attempt?: number;
}

export interface ListQuery {
  status?: JobStatus[];
  type?: string;
  key?: string;
  limit?: number;
  after?: string;
}

/** A job of type `K` of the map `M`, as the server sends it: typed input and result. */
export type TypedWireJob<M extends AnyJobTypes, K extends JobTypeName<M>> = Omit<
  WireJob,
  'type' | 'input' | 'result'
> & {
  readonly type: K;
  readonly input: M[K]['parsed'];
  readonly result: M[K]['result'] | null;
};

/** A start as the client takes it: the wire's body, whose `runAt` may also be a `Date` (sent as ISO 8601). */
export type StartBody = Omit<CreateJobBody, 'runAt'> & { readonly runAt?: number | string | Date };

/**
 * `M`: the server's map of job types, shared at compile time with the supervisor that registered
 * them (`createClient<JobTypesOf<typeof supervisor>>(…)`, common/job-map.ts); by default untyped.
 */
export interface JobvisorClient<M extends AnyJobTypes = NoJobTypes> {
  /** POST /jobs; typed against `M` when the client was given the supervisor's map of job types. */
  start<K extends JobTypeName<M>>(
    body: TypedStartRequest<M, K>,
  ): Promise<{ job: TypedWireJob<M, K>; deduplicated: boolean }>;
  start(body: IfUntyped<M, StartBody>): Promise<{ job: WireJob; deduplicated: boolean }>;
  get(id: string): Promise<WireJob>;
  list(query?: ListQuery): Promise<{ jobs: WireJob[]; next: string | null }>;
  cancel(id: string, reason?: string): Promise<{ job: WireJob; cancelled: boolean }>;
  /**
   * POST /bulk/start: 1 to 1,000 starts; a bad one refuses the batch (nothing is started), else each
   * start's outcome in order (its job, or its coded error) with counts.
   */
  startMany(jobs: readonly StartBody[]): Promise<StartManyAnswer>;
  /** POST /bulk/cancel: ids, or a filter over the live jobs (status, type, key, createdBefore); counts. */
  cancelMany(query: CancelManyBody): Promise<CancelManyAnswer>;
  /** POST /jobs/:id/retry: makes a failed or cancelled job pending again (same id, history kept). */
  retry(id: string): Promise<{ job: WireJob; retried: true }>;
  /** POST /bulk/retry: ids, or a filter over the failed and cancelled jobs; counts. */
  retryMany(query: RetryManyBody): Promise<RetryManyAnswer>;
  /** DELETE /jobs/:id: removes a finished job with its history (`job_not_finished` for a live one). */
  remove(id: string): Promise<{ job: WireJob; removed: true }>;
  /** POST /bulk/remove: ids, or a filter over the finished jobs (status, type, finishedBefore); counts. */
  removeMany(query: RemoveManyBody): Promise<RemoveManyAnswer>;
  /** POST /pause: pauses a job type, or the whole supervisor; answers what is paused now. */
  pause(type?: string): Promise<PauseStateAnswer>;
  /** POST /resume: lifts the pause of a job type, or of the whole supervisor. */
  resume(type?: string): Promise<PauseStateAnswer>;
  /** GET /pauses: what is paused now. */
  pauses(): Promise<PauseStateAnswer>;
  /** GET /schedules: every schedule, by name, with its latest occurrence taken and its next one. */
  schedules(): Promise<WireSchedule[]>;
  /**
   * PUT /schedules/:name: creates a repeatable job's schedule (a `cron` pattern or `everyMs`) or
   * replaces its definition; the same definition again changes nothing. Typed against `M` like `start`.
   */
  schedule<K extends JobTypeName<M>>(
    name: string,
    options: TypedScheduleOptions<M, K>,
  ): Promise<WireSchedule>;
  schedule(name: string, options: IfUntyped<M, ScheduleBody>): Promise<WireSchedule>;
  /** DELETE /schedules/:name: removes a schedule (`schedule_not_found`); the jobs it started stay. */
  unschedule(name: string): Promise<WireSchedule>;
  changes(id: string, options?: { since?: number; limit?: number }): Promise<WireChange[]>;
  /** GET /jobs/:id/logs: a page of the job's log `{ logs, next }` (pass `next` as `after`). */
  logs(id: string, query?: LogsQuery): Promise<LogsAnswer>;
  /**
   * Follows the job's log over the WebSocket: the lines after `after`, then each new one, then
   * `onEnd` once the job is final. Resolves with a function that stops it once the server has sent
   * the stored lines; rejects with the server's refusal (`job_not_found`, `invalid_request`).
   */
  followLogs(id: string, follow: FollowLogsOptions): Promise<() => void>;
  /**
   * GET /health: the supervisor's lifecycle, store and lease (`status: 'unavailable'` when it is not
   * accepting, its store fails or its lease is not held — what the server answers with HTTP 503).
   */
  health(): Promise<HealthAnswer>;
  /** GET /types: the registered job types with their limits and input JSON Schema. */
  types(): Promise<WireJobType[]>;
  /** GET /nodes: the live nodes of the cluster (PostgreSQL), with their leases and running jobs. */
  nodes(): Promise<NodesAnswer['nodes']>;
  subscribe(topic: Topic, options?: SubscribeOptions): LiveSubscription;
  /** Closes every live subscription of this client. */
  close(): void;
}

/** A job id is part of the path: an empty one (or one too long) is refused here, as the server would. */
function checkJobId(id: string): string {
  if (typeof id === 'string' && id.length >= 1 && id.length <= 200) return id;
  throw new JobvisorClientError('invalid_request', 'Invalid job id: must be 1 to 200 characters', 0);
}

/** GET /jobs/:id: the job view, bare or as `{ job }` (the protocol has no schema for it yet). */
const getAnswerSchema = z.union([
  jobViewSchema,
  z.object({ job: jobViewSchema }).transform((answer) => answer.job),
]);

/**
 * A schedule's name is part of the path: one the server would refuse (`..` would even leave
 * /schedules/) is refused here, with the server's code, before any request.
 */
function checkScheduleName(name: string): string {
  const parsed = scheduleNameSchema.safeParse(name);
  if (parsed.success) return parsed.data;
  const message = `Invalid schedule name: ${parsed.error.issues[0]?.message ?? 'invalid'}`;
  throw new JobvisorClientError('invalid_request', message, 0, parsed.error.issues);
}

function baseUrlOf(url: string): URL {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch (error) {
    throw new JobvisorClientError('bad_request', `invalid server url: ${url}`, 0, undefined, {
      cause: error,
    });
  }
  parsed.pathname = parsed.pathname.replace(/\/+$/, '');
  parsed.search = '';
  parsed.hash = '';
  return parsed;
}

export function createClient<M extends AnyJobTypes = NoJobTypes>(options: ClientOptions): JobvisorClient<M> {
  const base = baseUrlOf(options.url);
  const fetchImpl = options.fetch ?? globalThis.fetch.bind(globalThis);
  const http: HttpOptions = {
    baseUrl: base.toString().replace(/\/+$/, ''),
    fetch: fetchImpl,
    ...(options.token !== undefined ? { token: options.token } : {}),
  };
  const ws = new URL(base);
  ws.protocol = base.protocol === 'https:' ? 'wss:' : 'ws:';
  ws.pathname = `${base.pathname.replace(/\/+$/, '')}/ws`;
  const wsUrl = ws.toString();
  const liveOptions = {
    wsUrl,
    backoff: options.reconnect ?? {},
    ...(options.token !== undefined ? { token: options.token } : {}),
    ...(options.WebSocket !== undefined ? { WebSocket: options.WebSocket } : {}),
  };
  /** Live subscriptions and log follows: what `close()` ends. */
  const live = new Set<{ close(): void }>();
  const path = (id: string) => `/jobs/${encodeURIComponent(id)}`;
  const schedulePath = (name: string) => `/schedules/${encodeURIComponent(checkScheduleName(name))}`;

  const client: JobvisorClient = {
    start: (body: StartBody) => request(http, 'POST', '/jobs', createJobAnswerSchema, { body }),
    startMany: (jobs) => request(http, 'POST', '/bulk/start', startManyAnswerSchema, { body: { jobs } }),
    cancelMany: (query) => request(http, 'POST', '/bulk/cancel', cancelManyAnswerSchema, { body: query }),
    retry: (id) => request(http, 'POST', `${path(id)}/retry`, retryAnswerSchema, { body: {} }),
    retryMany: (query) => request(http, 'POST', '/bulk/retry', retryManyAnswerSchema, { body: query }),
    remove: (id) => request(http, 'DELETE', path(id), removeAnswerSchema),
    removeMany: (query) => request(http, 'POST', '/bulk/remove', removeManyAnswerSchema, { body: query }),
    pause: (type) =>
      request(http, 'POST', '/pause', pauseStateSchema, { body: type === undefined ? {} : { type } }),
    resume: (type) =>
      request(http, 'POST', '/resume', pauseStateSchema, { body: type === undefined ? {} : { type } }),
    pauses: () => request(http, 'GET', '/pauses', pauseStateSchema),
    schedules: async () => (await request(http, 'GET', '/schedules', schedulesAnswerSchema)).schedules,
    schedule: async (name: string, options: ScheduleBody) => {
      const answer = await request(http, 'PUT', schedulePath(name), scheduleAnswerSchema, { body: options });
      return answer.schedule;
    },
    unschedule: async (name) =>
      (await request(http, 'DELETE', schedulePath(name), scheduleAnswerSchema)).schedule,
    get: (id) => request(http, 'GET', path(id), getAnswerSchema),
    list: (query = {}) =>
      request(http, 'GET', '/jobs', listAnswerSchema, {
        query: {
          status: query.status && query.status.length > 0 ? query.status.join(',') : undefined,
          type: query.type,
          key: query.key,
          limit: query.limit,
          after: query.after,
        },
      }),
    cancel: (id, reason) =>
      request(http, 'POST', `${path(id)}/cancel`, cancelAnswerSchema, {
        body: reason === undefined ? {} : { reason },
      }),
    changes: async (id, opts = {}) => {
      const answer = await request(http, 'GET', `${path(id)}/changes`, changesAnswerSchema, {
        query: { since: opts.since, limit: opts.limit },
      });
      return answer.changes;
    },
    logs: async (id, query = {}) =>
      request(http, 'GET', `${path(checkJobId(id))}/logs`, logsAnswerSchema, {
        query: { after: query.after, limit: query.limit, attempt: query.attempt },
      }),
    async followLogs(id, follow) {
      const following = followLogsLive(liveOptions, id, follow);
      live.add(following);
      void following.done.then(() => live.delete(following));
      await following.started;
      return () => following.close();
    },
    health: () => request(http, 'GET', '/health', healthAnswerSchema, { answers: [503] }),
    types: async () => (await request(http, 'GET', '/types', typesAnswerSchema)).types,
    nodes: async () => (await request(http, 'GET', '/nodes', nodesAnswerSchema)).nodes,
    subscribe(topic, opts = {}) {
      const subscription = subscribeLive(liveOptions, topic, opts);
      live.add(subscription);
      const close = subscription.close.bind(subscription);
      return {
        store: subscription.store,
        ready: subscription.ready,
        onChange: subscription.onChange.bind(subscription),
        onRejected: subscription.onRejected.bind(subscription),
        close() {
          live.delete(subscription);
          close();
        },
      };
    },
    close() {
      for (const subscription of live) subscription.close();
      live.clear();
    },
  };
  // The same client whatever `M`: the map of job types only types `start` at compile time.
  return client as unknown as JobvisorClient<M>;
}
