/**
 * Gantry's routing for the oracle, and the check that what it forwarded is what it routed. Every
 * router's service points at the recording backend with its own base path (`/__via/<router>`), so
 * each forwarded request names the router that sent it; a request at Gantry's backend port without
 * such a prefix was never routed by Gantry (bytes smuggled past it). The Host and path each router
 * matched must then be the ones forwarded.
 */
import type { ForwardedRequest } from './backend-parser.js';

export interface OracleRoute {
  name: string;
  /** Host the rule matches, or null for the catch-all. */
  host: string | null;
  pathPrefix: string | null;
  priority?: number;
}

/** Hosts the vectors use: oracle.test (with /admin split off), other.test, and anything else. */
export const ROUTES: OracleRoute[] = [
  { name: 'admin', host: 'oracle.test', pathPrefix: '/admin' },
  { name: 'oracle', host: 'oracle.test', pathPrefix: null },
  { name: 'other', host: 'other.test', pathPrefix: null },
  { name: 'any', host: null, pathPrefix: '/', priority: 1 },
];

const VIA = '/__via/';

export function gantryYaml(backendUrl: string): string {
  const rule = (r: OracleRoute): string => {
    const parts = [r.host !== null ? `Host(\`${r.host}\`)` : null, r.pathPrefix !== null ? `PathPrefix(\`${r.pathPrefix}\`)` : null];
    return parts.filter((p) => p !== null).join(' && ');
  };
  const routers = ROUTES.map((r) => `    ${r.name}:\n      rule: ${rule(r)}\n      service: ${r.name}\n${r.priority !== undefined ? `      priority: ${r.priority}\n` : ''}`).join('');
  const services = ROUTES.map((r) => `    ${r.name}:\n      loadBalancer:\n        servers:\n          - url: ${backendUrl}${VIA}${r.name}\n`).join('');
  return `http:\n  routers:\n${routers}  services:\n${services}`;
}

/** routeOf splits a target Gantry forwarded into the router named by its base path and the rest. */
export function routeOf(target: string): { route: OracleRoute; rest: string } | null {
  if (!target.startsWith(VIA)) return null;
  const after = target.slice(VIA.length);
  const slash = after.indexOf('/');
  const name = slash < 0 ? after : after.slice(0, slash);
  const route = ROUTES.find((r) => r.name === name);
  if (route === undefined) return null;
  return { route, rest: slash < 0 ? '' : after.slice(slash) };
}

/** hostName is a Host value as Host() rules compare it: lower-case, no port, one trailing dot ignored. */
function hostName(value: string): string {
  const v = value.toLowerCase();
  if (v.startsWith('[')) return v.slice(0, v.indexOf(']') + 1);
  const colon = v.lastIndexOf(':');
  const name = colon < 0 ? v : v.slice(0, colon);
  return name.endsWith('.') ? name.slice(0, -1) : name;
}

/** routingViolations lists how a request Gantry forwarded differs from what its router matched. */
export function routingViolations(req: ForwardedRequest): string[] {
  const via = routeOf(req.target);
  if (via === null) return [`request at the backend was not routed by Gantry: ${req.method} ${req.target}`];
  const out: string[] = [];
  const { route, rest } = via;
  if (req.hosts.length !== 1) out.push(`${req.hosts.length} Host headers forwarded`);
  const host = hostName(req.hosts[0] ?? '');
  const path = rest.split('?')[0]!;
  if (route.host !== null && host !== route.host) out.push(`routed as Host ${route.host}, forwarded Host ${JSON.stringify(req.hosts[0])}`);
  if (route.host === null) {
    // The catch-all takes only what no Host router matched.
    const claimed = ROUTES.find((r) => r.host === host);
    if (claimed !== undefined) out.push(`routed by the catch-all, but forwarded Host ${JSON.stringify(req.hosts[0])} belongs to router ${claimed.name}`);
  }
  if (route.pathPrefix !== null && !path.startsWith(route.pathPrefix)) out.push(`routed by PathPrefix ${route.pathPrefix}, forwarded path ${JSON.stringify(path)}`);
  if (route.name === 'oracle' && path.startsWith('/admin')) out.push(`routed away from /admin, forwarded path ${JSON.stringify(path)}`);
  if (!path.startsWith('/')) out.push(`forwarded path ${JSON.stringify(path)} is not origin-form`);
  return out;
}
