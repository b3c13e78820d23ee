/**
 * AccessLog writes one line per request as JSON (Traefik's field names) or in Common Log Format
 * (Traefik's CLF: the standard fields, then request count, router, server and duration).
 *
 * Off the hot path: lines are collected and written in one write per event-loop turn, or with
 * `bufferingSize` N every N lines (and at least once a second), so logging adds no syscall per
 * request. Filters follow Traefik: with none set every request is kept; otherwise a request is
 * kept when its status is in `statusCodes`, OR it was retried (`retryAttempts`), OR it took longer
 * than `minDuration`. Fields can be kept, dropped or redacted by name (`fields.names`), request
 * headers likewise (`fields.headers`, dropped by default), as `request_<Header-Name>`.
 */
import fs from 'node:fs';
import type { RequestContext, RequestView } from '../proxy/context.js';

export type AccessLogFormat = 'json' | 'common' | 'text';
export type FieldMode = 'keep' | 'drop' | 'redact';

export interface AccessLogFields {
  defaultMode: FieldMode;
  names: Record<string, FieldMode>;
  headers: { defaultMode: FieldMode; names: Record<string, FieldMode> };
}

export interface AccessLogOptions {
  format: AccessLogFormat;
  /** File to append to; null = stdout. */
  filePath: string | null;
  /** Status filters such as "200-299" or "404"; empty = no status filter. */
  statusCodes: readonly string[];
  /** Keep requests slower than this (ms); 0 = no duration filter. */
  minDurationMs: number;
  /** Keep requests that were retried. */
  retryAttempts?: boolean;
  /** Lines kept in memory before a write; 0 = write once per event-loop turn. */
  bufferingSize?: number;
  fields?: AccessLogFields;
  /** Where lines go when filePath is null (tests); default process.stdout. */
  out?: { write(s: string): unknown };
}

/** The JSON fields, in output order (Traefik's names; `pid` and `GantryError` are Gantry's). */
export const FIELD_NAMES = [
  'StartUTC',
  'Duration',
  'ClientAddr',
  'ClientHost',
  'ClientPort',
  'ClientUsername',
  'RequestHost',
  'RequestPort',
  'RequestMethod',
  'RequestPath',
  'RequestProtocol',
  'RequestScheme',
  'DownstreamStatus',
  'OriginStatus',
  'entryPointName',
  'RouterName',
  'ServiceName',
  'ServiceURL',
  'RetryAttempts',
  'GantryError',
  'pid',
] as const;
type FieldName = (typeof FIELD_NAMES)[number];

const MAX_BUFFER = 64 * 1024;
const REDACTED = 'REDACTED';

export class AccessLog {
  #opts: AccessLogOptions;
  #ranges: Array<[number, number]>;
  #filtered: boolean;
  #buffer = '';
  #lines = 0;
  #scheduled = false;
  #timer: NodeJS.Timeout | null = null;
  #fd: number | null;
  #out: { write(s: string): unknown };
  /** Mode of every JSON field, decided once. */
  #modes: Array<[FieldName, FieldMode]>;
  #clfMode: (name: FieldName) => FieldMode;
  #headers: AccessLogFields['headers'];
  #headerNames: Map<string, FieldMode>;

  constructor(opts: AccessLogOptions) {
    this.#opts = opts;
    this.#ranges = opts.statusCodes.map(parseRange);
    this.#filtered = this.#ranges.length > 0 || opts.minDurationMs > 0 || opts.retryAttempts === true;
    this.#fd = opts.filePath === null ? null : fs.openSync(opts.filePath, 'a');
    this.#out = opts.out ?? process.stdout;
    const f = opts.fields ?? { defaultMode: 'keep', names: {}, headers: { defaultMode: 'drop', names: {} } };
    const mode = (n: FieldName): FieldMode => f.names[n] ?? f.defaultMode;
    this.#modes = FIELD_NAMES.map((n) => [n, mode(n)]);
    this.#clfMode = mode;
    this.#headers = f.headers;
    this.#headerNames = new Map(Object.entries(f.headers.names).map(([k, v]) => [k.toLowerCase(), v]));
  }

