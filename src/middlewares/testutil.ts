/**
 * Test helpers for middlewares: a real node:http server on 127.0.0.1 whose listener builds a
 * RequestContext the way the entrypoint does and runs the middleware under test, with a `next`
 * that records what reached it and answers 200 through the response modifiers (as the forwarder
 * does). Tests therefore use Node's real request and response objects.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { performance } from 'node:perf_hooks';
import { RequestContext, type Handler, type ResponseHeaders } from '../proxy/context.js';
import { normalizePath } from '../proxy/normalize.js';
import { writeHead } from '../proxy/respond.js';
import type { MiddlewareEnv, MiddlewareFactory } from './types.js';
import { silentLogger } from '../observability/logger.js';
import { ConfigError } from '../errors.js';

/** Seen is what the `next` handler received. */
export interface Seen {
  method: string;
  /** ctx.path and ctx.query after the middleware ran. */
  path: string;
  query: string;
  /** ctx.target(): what the forwarder would send as request target. */
  target: string;
  /** A copy of req.headers as `next` saw them. */
  headers: http.IncomingHttpHeaders;
  ctx: RequestContext;
}

export interface MiddlewareServerOptions {
  /** Entrypoint scheme put in the context ('http' unless given). */
  scheme?: string;
  /** Runs after the context is built and before the handler (e.g. to set ctx.clientIP). */
  prepare?: (req: http.IncomingMessage, ctx: RequestContext) => void;
  /** Extra headers the fake upstream answers with. */
  upstreamHeaders?: ResponseHeaders;
}

export interface MiddlewareServer {
  /** Base URL, e.g. `http://127.0.0.1:40123`. */
  url: string;
  port: number;
  /** What the last request that reached `next` carried, or null when it did not reach it. */
  lastSeen(): Seen | null;
  close(): Promise<void>;
}

/** TestResponse is a response read to its end. */
export interface TestResponse {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
}

/**
 * startMiddlewareServer serves the handler that `build` makes around the recording `next`, on
 * 127.0.0.1 port 0. With `build(factory, options)` below: `startMiddlewareServer(build(f, o))`.
 */
export async function startMiddlewareServer(build: (next: Handler) => Handler, opts: MiddlewareServerOptions = {}): Promise<MiddlewareServer> {
  let last: Seen | null = null;
  const upstreamHeaders = opts.upstreamHeaders ?? {};
  const next: Handler = (req, res, ctx) => {
    last = { method: req.method ?? '', path: ctx.path, query: ctx.query, target: ctx.target(), headers: { ...req.headers }, ctx };
    const body = 'ok\n';
    writeHead(res, ctx, 200, { 'content-type': 'text/plain', 'content-length': Buffer.byteLength(body), ...upstreamHeaders });
    res.end(body);
  };
  const handler = build(next);
  const server = http.createServer((req, res) => {
    last = null;
    const rawUrl = req.url ?? '/';
    const q = rawUrl.indexOf('?');
    const rawPath = q < 0 ? rawUrl : rawUrl.slice(0, q);
    const query = q < 0 ? '' : rawUrl.slice(q + 1);
    const norm = normalizePath(rawPath);
    if (!norm.ok) {
      res.writeHead(400, { 'content-type': 'text/plain' });
      res.end(`400 ${norm.reason}\n`);
      return;
    }
    const hostHeader = req.headers.host ?? '';
    const { host, port } = splitHostHeader(hostHeader, String((req.socket.address() as AddressInfo).port));
    let remote = req.socket.remoteAddress ?? '';
    if (remote.startsWith('::ffff:')) remote = remote.slice(7);
    const ctx = new RequestContext('web', opts.scheme ?? 'http', remote, host, port, norm.path, query, performance.now());
    opts.prepare?.(req, ctx);
    try {
      handler(req, res, ctx);
    } catch (err) {
      if (!res.headersSent) res.writeHead(500, { 'content-type': 'text/plain' });
      res.end(`500 handler threw: ${String(err)}\n`);
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    lastSeen: () => last,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

function splitHostHeader(h: string, fallbackPort: string): { host: string; port: string } {
  if (h.startsWith('[')) {
    const close = h.indexOf(']');
    const port = h.charCodeAt(close + 1) === 58 ? h.slice(close + 2) : fallbackPort;
    return { host: h.slice(1, close).toLowerCase(), port };
  }
  const colon = h.lastIndexOf(':');
  if (colon < 0) return { host: h.toLowerCase(), port: fallbackPort };
  return { host: h.slice(0, colon).toLowerCase(), port: h.slice(colon + 1) };
}

/** RequestOptions for `request`: the target may carry a query; `headers` may include `host`. */
export interface RequestOptions {
  method?: string;
  headers?: http.OutgoingHttpHeaders;
  body?: string;
}

/** request sends one request (no keep-alive) and reads the whole answer. */
export function request(baseUrl: string, target: string, opts: RequestOptions = {}): Promise<TestResponse> {
  const u = new URL(baseUrl);
  return new Promise((resolve, reject) => {
    const req = http.request(
      { host: u.hostname, port: u.port, method: opts.method ?? 'GET', path: target, headers: opts.headers, agent: false },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') }));
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(opts.body);
  });
}

/** testEnv is a MiddlewareEnv for unit tests (silent logger, no services). */
export function testEnv(overrides: Partial<MiddlewareEnv> = {}): MiddlewareEnv {
  return {
    name: 'test@file',
    provider: 'file',
    logger: silentLogger,
    cwd: process.cwd(),
    serviceHandler(name: string): Handler {
      throw new ConfigError('', `service ${name} does not exist`);
    },
    retain(r) {
      retained.push(r);
    },
    ...overrides,
  };
}

/** Resources middlewares built with testEnv() retained; stopRetained() stops them (test cleanup). */
const retained: Array<{ stop(): void }> = [];
export function stopRetained(): void {
  for (const r of retained.splice(0)) r.stop();
}

/**
 * build validates `options` with the factory's schema (throwing its error text) and creates the
 * handler, as the snapshot compiler does.
 */
export function build<O>(factory: MiddlewareFactory<O>, options: unknown, env: MiddlewareEnv = testEnv()): (next: Handler) => Handler {
  const parsed = factory.schema.safeParse(options);
  if (!parsed.success) throw new Error(`${factory.type}: ${parsed.error.message}`);
  return (next) => factory.create(parsed.data, next, env);
}

/**
 * createError validates and creates the handler, returning the error message on failure (for
 * tables of invalid configurations) or null when both steps succeed.
 */
export function createError<O>(factory: MiddlewareFactory<O>, options: unknown, env: MiddlewareEnv = testEnv()): string | null {
  const parsed = factory.schema.safeParse(options);
  if (!parsed.success) return parsed.error.message;
  try {
    factory.create(parsed.data, () => {}, env);
    return null;
  } catch (err) {
    return err instanceof Error ? err.message : String(err);
  }
}
