/**
 * The HTTP routes: one small function per route, each validating its body or query with the
 * protocol schemas before it touches the supervisor. A failure anywhere is a coded error answer.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { JobvisorError } from '../common/errors.js';
import { scheduleNameSchema } from '../common/repeatable.js';
import {
  cancelBodySchema,
  cancelManyBodySchema,
  changesQuerySchema,
  startManyBodySchema,
  pauseBodySchema,
  removeManyBodySchema,
  retryManyBodySchema,
  createJobBodySchema,
  listQuerySchema,
  logsQuerySchema,
  scheduleBodySchema,
  type LogsAnswer,
  type HealthAnswer,
  type NodesAnswer,
} from '../protocol/schemas.js';
import type { Supervisor } from '../supervisor/supervisor.js';
import { readJsonBody } from './body.js';
import { parseWire, sendError, sendJson } from './errors.js';
import type { HubCounters, ServerMetrics } from './metrics.js';

export interface RouteContext {
  readonly supervisor: Supervisor;
  readonly maxBodyBytes: number;
  readonly hub: () => HubCounters;
  readonly metrics: ServerMetrics;
}

interface Request {
  readonly req: IncomingMessage;
  readonly res: ServerResponse;
  readonly url: URL;
  /** The path parameter, decoded: a job's id, or a schedule's name. */
  readonly id: string;
}

type Route = (ctx: RouteContext, r: Request) => Promise<void>;

/** Path pattern → method → route (→ what the one path parameter names, `job id` unless said). */
const ROUTES: readonly (readonly [RegExp, Readonly<Record<string, Route>>, string?])[] = [
  [/^\/jobs$/, { GET: listJobs, POST: createJob }],
  [/^\/jobs\/([^/]+)$/, { GET: getJob, DELETE: removeJob }],
  [/^\/jobs\/([^/]+)\/cancel$/, { POST: cancelJob }],
  [/^\/jobs\/([^/]+)\/retry$/, { POST: retryJob }],
  [/^\/jobs\/([^/]+)\/changes$/, { GET: jobChanges }],
  [/^\/jobs\/([^/]+)\/logs$/, { GET: jobLogs }],
  [/^\/bulk\/start$/, { POST: startMany }],
  [/^\/bulk\/remove$/, { POST: removeMany }],
  [/^\/bulk\/retry$/, { POST: retryMany }],
  [/^\/pauses$/, { GET: pauses }],
  [/^\/pause$/, { POST: pause }],
  [/^\/resume$/, { POST: resume }],
  [/^\/schedules$/, { GET: listSchedules }],
  [/^\/schedules\/([^/]+)$/, { PUT: putSchedule, DELETE: removeSchedule }, 'schedule name'],
  [/^\/bulk\/cancel$/, { POST: cancelMany }],
  [/^\/types$/, { GET: listTypes }],
  [/^\/health$/, { GET: health }],
  [/^\/nodes$/, { GET: listNodes }],
  [/^\/metrics$/, { GET: metrics }],
];

export async function route(
  ctx: RouteContext,
  req: IncomingMessage,
  res: ServerResponse,
  url: URL,
): Promise<void> {
  for (const [pattern, methods, param = 'job id'] of ROUTES) {
    const match = pattern.exec(url.pathname);
    if (!match) continue;
    const handler = methods[req.method ?? 'GET'];
    if (!handler) {
      const allow = Object.keys(methods).join(', ');
      const message = `${req.method} is not allowed on ${url.pathname} (allowed: ${allow})`;
      sendError(res, new JobvisorError('method_not_allowed', message), { allow });
      return;
    }
    await handler(ctx, { req, res, url, id: decodeParam(match[1], param) });
    return;
  }
  sendError(res, new JobvisorError('not_found', `No route for ${req.method} ${url.pathname}`));
}

function decodeParam(raw: string | undefined, what: string): string {
  if (raw === undefined) return '';
  try {
    return decodeURIComponent(raw);
  } catch {
    throw new JobvisorError('invalid_request', `The ${what} in the path is not valid percent-encoding`);
  }
}

function query(url: URL): Record<string, string> {
  return Object.fromEntries(url.searchParams);
}

function notFound(id: string): JobvisorError {
  return new JobvisorError('job_not_found', `No job has id "${id}"`);
}

async function createJob(ctx: RouteContext, { req, res }: Request): Promise<void> {
  const body = parseWire(createJobBodySchema, await readJsonBody(req, ctx.maxBodyBytes), 'job');
  const answer = await ctx.supervisor.start(body);
  sendJson(res, answer.deduplicated ? 200 : 201, answer);
}

async function startMany(ctx: RouteContext, { req, res }: Request): Promise<void> {
  const body = parseWire(startManyBodySchema, await readJsonBody(req, ctx.maxBodyBytes), 'batch');
  sendJson(res, 200, await ctx.supervisor.startMany(body.jobs));
}

async function cancelMany(ctx: RouteContext, { req, res }: Request): Promise<void> {
  const body = parseWire(cancelManyBodySchema, await readJsonBody(req, ctx.maxBodyBytes), 'bulk cancel');
  sendJson(res, 200, await ctx.supervisor.cancelMany(body));
}

async function retryJob(ctx: RouteContext, { res, id }: Request): Promise<void> {
  sendJson(res, 200, await ctx.supervisor.retry(id));
}