  /** log records one finished request. Bound once, so it can be passed as a callback. */
  readonly log = (req: RequestView, ctx: RequestContext): void => {
    // A router with `observability.accessLogs: false` writes no line.
    if (!ctx.accessLogs) return;
    const ms = performance.now() - ctx.start;
    if (this.#filtered && !this.#keep(ctx.status, retriesOf(ctx), ms)) return;
    this.#buffer += this.#opts.format === 'json' ? this.#json(req, ctx, ms) : this.#clf(req, ctx, ms);
    this.#lines++;
    const size = this.#opts.bufferingSize ?? 0;
    if (this.#buffer.length >= MAX_BUFFER || (size > 0 && this.#lines >= size)) this.flush();
    else if (size > 0) {
      // Buffered lines still reach the log within a second on a quiet proxy.
      if (this.#timer === null) this.#timer = setTimeout(this.#flushSoon, 1000).unref();
    } else if (!this.#scheduled) {
      this.#scheduled = true;
      setImmediate(this.#flushSoon);
    }
  };

  #keep(status: number, retries: number, ms: number): boolean {
    if (this.#ranges.some(([a, b]) => status >= a && status <= b)) return true;
    if (this.#opts.retryAttempts === true && retries > 0) return true;
    return this.#opts.minDurationMs > 0 && ms > this.#opts.minDurationMs;
  }

  #flushSoon = (): void => {
    this.#scheduled = false;
    this.flush();
  };

  flush(): void {
    if (this.#timer !== null) clearTimeout(this.#timer);
    this.#timer = null;
    if (this.#buffer === '') return;
    const out = this.#buffer;
    this.#buffer = '';
    this.#lines = 0;
    if (this.#fd === null) this.#out.write(out);
    else fs.writeSync(this.#fd, out);
  }

  close(): void {
    this.flush();
    if (this.#fd !== null) fs.closeSync(this.#fd);
    this.#fd = null;
  }

  #value(name: FieldName, req: RequestView, ctx: RequestContext, ms: number): unknown {
    switch (name) {
      case 'StartUTC':
        return new Date(Date.now() - ms).toISOString();
      case 'Duration':
        // Traefik logs nanoseconds.
        return Math.round(ms * 1e6);
      case 'ClientAddr':
        return `${ctx.remoteAddr}:${ctx.remotePort}`;
      case 'ClientHost':
        return ctx.remoteAddr;
      case 'ClientPort':
        return String(ctx.remotePort);
      case 'ClientUsername':
        return ctx.user ?? clientUser(req);
      case 'RequestHost':
        return ctx.host;
      case 'RequestPort':
        return ctx.port;
      case 'RequestMethod':
        return req.method;
      case 'RequestPath':
        return ctx.query === '' ? ctx.originalPath : `${ctx.originalPath}?${ctx.query}`;
      case 'RequestProtocol':
        return `HTTP/${req.httpVersion}`;
      case 'RequestScheme':
        return ctx.scheme;
      case 'DownstreamStatus':
        return ctx.status;
      case 'OriginStatus':
        return ctx.server === null ? undefined : ctx.status;
      case 'entryPointName':
        return ctx.entrypoint;
      case 'RouterName':
        return ctx.router ?? undefined;
      case 'ServiceName':
        return ctx.service ?? undefined;
      case 'ServiceURL':
        return ctx.server ?? undefined;
      case 'RetryAttempts':
        return retriesOf(ctx);
      case 'GantryError':
        return ctx.errorText ?? undefined;
      case 'pid':
        return process.pid;
    }
  }

  #json(req: RequestView, ctx: RequestContext, ms: number): string {
    const o: Record<string, unknown> = {};
    for (const [name, mode] of this.#modes) {
      if (mode === 'drop') continue;
      const v = this.#value(name, req, ctx, ms);
      if (v === undefined) continue;
      o[name] = mode === 'redact' ? REDACTED : v;
    }
    if (this.#headers.defaultMode !== 'drop' || this.#headerNames.size > 0) {
      const raw = req.rawHeaders;
      for (let i = 0; i < raw.length; i += 2) {
        const name = raw[i]!;
        const mode = this.#headerNames.get(name.toLowerCase()) ?? this.#headers.defaultMode;
        if (mode === 'drop') continue;
        o[`request_${canonicalHeader(name)}`] = mode === 'redact' ? REDACTED : raw[i + 1];
      }
    }
    return JSON.stringify(o) + '\n';
  }

  /** #clf is Traefik's Common Log Format line; dropped fields print as "-", redacted ones as REDACTED. */
  #clf(req: RequestView, ctx: RequestContext, ms: number): string {
    const f = (name: FieldName, v: string): string => {
      const m = this.#clfMode(name);
      return m === 'drop' ? '-' : m === 'redact' ? REDACTED : v;
    };
    const target = ctx.query === '' ? ctx.originalPath : `${ctx.originalPath}?${ctx.query}`;
    const ua = req.headers['user-agent'] ?? '-';
    const ref = req.headers.referer ?? '-';
    const duration = Math.round(ms);
    const err = ctx.errorText !== null && this.#clfMode('GantryError') === 'keep' ? ` error="${ctx.errorText.replace(/"/g, "'")}"` : '';
    return (
      `${f('ClientHost', ctx.remoteAddr)} - ${f('ClientUsername', ctx.user ?? clientUser(req) ?? '-')} [${clfDate(new Date(Date.now() - ms))}] ` +
      `"${f('RequestMethod', req.method ?? '-')} ${f('RequestPath', target)} ${f('RequestProtocol', `HTTP/${req.httpVersion}`)}" ` +
      `${f('DownstreamStatus', String(ctx.status))} - "${ref}" "${ua}" 1 "${f('RouterName', ctx.router ?? '-')}" "${f('ServiceURL', ctx.server ?? '-')}" ${duration}ms${err}\n`
    );
  }
}

/**
 * retriesOf is the number of attempts beyond the first. The proxy records it as `ctx.retries` when
 * it retries; until it does, requests count as not retried.
 */
function retriesOf(ctx: RequestContext): number {
  const r = (ctx as unknown as { retries?: unknown }).retries;
  return typeof r === 'number' ? r : 0;
}

/** canonicalHeader spells a header name as Go (and so Traefik's log) does: `X-Forwarded-For`. */
function canonicalHeader(name: string): string {
  return name.toLowerCase().replace(/(^|-)([a-z])/g, (_m, dash: string, c: string) => dash + c.toUpperCase());
}

function clientUser(req: RequestView): string | undefined {
  const h = req.headers.authorization;
  if (h === undefined || !/^basic /i.test(h)) return undefined;
  const d = Buffer.from(h.slice(6).trim(), 'base64').toString('utf8');
  const i = d.indexOf(':');
  return i < 0 ? undefined : d.slice(0, i);
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
