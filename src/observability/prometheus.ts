/**
 * renderPrometheus writes the counters of Metrics (summed over workers) and the gauges read at
 * scrape time in the Prometheus text format (version 0.0.4).
 *
 * Request counters and durations come in Traefik's three label sets, each switched by its
 * `metrics.prometheus.add*Labels` option (the defaults are Traefik's):
 * - `gantry_entrypoint_requests_total{code,method,protocol,entrypoint}` (addEntryPointsLabels, on),
 * - `gantry_router_requests_total{code,method,protocol,router,service}` (addRoutersLabels, off: a
 *   series per router and status can be many),
 * - `gantry_service_requests_total{code,method,protocol,service}` (addServicesLabels, on),
 * each with its `_request_duration_seconds` histogram over `metrics.prometheus.buckets`. A set that
 * is off has no series at all. Requests no router took (404s) count for their entrypoint only.
 * The dashboard reads /api/stats, which these options do not change.
 */
import type { CertificateLabels, GaugeSources, RequestSeriesStats, StatsSnapshot } from './metrics.js';

/** Which label sets to render (metrics.prometheus.addEntryPointsLabels / addRoutersLabels / addServicesLabels). */
export interface PrometheusLabels {
  entryPoints: boolean;
  routers: boolean;
  services: boolean;
}

export const PROMETHEUS_CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';

export const TRAEFIK_DEFAULT_LABELS: PrometheusLabels = { entryPoints: true, routers: false, services: true };

interface Aggregate {
  labels: Record<string, string>;
  count: number;
  sum: number;
  buckets: number[];
}

/** aggregate sums the series over the labels `scope` drops; `keep` says whether a series counts at all. */
function aggregate(series: readonly RequestSeriesStats[], scope: (s: RequestSeriesStats) => Record<string, string> | null): Aggregate[] {
  const out = new Map<string, Aggregate>();
  for (const s of series) {
    const own = scope(s);
    if (own === null) continue;
    const labels = { code: String(s.code), method: s.method, protocol: s.protocol, ...own };
    const key = JSON.stringify(labels);
    const have = out.get(key);
    if (have === undefined) out.set(key, { labels, count: s.count, sum: s.sum, buckets: [...s.buckets] });
    else {
      have.count += s.count;
      have.sum += s.sum;
      for (let i = 0; i < have.buckets.length; i++) have.buckets[i]! += s.buckets[i] ?? 0;
    }
  }
  return [...out.values()];
}

export async function renderPrometheus(
  stats: StatsSnapshot,
  gauges: GaugeSources,
  certs: Array<{ labels: CertificateLabels; notAfter: number }>,
  sets: PrometheusLabels = TRAEFIK_DEFAULT_LABELS,
): Promise<string> {
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

  const requestFamilies = (prefix: string, what: string, rows: Aggregate[]): void => {
    family(`${prefix}_requests_total`, 'counter', `HTTP requests served, by ${what}, status code, method and protocol.`);
    for (const a of rows) out.push(`${prefix}_requests_total${labels(a.labels)} ${a.count}`);
    family(`${prefix}_request_duration_seconds`, 'histogram', `HTTP request durations, by ${what}, status code, method and protocol.`);
    for (const a of rows) {
      let cum = 0;
      for (let i = 0; i < stats.bounds.length; i++) {
        cum += a.buckets[i] ?? 0;
        out.push(`${prefix}_request_duration_seconds_bucket${labels({ ...a.labels, le: formatNumber(stats.bounds[i]!) })} ${cum}`);
      }
      cum += a.buckets[stats.bounds.length] ?? 0;
      out.push(`${prefix}_request_duration_seconds_bucket${labels({ ...a.labels, le: '+Inf' })} ${cum}`);
      out.push(`${prefix}_request_duration_seconds_sum${labels(a.labels)} ${formatNumber(a.sum)}`);
      out.push(`${prefix}_request_duration_seconds_count${labels(a.labels)} ${a.count}`);
    }
  };
  if (sets.entryPoints) requestFamilies('gantry_entrypoint', 'entrypoint', aggregate(stats.requests, (s) => ({ entrypoint: s.entrypoint })));
  if (sets.routers) requestFamilies('gantry_router', 'router and service', aggregate(stats.requests, (s) => (s.router === '' ? null : { router: s.router, service: s.service })));
  if (sets.services) requestFamilies('gantry_service', 'service', aggregate(stats.requests, (s) => (s.service === '' ? null : { service: s.service })));

  family('gantry_tls_certs_not_after_timestamp_seconds', 'gauge', 'Expiry (notAfter) of each served certificate, seconds since the epoch.');
  for (const c of certs) out.push(`gantry_tls_certs_not_after_timestamp_seconds${labels({ ...c.labels })} ${Math.floor(c.notAfter / 1000)}`);
  return out.join('\n') + '\n';
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
