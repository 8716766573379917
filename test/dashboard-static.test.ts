/** The dashboard's static files over HTTP: headers, the allow-list, HEAD and 304, the token, `dashboard: false`. */
import { readFileSync } from 'node:fs';
import { get, type IncomingHttpHeaders } from 'node:http';
import { brotliDecompressSync, gunzipSync } from 'node:zlib';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { DASHBOARD_CSP, findDashboardDir } from '../src/server/static.js';
import { http, servePerTest } from './server-harness.js';

const root = fileURLToPath(new URL('..', import.meta.url));
const start = servePerTest();

describe('dashboard files', () => {
  it('serves / and its assets with their content types, a strict CSP, nosniff, an ETag and no-cache', async () => {
    const s = await start();
    for (const [path, type, file] of [
      ['/', 'text/html; charset=utf-8', 'index.html'],
      ['/assets/app.js', 'text/javascript; charset=utf-8', 'app.js'],
      ['/assets/style.css', 'text/css; charset=utf-8', 'style.css'],
      ['/assets/favicon.svg', 'image/svg+xml', 'favicon.svg'],
    ] as const) {
      const answer = await http(s, 'GET', path);
      expect(answer.status, path).toBe(200);
      expect(answer.headers.get('content-type')).toBe(type);
      expect(answer.headers.get('content-security-policy')).toBe(DASHBOARD_CSP);
      expect(answer.headers.get('x-content-type-options')).toBe('nosniff');
      expect(answer.headers.get('cache-control')).toBe('no-cache');
      expect(answer.headers.get('etag')).toMatch(/^"[\w-]+"$/);
      expect(answer.text).toBe(readFileSync(join(root, 'dashboard/public', file), 'utf8'));
    }
  });

  it('answers HEAD without a body and a matching If-None-Match with 304', async () => {
    const s = await start();
    const head = await fetch(`${s.url}/`, { method: 'HEAD' });
    expect(head.status).toBe(200);
    expect(await head.text()).toBe('');
    expect(Number(head.headers.get('content-length'))).toBeGreaterThan(100);
    const etag = head.headers.get('etag')!;
    const again = await fetch(`${s.url}/`, { headers: { 'if-none-match': etag } });
    expect(again.status).toBe(304);
    expect(again.headers.get('content-security-policy')).toBe(DASHBOARD_CSP);
  });

  it('sends the bundle compressed (brotli, else gzip) to a client that accepts it, with its own ETag', async () => {
    const s = await start();
    const file = readFileSync(join(root, 'dashboard/public/app.js'));
    const raw = (encoding: string | undefined, extra: Record<string, string> = {}) =>
      new Promise<{ status: number; headers: IncomingHttpHeaders; body: Buffer }>((resolve, reject) => {
        const headers = { ...(encoding === undefined ? {} : { 'accept-encoding': encoding }), ...extra };
        get(`${s.url}/assets/app.js`, { headers }, (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () =>
            resolve({ status: res.statusCode!, headers: res.headers, body: Buffer.concat(chunks) }),
          );
        }).on('error', reject);
      });
    const br = await raw('gzip, deflate, br');
    expect(br.headers['content-encoding']).toBe('br');
    expect(br.headers.vary).toBe('accept-encoding');
    expect(Number(br.headers['content-length'])).toBe(br.body.length);
    expect(brotliDecompressSync(br.body).equals(file)).toBe(true);
    expect(br.body.length).toBeLessThan(file.length / 3);
    const gz = await raw('gzip;q=1, br;q=0');
    expect(gz.headers['content-encoding']).toBe('gzip');
    expect(gunzipSync(gz.body).equals(file)).toBe(true);
    const plain = await raw(undefined);
    expect(plain.headers['content-encoding']).toBeUndefined();
    expect(plain.body.equals(file)).toBe(true);
    expect(new Set([br.headers.etag, gz.headers.etag, plain.headers.etag]).size).toBe(3);
    // A tag answers 304 for its own encoding only.
    expect((await raw('br', { 'if-none-match': br.headers.etag! })).status).toBe(304);
    expect((await raw('gzip', { 'if-none-match': br.headers.etag! })).status).toBe(200);
  });

  it('serves only the files of the allow-list (no traversal) and only GET and HEAD', async () => {
    const s = await start();
    for (const path of [
      '/assets/../package.json',
      '/assets/%2e%2e%2fpackage.json',
      '/assets/nope.js',
      '/assets/',
    ]) {
      const answer = await http(s, 'GET', path);
      expect(answer.status, path).toBe(404);
      expect(answer.body.error.code).toBe('not_found');
    }
    const post = await http(s, 'POST', '/', {});
    expect(post.status).toBe(405);
    expect(post.headers.get('allow')).toBe('GET, HEAD');
  });

  it('needs no token for the page and its assets, while the API still does', async () => {
    const s = await start({ server: { token: 's3cret' } });
    expect((await http(s, 'GET', '/')).status).toBe(200);
    expect((await http(s, 'GET', '/assets/app.js')).status).toBe(200);
    expect((await http(s, 'GET', '/jobs')).status).toBe(401);
    expect((await http(s, 'GET', '/jobs', undefined, { authorization: 'Bearer s3cret' })).status).toBe(200);
  });

  it('with dashboard: false, / answers 404 as before', async () => {
    const s = await start({ server: { dashboard: false } });
    for (const path of ['/', '/assets/app.js']) {
      const answer = await http(s, 'GET', path);
      expect(answer.status).toBe(404);
      expect(answer.body.error.code).toBe('not_found');
    }
  });

  it('finds dashboard/public from src/server (tsx) and from dist/src/server (built)', () => {
    const expected = join(root, 'dashboard', 'public');
    expect(findDashboardDir(join(root, 'src', 'server'))).toBe(expected);
    expect(findDashboardDir(join(root, 'dist', 'src', 'server'))).toBe(expected);
    expect(findDashboardDir('/')).toBeUndefined();
  });

  it('index.html has no inline script, inline style or event handler attribute (the CSP would block them)', () => {
    const html = readFileSync(join(root, 'dashboard/public/index.html'), 'utf8');
    expect(html).not.toMatch(/\sstyle\s*=/i);
    expect(html).not.toMatch(/<style/i);
    expect(html).not.toMatch(/\son[a-z]+\s*=/i);
    for (const script of html.match(/<script\b[^>]*>[\s\S]*?<\/script>/gi) ?? []) {
      expect(script).toMatch(/^<script type="module" src="assets\/app\.js"><\/script>$/);
    }
  });
});
