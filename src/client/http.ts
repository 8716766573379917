/** HTTP calls: one request helper that maps network failures, coded errors and bad answers. */
import type * as z from 'zod';
import { errorBodySchema } from '../protocol/schemas.js';
import { JobvisorClientError } from './errors.js';

export interface HttpOptions {
  readonly baseUrl: string;
  readonly token?: string;
  readonly fetch: typeof fetch;
}

export type Query = Record<string, string | number | undefined>;

export async function request<S extends z.ZodType>(
  http: HttpOptions,
  method: 'GET' | 'POST' | 'PUT' | 'DELETE',
  path: string,
  schema: S,
  /** `answers`: statuses besides 2xx whose body is an answer of `schema` (503 of /health). */
  options: { body?: unknown; query?: Query; answers?: readonly number[] } = {},
): Promise<z.infer<S>> {
  const url = new URL(http.baseUrl + path);
  for (const [name, value] of Object.entries(options.query ?? {})) {
    if (value !== undefined) url.searchParams.set(name, String(value));
  }
  const headers: Record<string, string> = { accept: 'application/json' };
  if (http.token !== undefined) headers.authorization = `Bearer ${http.token}`;
  if (options.body !== undefined) headers['content-type'] = 'application/json';

  let response: Response;
  let text: string;
  try {
    response = await http.fetch(url, {
      method,
      headers,
      ...(options.body !== undefined ? { body: JSON.stringify(options.body) } : {}),
    });
    text = await response.text();
  } catch (error) {
    throw new JobvisorClientError('unreachable', `${method} ${path}: server unreachable`, 0, undefined, {
      cause: error,
    });
  }

  let json: unknown;
  try {
    json = text === '' ? undefined : JSON.parse(text);
  } catch (error) {
    throw new JobvisorClientError(
      'bad_response',
      `${method} ${path}: answer is not JSON`,
      response.status,
      text,
      {
        cause: error,
      },
    );
  }

  if (!response.ok && !options.answers?.includes(response.status)) {
    const parsed = errorBodySchema.safeParse(json);
    if (!parsed.success) {
      throw new JobvisorClientError(
        'bad_response',
        `${method} ${path}: HTTP ${response.status} without a coded error`,
        response.status,
        json,
      );
    }
    const { code, message, details } = parsed.data.error;
    throw new JobvisorClientError(code, message, response.status, details);
  }

  const parsed = schema.safeParse(json);
  if (!parsed.success) {
    throw new JobvisorClientError(
      'bad_response',
      `${method} ${path}: answer does not match the protocol`,
      response.status,
      parsed.error.issues,
    );
  }
  return parsed.data;
}
