/**
 * The static-files service (`static: { root, index, spa }`): serves a folder as nginx's
 * `root` + `try_files $uri $uri/ =404` does (`try_files … /index.html` with `spa: true`).
 *
 * Escaping the root is refused twice, and the status says which wall refused:
 * - 403 comes from the request path alone, before the disk is touched (request-path.ts): a `..`
 *   segment (literal or encoded), an encoded `/` or `\`, a literal `\`, a NUL byte. Nothing about
 *   the file system is revealed by it.
 * - 404 is every refusal decided by looking at the disk: absent, a dotfile (`.env`, `.git/config`,
 *   also through a symlink), not a regular file, not readable (EACCES), and a symlink whose
 *   realpath lies outside the root's realpath (taken once when the service is built). Answering
 *   the latter 404 and not 403 matters: otherwise `/link-out/<name>` would tell which files exist
 *   outside the root (403) and which do not (404). In SPA mode these paths fall back to index.html
 *   like any other absent path, which serves only the root's index.
 * Symlinks that stay inside the root are followed. The files under root are trusted not to be
 * swapped for symlinks between the check and the open (only whoever writes the root could do it).
 * ctx.errorText records why a request was refused, for the logs.
 *
 * Per request the work is one realpath and one stat (two more for a directory's index), and files
 * are streamed with fs.createReadStream, never read whole. Every head goes through writeHead() so
 * middlewares' response modifiers apply to files, 304s and error answers alike.
 */
import { realpathSync, statSync, createReadStream, type Stats } from 'node:fs';
import { realpath, stat } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { resolve } from 'node:path';
import { pipeline } from 'node:stream';
import { bodyBytesRelayed } from '../../proxy/body-memory.js';
import type { Handler, RequestContext, ResponseHeaders } from '../../proxy/context.js';
import { sendText, writeHead } from '../../proxy/respond.js';
import type { StaticConfig } from '../../config/dynamic/schema.js';
import { ConfigError } from '../../errors.js';
import { contentTypeFor } from './mime.js';
import { resolveRequestPath, lastSegment, looksLikeFile } from './request-path.js';
import { ifRangeAllows, notModified, parseRange, UNSATISFIABLE, weakETag } from './conditional.js';

/** DEFAULT_INDEX is the index file of a directory when the config names none. */
export const DEFAULT_INDEX = 'index.html';

const ALLOW = 'GET, HEAD';

/** Found is a file-system entry inside the root: its real path and its stats. */
interface Found {
  real: string;
  stats: Stats;
}

const STATUS_TEXT: Record<number, string> = {
  400: 'Bad Request',
  403: 'Forbidden',
  404: 'Not Found',
  500: 'Internal Server Error',
};

/** countChunk tells body-memory.ts about file bytes sent (each read is a fresh Buffer). */
function countChunk(chunk: string | Buffer): void {
  bodyBytesRelayed(chunk.length);
}

/** The pipeline callback: errors there are a client gone away or a read failing mid-body; pipeline already destroyed both ends. */
function ignorePipelineEnd(): void {}

/** StaticSite holds what was decided when the service was built; handle() serves one request. */
class StaticSite {
  readonly #rootReal: string;
  /** rootReal with a trailing separator, for the prefix check. */
  readonly #rootPrefix: string;
  readonly #index: string;
  readonly #spa: boolean;
  readonly #service: string;
  readonly #label: string;

  constructor(rootReal: string, index: string, spa: boolean, service: string, label: string) {
    this.#rootReal = rootReal;
    this.#rootPrefix = rootReal.endsWith('/') ? rootReal : rootReal + '/';
    this.#index = index;
    this.#spa = spa;
    this.#service = service;
    this.#label = label;
  }

  handle(req: IncomingMessage, res: ServerResponse, ctx: RequestContext): void {
    ctx.service = this.#service;
    ctx.server = this.#label;
    const method = req.method;
    if (method !== 'GET' && method !== 'HEAD') {
      sendText(res, ctx, 405, 'Method Not Allowed', { allow: ALLOW });
      return;
    }
    const rel = resolveRequestPath(ctx.path);
    if (typeof rel === 'number') {
      this.#refuse(res, ctx, rel, rel === 403 ? 'request path leaves the root' : rel === 404 ? 'hidden file' : 'malformed request path');
      return;
    }
    void this.#serve(req, res, ctx, rel);
  }

