/**
 * validateDynamic checks a provider's dynamic configuration element by element — each router,
 * service, middleware, TCP router and service, and TLS certificate against its own schema — so
 * that one bad element is dropped and reported with its full path while the rest is served
 * (Traefik's runtime `AddError` habit). Router rules are parsed here too; references between
 * elements are not, since they can point into other providers (see referenceErrors).
 */
import { isDeepStrictEqual } from 'node:util';
import * as z from '../zod.js';
import { RuleSyntaxError } from '../../errors.js';
import { middlewareFactory, middlewareTypes } from '../../middlewares/registry.js';
import { UNSUPPORTED_MIDDLEWARES } from '../../middlewares/unsupported.js';
import { parseRule } from '../../router/rule/parser.js';
import { translateV2Rule } from '../../router/rule/v2.js';
import { tcpMiddlewareSchemas } from '../../tcp/middlewares.js';
import { explainIssues, formatPath } from '../static/zodtree.js';
import { closest, didYouMean } from '../suggest.js';
import { findRefused, refusalMessage } from '../refused.js';
import { canonicalDynamic } from './canonical-config.js';
import {
  httpProfileSchema,
  httpRouterSchema,
  httpServiceSchema,
  tcpRouterSchema,
  tcpServiceSchema,
  tlsCertificateSchema,
  tlsOptionsSchema,
  type HttpMiddlewareConfig,
  type HttpProfileConfig,
  type HttpRouterConfig,
  type HttpServiceConfig,
  type TcpRouterConfig,
  type TcpServiceConfig,
  type TlsCertificateConfig,
} from './schema.js';
import { serversTransportSchema, tcpServersTransportSchema, tlsStoreSchema, type ServersTransportSchemaConfig, type TcpServersTransportConfig, type TlsStoreConfig } from './transports.js';

/** ElementError is one problem: `path` names the element, `message` is the full text with the exact place. */
export interface ElementError {
  /** The element: `http.routers.demo`, `tls.certificates[0]`, or a section (`http.routrs`). */
  readonly path: string;
  /** `http.routers.demo.rule: unknown matcher "Hots" at 1`. */
  readonly message: string;
}

type Rec<T> = Readonly<Record<string, T>>;

/**
 * ValidDynamicConfig holds only the elements that passed, every section present (maybe empty),
 * deeply frozen. A middleware is `{ <type>: options }` with options as its factory's schema
 * parsed them (for `chain`: `{ middlewares: string[] }`).
 */
export interface ValidDynamicConfig {
  readonly http: {
    readonly routers: Rec<HttpRouterConfig>;
    readonly services: Rec<HttpServiceConfig>;
    readonly middlewares: Rec<HttpMiddlewareConfig>;
    readonly serversTransports: Rec<ServersTransportSchemaConfig>;
    /** Router defaults pulled in by a router's `profile` (see httpProfileSchema). */
    readonly profiles: Rec<HttpProfileConfig>;
  };
  readonly tcp: {
    readonly routers: Rec<TcpRouterConfig>;
    readonly services: Rec<TcpServiceConfig>;
    readonly middlewares: Rec<unknown>;
    readonly serversTransports: Rec<TcpServersTransportConfig>;
  };
  readonly udp: Rec<unknown>;
  readonly tls: {
    readonly certificates: readonly TlsCertificateConfig[];
    readonly options: Rec<unknown>;
    readonly stores: Rec<TlsStoreConfig>;
  };
}

export const chainSchema = z.strictObject({ middlewares: z.array(z.string().min(1)).min(1, 'lists no middlewares') });

const SECTIONS: Record<string, readonly string[]> = {
  http: ['routers', 'services', 'middlewares', 'serversTransports', 'profiles'],
  tcp: ['routers', 'services', 'middlewares', 'serversTransports'],
  udp: ['routers', 'services'],
  tls: ['certificates', 'options', 'stores'],
};

/** DYNAMIC_SECTIONS are the sections a dynamic configuration may have (the coverage test walks them). */
export const DYNAMIC_SECTIONS: Readonly<Record<string, readonly string[]>> = SECTIONS;

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

