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
    assets.set(entry.name === 'index.html' ? '/' : `/assets/${entry.name}`, { body, type, etag });
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
      const headers = {
        ...secure,
        'content-type': asset.type,
        'cache-control': 'no-cache',
        etag: asset.etag,
      };
      const known = (req.headers['if-none-match'] ?? '')
        .split(',')
        .map((tag) => tag.trim().replace(/^W\//, ''));
      if (known.includes(asset.etag)) {
        res.writeHead(304, headers);
        res.end();
        return true;
      }
      res.writeHead(200, { ...headers, 'content-length': String(asset.body.length) });
      res.end(req.method === 'HEAD' ? undefined : asset.body);
      return true;
    },
  };
}
