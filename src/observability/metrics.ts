/**
 * Metrics counts finished requests for `/metrics` (Prometheus text format, prometheus.ts) and for
 * the dashboard's live rates (`/api/stats`).
 *
 * Hot path: `observe` walks four nested maps (entrypoint → router → service → one number packing
 * status code, method and protocol) to a pre-bound series and bumps plain numbers; no label string
 * is built per request. Label text is built only when /metrics is scraped, and only for the label
 * sets `metrics.prometheus.add*Labels` ask for.
 *
 * Several workers: `snapshotStats()` returns plain counters (JSON-serialisable); `mergeStats()`
 * sums the snapshots of every worker and `renderPrometheus()` renders the sum, so the primary can
 * answer for all workers.
 */
import type { IncomingHttpHeaders } from 'node:http';
import type { RequestContext, RequestView } from '../proxy/context.js';

/**
 * Methods as Traefik's metrics label them: the standard ones by name, any other as
 * EXTENSION_METHOD, so a client cannot grow the series by inventing methods.
 */
const METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'CONNECT', 'OPTIONS', 'TRACE', 'PATCH', 'PRI', 'EXTENSION_METHOD'] as const;
const METHOD_INDEX = new Map<string, number>(METHODS.map((m, i) => [m, i]));
/** Protocols as Traefik's metrics label them. */
const PROTOCOLS = ['http', 'websocket', 'sse', 'grpc-web', 'grpc'] as const;

/** requestProtocol tells websocket, server-sent events and gRPC(-Web) requests from plain HTTP, as Traefik does. */
export function requestProtocol(h: IncomingHttpHeaders): number {
  return protocolOf(h['upgrade'], h['connection'], h['accept'], h['content-type']);
}

/** protocolOfRequest is requestProtocol for an observed request, through `header()` when it has one. */
function protocolOfRequest(req: RequestView): number {
  if (req.header !== undefined) return protocolOf(req.header('upgrade'), req.header('connection'), req.header('accept'), req.header('content-type'));
  return requestProtocol(req.headers);
}

function protocolOf(upgrade: unknown, connection: unknown, accept: unknown, ct: unknown): number {
  if (typeof upgrade === 'string' && upgrade.toLowerCase() === 'websocket' && /\bupgrade\b/i.test(String(connection ?? ''))) return 1;
  if (typeof accept === 'string' && accept.includes('text/event-stream')) return 2;
  if (typeof ct === 'string' && ct.startsWith('application/grpc')) return ct.startsWith('application/grpc-web') ? 3 : 4;
  return 0;
}

/** The last map level's key: status code, method and protocol in one number (no string per request). */
function packKey(code: number, method: number, protocol: number): number {
  return (code * 16 + method) * 8 + protocol;
}

/** Series is one label combination's counters; `buckets[i]` counts observations in (b[i-1], b[i]] (not cumulative). */
class Series {
  count = 0;
  sum = 0;
  readonly buckets: Float64Array;
  constructor(n: number) {
    this.buckets = new Float64Array(n + 1);
  }
}

/** RouterCounter is what the dashboard charts: requests and errors (5xx) per router. */
interface RouterCounter {
  requests: number;
  errors: number;
}

export interface RequestSeriesStats {
  entrypoint: string;
  router: string;
  service: string;
  code: number;
  /** The method (EXTENSION_METHOD for a non-standard one) and protocol (http, websocket, sse, grpc-web, grpc). */
  method: string;
  protocol: string;
  count: number;
  /** Sum of durations, seconds. */
  sum: number;
  /** Per-bucket (non-cumulative) counts, one more than `bounds` (the last is +Inf). */
  buckets: number[];
}

/** StatsSnapshot is one process's counters: plain data, summable across workers. */
export interface StatsSnapshot {
  /** Histogram upper bounds, seconds. */
  bounds: number[];
  requests: RequestSeriesStats[];
  routers: Record<string, RouterCounter>;
  /** Requests served (all routers, 404s included) and of them errors (5xx). */
  total: RouterCounter;
}

/** Gauges are read when scraped: they describe the state now, not counts (the primary's view). */
export interface GaugeSources {
  openConnections(): Promise<Record<string, number>>;
  servers(): Array<{ service: string; url: string; up: boolean }>;
  reloads(): { success: number; failure: number; lastSuccessMs: number; lastFailureMs: number };
  version: string;
}

export interface CertificateLabels {
  cn: string;
  sans: string;
  serial: string;
}

export class Metrics {
  readonly bounds: readonly number[];
  /** entrypoint → router → service → packKey(code, method, protocol) → series. */
  #tree = new Map<string, Map<string, Map<string, Map<number, Series>>>>();
  #routers = new Map<string, RouterCounter>();
  #total: RouterCounter = { requests: 0, errors: 0 };
  #certs = new Map<string, { labels: CertificateLabels; notAfter: number }>();

  constructor(bounds: readonly number[]) {
    this.bounds = [...bounds].sort((a, b) => a - b);
  }

