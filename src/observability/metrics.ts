/**
 * Metrics counts finished requests for `/metrics` (Prometheus text format) and for the dashboard's
 * live rates (`/api/stats`).
 *
 * Hot path: `observe` walks four nested maps (entrypoint → router → service → status code) to a
 * pre-bound series and bumps plain numbers; no label string is built per request. Label text is
 * built only when /metrics is scraped.
 *
 * Several workers: `snapshotStats()` returns plain counters (JSON-serialisable); `mergeStats()`
 * sums the snapshots of every worker and `renderPrometheus()` renders the sum, so the primary can
 * answer for all workers.
 */
import type { RequestContext, RequestView } from '../proxy/context.js';

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
  #tree = new Map<string, Map<string, Map<string, Map<number, Series>>>>();
  #routers = new Map<string, RouterCounter>();
  #total: RouterCounter = { requests: 0, errors: 0 };
  #certs = new Map<string, { labels: CertificateLabels; notAfter: number }>();

  constructor(bounds: readonly number[]) {
    this.bounds = [...bounds].sort((a, b) => a - b);
  }

  /** observe is the entrypoint's finish observer; bound once so it can be passed as a callback. */
  readonly observe = (_req: RequestView, ctx: RequestContext): void => {
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
    let s = byCode.get(code);
    if (s === undefined) byCode.set(code, (s = new Series(this.bounds.length)));
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
          for (const [code, s] of byCode) requests.push({ entrypoint, router, service, code, count: s.count, sum: s.sum, buckets: Array.from(s.buckets) });
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
      const key = `${r.entrypoint}\0${r.router}\0${r.service}\0${r.code}`;
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

/** renderPrometheus writes the text exposition format (version 0.0.4). */
export async function renderPrometheus(stats: StatsSnapshot, gauges: GaugeSources, certs: Array<{ labels: CertificateLabels; notAfter: number }>): Promise<string> {
  const out: string[] = [];
  const family = (name: string, type: string, help: string) => out.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`);

  family('gantry_build_info', 'gauge', 'Gantry version; always 1.');
  out.push(`gantry_build_info${labels({ version: gauges.version })} 1`);

  const r = gauges.reloads();
  family('gantry_config_reloads_total', 'counter', 'Configuration reloads applied.');
  out.push(`gantry_config_reloads_total ${r.success}`);
  family('gantry_config_reload_failures_total', 'counter', 'Configuration reloads that failed (the previous configuration kept serving).');
  out.push(`gantry_config_reload_failures_total ${r.failure}`);
  family('gantry_config_last_reload_success_timestamp_seconds', 'gauge', 'Time of the last successful reload, seconds since the epoch.');
  out.push(`gantry_config_last_reload_success_timestamp_seconds ${r.lastSuccessMs / 1000}`);
  family('gantry_config_last_reload_failure_timestamp_seconds', 'gauge', 'Time of the last failed reload, seconds since the epoch.');
  out.push(`gantry_config_last_reload_failure_timestamp_seconds ${r.lastFailureMs / 1000}`);

  const conns = await gauges.openConnections();
  family('gantry_open_connections', 'gauge', 'Client connections currently open, per entrypoint.');
  for (const [ep, n] of Object.entries(conns)) out.push(`gantry_open_connections${labels({ entrypoint: ep })} ${n}`);

  family('gantry_service_server_up', 'gauge', 'Whether a service server is available (1) or not (0).');
  for (const s of gauges.servers()) out.push(`gantry_service_server_up${labels({ service: s.service, url: s.url })} ${s.up ? 1 : 0}`);

  family('gantry_requests_total', 'counter', 'HTTP requests served, by entrypoint, router, service and status code.');
  for (const s of stats.requests) out.push(`gantry_requests_total${labels(seriesLabels(s))} ${s.count}`);

  family('gantry_request_duration_seconds', 'histogram', 'HTTP request durations, by entrypoint, router, service and status code.');
  for (const s of stats.requests) {
    const base = seriesLabels(s);
    let cum = 0;
    for (let i = 0; i < stats.bounds.length; i++) {
      cum += s.buckets[i] ?? 0;
      out.push(`gantry_request_duration_seconds_bucket${labels({ ...base, le: formatNumber(stats.bounds[i]!) })} ${cum}`);
    }
    cum += s.buckets[stats.bounds.length] ?? 0;
    out.push(`gantry_request_duration_seconds_bucket${labels({ ...base, le: '+Inf' })} ${cum}`);
    out.push(`gantry_request_duration_seconds_sum${labels(base)} ${formatNumber(s.sum)}`);
    out.push(`gantry_request_duration_seconds_count${labels(base)} ${s.count}`);
  }

  family('gantry_tls_certs_not_after_timestamp_seconds', 'gauge', 'Expiry (notAfter) of each served certificate, seconds since the epoch.');
  for (const c of certs) out.push(`gantry_tls_certs_not_after_timestamp_seconds${labels({ ...c.labels })} ${Math.floor(c.notAfter / 1000)}`);
  return out.join('\n') + '\n';
}

function seriesLabels(s: RequestSeriesStats): Record<string, string> {
  return { entrypoint: s.entrypoint, router: s.router, service: s.service, code: String(s.code) };
}

function labels(l: Record<string, string>): string {
  const parts: string[] = [];
  for (const [k, v] of Object.entries(l)) parts.push(`${k}="${escapeLabel(v)}"`);
  return parts.length === 0 ? '' : `{${parts.join(',')}}`;
}

/** escapeLabel escapes a label value as the text format requires: backslash, double quote, newline. */
export function escapeLabel(v: string): string {
  return v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
}

function formatNumber(n: number): string {
  return Number.isFinite(n) ? String(n) : n > 0 ? '+Inf' : n < 0 ? '-Inf' : 'NaN';
}
