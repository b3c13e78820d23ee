/**
 * Docker Flow Proxy's reconfigure parameters, validated, and the dynamic configuration a
 * registration stands for. A registration keeps its parameters (never a generated config), so its
 * servers are recomputed whenever a registry's instances change.
 *
 * Mapping (Docker Flow Proxy → Gantry), for a registration named N:
 * - servicePath (comma list) → `PathPrefix` alternatives; serviceDomain → `Host` alternatives; both → `&&`.
 * - port → server `http://N:port` (or `http://<outboundHostname>:port`), as on a Swarm overlay
 *   network, unless a registry knows N: then the registry's instances.
 * - reqPathSearch/reqPathReplace → replacePathRegex; httpsOnly → redirectScheme https;
 *   users → basicAuth (passwords stored as bcrypt hashes); sessionType=sticky → sticky cookie;
 *   redirectFromDomain → a second router on those hosts redirecting to the first serviceDomain.
 */
import type { DynamicConfig } from '../../config/dynamic/schema.js';
import type { InstanceRegistry } from './registry.js';
import { lookupInstances } from './registry.js';
import { compileGoRegexp, GoRegexpError } from '../../regexp/index.js';

export interface DfpRegistration {
  serviceName: string;
  servicePath: string[];
  serviceDomain: string[];
  port?: number;
  reqPathSearch?: string;
  reqPathReplace?: string;
  httpsOnly: boolean;
  redirectFromDomain: string[];
  /** htpasswd lines (`user:$2a$…`); plain passwords are never stored. */
  users: string[];
  sessionType?: 'sticky';
  outboundHostname?: string;
}

/** DfpParams is a parsed request: a registration whose users still carry plain passwords. */
export interface DfpParams extends Omit<DfpRegistration, 'users'> {
  users: Array<{ user: string; password: string }>;
}

export class DfpParamError extends Error {
  readonly param: string;
  readonly status: number;
  constructor(param: string, message: string, status = 400) {
    super(message);
    this.param = param;
    this.status = status;
  }
}

const KNOWN = new Set([
  'serviceName', 'servicePath', 'port', 'serviceDomain', 'reqPathSearch', 'reqPathReplace', 'httpsOnly',
  'redirectFromDomain', 'users', 'sessionType', 'outboundHostname',
  // Sent by Docker Flow Swarm Listener with every notification; meaningless here (every Gantry
  // replica reads the same storage, so there is nothing to distribute).
  'distribute', 'replicas',
]);

const NAME_RE = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$/;
const HOST_RE = /^(\*\.)?[A-Za-z0-9]([A-Za-z0-9-]{0,62})(\.[A-Za-z0-9]([A-Za-z0-9-]{0,62}))*\.?$/;

function list(v: string | null): string[] {
  return v === null ? [] : v.split(',').map((s) => s.trim()).filter((s) => s !== '');
}

function bool(q: URLSearchParams, name: string): boolean {
  const v = q.get(name);
  if (v === null || v === '') return false;
  const t = v.trim().toLowerCase();
  if (t === 'true' || t === '1') return true;
  if (t === 'false' || t === '0') return false;
  throw new DfpParamError(name, `${name} parameter must be true or false, not "${v}"`);
}

function hosts(q: URLSearchParams, name: string): string[] {
  const out = list(q.get(name));
  for (const h of out) if (!HOST_RE.test(h)) throw new DfpParamError(name, `${name} parameter: "${h}" is not a host name`);
  return out;
}

