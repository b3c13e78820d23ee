/**
 * Migration dialects, each turned into the same dynamic model as native labels:
 * Traefik v1 (`traefik.frontend.rule=Host:a.com;PathPrefixStrip:/x`, `traefik.backend`, `traefik.port`),
 * Docker Flow Proxy (`com.df.*`) and nginx-proxy's environment (`VIRTUAL_HOST` …).
 *
 * Servers are written as placeholders (`{}` or `{ port, scheme }`); resolveServers (servers.ts) fills
 * in the container's address, exactly as for native `loadbalancer.server.port` labels.
 */
import type { ProviderError } from '../../providers/provider.js';
import type { DynamicConfig } from '../dynamic/schema.js';
import { compareOrdinal } from '../../ordinal.js';

export interface DialectResult {
  config: DynamicConfig;
  errors: ProviderError[];
}

/** Options the dialects need from the provider. */
export interface DialectOptions {
  /** certResolver given to routers of containers with LETSENCRYPT_HOST (default "letsencrypt"). */
  certResolver?: string;
}

type Obj = Record<string, unknown>;

/** lowerKeys indexes labels by lower-cased key (Docker label keys are case-sensitive; dialects are not). */
function lowerKeys(labels: Record<string, string>): Map<string, [string, string]> {
  const m = new Map<string, [string, string]>();
  for (const [k, v] of Object.entries(labels)) m.set(k.toLowerCase(), [k, v]);
  return m;
}

function list(v: string): string[] {
  return v
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');
}

function quote(v: string): string {
  return '`' + v + '`';
}

function anyOf(parts: string[]): string {
  return parts.length === 1 ? parts[0]! : '(' + parts.join(' || ') + ')';
}

function allOf(parts: string[]): string {
  if (parts.length === 1) return stripParens(parts[0]!);
  return parts.join(' && ');
}

function stripParens(rule: string): string {
  // A lone group needs no parentheses: "(A || B)" → "A || B".
  if (rule.startsWith('(') && rule.endsWith(')')) {
    let depth = 0;
    for (let i = 0; i < rule.length; i++) {
      if (rule[i] === '(') depth++;
      else if (rule[i] === ')') depth--;
      if (depth === 0 && i < rule.length - 1) return rule;
    }
    return rule.slice(1, -1);
  }
  return rule;
}

/** hostMatcher writes Host(`a`), or HostRegexp for a `*.example.com` wildcard (DFP and nginx-proxy allow it). */
export function hostMatcher(host: string): string {
  if (host.startsWith('*.')) {
    const rest = host.slice(2).replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
    return `HostRegexp(${quote(`^[^.]+\\.${rest}$`)})`;
  }
  if (host.startsWith('~')) return `HostRegexp(${quote(host.slice(1))})`;
  return `Host(${quote(host)})`;
}

function numberOrError(key: string, v: string, errors: ProviderError[]): number | undefined {
  const n = Number(v.trim());
  if (v.trim() === '' || !Number.isInteger(n) || n < 0) {
    errors.push({ source: key, message: `label "${key}": ${JSON.stringify(v)} is not a port number` });
    return undefined;
  }
  return n;
}

function server(port: number | undefined, scheme?: string, weight?: number): Obj {
  const s: Obj = {};
  if (port !== undefined) s['port'] = port;
  if (scheme) s['scheme'] = scheme;
  if (weight !== undefined) s['weight'] = weight;
  return s;
}

const V1_KEYS = /^traefik\.(frontend\.|backend$|backend\.|port$|protocol$|weight$)/;

/** hasTraefikV1 tells whether any Traefik v1 key is present. */
export function hasTraefikV1(labels: Record<string, string>): boolean {
  return Object.keys(labels).some((k) => V1_KEYS.test(k.toLowerCase()));
}

/**
 * traefikV1 converts Traefik 1.x container labels. `frontend.rule` is `;`-separated matchers, each
 * `Name:value[,value]` (values of one matcher are alternatives). `PathPrefixStrip` / `PathStrip`
 * become PathPrefix / Path plus a stripPrefix middleware, `AddPrefix` an addPrefix middleware.
 */
