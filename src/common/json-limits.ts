/**
 * What a job may carry: its input and its result are stored, sent on the wire and read back
 * after a restart as JSON, so they must be plain JSON within limits — checked at the boundary
 * (`start`, a handler's return), so that a value the store could not write fails its own
 * operation and never reaches a batch. The walk stops at the depth limit: a value nested
 * thousands of levels deep (or a cycle) costs no more than `maxDepth` levels.
 */

export interface JsonLimits {
  /** Nesting levels of arrays and objects; the value itself is level 0. */
  readonly maxDepth: number;
  /** Bytes of the value as UTF-8 JSON. */
  readonly maxBytes: number;
}

export interface JsonProblem {
  /** Names where and what (`input.a[2] is a bigint, which JSON cannot hold`). */
  readonly message: string;
  /** The limit it exceeds; undefined when it is not JSON at all. */
  readonly limit: 'maxDepth' | 'maxBytes' | undefined;
}

/** Why `value` is not plain JSON within `limits`; undefined when it is. `what` names the value. */
export function jsonProblem(value: unknown, limits: JsonLimits, what: string): JsonProblem | undefined {
  let problem: string | undefined;
  let json: string | undefined;
  try {
    problem = walk(value, limits.maxDepth, 0, what);
    if (problem === undefined) json = JSON.stringify(value);
  } catch (error) {
    // A getter or a Proxy that throws when read: not a value that can be stored.
    const detail = error instanceof Error ? error.message : String(error);
    return { message: `${what} cannot be read: ${detail}`, limit: undefined };
  }
  if (problem !== undefined) {
    return { message: problem, limit: problem.endsWith(DEEPER) ? 'maxDepth' : undefined };
  }
  const bytes = Buffer.byteLength(json ?? 'null');
  if (bytes <= limits.maxBytes) return undefined;
  return {
    message: `${what} is ${bytes} bytes as JSON, over the limit of ${limits.maxBytes}`,
    limit: 'maxBytes',
  };
}

const DEEPER = ' levels';

function walk(value: unknown, maxDepth: number, depth: number, path: string): string | undefined {
  switch (typeof value) {
    case 'string':
    case 'boolean':
      return undefined;
    case 'number':
      return Number.isFinite(value) ? undefined : `${path} is ${value}, which JSON cannot hold`;
    case 'object':
      break;
    default:
      return `${path} is a ${typeof value}, which JSON cannot hold`;
  }
  if (value === null) return undefined;
  if (depth >= maxDepth) return `${shorten(path)} is nested deeper than ${maxDepth}${DEEPER}`;
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      if (!(i in value)) return `${path}[${i}] is a hole in a sparse array, which JSON cannot hold`;
      const problem = walk(value[i], maxDepth, depth + 1, `${path}[${i}]`);
      if (problem !== undefined) return problem;
    }
    return undefined;
  }
  const proto = Object.getPrototypeOf(value) as unknown;
  if (proto !== Object.prototype && proto !== null) {
    const name = (value as { constructor?: { name?: unknown } }).constructor?.name;
    return `${path} is ${typeof name === 'string' && name ? `a ${name}` : 'not a plain object'}, not plain JSON`;
  }
  for (const key of Object.keys(value)) {
    const item = (value as Record<string, unknown>)[key];
    if (item === undefined) continue; // JSON leaves the property out, as reading it gives undefined
    const problem = walk(item, maxDepth, depth + 1, `${path}.${key}`);
    if (problem !== undefined) return problem;
  }
  return undefined;
}

/** A path of a deep value, cut to its start and end. */
function shorten(path: string): string {
  return path.length <= 80 ? path : `${path.slice(0, 40)}…${path.slice(-30)}`;
}
