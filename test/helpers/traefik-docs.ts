/**
 * Completing Traefik's documentation examples (test/integration/testdata/traefik-docs) so that
 * each can be checked alone. An example shows the options it is about and nothing else: a router
 * names a service defined in another example, a forwardAuth fragment leaves out its `address`
 * ("# ..."). completeExample adds, without changing anything the example sets:
 *
 * - a stub for every referenced object the example does not define (services, middlewares, TCP
 *   services), named as referenced; stub services have a health check so that a parent with
 *   `healthCheck: {}` accepts them;
 * - a stub service for a router that has none (unless it is a parent of another router);
 * - the required options a middleware fragment leaves out (ELIDED), with neutral values.
 *
 * Every addition is listed in the returned `added`, so a reader sees what the test supplied.
 * Keys are matched case-insensitively, as Gantry and Traefik read them.
 */

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Neutral values for the required options of middlewares whose examples show only one option. */
export const ELIDED: Readonly<Record<string, Obj>> = {
  forwardAuth: { address: 'http://127.0.0.1:1/auth' },
  redirectScheme: { scheme: 'https' },
  ipAllowList: { sourceRange: ['127.0.0.1/32'] },
  ipWhiteList: { sourceRange: ['127.0.0.1/32'] },
  inFlightReq: { amount: 10 },
};

export const STUB_SERVICE: Obj = { loadBalancer: { servers: [{ url: 'http://127.0.0.1:1' }], healthCheck: { path: '/health' } } };
export const STUB_MIDDLEWARE: Obj = { headers: { customRequestHeaders: { 'X-Docs-Stub': 'yes' } } };
export const STUB_TCP_SERVICE: Obj = { loadBalancer: { servers: [{ address: '127.0.0.1:1' }] } };
export const STUB_TCP_MIDDLEWARE: Obj = { ipAllowList: { sourceRange: ['127.0.0.1/32'] } };

/** get reads a key case-insensitively. */
function get(o: unknown, key: string): unknown {
  if (!isObj(o)) return undefined;
  if (key in o) return o[key];
  const k = Object.keys(o).find((x) => x.toLowerCase() === key.toLowerCase());
  return k === undefined ? undefined : o[k];
}

/** section returns o[key] (case-insensitively), creating an empty mapping when absent. */
function section(o: Obj, key: string): Obj {
  const k = Object.keys(o).find((x) => x.toLowerCase() === key.toLowerCase()) ?? key;
  if (!isObj(o[k])) o[k] = {};
  return o[k] as Obj;
}

const names = (v: unknown): string[] => (Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : typeof v === 'string' ? v.split(',').map((s) => s.trim()) : []);

