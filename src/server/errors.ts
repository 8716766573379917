/**
 * Errors on the wire: every failure becomes `{ error: { code, message, details? } }` with the
 * status of its code in ERROR_CODES. Validation failures carry the zod issues as `details`.
 */
import type { ServerResponse } from 'node:http';
import type * as z from 'zod';
import { JobvisorError } from '../common/errors.js';
import type { ErrorBody } from '../protocol/schemas.js';

/** Parses `value` with a protocol schema, or throws `invalid_request` with the zod issues. */
export function parseWire<S extends z.ZodType>(schema: S, value: unknown, what: string): z.output<S> {
  const parsed = schema.safeParse(value);
  if (parsed.success) return parsed.data;
  const first = parsed.error.issues[0];
  const where = first && first.path.length > 0 ? ` at ${first.path.join('.')}` : '';
  throw new JobvisorError(
    'invalid_request',
    `Invalid ${what}${where}: ${first?.message ?? 'invalid'}`,
    parsed.error.issues,
  );
}

/** The coded error for anything thrown while serving; unknown errors are logged and hidden. */
export function toWireError(error: unknown): { status: number; body: ErrorBody } {
  if (error instanceof JobvisorError) {
    return { status: error.status, body: { error: error.toJSON() } };
  }
  console.error('[jobvisor] server error:', error);
  const internal = new JobvisorError('internal_error');
  return { status: internal.status, body: { error: internal.toJSON() } };
}

/** A JSON answer, ready to write: its status, headers and text. */
export interface JsonAnswer {
  readonly status: number;
  readonly headers: Record<string, string>;
  readonly text: string;
}

/** Renders `body` as JSON; a body that is not JSON-safe becomes the coded error instead. */
export function jsonAnswer(status: number, body: unknown, headers: Record<string, string> = {}): JsonAnswer {
  let text: string;
  try {
    text = JSON.stringify(body);
  } catch (error) {
    // A job result that is not JSON-safe (BigInt, cycles): answer with a coded error instead.
    const wire = toWireError(error);
    status = wire.status;
    text = JSON.stringify(wire.body);
  }
  return {
    status,
    headers: {
      'content-type': 'application/json; charset=utf-8',
      'content-length': String(Buffer.byteLength(text)),
      'cache-control': 'no-store',
      ...headers,
    },
    text,
  };
}

export function sendJson(
  res: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): void {
  const answer = jsonAnswer(status, body, headers);
  if (res.headersSent) return;
  res.writeHead(answer.status, answer.headers);
  res.end(answer.text);
}

export function sendError(res: ServerResponse, error: unknown, headers: Record<string, string> = {}): void {
  const { status, body } = toWireError(error);
  sendJson(res, status, body, headers);
}