/** middlewareType returns the type key and options of a validated middleware. */
export function middlewareType(m: HttpMiddlewareConfig): [type: string, options: unknown] {
  const type = Object.keys(m)[0]!;
  return [type, m[type]];
}

/** What validating one element gave: its canonical definition, its valid form (if any) and errors. */
interface ElementOutcome {
  readonly def: unknown;
  /** For a router: whether another router names it in parentRefs (then it needs no service). */
  readonly parent: boolean;
  readonly data: unknown;
  readonly errors: readonly ElementError[];
}

/**
 * ValidationMemo carries each element's outcome from one validation of a provider's configuration
 * to the next: an element whose definition is deeply equal to the last one is not validated again,
 * and keeps the same (frozen) valid object, so the watcher can reuse what it built from it. A
 * one-router change to a 10,000-router file validates one router. Only the last validation's
 * elements are kept. It relies on providers never changing a configuration they have emitted.
 */
export class ValidationMemo {
  // By section (`http.routers`), then element name: names are property keys, hashed already.
  #previous = new Map<string, Map<string, ElementOutcome>>();
  #current = new Map<string, Map<string, ElementOutcome>>();

  /** begin starts a validation: the outcomes of the last one become the ones to recall. */
  begin(): void {
    this.#previous = this.#current;
    this.#current = new Map();
  }

  recall(section: string, name: string, def: unknown, parent: boolean): ElementOutcome | undefined {
    const o = this.#previous.get(section)?.get(name);
    if (o === undefined || o.parent !== parent || (o.def !== def && !isDeepStrictEqual(o.def, def))) return undefined;
    this.remember(section, name, o);
    return o;
  }

  /** end drops what the last validation had and this one did not meet again. */
  end(): void {
    this.#previous = new Map();
  }

  remember(section: string, name: string, outcome: ElementOutcome): void {
    let m = this.#current.get(section);
    if (m === undefined) this.#current.set(section, (m = new Map()));
    m.set(name, outcome);
  }
}

/**
 * `canonical: true` says the caller has passed the configuration through canonicalConfig already
 * (the watcher keeps that form as each element's raw configuration); it is not done twice.
 * `memo` lets unchanged elements skip validation (see ValidationMemo); one memo per provider.
 */