  async #serve(req: IncomingMessage, res: ServerResponse, ctx: RequestContext, rel: string): Promise<void> {
    try {
      const dirPath = rel.charCodeAt(rel.length - 1) === 47; /* / */
      const fsPath = this.#rootReal + (dirPath ? rel.slice(0, -1) : rel);
      const found = await this.#lookup(fsPath);
      if (typeof found === 'number') {
        if (found === 404 && this.#spa && !looksLikeFile(rel)) return await this.#serveSpaIndex(req, res, ctx);
        return this.#refuse(res, ctx, found, 'not found');
      }
      if (found.stats.isDirectory()) {
        if (!dirPath) return this.#redirectToDirectory(res, ctx, rel);
        const index = await this.#lookup(found.real + '/' + this.#index);
        if (typeof index !== 'number') {
          if (index.stats.isFile()) return this.#sendFile(req, res, ctx, index, this.#index);
        } else if (index !== 404) {
          return this.#refuse(res, ctx, index, 'index refused');
        }
        // No directory listings: a directory without its index is not found (or an SPA route).
        if (this.#spa) return await this.#serveSpaIndex(req, res, ctx);
        return this.#refuse(res, ctx, 404, 'no index');
      }
      // A file asked for as a directory (`/style.css/`), or a FIFO, socket or device.
      if (dirPath || !found.stats.isFile()) return this.#refuse(res, ctx, 404, 'not a file');
      this.#sendFile(req, res, ctx, found, lastSegment(rel));
    } catch (err) {
      ctx.errorText = `static: ${(err as Error).message}`;
      sendText(res, ctx, 500, STATUS_TEXT[500]!);
    }
  }

  /**
   * lookup resolves a path to its real path and stats, or to the status to answer: 404 when absent,
   * outside the root (a symlink out), a dotfile, or not readable; 500 for other failures.
   */
  async #lookup(fsPath: string): Promise<Found | number> {
    let real: string;
    try {
      real = await realpath(fsPath);
    } catch (err) {
      return errnoStatus(err);
    }
    if (real !== this.#rootReal && !real.startsWith(this.#rootPrefix)) return 404;
    // A symlink inside the root that names a dotfile is hidden like the dotfile itself.
    if (real.indexOf('/.', this.#rootPrefix.length - 1) !== -1 && !onlyWellKnown(real, this.#rootPrefix.length - 1)) return 404;
    try {
      return { real, stats: await stat(real) };
    } catch (err) {
      return errnoStatus(err);
    }
  }

  async #serveSpaIndex(req: IncomingMessage, res: ServerResponse, ctx: RequestContext): Promise<void> {
    const index = await this.#lookup(this.#rootReal + '/' + this.#index);
    if (typeof index === 'number' || !index.stats.isFile()) {
      this.#refuse(res, ctx, typeof index === 'number' ? index : 404, 'spa index missing');
      return;
    }
    this.#sendFile(req, res, ctx, index, this.#index);
  }

  /**
   * redirectToDirectory answers 301 to the slash form, keeping the query. The Location is relative
   * (`./docs/`, RFC 9110 §10.2.2) so it stays right when a middleware stripped a prefix the
   * service never saw, and can never be read as another host (`//evil.example/`).
   */
  #redirectToDirectory(res: ServerResponse, ctx: RequestContext, rel: string): void {
    let location = './' + encodeURIComponent(lastSegment(rel)) + '/';
    if (ctx.query !== '') location += '?' + ctx.query;
    sendText(res, ctx, 301, 'Moved Permanently', { location });
  }

  #sendFile(req: IncomingMessage, res: ServerResponse, ctx: RequestContext, file: Found, name: string): void {
    const size = file.stats.size;
    const mtimeMs = file.stats.mtimeMs;
    const etag = weakETag(size, mtimeMs);
    const lastModified = new Date(mtimeMs).toUTCString();
    const h = req.headers;
    if (notModified(h['if-none-match'], h['if-modified-since'], etag, mtimeMs)) {
      writeHead(res, ctx, 304, { etag, 'last-modified': lastModified });
      res.end();
      return;
    }
    const headers: ResponseHeaders = {
      'content-type': contentTypeFor(name),
      'content-length': size,
      etag,
      'last-modified': lastModified,
      'accept-ranges': 'bytes',
    };
    let status = 200;
    let start = 0;
    let end = size - 1;
    // Range is only defined for GET (RFC 9110 §14.2); HEAD gets the full-representation head.
    if (req.method === 'GET' && h.range !== undefined && ifRangeAllows(headerText(h['if-range']), lastModified)) {
      const range = parseRange(h.range, size);
      if (range === UNSATISFIABLE) {
        sendText(res, ctx, 416, 'Range Not Satisfiable', { 'content-range': `bytes */${size}`, 'accept-ranges': 'bytes' });
        return;
      }
      if (range !== null) {
        status = 206;
        start = range.start;
        end = range.end;
        headers['content-length'] = end - start + 1;
        headers['content-range'] = `bytes ${start}-${end}/${size}`;
      }
    }
    writeHead(res, ctx, status, headers);
    if (req.method === 'HEAD' || size === 0 || res.destroyed) {
      res.end();
      return;
    }
    const stream = createReadStream(file.real, { start, end });
    stream.on('data', countChunk);
    pipeline(stream, res, ignorePipelineEnd);
  }

