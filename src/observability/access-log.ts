/**
 * AccessLog writes one line per request (method, host, path, status, router, server, duration) as
 * JSON or in Common Log Format. Lines are collected and written in one write per event-loop turn
 * (or when the buffer is full), so logging adds no syscall per request on the hot path.
 */
import fs from 'node:fs';
import type { IncomingMessage } from 'node:http';
import type { RequestContext } from '../proxy/context.js';

export type AccessLogFormat = 'json' | 'common' | 'text';

export interface AccessLogOptions {
  format: AccessLogFormat;
  /** File to append to; null = stdout. */
  filePath: string | null;
  /** Status filters such as "200-299" or "404"; empty = all. */
  statusCodes: readonly string[];
  /** Only log requests slower than this (ms); 0 = all. */
  minDurationMs: number;
}

const MAX_BUFFER = 64 * 1024;

export class AccessLog {
  #opts: AccessLogOptions;
  #ranges: Array<[number, number]>;
  #buffer = '';
  #scheduled = false;
  #fd: number | null;

  constructor(opts: AccessLogOptions) {
    this.#opts = opts;
    this.#ranges = opts.statusCodes.map(parseRange);
    this.#fd = opts.filePath === null ? null : fs.openSync(opts.filePath, 'a');
  }

  /** log records one finished request. Bound once, so it can be passed as a callback. */
  readonly log = (req: IncomingMessage, ctx: RequestContext): void => {
    const ms = performance.now() - ctx.start;
    if (ms < this.#opts.minDurationMs) return;
    if (this.#ranges.length > 0 && !this.#ranges.some(([a, b]) => ctx.status >= a && ctx.status <= b)) return;
    this.#buffer += this.#format(req, ctx, ms);
    if (this.#buffer.length >= MAX_BUFFER) this.flush();
    else if (!this.#scheduled) {
      this.#scheduled = true;
      setImmediate(this.#flushSoon);
    }
  };

  #flushSoon = (): void => {
    this.#scheduled = false;
    this.flush();
  };

  flush(): void {
    if (this.#buffer === '') return;
    const out = this.#buffer;
    this.#buffer = '';
    if (this.#fd === null) process.stdout.write(out);
    else fs.writeSync(this.#fd, out);
  }

  close(): void {
    this.flush();
    if (this.#fd !== null) fs.closeSync(this.#fd);
    this.#fd = null;
  }

  #format(req: IncomingMessage, ctx: RequestContext, ms: number): string {
    const duration = Math.round(ms * 1000) / 1000;
    if (this.#opts.format === 'json') {
      return (
        JSON.stringify({
          time: new Date().toISOString(),
          pid: process.pid,
          clientIP: ctx.remoteAddr,
          method: req.method,
          host: ctx.host,
          path: ctx.originalPath,
          query: ctx.query === '' ? undefined : ctx.query,
          status: ctx.status,
          entryPoint: ctx.entrypoint,
          router: ctx.router,
          service: ctx.service,
          server: ctx.server,
          durationMs: duration,
          error: ctx.errorText ?? undefined,
        }) + '\n'
      );
    }
    // Common Log Format, with Traefik's extra fields after the standard ones.
    const target = ctx.query === '' ? ctx.originalPath : `${ctx.originalPath}?${ctx.query}`;
    const ua = req.headers['user-agent'] ?? '-';
    const ref = req.headers.referer ?? '-';
    return `${ctx.remoteAddr} - - [${clfDate(new Date())}] "${req.method} ${target} HTTP/${req.httpVersion}" ${ctx.status} - "${ref}" "${ua}" host=${ctx.host || '-'} router=${ctx.router ?? '-'} server=${ctx.server ?? '-'} ${duration}ms${ctx.errorText ? ` error="${ctx.errorText}"` : ''}\n`;
  }
}

function parseRange(s: string): [number, number] {
  const m = /^(\d{3})(?:-(\d{3}))?$/.exec(s.trim());
  if (m === null) throw new Error(`accessLog.filters.statusCodes: "${s}" is not a status or range (e.g. 404 or 500-599)`);
  return [Number(m[1]), Number(m[2] ?? m[1])];
}

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
function clfDate(d: Date): string {
  const p = (n: number) => String(n).padStart(2, '0');
  return `${p(d.getUTCDate())}/${MONTHS[d.getUTCMonth()]}/${d.getUTCFullYear()}:${p(d.getUTCHours())}:${p(d.getUTCMinutes())}:${p(d.getUTCSeconds())} +0000`;
}
