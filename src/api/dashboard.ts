/**
 * Serving the dashboard: the static files esbuild wrote to dist/web (scripts/build-web.mjs), all
 * read once on first use and kept in memory; any other path is answered from that set, never from
 * the disk, so requests for made-up paths cost nothing and are not remembered. Everything is local,
 * so the dashboard works offline. Unknown paths under /dashboard/ without an extension get
 * index.html (the single-page app routes by hash).
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
  /** Every built file, read on first use; requests for other paths never touch the disk or this map. */
  #files: Map<string, Buffer> | null = null;

  constructor(dir: string) {
    this.#dir = dir;
  }

  #read(rel: string): Buffer | null {
    this.#files ??= readTree(this.#dir);
    return this.#files.get(rel) ?? null;
  }

  /** serve answers a GET under /dashboard; returns false when the path is not the dashboard's. */
  serve(pathname: string, res: ServerResponse, head: boolean): boolean {
    if (pathname === '/dashboard') {
      res.writeHead(301, { location: '/dashboard/' });
      res.end();
      return true;
    }
    if (!pathname.startsWith('/dashboard/')) return false;
    let rel: string;
    try {
      rel = decodeURIComponent(pathname.slice('/dashboard/'.length));
    } catch {
      rel = '';
    }
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

/** readTree reads every file under `dir` (the dashboard build: a few small files), keyed by relative path. */
function readTree(dir: string): Map<string, Buffer> {
  const files = new Map<string, Buffer>();
  let names: string[];
  try {
    names = fs.readdirSync(dir, { recursive: true, encoding: 'utf8' });
  } catch {
    return files;
  }
  for (const name of names) {
    const full = path.join(dir, name);
    try {
      if (fs.statSync(full).isFile()) files.set(name.split(path.sep).join('/'), fs.readFileSync(full));
    } catch {
      // A file removed while listing: not served.
    }
  }
  return files;
}