export function traefikV1(labels: Record<string, string>, defaultName: string): DialectResult {
  // Segments (`traefik.<segment>.frontend.rule`, `traefik.<segment>.port` …) are further
  // frontend/backend pairs named `<backend>-<segment>`, each converted like the unsegmented labels.
  const base: Record<string, string> = {};
  const segments = new Map<string, Record<string, string>>();
  for (const [k, v] of Object.entries(labels)) {
    const m = /^traefik\.([^.]+)\.(frontend\..+|port|protocol|weight|backend)$/i.exec(k);
    if (m && !V1_RESERVED.has(m[1]!.toLowerCase())) {
      const seg = segments.get(m[1]!) ?? {};
      seg[`traefik.${m[2]}`] = v;
      segments.set(m[1]!, seg);
    } else {
      base[k] = v;
    }
  }
  if (segments.size === 0) return traefikV1Segment(labels, defaultName);
  const backend = lowerKeys(base).get('traefik.backend')?.[1].trim() || defaultName;
  // With segments, the unsegmented labels make a pair of their own only if they give a rule or a port.
  const baseUsed = Object.keys(base).some((k) => /^traefik\.(frontend\.rule|port)$/i.test(k));
  const results = baseUsed ? [traefikV1Segment(base, defaultName)] : [];
  for (const [seg, segLabels] of [...segments].sort(([a], [b]) => compareOrdinal(a, b))) results.push(traefikV1Segment(segLabels, `${backend}-${seg}`));
  return { config: union(results.map((r) => r.config)), errors: results.flatMap((r) => r.errors) };
}

/** Second-level keys of Traefik v1 and v2 that are not segment names. */
const V1_RESERVED = new Set(['frontend', 'backend', 'port', 'protocol', 'weight', 'enable', 'docker', 'http', 'tcp', 'udp', 'tags', 'domain']);

function traefikV1Segment(labels: Record<string, string>, defaultName: string): DialectResult {
  const errors: ProviderError[] = [];
  if (!hasTraefikV1(labels)) return { config: {}, errors };
  const l = lowerKeys(labels);
  const get = (k: string): [string, string] | undefined => l.get(k);
  const name = get('traefik.backend')?.[1].trim() || defaultName;
  const port = get('traefik.port') ? numberOrError(get('traefik.port')![0], get('traefik.port')![1], errors) : undefined;
  const weight = get('traefik.weight') ? numberOrError(get('traefik.weight')![0], get('traefik.weight')![1], errors) : undefined;
  const lb: Obj = { servers: [server(port, get('traefik.protocol')?.[1].trim(), weight)] };
  const phh = get('traefik.frontend.passhostheader');
  if (phh) lb['passHostHeader'] = phh[1].trim().toLowerCase() !== 'false';
  if (get('traefik.backend.loadbalancer.stickiness')?.[1].trim().toLowerCase() === 'true' || get('traefik.backend.loadbalancer.sticky')?.[1].trim().toLowerCase() === 'true') {
    const cookie: Obj = {};
    const cn = get('traefik.backend.loadbalancer.stickiness.cookiename');
    if (cn) cookie['name'] = cn[1].trim();
    lb['sticky'] = { cookie };
  }
  const hcPath = get('traefik.backend.healthcheck.path');
  if (hcPath) {
    const hc: Obj = { path: hcPath[1].trim() };
    const iv = get('traefik.backend.healthcheck.interval');
    if (iv) hc['interval'] = iv[1].trim();
    lb['healthCheck'] = hc;
  }
  const config: DynamicConfig = { http: { services: { [name]: { loadBalancer: lb } } } };
  const ruleLabel = get('traefik.frontend.rule');
  if (!ruleLabel) return { config, errors };

  const middlewares: Record<string, unknown> = {};
  const used: string[] = [];
  const conj: string[] = [];
  const [ruleKey, ruleText] = ruleLabel;
  for (const part of ruleText.split(';')) {
    const p = part.trim();
    if (p === '') continue;
    const colon = p.indexOf(':');
    if (colon <= 0) {
      errors.push({ path: `http.routers.${name}`, source: ruleKey, message: `label "${ruleKey}": "${p}" is not Matcher:value` });
      return { config, errors };
    }
    const matcher = p.slice(0, colon).trim().toLowerCase();
    const values = list(p.slice(colon + 1));
    if (values.length === 0) {
      errors.push({ path: `http.routers.${name}`, source: ruleKey, message: `label "${ruleKey}": "${p}" has no value` });
      return { config, errors };
    }
    switch (matcher) {
      case 'host':
        conj.push(anyOf(values.map(hostMatcher)));
        break;
      case 'hostregexp':
        conj.push(anyOf(values.map((v) => `HostRegexp(${quote(v)})`)));
        break;
      case 'path':
      case 'pathstrip':
        conj.push(anyOf(values.map((v) => `Path(${quote(v)})`)));
        break;
      case 'pathprefix':
      case 'pathprefixstrip':
        conj.push(anyOf(values.map((v) => `PathPrefix(${quote(v)})`)));
        break;
      case 'method':
        conj.push(anyOf(values.map((v) => `Method(${quote(v.toUpperCase())})`)));
        break;
      case 'headers':
        if (values.length !== 2) {
          errors.push({ path: `http.routers.${name}`, source: ruleKey, message: `label "${ruleKey}": Headers needs name,value` });
          return { config, errors };
        }
        conj.push(`Header(${quote(values[0]!)}, ${quote(values[1]!)})`);
        break;
      case 'query':
        conj.push(
          anyOf(
            values.map((v) => {
              const eq = v.indexOf('=');
              return eq < 0 ? `Query(${quote(v)})` : `Query(${quote(v.slice(0, eq))}, ${quote(v.slice(eq + 1))})`;
            }),
          ),
        );
        break;
      case 'addprefix':
        middlewares[`${name}-addprefix`] = { addPrefix: { prefix: values[0]! } };
        used.push(`${name}-addprefix`);
        break;
      case 'replacepath':
        middlewares[`${name}-replacepath`] = { replacePath: { path: values[0]! } };
        used.push(`${name}-replacepath`);
        break;
      default:
        errors.push({ path: `http.routers.${name}`, source: ruleKey, message: `label "${ruleKey}": unknown Traefik v1 matcher "${p.slice(0, colon)}"` });
        return { config, errors };
    }
    if (matcher === 'pathstrip' || matcher === 'pathprefixstrip') {
      middlewares[`${name}-stripprefix`] = { stripPrefix: { prefixes: values } };
      used.unshift(`${name}-stripprefix`);
    }
  }
  if (conj.length === 0) {
    errors.push({ path: `http.routers.${name}`, source: ruleKey, message: `label "${ruleKey}": no matcher in rule` });
    return { config, errors };
  }
  const router: Obj = { rule: allOf(conj), service: name };
  const eps = get('traefik.frontend.entrypoints');
  if (eps) router['entryPoints'] = list(eps[1]);
  const prio = get('traefik.frontend.priority');
  if (prio) {
    const n = numberOrError(prio[0], prio[1], errors);
    if (n !== undefined) router['priority'] = n;
  }
  const permanent = get('traefik.frontend.redirect.permanent')?.[1].trim().toLowerCase() === 'true';
  const redirectEp = get('traefik.frontend.redirect.entrypoint');
  const redirectRe = get('traefik.frontend.redirect.regex');
  if (redirectEp) {
    // v1 redirected to an entry point; in practice always the HTTPS one.
    const ep = redirectEp[1].trim().toLowerCase();
    middlewares[`${name}-redirect`] = { redirectScheme: { scheme: ep === 'http' || ep === 'web' ? 'http' : 'https', permanent } };
    used.unshift(`${name}-redirect`);
  } else if (redirectRe) {
    const replacement = get('traefik.frontend.redirect.replacement')?.[1] ?? '';
    middlewares[`${name}-redirect`] = { redirectRegex: { regex: redirectRe[1], replacement, permanent } };
    used.unshift(`${name}-redirect`);
  }
  const users = get('traefik.frontend.auth.basic.users') ?? get('traefik.frontend.auth.basic');
  if (users) {
    middlewares[`${name}-auth`] = { basicAuth: { users: list(users[1]) } };
    used.push(`${name}-auth`);
  }
  if (used.length > 0) router['middlewares'] = used;
  config.http!.routers = { [name]: router };
  if (Object.keys(middlewares).length > 0) config.http!.middlewares = middlewares;
  return { config, errors };
}