export function completeExample(input: Obj): { doc: Obj; added: string[] } {
  const doc = structuredClone(input);
  const added: string[] = [];
  const http = isObj(get(doc, 'http')) ? (get(doc, 'http') as Obj) : null;
  const tcp = isObj(get(doc, 'tcp')) ? (get(doc, 'tcp') as Obj) : null;

  if (http !== null) {
    const routers = isObj(get(http, 'routers')) ? (get(http, 'routers') as Obj) : {};
    const services = new Set<string>();
    const middlewares = new Set<string>();
    const parents = new Set<string>();
    for (const r of Object.values(routers)) for (const p of names(get(r, 'parentRefs'))) parents.add(p);
    for (const [name, r] of Object.entries(routers)) {
      if (!isObj(r)) continue;
      const svc = get(r, 'service');
      if (typeof svc === 'string') services.add(svc);
      else if (svc === undefined && !parents.has(name)) {
        r.service = 'docs-stub-service';
        services.add('docs-stub-service');
        added.push(`http.routers.${name}.service`);
      }
      for (const m of names(get(r, 'middlewares'))) middlewares.add(m);
    }
    for (const s of Object.values(isObj(get(http, 'services')) ? (get(http, 'services') as Obj) : {})) {
      for (const m of names(get(s, 'middlewares'))) middlewares.add(m);
      for (const kind of ['weighted', 'highestRandomWeight']) {
        const children = get(get(s, kind), 'services');
        if (Array.isArray(children)) for (const c of children) if (typeof get(c, 'name') === 'string') services.add(get(c, 'name') as string);
      }
      const mirroring = get(s, 'mirroring');
      if (typeof get(mirroring, 'service') === 'string') services.add(get(mirroring, 'service') as string);
      const mirrors = get(mirroring, 'mirrors');
      if (Array.isArray(mirrors)) for (const m of mirrors) if (typeof get(m, 'name') === 'string') services.add(get(m, 'name') as string);
      const failover = get(s, 'failover');
      for (const k of ['service', 'fallback']) if (typeof get(failover, k) === 'string') services.add(get(failover, k) as string);
    }
    for (const [name, m] of Object.entries(isObj(get(http, 'middlewares')) ? (get(http, 'middlewares') as Obj) : {})) {
      if (!isObj(m)) continue;
      for (const x of names(get(get(m, 'chain'), 'middlewares'))) middlewares.add(x);
      for (const [type, options] of Object.entries(m)) {
        const elided = Object.entries(ELIDED).find(([t]) => t.toLowerCase() === type.toLowerCase())?.[1];
        if (elided === undefined) continue;
        const opts = isObj(options) ? options : (m[type] = {});
        for (const [k, v] of Object.entries(elided)) {
          if (get(opts, k) !== undefined) continue;
          (opts as Obj)[k] = structuredClone(v);
          added.push(`http.middlewares.${name}.${type}.${k}`);
        }
        if (typeof get(opts, 'service') === 'string') services.add(get(opts, 'service') as string);
      }
    }
    const definedServices = isObj(get(http, 'services')) ? Object.keys(get(http, 'services') as Obj) : [];
    for (const s of services) {
      if (s.includes('@') || definedServices.includes(s)) continue;
      section(http, 'services')[s] = structuredClone(STUB_SERVICE);
      added.push(`http.services.${s}`);
    }
    const definedMiddlewares = isObj(get(http, 'middlewares')) ? Object.keys(get(http, 'middlewares') as Obj) : [];
    for (const m of middlewares) {
      if (m.includes('@') || definedMiddlewares.includes(m)) continue;
      section(http, 'middlewares')[m] = structuredClone(STUB_MIDDLEWARE);
      added.push(`http.middlewares.${m}`);
    }
  }

  if (tcp !== null) {
    const services = new Set<string>();
    const middlewares = new Set<string>();
    for (const r of Object.values(isObj(get(tcp, 'routers')) ? (get(tcp, 'routers') as Obj) : {})) {
      if (typeof get(r, 'service') === 'string') services.add(get(r, 'service') as string);
      for (const m of names(get(r, 'middlewares'))) middlewares.add(m);
    }
    for (const s of Object.values(isObj(get(tcp, 'services')) ? (get(tcp, 'services') as Obj) : {})) {
      const children = get(get(s, 'weighted'), 'services');
      if (Array.isArray(children)) for (const c of children) if (typeof get(c, 'name') === 'string') services.add(get(c, 'name') as string);
    }
    const definedServices = isObj(get(tcp, 'services')) ? Object.keys(get(tcp, 'services') as Obj) : [];
    for (const s of services) {
      if (s.includes('@') || definedServices.includes(s)) continue;
      section(tcp, 'services')[s] = structuredClone(STUB_TCP_SERVICE);
      added.push(`tcp.services.${s}`);
    }
    const definedMiddlewares = isObj(get(tcp, 'middlewares')) ? Object.keys(get(tcp, 'middlewares') as Obj) : [];
    for (const m of middlewares) {
      if (m.includes('@') || definedMiddlewares.includes(m)) continue;
      section(tcp, 'middlewares')[m] = structuredClone(STUB_TCP_MIDDLEWARE);
      added.push(`tcp.middlewares.${m}`);
    }
  }
  return { doc, added };
}