  #refuse(res: ServerResponse, ctx: RequestContext, status: number, reason: string): void {
    ctx.errorText = `static: ${reason}`;
    sendText(res, ctx, status, STATUS_TEXT[status] ?? STATUS_TEXT[500]!);
  }
}

/** headerText narrows a request header to its text (Node joins repeated unknown headers with ', '). */
function headerText(v: string | string[] | undefined): string | undefined {
  return Array.isArray(v) ? v.join(', ') : v;
}

/** errnoStatus maps a file-system error to the status answered. */
function errnoStatus(err: unknown): number {
  switch ((err as NodeJS.ErrnoException).code) {
    case 'ENOENT':
    case 'ENOTDIR':
    case 'ENAMETOOLONG':
    case 'ELOOP':
    // Not readable is answered as absent: a 403 here would be an existence oracle for whatever a
    // symlink out of the root leads to. The reason stays in the logs.
    case 'EACCES':
    case 'EPERM':
      return 404;
    default:
      return 500;
  }
}

/** onlyWellKnown tells whether every dot-segment of `real` after offset `from` is `.well-known`. */
function onlyWellKnown(real: string, from: number): boolean {
  for (let i = real.indexOf('/.', from); i !== -1; i = real.indexOf('/.', i + 1)) {
    if (!real.startsWith('/.well-known', i)) return false;
    const after = i + '/.well-known'.length;
    if (after < real.length && real.charCodeAt(after) !== 47) return false;
  }
  return true;
}

/** validIndexName accepts a plain file name: one segment, not hidden, no separators. */
function validIndexName(name: string): boolean {
  return name.length > 0 && name.charCodeAt(0) !== 46 && !/[/\\\0]/.test(name);
}

/**
 * createStaticHandler builds the handler of a static service. `config.root` is resolved against
 * `cwd` and must be an existing directory now (a ConfigError naming the service otherwise); its
 * realpath is taken once, so replacing the root with a symlink to another folder (an atomic deploy)
 * is seen at the next configuration rebuild. `ctx.server` is `static:<absolute root>` for logs.
 */
export function createStaticHandler(config: StaticConfig, cwd: string, serviceName: string): Handler {
  const where = `http.services.${serviceName}.static`;
  const root = resolve(cwd, config.root);
  let stats: Stats;
  try {
    stats = statSync(root);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' || code === 'ENOTDIR' ? 'does not exist' : `cannot be read (${code ?? (err as Error).message})`;
    throw new ConfigError(`${where}.root`, `static service "${serviceName}": root ${root} ${why}`);
  }
  if (!stats.isDirectory()) throw new ConfigError(`${where}.root`, `static service "${serviceName}": root ${root} is not a directory`);
  const index = config.index ?? DEFAULT_INDEX;
  if (!validIndexName(index)) {
    throw new ConfigError(`${where}.index`, `static service "${serviceName}": index must be a plain file name, got "${index}"`);
  }
  const site = new StaticSite(realpathSync(root), index, config.spa === true, serviceName, `static:${root}`);
  return function staticHandler(req: IncomingMessage, res: ServerResponse, ctx: RequestContext): void {
    site.handle(req, res, ctx);
  };
}
