/**
 * Serving the dashboard: the static files esbuild wrote to dist/web (scripts/build-web.mjs), read
 * once and kept in memory. Everything is local, so the dashboard works offline. Unknown paths under
 * /dashboard/ get index.html (the single-page app routes by hash).
 */
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ServerResponse } from 'node:http';

/** defaultDashboardDir is dist/web, next to dist/src where this module runs from. */
export const defaultDashboardDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../web');

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.json': 'application/json; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.ico': 'image/x-icon',
};

export class DashboardFiles {
  readonly #dir: string;
  readonly #cache = new Map<string, Buffer | null>();

  constructor(dir: string) {
    this.#dir = dir;
  }

  #read(rel: string): Buffer | null {
    if (this.#cache.has(rel)) return this.#cache.get(rel)!;
    const full = path.resolve(this.#dir, rel);
    let data: Buffer | null = null;
    if (full.startsWith(this.#dir + path.sep)) {
      try {
        data = fs.readFileSync(full);
      } catch {
        data = null;
      }
    }
    this.#cache.set(rel, data);
    return data;
  }

  /** serve answers a GET under /dashboard; returns false when the path is not the dashboard's. */
  serve(pathname: string, res: ServerResponse, head: boolean): boolean {
    if (pathname === '/dashboard') {
      res.writeHead(301, { location: '/dashboard/' });
      res.end();
      return true;
    }
    if (!pathname.startsWith('/dashboard/')) return false;
    let rel = decodeURIComponent(pathname.slice('/dashboard/'.length));
    if (rel === '' || rel.includes('\0')) rel = 'index.html';
    let data = this.#read(rel);
    if (data === null && path.extname(rel) === '') {
      rel = 'index.html';
      data = this.#read(rel);
    }
    if (data === null) {
      const msg = rel === 'index.html' ? 'dashboard assets not built (run npm run build)\n' : 'not found\n';
      res.writeHead(404, { 'content-type': 'text/plain; charset=utf-8' });
      res.end(msg);
      return true;
    }
    res.writeHead(200, {
      'content-type': TYPES[path.extname(rel)] ?? 'application/octet-stream',
      'content-length': data.length,
      'cache-control': rel === 'index.html' ? 'no-cache' : 'public, max-age=300',
      'x-content-type-options': 'nosniff',
    });
    res.end(head ? undefined : data);
    return true;
  }
}
