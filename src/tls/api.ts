/**
 * The certificates on the admin API and in /metrics: `GET /api/tls/certificates` lists every
 * certificate the store holds (files, ACME, the generated default) with its names, expiry, issuer
 * and source, for the dashboard; trackCertificateExpiry keeps the Prometheus expiry gauge in step
 * with the store. With --workers this is the primary's store: it holds the same files and ACME
 * certificates it sends the workers.
 */
import { X509Certificate } from 'node:crypto';
import type { ApiRoute } from '../api/server.js';
import { json } from '../api/server.js';
import type { Metrics } from '../observability/metrics.js';
import type { LoadedCertificate } from './certificate.js';
import type { CertificateInfo } from './manager.js';
import type { TlsRuntime } from './runtime.js';
import { compareOrdinal } from '../ordinal.js';

export interface CertificateView {
  domains: { main: string; sans: string[] };
  notBefore: string;
  notAfter: string;
  issuer: string;
  serial: string;
  fingerprint: string;
  source: CertificateInfo['source'];
  resolver?: string;
  /** The file it was read from (source `file`). */
  certFile?: string;
}

interface Details {
  cn: string;
  issuer: string;
  serial: string;
}

const details = new WeakMap<LoadedCertificate, Details>();

function detailsOf(c: LoadedCertificate): Details {
  let d = details.get(c);
  if (d === undefined) {
    const x = new X509Certificate(c.certPem);
    d = { cn: field(x.subject, 'CN') ?? c.names[0] ?? '', issuer: field(x.issuer, 'CN') ?? x.issuer.replace(/\n/g, ', '), serial: x.serialNumber };
    details.set(c, d);
  }
  return d;
}

function field(dn: string, key: string): string | null {
  for (const line of dn.split('\n')) if (line.startsWith(`${key}=`)) return line.slice(key.length + 1);
  return null;
}

export function certificateView(info: CertificateInfo): CertificateView {
  const c = info.cert;
  const d = detailsOf(c);
  const main = c.names.includes(d.cn) || c.names.length === 0 ? d.cn : c.names[0]!;
  const v: CertificateView = {
    domains: { main, sans: c.names.filter((n) => n !== main) },
    notBefore: c.notBefore.toISOString(),
    notAfter: c.notAfter.toISOString(),
    issuer: d.issuer,
    serial: d.serial,
    fingerprint: c.fingerprint,
    source: info.source,
  };
  if (info.resolver !== undefined) v.resolver = info.resolver;
  if (info.source === 'file') v.certFile = c.source;
  return v;
}

/** certificatesRoute answers `GET /api/tls/certificates`, soonest expiry first. */
export function certificatesRoute(tls: TlsRuntime): ApiRoute {
  return (req, res, url) => {
    if (url.pathname !== '/api/tls/certificates') return false;
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.setHeader('allow', 'GET, HEAD');
      json(res, 405, { message: 'method not allowed' });
      return true;
    }
    const list = (tls.certificates?.list() ?? []).map(certificateView);
    list.sort((a, b) => compareOrdinal(a.notAfter, b.notAfter) || compareOrdinal(a.domains.main, b.domains.main));
    json(res, 200, list);
    return true;
  };
}

/** trackCertificateExpiry feeds `gantry_tls_certs_not_after_timestamp_seconds` from the store (not the generated default). */
export function trackCertificateExpiry(tls: TlsRuntime, metrics: Metrics): void {
  let known = new Map<string, { cn: string; serial: string }>();
  const sync = (): void => {
    const now = new Map<string, { cn: string; serial: string }>();
    for (const info of tls.certificates?.list() ?? []) {
      if (info.source === 'default') continue;
      const d = detailsOf(info.cert);
      const labels = { cn: d.cn, sans: info.cert.names.join(','), serial: d.serial };
      now.set(`${d.cn}\0${d.serial}`, labels);
      metrics.setCertificateExpiry(labels, info.cert.notAfter.getTime());
    }
    for (const [k, l] of known) if (!now.has(k)) metrics.deleteCertificate(l);
    known = now;
  };
  tls.onCertificatesChange(sync);
  sync();
}