/**
 * dockerFlowProxy converts `com.df.*` labels (only with `com.df.notify=true`, as Docker Flow
 * Swarm Listener requires). servicePath values are path prefixes (HAProxy `path_beg`). Indexed
 * labels (`com.df.servicePath.1`, `com.df.port.1` …) are further destinations of the same service,
 * each its own router and service `<name>-<index>`; an indexed destination falls back to the
 * unindexed label for what it does not set.
 */
export function dockerFlowProxy(labels: Record<string, string>, defaultName: string): DialectResult {
  const errors: ProviderError[] = [];
  const l = lowerKeys(labels);
  if (l.get('com.df.notify')?.[1].trim().toLowerCase() !== 'true') return { config: {}, errors };
  const name = l.get('com.df.servicename')?.[1].trim() || defaultName;
  const indices = new Set<string>();
  for (const k of l.keys()) {
    const m = /^com\.df\.[a-z]+\.(\d+)$/.exec(k);
    if (m) indices.add(m[1]!);
  }
  const parts: DynamicConfig[] = [dfDestination((k) => l.get('com.df.' + k), name, errors)];
  for (const i of [...indices].sort((x, y) => Number(x) - Number(y))) {
    parts.push(dfDestination((k) => l.get(`com.df.${k}.${i}`) ?? l.get('com.df.' + k), `${name}-${i}`, errors));
  }
  return { config: union(parts), errors };
}

