/**
 * A JSON text of any value, never throwing: keys sorted, `toJSON` honoured, cycles as
 * "[Circular]", objects nested deeper than `maxDepth` as "[Object]" / "[Array]", bigints as
 * numbers, non-finite numbers as null. It writes what `safe-stable-stringify` (the serialiser
 * of `@statelyai/inspect`) writes, so frames match the Stately inspector's byte for byte.
 */
export type Replacer = (key: string, value: unknown) => unknown;

export interface SafeJsonOptions {
  /** Nesting levels written before "[Object]" (default 10, as `@statelyai/inspect`). */
  readonly maxDepth?: number;
  readonly replacer?: Replacer;
}

/** The replacer of `@statelyai/inspect`: a function as `{ type: name }`. Errors keep their message. */
export const statelyReplacer: Replacer = (_key, value) => {
  if (typeof value === 'function') return { type: (value as { name: string }).name };
  if (value instanceof Error) {
    const code = (value as { code?: unknown }).code;
    return typeof code === 'string'
      ? { name: value.name, message: value.message, code }
      : { name: value.name, message: value.message };
  }
  return value;
};

/** A JSON text written as is where it appears in a value (a payload written once, not twice). */
export class RawJson {
  constructor(readonly text: string) {}
}

export function safeJson(value: unknown, options: SafeJsonOptions = {}): string | undefined {
  const maxDepth = options.maxDepth ?? 10;
  const replacer = options.replacer;
  const stack: object[] = [];

  const write = (key: string, holder: unknown, raw: unknown): string | undefined => {
    if (raw instanceof RawJson) return raw.text;
    let value = raw;
    if (typeof value === 'object' && value !== null && typeof (value as JsonLike).toJSON === 'function') {
      value = tryToJson(value as JsonLike, key);
    }
    if (replacer) value = replacer.call(holder, key, value);
    switch (typeof value) {
      case 'string':
        return JSON.stringify(value);
      case 'number':
        return Number.isFinite(value) ? String(value) : 'null';
      case 'boolean':
        return value ? 'true' : 'false';
      case 'bigint':
        return String(value);
      case 'object':
        break;
      default:
        return undefined; // undefined, function, symbol
    }
    if (value === null) return 'null';
    if (stack.includes(value)) return '"[Circular]"';
    if (Array.isArray(value)) {
      if (value.length === 0) return '[]';
      if (stack.length >= maxDepth) return '"[Array]"';
      stack.push(value);
      // A loop, not `map`: `map` skips the holes of a sparse array (`[1, , 3]`), and each is `null`.
      const items: string[] = [];
      for (let i = 0; i < value.length; i++) items.push(write(String(i), value, value[i]) ?? 'null');
      stack.pop();
      return `[${items.join(',')}]`;
    }
    const keys = Object.keys(value).sort();
    if (keys.length === 0) return '{}';
    if (stack.length >= maxDepth) return '"[Object]"';
    stack.push(value);
    const parts: string[] = [];
    for (const k of keys) {
      const written = write(k, value, readProperty(value as Record<string, unknown>, k));
      if (written !== undefined) parts.push(`${JSON.stringify(k)}:${written}`);
    }
    stack.pop();
    return `{${parts.join(',')}}`;
  };

  return write('', { '': value }, value);
}

/** The value as plain JSON data (a deep copy under the same rules); undefined for nothing writable. */
export function toJsonSafe(value: unknown, options?: SafeJsonOptions): unknown {
  const text = safeJson(value, options);
  return text === undefined ? undefined : (JSON.parse(text) as unknown);
}

interface JsonLike {
  toJSON(key: string): unknown;
}

/** A throwing getter must not break the frame. */
function readProperty(object: Record<string, unknown>, key: string): unknown {
  try {
    return object[key];
  } catch {
    return '[unreadable]';
  }
}

function tryToJson(value: JsonLike, key: string): unknown {
  try {
    return value.toJSON(key);
  } catch {
    return '[toJSON failed]';
  }
}