/** parseDfpParams validates a reconfigure request's query; it throws DfpParamError naming the parameter. */
export function parseDfpParams(q: URLSearchParams): DfpParams {
  for (const k of q.keys()) if (!KNOWN.has(k)) throw new DfpParamError(k, `unknown parameter "${k}"`);
  for (const k of KNOWN) if (q.getAll(k).length > 1) throw new DfpParamError(k, `${k} parameter is given more than once`);
  const serviceName = (q.get('serviceName') ?? '').trim();
  if (serviceName === '') throw new DfpParamError('serviceName', 'serviceName parameter is mandatory.');
  if (!NAME_RE.test(serviceName)) throw new DfpParamError('serviceName', `serviceName parameter: "${serviceName}" is not a valid name (letters, digits, "-", "_", ".")`);
  const servicePath = list(q.get('servicePath'));
  for (const p of servicePath) {
    if (!p.startsWith('/')) throw new DfpParamError('servicePath', `servicePath parameter: "${p}" must start with "/"`);
    if (/[\s`]/.test(p)) throw new DfpParamError('servicePath', `servicePath parameter: "${p}" contains a space or a backquote`);
  }
  const serviceDomain = hosts(q, 'serviceDomain');
  const p: DfpParams = { serviceName, servicePath, serviceDomain, httpsOnly: bool(q, 'httpsOnly'), redirectFromDomain: hosts(q, 'redirectFromDomain'), users: [] };
  const port = q.get('port');
  if (port !== null && port.trim() !== '') {
    if (!/^\d{1,5}$/.test(port.trim()) || Number(port) < 1 || Number(port) > 65535) {
      throw new DfpParamError('port', `port parameter: "${port}" is not a port number (1-65535)`);
    }
    p.port = Number(port);
  }
  const search = q.get('reqPathSearch');
  const replace = q.get('reqPathReplace');
  if ((search === null) !== (replace === null)) {
    const missing = search === null ? 'reqPathSearch' : 'reqPathReplace';
    throw new DfpParamError(missing, `${missing} parameter is mandatory when ${missing === 'reqPathSearch' ? 'reqPathReplace' : 'reqPathSearch'} is given`);
  }
  if (search !== null && replace !== null) {
    // Checked here with the engine replacePathRegex uses, so a registration that passes compiles there too.
    try {
      compileGoRegexp(search);
    } catch (err) {
      if (!(err instanceof GoRegexpError)) throw err;
      throw new DfpParamError('reqPathSearch', `reqPathSearch parameter: not a regular expression: ${err.message}`);
    }
    p.reqPathSearch = search;
    p.reqPathReplace = replace;
  }
  for (const entry of list(q.get('users'))) {
    const i = entry.indexOf(':');
    if (i <= 0 || i === entry.length - 1) throw new DfpParamError('users', `users parameter: "${entry.split(':')[0]}" must be written user:password`);
    p.users.push({ user: entry.slice(0, i), password: entry.slice(i + 1) });
  }
  const session = q.get('sessionType');
  if (session !== null && session !== '') {
    if (session !== 'sticky') throw new DfpParamError('sessionType', `sessionType parameter: only "sticky" is supported, not "${session}"`);
    p.sessionType = 'sticky';
  }
  const outbound = q.get('outboundHostname');
  if (outbound !== null && outbound !== '') {
    if (!HOST_RE.test(outbound) || outbound.startsWith('*')) throw new DfpParamError('outboundHostname', `outboundHostname parameter: "${outbound}" is not a host name`);
    p.outboundHostname = outbound;
  }
  if (p.redirectFromDomain.length > 0 && p.serviceDomain.length === 0) {
    throw new DfpParamError('redirectFromDomain', 'redirectFromDomain parameter needs serviceDomain (the domain to redirect to)');
  }
  if (servicePath.length === 0 && serviceDomain.length === 0) {
    // Docker Flow Proxy answers this one with 409 Conflict (proxy.IsValidReconf).
    throw new DfpParamError('servicePath', 'When using reqMode http, servicePath or serviceDomain are mandatory', 409);
  }
  return p;
}

function hostMatcher(h: string): string {
  if (h.startsWith('*.')) return `HostRegexp(\`^[^.]+${h.slice(1).replace(/\./g, '\\.')}$\`)`;
  return `Host(\`${h}\`)`;
}

function anyOf(parts: string[]): string {
  return parts.length === 1 ? parts[0]! : `(${parts.join(' || ')})`;
}

/** ruleOf is the registration's router rule. */
export function ruleOf(r: Pick<DfpRegistration, 'servicePath' | 'serviceDomain'>): string {
  const parts: string[] = [];
  if (r.serviceDomain.length > 0) parts.push(anyOf(r.serviceDomain.map(hostMatcher)));
  if (r.servicePath.length > 0) parts.push(anyOf(r.servicePath.map((p) => `PathPrefix(\`${p}\`)`)));
  return parts.join(' && ');
}

/** serversOf: registry instances when a registry knows the service, else the overlay-network name and port. */
export function serversOf(r: DfpRegistration, registries: readonly InstanceRegistry[]): string[] {
  const known = lookupInstances(registries, r.serviceName);
  if (known !== null) return known.urls;
  if (r.port !== undefined) return [`http://${r.outboundHostname ?? r.serviceName}:${r.port}`];
  return [];
}

type Obj = Record<string, Record<string, unknown>>;

/** buildDfpConfig turns every registration into routers, services and middlewares. */
export function buildDfpConfig(regs: Record<string, DfpRegistration>, registries: readonly InstanceRegistry[]): DynamicConfig {
  const routers: Obj = {};
  const services: Obj = {};
  const middlewares: Obj = {};
  for (const name of Object.keys(regs).sort()) {
    const r = regs[name]!;
    const lb: Record<string, unknown> = { servers: serversOf(r, registries).map((url) => ({ url })) };
    if (r.sessionType === 'sticky') lb['sticky'] = { cookie: { name: `gantry_${name.replace(/[^A-Za-z0-9_]/g, '_')}`, httpOnly: true } };
    services[name] = { loadBalancer: lb };
    const mws: string[] = [];
    if (r.httpsOnly) {
      middlewares[`${name}-https-only`] = { redirectScheme: { scheme: 'https', permanent: true } };
      mws.push(`${name}-https-only`);
    }
    if (r.users.length > 0) {
      middlewares[`${name}-users`] = { basicAuth: { users: [...r.users], realm: name } };
      mws.push(`${name}-users`);
    }
    if (r.reqPathSearch !== undefined && r.reqPathReplace !== undefined) {
      middlewares[`${name}-req-path`] = { replacePathRegex: { regex: r.reqPathSearch, replacement: r.reqPathReplace } };
      mws.push(`${name}-req-path`);
    }
    const router: Record<string, unknown> = { rule: ruleOf(r), service: name };
    if (mws.length > 0) router['middlewares'] = mws;
    routers[name] = router;
    if (r.redirectFromDomain.length > 0) {
      const target = r.serviceDomain[0]!;
      middlewares[`${name}-redirect-from`] = { redirectRegex: { regex: '^(https?)://[^/]+(.*)$', replacement: `$1://${target}$2`, permanent: true } };
      routers[`${name}-redirect-from`] = { rule: anyOf(r.redirectFromDomain.map(hostMatcher)), service: name, middlewares: [`${name}-redirect-from`] };
    }
  }
  const http: Record<string, Obj> = {};
  if (Object.keys(routers).length > 0) http['routers'] = routers;
  if (Object.keys(services).length > 0) http['services'] = services;
  if (Object.keys(middlewares).length > 0) http['middlewares'] = middlewares;
  return Object.keys(http).length > 0 ? ({ http } as DynamicConfig) : {};
}

/** dfpView is a registration in Docker Flow Proxy's JSON shape (proxy.Service with one ServiceDest). */
export function dfpView(r: DfpRegistration | DfpParams): Record<string, unknown> {
  return {
    ServiceName: r.serviceName,
    ServiceDest: [
      {
        Port: r.port === undefined ? '' : String(r.port),
        ServicePath: r.servicePath,
        ServiceDomain: r.serviceDomain,
        ReqMode: 'http',
        ReqPathSearch: r.reqPathSearch ?? '',
        ReqPathReplace: r.reqPathReplace ?? '',
        HttpsOnly: r.httpsOnly,
        RedirectFromDomain: r.redirectFromDomain,
        OutboundHostname: r.outboundHostname ?? '',
      },
    ],
    SessionType: r.sessionType ?? '',
    Users: r.users.map((u) => ({ Username: typeof u === 'string' ? u.slice(0, u.indexOf(':')) : u.user })),
  };
}
