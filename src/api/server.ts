/**
 * ApiServer serves the control surface on --api.address: /ping, the read-only API in Traefik's
 * shapes, and the routes other modules add (REST provider, Docker Flow Proxy API, metrics,
 * dashboard). Bound to a non-loopback address it requires credentials unless insecure is set.
 */
import type { IncomingMessage, Server as HttpServer, ServerResponse } from 'node:http';
import http from '../node-http.js';
import type { Logger } from '../observability/logger.js';
import { parseListenAddress } from '../entrypoints/address.js';
import type { Snapshot } from '../watcher/snapshot.js';
import type { UpstreamRegistry } from '../upstreams/registry.js';
import { middlewareViews, routerViews, serviceViews, tcpRouterViews, tcpServiceViews } from './runtime-view.js';
import { VERSION } from '../version.js';
import type { Metrics, StatsSnapshot } from '../observability/metrics.js';
import { PROMETHEUS_CONTENT_TYPE } from '../observability/prometheus.js';
import { explainRequest } from './explain.js';
import { DashboardFiles, defaultDashboardDir } from './dashboard.js';
import { RequestGuard } from './request-guard.js';

export type ApiRoute = (req: IncomingMessage, res: ServerResponse, url: URL) => boolean | Promise<boolean>;

export interface ApiOptions {
  address: string;
  insecure: boolean;
  /** Checks credentials when the API is not on loopback; null = no credentials configured. */
  authorize: ((req: IncomingMessage) => boolean | Promise<boolean>) | null;
  /** Host names the API answers to besides the built-in ones (see request-guard.ts). */
  allowedHosts?: readonly string[];
}

/** ApiExtensions are the optional parts: traffic counters, /metrics, the dashboard. */
export interface ApiExtensions {
  /** Traffic counters of this process (for /api/stats and /metrics); null = none. */
  metrics?: Metrics | null;
  /**
   * stats returns the counters to show; by default this process's. With several workers the
   * primary passes a function that sums its own and every worker's `snapshotStats()` (mergeStats).
   */
  stats?: (() => StatsSnapshot | Promise<StatsSnapshot>) | null;
  /** Serve /metrics: the Prometheus text this renders (Gantry.metricsText); null = not on the API. */
  prometheus?: (() => Promise<string>) | null;
  /** Serve the dashboard at /dashboard/ from this directory (dist/web by default); null = off. */
  dashboardDir?: string | null;
  /** What readiness waits for (empty when ready): /ping answers 503 naming it until then. */
  readiness?: () => string[];
  /** What /api/overview reports under `features`. */
  features?: { tracing: string; metrics: string; accessLog: boolean };
}

export class ApiServer {
  readonly server: HttpServer;
  #opts: ApiOptions;
  #logger: Logger;
  #snapshot: () => Snapshot;
  #registry: UpstreamRegistry;
  #routes: ApiRoute[] = [];
  #needsAuth: boolean;
  /** Set when Gantry is shutting down: /ping answers 503. */
  terminating = false;
  #entrypoints: () => unknown[];
  #ext: ApiExtensions;
  #dashboard: DashboardFiles | null;
  #guard: RequestGuard;