export function validateDynamic(config: unknown, opts: { canonical?: boolean; memo?: ValidationMemo } = {}): { config: ValidDynamicConfig; errors: ElementError[] } {
  const memo = opts.memo;
  memo?.begin();
  const errors: ElementError[] = [];
  const err = (path: string, at: string, message: string) => errors.push({ path, message: `${at}: ${message}` });
  const out = {
    http: { routers: {} as Obj, services: {} as Obj, middlewares: {} as Obj, serversTransports: {} as Obj, profiles: {} as Obj },
    tcp: { routers: {} as Obj, services: {} as Obj, middlewares: {} as Obj, serversTransports: {} as Obj },
    udp: {} as Obj,
    tls: { certificates: [] as unknown[], options: {} as Obj, stores: {} as Obj },
  };

  if (config !== null && config !== undefined && !isObj(config)) {
    err('', '(top level)', 'expected a mapping with http, tcp, udp or tls');
    memo?.end();
    return { config: deepFreeze(out) as ValidDynamicConfig, errors };
  }
  // Traefik's decoders match option names case-insensitively and read scalars as text: so do we.
  const top = (opts.canonical === true ? (config ?? {}) : canonicalConfig(config ?? {})) as Obj;
  // Parent routers (named by another router's parentRefs) are the only ones without a service.
  const parents = parentNames(top);
  // Options the schemas know but Gantry cannot honour yet (refused.ts): the section or element
  // that sets one is refused with the reason, as an invalid one would be.
  const refused = new Map<string, string[]>();
  for (const f of findRefused(top, Object.keys(SECTIONS))) {
    const s = f.segments;
    const key = s.length <= 2 ? s.join('.') : s[1] === 'certificates' ? `${s[0]}.${s[1]}[${s[2]}]` : `${s[0]}.${s[1]}.${s[2]}`;
    const list = refused.get(key) ?? [];
    list.push(`${formatPath('', s.map((x) => (typeof x === 'number' ? x : String(x))))}: ${refusalMessage(f.refusal)}`);
    refused.set(key, list);
  }
  const refuse = (path: string): boolean => {
    const msgs = refused.get(path);
    if (msgs === undefined) return false;
    for (const m of msgs) errors.push({ path, message: m });
    return true;
  };
  for (const [name, value] of Object.entries(top)) {
    const subs = SECTIONS[name];
    if (!subs) {
      err(name, name, `unknown section${didYouMean(name, Object.keys(SECTIONS))}`);
      continue;
    }
    if (value === null || value === undefined) continue;
    if (!isObj(value)) {
      err(name, name, `expected a mapping of ${subs.join(', ')}`);
      continue;
    }
    for (const [sub, v] of Object.entries(value)) {
      const path = `${name}.${sub}`;
      if (!subs.includes(sub)) {
        err(path, path, `unknown section${didYouMean(sub, subs)}`);
        continue;
      }
      if (v === null || v === undefined) continue;
      if (refuse(path)) continue;
      if (path === 'tls.certificates') {
        if (!Array.isArray(v)) err(path, path, 'expected a list of certificates');
        else v.forEach((c, i) => refuse(`${path}[${i}]`) || keep(tlsCertificateSchema, c, `${path}[${i}]`, (d) => out.tls.certificates.push(d)));
        continue;
      }
      if (!isObj(v)) {
        err(path, path, 'expected a mapping of names to definitions');
        continue;
      }
      const target = name === 'udp' ? ((out.udp[sub] = {}) as Obj) : ((out as unknown as Record<string, Obj>)[name]![sub] as Obj);
      for (const [el, def] of Object.entries(v)) {
        const elPath = `${path}.${el}`;
        if (el === '__proto__') {
          // Written into a plain object it would set a prototype, not add an element.
          err(elPath, elPath, 'this name is reserved: choose another');
          continue;
        }
        const parent = path === 'http.routers' && parents.has(el);
        const seen = memo?.recall(path, el, def, parent);
        if (seen !== undefined) {
          if (seen.data !== undefined) target[el] = seen.data;
          for (const e of seen.errors) errors.push(e);
          continue;
        }
        const before = errors.length;
        let data: unknown;
        const put = (d: unknown) => (target[el] = data = deepFreeze(d));
        validateElement(path, el, elPath, def, put);
        memo?.remember(path, el, { def, parent, data, errors: errors.slice(before) });
      }
    }
  }
  memo?.end();
  return { config: freezeOutput(out), errors };

  /** validateElement validates one element of a named section (`http.routers` …), stored with put when valid. */
  function validateElement(path: string, el: string, elPath: string, def: unknown, put: (d: unknown) => void): void {
    if (refuse(elPath)) return;
    switch (path) {
      case 'http.routers':
        router(httpRouterSchema, def, elPath, 'http', put);
        break;
      case 'tcp.routers':
        router(tcpRouterSchema, def, elPath, 'tcp', put);
        break;
      case 'http.services':
        keep(httpServiceSchema, def, elPath, put);
        break;
      case 'tcp.services':
        keep(tcpServiceSchema, def, elPath, put);
        break;
      case 'http.middlewares':
        middleware(def, elPath, put);
        break;
      case 'tcp.middlewares':
        tcpMiddleware(def, elPath, put);
        break;
      case 'udp.routers':
      case 'udp.services':
        // Accepting them would route nothing: say so instead.
        err(elPath, elPath, 'not supported yet (Gantry routes HTTP and TCP; UDP routers and services are not implemented)');
        break;
      case 'http.profiles':
        keep(httpProfileSchema, def, elPath, put);
        break;
      case 'tls.options':
        keep(tlsOptionsSchema, def, elPath, put);
        break;
      case 'http.serversTransports':
        keep(serversTransportSchema, def, elPath, put);
        break;
      case 'tcp.serversTransports':
        keep(tcpServersTransportSchema, def, elPath, put);
        break;
      case 'tls.stores':
        // Traefik has one TLS store: any other name would be a store nothing reads.
        if (el !== 'default') err(elPath, elPath, 'only the store named "default" exists');
        else keep(tlsStoreSchema, def, elPath, put);
        break;
      default:
        // Sections without a schema (tcp.middlewares, udp) pass through; config/refused.ts refuses them.
        put(structuredClone(def));
    }
  }

  /** keep validates one element and stores it when valid; it reports false otherwise. */
  function keep(schema: z.ZodType, value: unknown, path: string, put: (d: unknown) => void, at = path): boolean {
    const r = schema.safeParse(value);
    if (r.success) {
      put(r.data);
      return true;
    }
    for (const i of explainIssues(schema, r.error.issues)) err(path, formatPath(at, i.path), i.message);
    return false;
  }

  function router(schema: z.ZodType, value: unknown, path: string, kind: 'http' | 'tcp', put: (d: unknown) => void): void {
    let ok = true;
    const r = schema.safeParse(value);
    if (!r.success) {
      ok = false;
      for (const i of explainIssues(schema, r.error.issues)) err(path, formatPath(path, i.path), i.message);
    }
    let v3Rule: string | null = null;
    if (isObj(value)) {
      const syntax = typeof value.ruleSyntax === 'string' ? value.ruleSyntax.toLowerCase() : '';
      if (syntax !== '' && syntax !== 'v3' && syntax !== 'v2') {
        ok = false;
        err(path, `${path}.ruleSyntax`, `rule syntax "${String(value.ruleSyntax)}" is not supported (use v3, or v2 for Traefik v2 rules)`);
      }
      if (typeof value.rule === 'string' && value.rule.trim() !== '') {
        try {
          // A v2 rule is rewritten into the v3 rule that matches the same requests (router/rule/v2.ts).
          if (syntax === 'v2') v3Rule = translateV2Rule(value.rule, kind);
          parseRule(v3Rule ?? value.rule, kind);
        } catch (e) {
          ok = false;
          err(path, `${path}.rule`, e instanceof RuleSyntaxError ? e.message : String((e as Error).message ?? e));
        }
      }
      if (kind === 'http') ok = routerObservability(value.observability, path) && ok;
      if (kind === 'http' && value.service === undefined && !parents.has(path.slice('http.routers.'.length))) {
        ok = false;
        err(path, `${path}.service`, 'required (only a parent router, named by another router\'s parentRefs, has none)');
      }
      if (kind === 'http' && Array.isArray(value.parentRefs)) {
        // Multi-layer routing: a child is reached through its parents, which alone carry these.
        for (const k of ['entryPoints', 'tls', 'observability', 'profile']) {
          if (value[k] === undefined) continue;
          ok = false;
          err(path, `${path}.${k}`, `a router with parentRefs must not have ${k} (it is reached through its parents, which set it)`);
        }
      }
    }
    if (!ok || !r.success) return;
    const data = r.data as { rule: string; priority?: number };
    // Traefik's default priority is the length of the rule as written, v2 or not.
    if (v3Rule !== null) put({ ...data, rule: v3Rule, priority: data.priority ?? Buffer.byteLength(data.rule, 'utf8') });
    else put(data);
  }

  /** routerObservability refuses what Gantry cannot do: traces (it has no tracing). */
  function routerObservability(o: unknown, path: string): boolean {
    if (!isObj(o)) return true;
    if (o.tracing === true) {
      err(path, `${path}.observability.tracing`, 'not supported yet (Gantry has no tracing; only false is accepted)');
      return false;
    }
    if (o.traceVerbosity !== undefined && o.tracing !== false) {
      err(path, `${path}.observability.traceVerbosity`, 'not supported yet (Gantry has no tracing; accepted only with tracing: false)');
      return false;
    }
    return true;
  }

  function tcpMiddleware(value: unknown, path: string, put: (d: unknown) => void): void {
    const types = isObj(value) ? Object.keys(value) : [];
    if (!isObj(value) || types.length !== 1) {
      err(path, path, 'expected a mapping with one TCP middleware type: ipAllowList, ipWhiteList or inFlightConn');
      return;
    }
    const type = types[0]!;
    const schema = (tcpMiddlewareSchemas as Record<string, z.ZodType>)[type];
    if (schema === undefined) {
      const near = closest(type, Object.keys(tcpMiddlewareSchemas));
      err(path, `${path}.${type}`, `unknown TCP middleware type "${type}"${near ? ` (did you mean ${near}?)` : ''} (TCP has ipAllowList, ipWhiteList, inFlightConn)`);
      return;
    }
    keep(schema, value[type] ?? {}, path, (d) => put({ [type]: d }), `${path}.${type}`);
  }

  function middleware(value: unknown, path: string, put: (d: unknown) => void): void {
    if (!isObj(value)) {
      err(path, path, 'expected a mapping with one middleware type, e.g. stripPrefix');
      return;
    }
    const types = Object.keys(value);
    if (types.length !== 1) {
      err(path, path, types.length === 0 ? 'names no middleware type, e.g. stripPrefix' : `has ${types.length} types (${types.join(', ')}); a middleware has exactly one`);
      return;
    }
    const type = types[0]!;
    const options = value[type] ?? {}; // `compress:` with nothing under it means default options.
    const at = `${path}.${type}`;
    if (type === 'chain') {
      keep(chainSchema, options, path, (d) => put({ chain: d }), at);
      return;
    }
    const factory = middlewareFactory(type);
    if (!factory && Object.hasOwn(UNSUPPORTED_MIDDLEWARES, type)) {
      err(path, at, `not supported yet (${UNSUPPORTED_MIDDLEWARES[type]})`);
      return;
    }
    if (!factory) {
      const known = [...middlewareTypes(), 'chain'];
      const near = closest(type, known);
      err(path, at, `unknown middleware type "${type}"${near ? ` (did you mean ${near}?)` : ''}`);
      return;
    }
    keep(factory.schema, options, path, (d) => put({ [type]: d }), at);
  }
}