  /** observe is the entrypoint's finish observer; bound once so it can be passed as a callback. */
  readonly observe = (req: RequestView, ctx: RequestContext): void => {
    // A router with `observability.metrics: false` is not counted.
    if (!ctx.metrics) return;
    const seconds = (performance.now() - ctx.start) / 1000;
    const router = ctx.router ?? '';
    const code = ctx.status;
    const err = code >= 500 ? 1 : 0;
    this.#total.requests++;
    this.#total.errors += err;
    let rc = this.#routers.get(router);
    if (rc === undefined) this.#routers.set(router, (rc = { requests: 0, errors: 0 }));
    rc.requests++;
    rc.errors += err;

    let byRouter = this.#tree.get(ctx.entrypoint);
    if (byRouter === undefined) this.#tree.set(ctx.entrypoint, (byRouter = new Map()));
    let byService = byRouter.get(router);
    if (byService === undefined) byRouter.set(router, (byService = new Map()));
    const service = ctx.service ?? '';
    let byCode = byService.get(service);
    if (byCode === undefined) byService.set(service, (byCode = new Map()));
    const key = packKey(code, METHOD_INDEX.get(req.method ?? '') ?? 10, protocolOfRequest(req));
    let s = byCode.get(key);
    if (s === undefined) byCode.set(key, (s = new Series(this.bounds.length)));
    s.count++;
    s.sum += seconds;
    const b = this.bounds;
    let i = 0;
    while (i < b.length && seconds > b[i]!) i++;
    s.buckets[i]!++;
  };

  /**
   * retain forgets the counters of routers and services that are no longer configured, so that
   * containers coming and going (each with its own router) cannot grow the series without bound.
   * Requests that matched no router ('') are kept.
   */
  retain(routers: ReadonlySet<string>, services: ReadonlySet<string>): void {
    for (const name of this.#routers.keys()) if (name !== '' && !routers.has(name)) this.#routers.delete(name);
    for (const byRouter of this.#tree.values()) {
      for (const [router, byService] of byRouter) {
        if (router !== '' && !routers.has(router)) {
          byRouter.delete(router);
          continue;
        }
        for (const service of byService.keys()) if (service !== '' && !services.has(service)) byService.delete(service);
      }
    }
  }

  /** setCertificateExpiry records a certificate's notAfter (ms since the epoch) for the expiry gauge (TLS/ACME hook). */
  setCertificateExpiry(labels: CertificateLabels, notAfterMs: number): void {
    this.#certs.set(`${labels.cn}\0${labels.serial}`, { labels, notAfter: notAfterMs });
  }

  /** deleteCertificate forgets a certificate that is no longer served. */
  deleteCertificate(labels: Pick<CertificateLabels, 'cn' | 'serial'>): void {
    this.#certs.delete(`${labels.cn}\0${labels.serial}`);
  }

  certificates(): Array<{ labels: CertificateLabels; notAfter: number }> {
    return [...this.#certs.values()];
  }

  /** snapshotStats copies the counters as plain data (for /api/stats and for summing workers). */
  snapshotStats(): StatsSnapshot {
    const requests: RequestSeriesStats[] = [];
    for (const [entrypoint, byRouter] of this.#tree) {
      for (const [router, byService] of byRouter) {
        for (const [service, byCode] of byService) {
          for (const [key, s] of byCode) {
            const code = Math.floor(key / 128);
            const method = METHODS[Math.floor(key / 8) % 16] ?? 'EXTENSION_METHOD';
            const protocol = PROTOCOLS[key % 8] ?? 'http';
            requests.push({ entrypoint, router, service, code, method, protocol, count: s.count, sum: s.sum, buckets: Array.from(s.buckets) });
          }
        }
      }
    }
    const routers: Record<string, RouterCounter> = {};
    for (const [name, c] of this.#routers) routers[name] = { ...c };
    return { bounds: [...this.bounds], requests, routers, total: { ...this.#total } };
  }
}

/** mergeStats sums the counters of several processes (workers) into one snapshot. */
export function mergeStats(list: readonly StatsSnapshot[]): StatsSnapshot {
  const bounds = list[0]?.bounds ?? [];
  const series = new Map<string, RequestSeriesStats>();
  const routers: Record<string, RouterCounter> = {};
  const total = { requests: 0, errors: 0 };
  for (const st of list) {
    total.requests += st.total.requests;
    total.errors += st.total.errors;
    for (const [name, c] of Object.entries(st.routers)) {
      const r = (routers[name] ??= { requests: 0, errors: 0 });
      r.requests += c.requests;
      r.errors += c.errors;
    }
    for (const r of st.requests) {
      const key = `${r.entrypoint}\0${r.router}\0${r.service}\0${r.code}\0${r.method}\0${r.protocol}`;
      const have = series.get(key);
      if (have === undefined) series.set(key, { ...r, buckets: [...r.buckets] });
      else {
        have.count += r.count;
        have.sum += r.sum;
        for (let i = 0; i < have.buckets.length; i++) have.buckets[i]! += r.buckets[i] ?? 0;
      }
    }
  }
  return { bounds: [...bounds], requests: [...series.values()], routers, total };
}