  constructor(opts: ApiOptions, snapshot: () => Snapshot, registry: UpstreamRegistry, entrypoints: () => unknown[], logger: Logger, ext: ApiExtensions = {}) {
    this.#opts = opts;
    this.#ext = ext;
    this.#guard = new RequestGuard(opts.allowedHosts ?? []);
    this.#dashboard = ext.dashboardDir === null ? null : new DashboardFiles(ext.dashboardDir ?? defaultDashboardDir);
    this.#logger = logger.child({ component: 'api' });
    this.#snapshot = snapshot;
    this.#registry = registry;
    this.#entrypoints = entrypoints;
    const { host } = parseListenAddress(opts.address);
    this.#needsAuth = !isLoopback(host) && !opts.insecure;
    if (!isLoopback(host)) {
      this.#logger.warn(
        opts.insecure
          ? 'the API is bound to a non-loopback address without authentication (--api.insecure)'
          : 'the API is bound to a non-loopback address: every request needs --api.basicAuth credentials',
        { address: opts.address },
      );
    }
    this.server = http.createServer((req, res) => {
      this.#handle(req, res).catch((err) => {
        this.#logger.error('api handler failed', { error: err as Error, path: req.url });
        if (!res.headersSent) json(res, 500, { message: 'internal error' });
        else res.destroy();
      });
    });
  }

  /** addRoute registers a handler tried before the built-in ones; it returns true when it answered. */
  addRoute(route: ApiRoute): void {
    this.#routes.push(route);
  }

  async listen(): Promise<void> {
    const { host, port } = parseListenAddress(this.#opts.address);
    await new Promise<void>((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen({ host, port }, () => {
        this.server.off('error', reject);
        resolve();
      });
    });
    this.#logger.info('API listening', { address: this.#opts.address, port: this.port });
  }

  get port(): number {
    const a = this.server.address();
    return a !== null && typeof a === 'object' ? a.port : 0;
  }

  async close(): Promise<void> {
    await new Promise<void>((resolve) => {
      this.server.close(() => resolve());
      this.server.closeAllConnections();
    });
  }

  async #handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://api');
    const refusal = this.#guard.refusal(req, url.pathname);
    if (refusal !== null) {
      this.#logger.warn('api request refused', { reason: refusal, method: req.method, path: url.pathname });
      return json(res, 403, { message: refusal });
    }
    if (this.#needsAuth && (this.#opts.authorize === null || !(await this.#opts.authorize(req)))) {
      res.writeHead(401, { 'content-type': 'application/json', 'www-authenticate': 'Basic realm="gantry"' });
      res.end(JSON.stringify({ message: 'authentication required' }) + '\n');
      return;
    }
    if (url.pathname === '/ping') {
      // While shutting down (requestAcceptGraceTimeout), 503 tells load balancers to stop sending
      // (Traefik's terminatingStatusCode); before the first complete configuration, 503 says not ready.
      const waiting = this.terminating ? [] : (this.#ext.readiness?.() ?? []);
      const status = this.terminating || waiting.length > 0 ? 503 : 200;
      res.writeHead(status, { 'content-type': 'text/plain', 'cache-control': 'no-store' });
      res.end(this.terminating ? 'terminating' : waiting.length === 0 ? 'OK' : `not ready: waiting for ${waiting.join(', ')}`);
      return;
    }
    for (const route of this.#routes) if (await route(req, res, url)) return;
    if (req.method !== 'GET' && req.method !== 'HEAD') return json(res, 405, { message: `method ${req.method} not allowed on ${url.pathname}` });
    if (this.#dashboard !== null && this.#dashboard.serve(url.pathname, res, req.method === 'HEAD')) return;
    if (url.pathname === '/' && this.#dashboard !== null) {
      res.writeHead(302, { location: '/dashboard/' });
      res.end();
      return;
    }
    const s = this.#snapshot();
    const p = url.pathname.replace(/\/+$/, '');
    const one = (list: Array<{ name: string }>, prefix: string) => {
      const name = decodeURIComponent(p.slice(prefix.length + 1));
      const hit = list.find((x) => x.name === name);
      return hit === undefined ? json(res, 404, { message: `${name} not found` }) : json(res, 200, hit);
    };
    switch (p) {
      case '/api/version':
        return json(res, 200, { Version: VERSION, Codename: 'gantry' });
      case '/api/entrypoints':
        return json(res, 200, this.#entrypoints());
      case '/api/http/routers':
        return json(res, 200, routerViews(s));
      case '/api/http/services':
        return json(res, 200, serviceViews(s, this.#registry));
      case '/api/http/middlewares':
        return json(res, 200, middlewareViews(s));
      case '/api/tcp/routers':
        return json(res, 200, tcpRouterViews(s));
      case '/api/tcp/services':
        return json(res, 200, tcpServiceViews(s));
      case '/api/tcp/middlewares':
        return json(res, 200, []);
      case '/api/rawdata':
        return json(res, 200, rawdata(s, this.#registry));
      case '/api/overview':
        return json(res, 200, overview(s, this.#registry, this.#ext.features ?? { tracing: '', metrics: '', accessLog: false }));
      case '/api/explain':
        return this.#explain(s, url, req, res);
      case '/api/stats':
        return json(res, 200, { time: Date.now(), version: s.version, ...(await this.#stats()) });
      case '/metrics':
        if (this.#ext.prometheus == null) break;
        return this.#metrics(res);
    }
    if (p.startsWith('/api/http/routers/')) return one(routerViews(s), '/api/http/routers');
    if (p.startsWith('/api/http/services/')) return one(serviceViews(s, this.#registry), '/api/http/services');
    if (p.startsWith('/api/http/middlewares/')) return one(middlewareViews(s), '/api/http/middlewares');
    if (p.startsWith('/api/tcp/routers/')) return one(tcpRouterViews(s), '/api/tcp/routers');
    if (p.startsWith('/api/tcp/services/')) return one(tcpServiceViews(s), '/api/tcp/services');
    json(res, 404, { message: `no API resource at ${url.pathname}` });
  }

  async #stats(): Promise<StatsSnapshot> {
    if (this.#ext.stats != null) return this.#ext.stats();
    if (this.#ext.metrics != null) return this.#ext.metrics.snapshotStats();
    return { bounds: [], requests: [], routers: {}, total: { requests: 0, errors: 0 } };
  }

  async #metrics(res: ServerResponse): Promise<void> {
    const text = await this.#ext.prometheus!();
    res.writeHead(200, { 'content-type': PROMETHEUS_CONTENT_TYPE, 'content-length': Buffer.byteLength(text) });
    res.end(text);
  }

  /** #explain answers GET /api/explain?url=&method=&header=K:%20V (header repeatable) [&entrypoint=&clientIP=]. */
  #explain(s: Snapshot, url: URL, req: IncomingMessage, res: ServerResponse): void {
    const target = url.searchParams.get('url');
    if (target === null || target === '') return json(res, 400, { message: 'the url parameter is required (e.g. ?url=http://example.com/path)' });
    let u: URL;
    try {
      u = new URL(target.includes('://') ? target : `http://${target}`);
    } catch {
      return json(res, 400, { message: `url ${JSON.stringify(target)} is not a URL` });
    }
    const headers: Record<string, string[]> = {};
    for (const h of url.searchParams.getAll('header')) {
      const i = h.indexOf(':');
      if (i <= 0) return json(res, 400, { message: `header ${JSON.stringify(h)} is not "Name: value"` });
      (headers[h.slice(0, i).trim().toLowerCase()] ??= []).push(h.slice(i + 1).trim());
    }
    const result = explainRequest(s, {
      url: u,
      method: url.searchParams.get('method') || 'GET',
      headers,
      clientIP: url.searchParams.get('clientIP') || (req.socket.remoteAddress ?? '127.0.0.1').replace(/^::ffff:/, ''),
      entrypoint: url.searchParams.get('entrypoint') || null,
    });
    json(res, 200, result);
  }
}

function rawdata(s: Snapshot, registry: UpstreamRegistry): unknown {
  const byName = <T extends { name: string }>(list: T[]) => Object.fromEntries(list.map((x) => [x.name, x]));
  return {
    routers: byName(routerViews(s)),
    services: byName(serviceViews(s, registry)),
    middlewares: byName(middlewareViews(s)),
    tcpRouters: byName(tcpRouterViews(s)),
    tcpServices: byName(tcpServiceViews(s)),
    providerErrors: s.merged.providerErrors,
    version: s.version,
  };
}

function overview(s: Snapshot, registry: UpstreamRegistry, features: { tracing: string; metrics: string; accessLog: boolean }): unknown {
  const count = (list: Array<{ status: string }>) => ({
    total: list.length,
    warnings: list.filter((x) => x.status === 'warning').length,
    errors: list.filter((x) => x.status === 'disabled').length,
  });
  const providers = new Set<string>();
  for (const el of s.merged.http.routers.values()) providers.add(el.provider);
  for (const el of s.merged.http.services.values()) providers.add(el.provider);
  for (const el of s.merged.http.middlewares.values()) providers.add(el.provider);
  for (const el of s.merged.tcp.routers.values()) providers.add(el.provider);
  for (const el of s.merged.tcp.services.values()) providers.add(el.provider);
  for (const e of s.merged.providerErrors) providers.add(e.provider);
  return {
    http: { routers: count(routerViews(s)), services: count(serviceViews(s, registry)), middlewares: count(middlewareViews(s)) },
    tcp: { routers: count(tcpRouterViews(s)), services: count(tcpServiceViews(s)), middlewares: count([]) },
    features,
    providers: [...providers].sort(),
    providerErrors: s.merged.providerErrors.length,
    version: s.version,
  };
}

export function json(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body, null, 2) + '\n';
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

export function isLoopback(host: string | undefined): boolean {
  if (host === undefined || host === '' || host === '0.0.0.0' || host === '::') return false;
  return host === 'localhost' || host === '::1' || host.startsWith('127.');
}