/** parentNames lists the bare router names that the configuration's routers name in parentRefs. */
function parentNames(top: Obj): Set<string> {
  const out = new Set<string>();
  const routers = isObj(top.http) && isObj(top.http.routers) ? top.http.routers : {};
  for (const r of Object.values(routers)) {
    if (isObj(r) && Array.isArray(r.parentRefs)) for (const p of r.parentRefs) if (typeof p === 'string') out.add(p);
  }
  return out;
}

/**
 * canonicalConfig returns a provider's raw configuration with canonical spellings (`loadbalancer`
 * → `loadBalancer`, see canonical-config.ts). validateDynamic applies it itself; callers that also
 * look at the raw configuration (merging, `gantry check`) use it so that both agree on names.
 */
export function canonicalConfig(config: unknown): unknown {
  return canonicalDynamic(config, SECTIONS, chainSchema);
}

/**
 * referenceErrors finds references to elements that are not defined in this same configuration:
 * a router's service and middlewares, a chain's members, weighted and mirrored services. Names
 * qualified with another provider (`x@docker`) are skipped. Used by `gantry check` on one file;
 * the watcher checks references after merging every provider.
 */
export function referenceErrors(cfg: ValidDynamicConfig, raw?: unknown): ElementError[] {
  const errors: ElementError[] = [];
  // Elements that exist but were rejected already have their own error; naming them again as
  // unknown would mislead, so names defined in the raw configuration count as known.
  const names = (section: string, kind: string, valid: object) => {
    const rawSection = isObj(raw) && isObj(raw[section]) ? raw[section] : {};
    const rawKind = isObj(rawSection[kind]) ? rawSection[kind] : {};
    return [...new Set([...Object.keys(valid), ...Object.keys(rawKind)])];
  };
  const services = names('http', 'services', cfg.http.services);
  const middlewares = names('http', 'middlewares', cfg.http.middlewares);
  const check = (path: string, at: string, what: string, name: string, known: string[]) => {
    if (name.includes('@') || known.includes(name)) return;
    errors.push({ path, message: `${at}: unknown ${what} "${name}"${didYouMean(name, known)}` });
  };
  const routers = names('http', 'routers', cfg.http.routers);
  for (const [name, r] of Object.entries(cfg.http.routers)) {
    const p = `http.routers.${name}`;
    if (r.service !== undefined) check(p, `${p}.service`, 'service', r.service, services);
    r.middlewares?.forEach((m, i) => check(p, `${p}.middlewares[${i}]`, 'middleware', m, middlewares));
    r.parentRefs?.forEach((x, i) => check(p, `${p}.parentRefs[${i}]`, 'router', x, routers));
  }
  // A profile's middlewares belong to the profile's own configuration, like a router's. A router's
  // bare `profile` is not checked: it may name a profile of another provider (the watcher resolves it).
  for (const [name, pr] of Object.entries(cfg.http.profiles)) {
    const p = `http.profiles.${name}`;
    pr.middlewares?.forEach((m, i) => check(p, `${p}.middlewares[${i}]`, 'middleware', m, middlewares));
  }
  for (const [name, m] of Object.entries(cfg.http.middlewares)) {
    const [type, options] = middlewareType(m);
    if (type !== 'chain') continue;
    const p = `http.middlewares.${name}`;
    (options as { middlewares: string[] }).middlewares.forEach((x, i) => check(p, `${p}.chain.middlewares[${i}]`, 'middleware', x, middlewares));
  }
  for (const [name, s] of Object.entries(cfg.http.services)) {
    const p = `http.services.${name}`;
    s.middlewares?.forEach((m, i) => check(p, `${p}.middlewares[${i}]`, 'middleware', m, middlewares));
    s.weighted?.services.forEach((x, i) => check(p, `${p}.weighted.services[${i}].name`, 'service', x.name, services));
    s.highestRandomWeight?.services.forEach((x, i) => check(p, `${p}.highestRandomWeight.services[${i}].name`, 'service', x.name, services));
    if (s.failover) {
      check(p, `${p}.failover.service`, 'service', s.failover.service, services);
      check(p, `${p}.failover.fallback`, 'service', s.failover.fallback, services);
    }
    if (s.mirroring) {
      check(p, `${p}.mirroring.service`, 'service', s.mirroring.service, services);
      s.mirroring.mirrors?.forEach((x, i) => check(p, `${p}.mirroring.mirrors[${i}].name`, 'service', x.name, services));
    }
  }
  const tcpServices = names('tcp', 'services', cfg.tcp.services);
  const tcpMiddlewares = names('tcp', 'middlewares', cfg.tcp.middlewares);
  for (const [name, r] of Object.entries(cfg.tcp.routers)) {
    const p = `tcp.routers.${name}`;
    check(p, `${p}.service`, 'service', r.service, tcpServices);
    r.middlewares?.forEach((m, i) => check(p, `${p}.middlewares[${i}]`, 'TCP middleware', m, tcpMiddlewares));
  }
  for (const [name, s] of Object.entries(cfg.tcp.services)) {
    const p = `tcp.services.${name}`;
    s.weighted?.services.forEach((x, i) => check(p, `${p}.weighted.services[${i}].name`, 'service', x.name, tcpServices));
  }
  return errors;
}

/** deepFreeze freezes plain objects and arrays only: a RegExp or class instance made by a schema keeps working. */
/**
 * freezeOutput freezes the validated configuration's containers. Each named element was frozen
 * when it was stored (and a recalled one is frozen already), so the maps of 10,000 routers are
 * not walked again; the certificate list is frozen whole.
 */
function freezeOutput(out: Record<string, Record<string, unknown>>): ValidDynamicConfig {
  for (const section of Object.values(out)) {
    for (const kind of Object.values(section)) {
      if (Array.isArray(kind)) deepFreeze(kind);
      else if (typeof kind === 'object' && kind !== null) Object.freeze(kind);
    }
    Object.freeze(section);
  }
  return Object.freeze(out) as unknown as ValidDynamicConfig;
}

export function deepFreeze<T>(v: T): T {
  if (typeof v !== 'object' || v === null || Object.isFrozen(v)) return v;
  const proto: unknown = Object.getPrototypeOf(v);
  if (Array.isArray(v) || proto === Object.prototype || proto === null) {
    Object.freeze(v);
    for (const x of Object.values(v)) deepFreeze(x);
  }
  return v;
}