async function retryMany(ctx: RouteContext, { req, res }: Request): Promise<void> {
  const body = parseWire(retryManyBodySchema, await readJsonBody(req, ctx.maxBodyBytes), 'bulk retry');
  sendJson(res, 200, await ctx.supervisor.retryMany(body));
}

async function removeJob(ctx: RouteContext, { res, id }: Request): Promise<void> {
  sendJson(res, 200, await ctx.supervisor.remove(id));
}

async function removeMany(ctx: RouteContext, { req, res }: Request): Promise<void> {
  const body = parseWire(removeManyBodySchema, await readJsonBody(req, ctx.maxBodyBytes), 'bulk removal');
  sendJson(res, 200, await ctx.supervisor.removeMany(body));
}

async function pauses(ctx: RouteContext, { res }: Request): Promise<void> {
  sendJson(res, 200, ctx.supervisor.paused());
}

async function pause(ctx: RouteContext, { req, res }: Request): Promise<void> {
  const body = parseWire(pauseBodySchema, (await readJsonBody(req, ctx.maxBodyBytes)) ?? {}, 'pause body');
  sendJson(res, 200, await ctx.supervisor.pause(body.type));
}

async function resume(ctx: RouteContext, { req, res }: Request): Promise<void> {
  const body = parseWire(pauseBodySchema, (await readJsonBody(req, ctx.maxBodyBytes)) ?? {}, 'resume body');
  sendJson(res, 200, await ctx.supervisor.resume(body.type));
}

async function listSchedules(ctx: RouteContext, { res }: Request): Promise<void> {
  sendJson(res, 200, { schedules: await ctx.supervisor.schedules() });
}

/** Creates or replaces a schedule; the same definition again changes nothing (200 either way). */
async function putSchedule(ctx: RouteContext, { req, res, id }: Request): Promise<void> {
  const name = parseWire(scheduleNameSchema, id, 'schedule name');
  const body = parseWire(scheduleBodySchema, await readJsonBody(req, ctx.maxBodyBytes), 'schedule');
  sendJson(res, 200, { schedule: await ctx.supervisor.schedule(name, body) });
}

async function removeSchedule(ctx: RouteContext, { res, id }: Request): Promise<void> {
  const name = parseWire(scheduleNameSchema, id, 'schedule name');
  sendJson(res, 200, { schedule: await ctx.supervisor.unschedule(name) });
}

/** Cursor pages in creation order, through the store's index (or the supervisor's own order). */
async function listJobs(ctx: RouteContext, { res, url }: Request): Promise<void> {
  const q = parseWire(listQuerySchema, query(url), 'list query');
  sendJson(res, 200, await ctx.supervisor.page(q));
}

async function getJob(ctx: RouteContext, { res, id }: Request): Promise<void> {
  const job = await ctx.supervisor.find(id);
  if (!job) throw notFound(id);
  sendJson(res, 200, { job });
}

async function cancelJob(ctx: RouteContext, { req, res, id }: Request): Promise<void> {
  const body = parseWire(cancelBodySchema, (await readJsonBody(req, ctx.maxBodyBytes)) ?? {}, 'cancel body');
  sendJson(res, 200, await ctx.supervisor.cancel(id, body.reason));
}

async function jobChanges(ctx: RouteContext, { res, url, id }: Request): Promise<void> {
  const q = parseWire(changesQuerySchema, query(url), 'changes query');
  // A job retention removed is gone with its history.
  if (!(await ctx.supervisor.find(id))) throw notFound(id);
  const changes = await ctx.supervisor.history(id, { since: q.since, limit: q.limit });
  sendJson(res, 200, { changes });
}

/** A page of the job's log, with every line written before the request (`job_not_found`: 404). */
async function jobLogs(ctx: RouteContext, { res, url, id }: Request): Promise<void> {
  const q = parseWire(logsQuerySchema, query(url), 'logs query');
  const { entries, next } = await ctx.supervisor.logs(id, q);
  const body: LogsAnswer = { logs: entries, next };
  sendJson(res, 200, body);
}

async function listTypes(ctx: RouteContext, { res }: Request): Promise<void> {
  sendJson(res, 200, { types: ctx.supervisor.types() });
}

/** 503 while the supervisor drains or has stopped, and while the store fails writes. */
async function health(ctx: RouteContext, { res }: Request): Promise<void> {
  const { lifecycle, live, offset, store, cluster, paused } = ctx.supervisor.stats();
  const ok =
    lifecycle !== 'draining' &&
    lifecycle !== 'stopped' &&
    store?.state !== 'failing' &&
    (cluster === null || cluster.state === 'held');
  const body: HealthAnswer = {
    status: ok ? 'ok' : 'unavailable',
    lifecycle,
    live,
    offset,
    ...(store ? { store } : {}),
    node: ctx.supervisor.node,
    ...(cluster ? { cluster } : {}),
    paused: { all: paused.all, types: [...paused.types] },
  };
  sendJson(res, ok ? 200 : 503, body);
}

async function listNodes(ctx: RouteContext, { res }: Request): Promise<void> {
  const body: NodesAnswer = { nodes: [...(await ctx.supervisor.nodes())] };
  sendJson(res, 200, body);
}

async function metrics(ctx: RouteContext, { res }: Request): Promise<void> {
  const text = await ctx.metrics.text();
  res.writeHead(200, {
    'content-type': ctx.metrics.contentType,
    'content-length': String(Buffer.byteLength(text)),
  });
  res.end(text);
}
