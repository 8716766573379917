/**
 * The optional bearer token. Both sides are hashed to equal-length digests and compared with
 * `timingSafeEqual`, so neither the token's content nor its length leaks through timing.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';

const digest = (value: string): Buffer => createHash('sha256').update(value, 'utf8').digest();

export class TokenCheck {
  readonly #expected: Buffer | null;

  constructor(token: string | undefined) {
    this.#expected = token === undefined ? null : digest(token);
  }

  get required(): boolean {
    return this.#expected !== null;
  }

  /**
   * Whether the request may pass: no token configured, or `Authorization: Bearer <token>`; with
   * `allowQuery` (WebSocket upgrades: browsers cannot set headers) also `?token=<token>`.
   */
  allows(req: IncomingMessage, url: URL, allowQuery = false): boolean {
    if (this.#expected === null) return true;
    const header = req.headers.authorization;
    const match = typeof header === 'string' ? /^Bearer\s+(.+)$/i.exec(header.trim()) : null;
    const presented = match?.[1] ?? (allowQuery ? url.searchParams.get('token') : null);
    if (presented === null || presented === undefined) return false;
    return timingSafeEqual(digest(presented), this.#expected);
  }
}
