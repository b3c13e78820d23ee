/**
 * The oracle's judgement and its table. A proxy's leniency on a case is how many requests it
 * forwarded to the backend (a head forwarded before the client gave up counts: the backend saw
 * it). Gantry is compared with both references; its own forwarded requests are also checked
 * against what it routed (gantry-routes.ts) and against the strict backend parser.
 */
import type { BackendRecord } from './recording-backend.js';
import type { Outcome } from './client.js';
import type { Vector } from './vectors.js';
import { routeOf, routingViolations } from './gantry-routes.js';

export const PROXIES = ['gantry', 'nginx', 'haproxy'] as const;
export type ProxyName = (typeof PROXIES)[number];

export interface ProxyResult {
  outcome: Outcome;
  forwarded: BackendRecord[];
}

export interface CaseResult {
  vector: Vector;
  results: Record<ProxyName, ProxyResult>;
}

export type Verdict = 'agrees' | 'stricter than both' | 'stricter than one' | 'more lenient than one' | 'more lenient than both' | 'between';
export const VERDICTS: Verdict[] = ['stricter than both', 'stricter than one', 'agrees', 'between', 'more lenient than one', 'more lenient than both'];

/** forwardedCount counts requests whose head reached the backend. */
export function forwardedCount(r: ProxyResult): number {
  return r.forwarded.filter((f) => f.request !== null).length;
}

export function verdict(c: CaseResult): Verdict {
  const g = forwardedCount(c.results.gantry);
  const n = forwardedCount(c.results.nginx);
  const h = forwardedCount(c.results.haproxy);
  if (g === n && g === h) return 'agrees';
  if (g > n && g > h) return 'more lenient than both';
  if (g < n && g < h) return 'stricter than both';
  // Equal to one reference and beyond the other, or strictly between the two.
  if (g === n || g === h) return g > Math.min(n, h) ? 'more lenient than one' : 'stricter than one';
  return 'between';
}

/** gantryViolations: what Gantry forwarded that differs from what it routed, or that no strict server reads as one request. */
export function gantryViolations(c: CaseResult): string[] {
  const out: string[] = [];
  for (const f of c.results.gantry.forwarded) {
    if (f.request === null) {
      out.push(`backend could not read what Gantry sent (${f.error}): ${JSON.stringify(f.raw.slice(0, 120))}`);
      continue;
    }
    if (f.error !== null && !f.incomplete) out.push(f.error);
    for (const v of routingViolations(f.request)) out.push(v);
    if (f.request.flags.includes('CL+TE')) out.push('forwarded both Content-Length and Transfer-Encoding');
  }
  return out;
}

export function statusText(o: Outcome): string {
  const s = o.statuses.length > 0 ? o.statuses.join('+') : o.stray > 0 ? 'raw' : o.end === 'timeout' ? 'timeout' : 'closed';
  return o.statuses.length > 0 && o.end === 'timeout' ? `${s}…` : s;
}

/** form is a forwarded request in one line: method, target, Host, framing, body bytes. */
export function form(f: BackendRecord, proxy: ProxyName): string {
  const r = f.request;
  if (r === null) return `!${f.error}`;
  let target = r.target;
  let via = '';
  if (proxy === 'gantry') {
    const v = routeOf(r.target);
    if (v !== null) {
      via = `[${v.route.name}]`;
      target = v.rest;
    }
  }
  const framing = [r.contentLength !== null ? `CL=${r.contentLength}` : '', r.transferEncoding !== null ? `TE=${r.transferEncoding}` : ''].filter((x) => x !== '').join(' ');
  const host = r.hosts.length === 1 ? r.hosts[0] : r.hosts.length === 0 ? '-' : JSON.stringify(r.hosts);
  const body = f.incomplete ? `body ${r.body.length}+ (cut)` : `body ${r.body.length}`;
  return `${via}${r.method} ${clip(target, 40)} H=${clip(host!, 30)}${framing ? ` ${framing}` : ''} ${body}${r.flags.length > 0 ? ` {${r.flags.join(',')}}` : ''}`;
}

function clip(s: string, n: number): string {
  const printable = JSON.stringify(s).slice(1, -1);
  return printable.length > n ? `${printable.slice(0, n - 1)}…` : printable;
}

function pad(s: string, n: number): string {
  return s.length >= n ? s : s + ' '.repeat(n - s.length);
}

/** table renders one line per case (statuses, forwarded counts, verdict) and the forwarded forms under it. */
export function table(cases: CaseResult[]): string {
  const idW = Math.min(48, Math.max(...cases.map((c) => c.vector.id.length)));
  const lines: string[] = [];
  lines.push(`${pad('case', idW)}  ${PROXIES.map((p) => pad(p, 18)).join('')}verdict`);
  lines.push(`${pad('', idW)}  ${PROXIES.map(() => pad('status      fwd', 18)).join('')}`);
  for (const c of cases) {
    const cols = PROXIES.map((p) => pad(`${pad(statusText(c.results[p].outcome), 12)}${forwardedCount(c.results[p])}`, 18)).join('');
    const v = verdict(c);
    const bad = gantryViolations(c);
    lines.push(`${pad(c.vector.id, idW)}  ${cols}${v}${bad.length > 0 ? '  GANTRY FORWARDED OTHER THAN ROUTED' : ''}`);
    for (const p of PROXIES) for (const f of c.results[p].forwarded) lines.push(`${pad('', idW)}    ${pad(p, 8)}${form(f, p)}`);
    for (const b of bad) lines.push(`${pad('', idW)}    !! ${b}`);
  }
  return lines.join('\n');
}

export function summary(cases: CaseResult[]): string {
  const counts = new Map<Verdict, number>(VERDICTS.map((v) => [v, 0]));
  for (const c of cases) counts.set(verdict(c), counts.get(verdict(c))! + 1);
  const violations = cases.filter((c) => gantryViolations(c).length > 0).length;
  return `${cases.length} vectors — Gantry vs nginx and HAProxy (requests forwarded): ${VERDICTS.map((v) => `${v}: ${counts.get(v)}`).join(', ')}; forwarded other than routed: ${violations}`;
}
