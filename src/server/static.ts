/**
 * The dashboard's static files (dashboard/public, prebuilt and shipped with the package): `GET /`
 * is index.html and `GET /assets/<name>` the other files, from an allow-list read once (no path is
 * ever joined from the request). Served without the token — they hold no data — under a strict CSP.
 */
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { dirname, extname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { brotliCompressSync, constants as zlibConstants, gzipSync } from 'node:zlib';
import { JobvisorError } from '../common/errors.js';
import { sendError } from './errors.js';

export const DASHBOARD_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "connect-src 'self'",
  "img-src 'self' data:",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join('; ');

const TYPES: Readonly<Record<string, string>> = {
  '.html': 'text/html; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.json': 'application/json; charset=utf-8',
};

interface Asset {
  readonly body: Buffer;
  readonly type: string;
  readonly etag: string;
  /** Compressed once, when first asked for (a text file of 1 KB or more). */
  readonly encoded: Map<Encoding, Buffer>;
}

type Encoding = 'br' | 'gzip';

/** Text files this large or larger are sent compressed to a browser that accepts it. */
const COMPRESS_FROM = 1_024;

/** The encoding to send: brotli, else gzip, when the request accepts it (`q=0` refuses one). */
export function pickEncoding(accept: string | undefined): Encoding | undefined {
  const accepted = new Map<string, number>();
  for (const part of (accept ?? '').split(',')) {
    const [name, ...params] = part.trim().toLowerCase().split(';');
    if (!name) continue;
    const q = params.map((p) => /^\s*q=([\d.]+)\s*$/.exec(p)?.[1]).find((v) => v !== undefined);
    accepted.set(name, q === undefined ? 1 : Number(q));
  }
  const weight = (name: Encoding) => accepted.get(name) ?? accepted.get('*') ?? 0;
  if (weight('br') > 0) return 'br';
  if (weight('gzip') > 0) return 'gzip';
  return undefined;
}

function encode(asset: Asset, encoding: Encoding): Buffer {
  let body = asset.encoded.get(encoding);
  if (!body) {
    body =
      encoding === 'br'
        ? brotliCompressSync(asset.body, {
            params: {
              [zlibConstants.BROTLI_PARAM_QUALITY]: 9,
              [zlibConstants.BROTLI_PARAM_SIZE_HINT]: asset.body.length,
            },
          })
        : gzipSync(asset.body, { level: 9 });
    asset.encoded.set(encoding, body);
  }
  return body;
}

/** The package root's dashboard/public: from src/server (tsx) or dist/src/server (built). */
export function findDashboardDir(from = dirname(fileURLToPath(import.meta.url))): string | undefined {
  for (let dir = from, up = 0; up < 6; up++, dir = dirname(dir)) {
    const candidate = join(dir, 'dashboard', 'public');
    if (existsSync(join(candidate, 'index.html')) && existsSync(join(dir, 'package.json'))) return candidate;
  }
  return undefined;
}

function load(dir: string): Map<string, Asset> {
  const assets = new Map<string, Asset>();
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const type = TYPES[extname(entry.name)];
    if (!entry.isFile() || type === undefined) continue;
    const body = readFileSync(join(dir, entry.name));
    const etag = `"${createHash('sha256').update(body).digest('base64url').slice(0, 27)}"`;
    const asset = { body, type, etag, encoded: new Map<Encoding, Buffer>() };
    assets.set(entry.name === 'index.html' ? '/' : `/assets/${entry.name}`, asset);
  }
  return assets;
}

export interface DashboardFiles {
  /** Answers `/` and `/assets/*` and returns true; any other path is left alone (false). */
  handle(req: IncomingMessage, res: ServerResponse, url: URL): boolean;
}

export function dashboardFiles(dir = findDashboardDir()): DashboardFiles {
  const assets = dir === undefined ? new Map<string, Asset>() : load(dir);
  return {
    handle(req, res, url) {
      const { pathname } = url;
      if (pathname !== '/' && !pathname.startsWith('/assets/')) return false;
      const asset = assets.get(pathname);
      const secure = {
        'content-security-policy': DASHBOARD_CSP,
        'x-content-type-options': 'nosniff',
        'referrer-policy': 'no-referrer',
      };
      if (!asset) {
        const message =
          dir === undefined ? 'The dashboard files are not installed' : `No dashboard file ${pathname}`;
        sendError(res, new JobvisorError('not_found', message), secure);
        return true;
      }
      if (req.method !== 'GET' && req.method !== 'HEAD') {
        const message = `${req.method} is not allowed on ${pathname} (allowed: GET, HEAD)`;
        sendError(res, new JobvisorError('method_not_allowed', message), { ...secure, allow: 'GET, HEAD' });
        return true;
      }
      const compressible = asset.body.length >= COMPRESS_FROM && !asset.type.startsWith('image/png');
      const encoding = compressible ? pickEncoding(req.headers['accept-encoding']) : undefined;
      // Each encoding its own tag: a cache never answers one encoding's 304 for another.
      const etag = encoding === undefined ? asset.etag : `${asset.etag.slice(0, -1)}-${encoding}"`;
      const headers = {
        ...secure,
        'content-type': asset.type,
        'cache-control': 'no-cache',
        etag,
        ...(compressible ? { vary: 'accept-encoding' } : {}),
        ...(encoding === undefined ? {} : { 'content-encoding': encoding }),
      };
      const known = (req.headers['if-none-match'] ?? '')
        .split(',')
        .map((tag) => tag.trim().replace(/^W\//, ''));
      if (known.includes(etag)) {
        res.writeHead(304, headers);
        res.end();
        return true;
      }
      const body = encoding === undefined ? asset.body : encode(asset, encoding);
      res.writeHead(200, { ...headers, 'content-length': String(body.length) });
      res.end(req.method === 'HEAD' ? undefined : body);
      return true;
    },
  };
}