function dfDestination(entry: (key: string) => [string, string] | undefined, name: string, errors: ProviderError[]): DynamicConfig {
  const get = (k: string): string | undefined => entry(k)?.[1];
  const portLabel = entry('port');
  const port = portLabel ? numberOrError(portLabel[0], portLabel[1], errors) : undefined;
  const lb: Obj = { servers: [server(port)] };
  if (get('sessiontype')?.trim().toLowerCase() === 'sticky') lb['sticky'] = { cookie: {} };
  const config: DynamicConfig = { http: { services: { [name]: { loadBalancer: lb } } } };

  const conj: string[] = [];
  const domains = list(get('servicedomain') ?? '');
  if (domains.length > 0) conj.push(anyOf(domains.map(hostMatcher)));
  const paths = list(get('servicepath') ?? '');
  if (paths.length > 0) conj.push(anyOf(paths.map((p) => `PathPrefix(${quote(p)})`)));
  if (conj.length === 0) return config;

  const middlewares: Record<string, unknown> = {};
  const used: string[] = [];
  if (get('httpsonly')?.trim().toLowerCase() === 'true') {
    middlewares[`${name}-https`] = { redirectScheme: { scheme: 'https', permanent: true } };
    used.push(`${name}-https`);
  }
  let search = get('reqpathsearch');
  let replace = get('reqpathreplace');
  const both = get('reqpathsearchreplace');
  if (both !== undefined && search === undefined) {
    const comma = both.indexOf(',');
    search = comma < 0 ? both : both.slice(0, comma);
    replace = comma < 0 ? '' : both.slice(comma + 1);
  }
  if (search !== undefined && search !== '') {
    // HAProxy's reqrep writes back-references as \1; Go's regexp.ReplaceAll (and ours) as $1.
    middlewares[`${name}-replacepath`] = { replacePathRegex: { regex: search, replacement: (replace ?? '').replace(/\\(\d)/g, '$$$1') } };
    used.push(`${name}-replacepath`);
  }
  const router: Obj = { rule: allOf(conj), service: name };
  if (used.length > 0) router['middlewares'] = used;
  config.http!.routers = { [name]: router };
  if (used.length > 0) config.http!.middlewares = middlewares;
  return config;
}

/** union joins configurations whose element names do not overlap (later wins if they do). */
function union(parts: DynamicConfig[]): DynamicConfig {
  const out: Record<string, Record<string, Obj>> = {};
  for (const p of parts) {
    for (const [section, sec] of Object.entries(p as Record<string, Record<string, Obj> | undefined>)) {
      if (!sec) continue;
      const o = (out[section] ??= {});
      for (const [kind, elements] of Object.entries(sec)) o[kind] = { ...(o[kind] ?? {}), ...elements };
    }
  }
  return out as DynamicConfig;
}

/** envMap reads Docker's `Config.Env` (`["K=V", …]`) into a map. */
export function envMap(env: readonly string[] | null | undefined): Record<string, string> {
  const m: Record<string, string> = {};
  for (const e of env ?? []) {
    const eq = e.indexOf('=');
    if (eq > 0) m[e.slice(0, eq)] = e.slice(eq + 1);
  }
  return m;
}

/**
 * nginxProxy converts nginx-proxy's environment: VIRTUAL_HOST (comma list), VIRTUAL_PORT,
 * VIRTUAL_PATH, VIRTUAL_PROTO; LETSENCRYPT_HOST adds a second router `<name>-secure` with TLS from
 * the configured certResolver, as acme-companion adds an HTTPS server block.
 */
export function nginxProxy(env: Record<string, string>, defaultName: string, opts: DialectOptions = {}): DialectResult {
  const errors: ProviderError[] = [];
  const hosts = list(env['VIRTUAL_HOST'] ?? '');
  if (hosts.length === 0) return { config: {}, errors };
  const name = defaultName;
  const port = env['VIRTUAL_PORT'] !== undefined ? numberOrError('VIRTUAL_PORT', env['VIRTUAL_PORT'], errors) : undefined;
  const proto = env['VIRTUAL_PROTO']?.trim();
  const lb: Obj = { servers: [server(port, proto === 'https' ? 'https' : undefined)] };
  const conj = [anyOf(hosts.map(hostMatcher))];
  const path = env['VIRTUAL_PATH']?.trim();
  if (path) conj.push(path.startsWith('~') ? `PathRegexp(${quote(path.slice(1).trim())})` : `PathPrefix(${quote(path)})`);
  const rule = allOf(conj);
  const routers: Record<string, unknown> = { [name]: { rule, service: name } };
  const le = list(env['LETSENCRYPT_HOST'] ?? '');
  if (le.length > 0) {
    const domain: Obj = { main: le[0]! };
    if (le.length > 1) domain['sans'] = le.slice(1);
    routers[`${name}-secure`] = { rule, service: name, tls: { certResolver: opts.certResolver ?? 'letsencrypt', domains: [domain] } };
  }
  return { config: { http: { routers, services: { [name]: { loadBalancer: lb } } } }, errors };
}
