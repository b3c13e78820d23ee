/**
 * Merging provider configurations: every element name is qualified with its provider
 * (`demo@file`), and the references inside an element (a router's service and middlewares, a
 * chain's members, a weighted service's children …) are qualified relative to that provider when
 * they are bare. Invalid elements are kept aside with their errors so the API can show them.
 * Last, routers that name a profile take its settings (applyProfiles), so that everything after
 * the merge sees plain routers.
 */
import type {
  DynamicConfig,
  HttpProfileConfig,
  HttpRouterConfig,
  HttpServiceConfig,
  TcpRouterConfig,
  TcpServiceConfig,
  TlsCertificateConfig,
  TlsOptionsSchemaConfig,
} from '../config/dynamic/schema.js';
import type { ServersTransportSchemaConfig, TcpServersTransportConfig, TlsStoreConfig } from '../config/dynamic/transports.js';
import { canonicalConfig, deepFreeze, validateDynamic, ValidationMemo } from '../config/dynamic/validate.js';
import { didYouMean } from '../config/suggest.js';
import type { ConfigMessage, ProviderError } from '../providers/provider.js';

export type ElementKind = 'routers' | 'services' | 'middlewares';

export interface Element<C> {
  /** Qualified name, `name@provider`. */
  name: string;
  provider: string;
  /** The validated configuration, with references qualified; null when invalid. */
  config: C | null;
  /** The configuration as the provider gave it (for the API). */
  raw: unknown;
  errors: string[];
}

export interface MergedConfig {
  http: {
    routers: Map<string, Element<HttpRouterConfig>>;
    services: Map<string, Element<HttpServiceConfig>>;
    middlewares: Map<string, Element<Record<string, unknown>>>;
    /** Router defaults (`http.profiles`), middlewares qualified relative to the profile's provider. */
    profiles: Map<string, Element<HttpProfileConfig>>;
    /** `http.serversTransports`, by qualified name; services name them in `loadBalancer.serversTransport`. */
    serversTransports: Map<string, Element<ServersTransportSchemaConfig>>;
  };
  tcp: {
    routers: Map<string, Element<TcpRouterConfig>>;
    services: Map<string, Element<TcpServiceConfig>>;
    serversTransports: Map<string, Element<TcpServersTransportConfig>>;
    /** `{ <type>: options }`, as the TCP middleware schemas parsed them. */
    middlewares: Map<string, Element<Record<string, unknown>>>;
  };
  tls: {
    certificates: Array<{ provider: string; config: TlsCertificateConfig }>;
    options: Map<string, Element<TlsOptionsSchemaConfig>>;
    /** The `default` TLS store, when exactly one provider defines it (Traefik refuses it from several). */
    store: { provider: string; config: TlsStoreConfig } | null;
  };
  /** Problems a provider reported that are not tied to an element it emitted. */
  providerErrors: Array<ProviderError & { provider: string }>;
}

/** qualify returns `name@provider` unless the name already names a provider. */
export function qualify(name: string, provider: string): string {
  return name.includes('@') ? name : `${name}@${provider}`;
}

export function emptyMerged(): MergedConfig {
  return {
    http: { routers: new Map(), services: new Map(), middlewares: new Map(), profiles: new Map(), serversTransports: new Map() },
    tcp: { routers: new Map(), services: new Map(), middlewares: new Map(), serversTransports: new Map() },
    tls: { certificates: [], options: new Map(), store: null },
    providerErrors: [],
  };
}

/**
 * What the last merges built for one provider: its validation outcomes, and by valid element the
 * qualified copy made from it. Keyed by the valid object itself, that copy lives as long as the
 * validation memo keeps the element.
 */
interface ProviderMemo {
  readonly validation: ValidationMemo;
  readonly built: WeakMap<object, unknown>;
}

/**
 * MergeMemo carries, per provider, what the last merge built. An element that did not change
 * keeps the same valid object (ValidationMemo), so its qualified copy is reused instead of cloned
 * and qualified again. Those copies are deeply frozen, since the next snapshots share them. The
 * watcher keeps one memo.
 */
export class MergeMemo {
  readonly #providers = new Map<string, ProviderMemo>();

  /** of returns the provider's memo (made on first use). */
  of(provider: string): ProviderMemo {
    let m = this.#providers.get(provider);
    if (m === undefined) this.#providers.set(provider, (m = { validation: new ValidationMemo(), built: new WeakMap() }));
    return m;
  }

  /** retain forgets the providers that were not in the last merge. */
  retain(providers: ReadonlySet<string>): void {
    for (const p of this.#providers.keys()) if (!providers.has(p)) this.#providers.delete(p);
  }
}

/** mergeConfigs validates each provider's configuration and merges them, qualified. */
export function mergeConfigs(messages: Iterable<ConfigMessage>, memo: MergeMemo | null = null): MergedConfig {
  const merged = emptyMerged();
  const defaultStoreFrom: string[] = [];
  const seenProviders = new Set<string>();
  for (const msg of messages) {
    const p = msg.provider;
    seenProviders.add(p);
    const mine = memo?.of(p) ?? null;
    const raw = (canonicalConfig(msg.config ?? {}) ?? {}) as DynamicConfig;
    const { config: valid, errors } = validateDynamic(raw, { canonical: true, ...(mine === null ? {} : { memo: mine.validation }) });
    const errorsByPath = new Map<string, string[]>();
    for (const e of errors) {
      const list = errorsByPath.get(e.path) ?? [];
      list.push(e.message);
      errorsByPath.set(e.path, list);
    }
    const take = <C>(section: 'http' | 'tcp', kind: string, target: Map<string, Element<C>>, fix: (c: C) => C) => {
      const rawSection = (raw as Record<string, Record<string, Record<string, unknown> | undefined> | undefined>)[section]?.[kind] ?? {};
      const validSection = ((valid as unknown as Record<string, Record<string, Record<string, C>> | undefined>)[section]?.[kind] ?? {}) as Record<string, C>;
      // Valid elements are validated raw ones (validateDynamic keeps their names), so the raw names cover both.
      for (const bare of Object.keys(rawSection)) {
        const name = qualify(bare, p);
        const errs = errorsByPath.get(`${section}.${kind}.${bare}`) ?? [];
        const c = validSection[bare];
        let config: C | null = null;
        if (c !== undefined && errs.length === 0) {
          const key = typeof c === 'object' && c !== null ? (c as object) : null;
          const built = mine !== null && key !== null ? mine.built : null;
          config = key === null ? null : ((built?.get(key) as C | undefined) ?? null);
          if (config === null) {
            config = deepFreeze(fix(structuredClone(c)));
            if (key !== null) built?.set(key, config);
          }
        }
        const el: Element<C> = { name, provider: p, config, raw: rawSection[bare], errors: [...errs] };
        if (el.config === null && el.errors.length === 0) el.errors.push(`${section}.${kind}.${bare}: invalid`);
        const existing = target.get(name);
        if (existing !== undefined) {
          existing.errors.push(`defined more than once by provider ${p}`);
          existing.config = null;
          continue;
        }
        target.set(name, el);
      }
    };
    take<HttpRouterConfig>('http', 'routers', merged.http.routers, (r) => ({
      ...r,
      ...(r.service === undefined ? {} : { service: qualify(r.service, p) }),
      middlewares: r.middlewares?.map((m) => qualify(m, p)),
      ...(r.parentRefs === undefined ? {} : { parentRefs: r.parentRefs.map((x) => qualify(x, p)) }),
    }));
    take<HttpServiceConfig>('http', 'services', merged.http.services, (s) => qualifyService(s, p));
    take<Record<string, unknown>>('http', 'middlewares', merged.http.middlewares, (m) => qualifyMiddleware(m, p));
    take<HttpProfileConfig>('http', 'profiles', merged.http.profiles, (pr) => ({ ...pr, middlewares: pr.middlewares?.map((m) => qualify(m, p)) }));
    take<TcpRouterConfig>('tcp', 'routers', merged.tcp.routers, (r) => ({ ...r, service: qualify(r.service, p), middlewares: r.middlewares?.map((m) => qualify(m, p)) }));
    take<TcpServiceConfig>('tcp', 'services', merged.tcp.services, (s) => (s.loadBalancer?.serversTransport === undefined ? s : { ...s, loadBalancer: { ...s.loadBalancer, serversTransport: qualify(s.loadBalancer.serversTransport, p) } }));
    take<ServersTransportSchemaConfig>('http', 'serversTransports', merged.http.serversTransports, (t) => t);
    take<TcpServersTransportConfig>('tcp', 'serversTransports', merged.tcp.serversTransports, (t) => t);
    take<Record<string, unknown>>('tcp', 'middlewares', merged.tcp.middlewares, (m) => m);
    for (const cert of (valid as unknown as DynamicConfig).tls?.certificates ?? []) merged.tls.certificates.push({ provider: p, config: cert as TlsCertificateConfig });
    const store = valid.tls.stores['default'];
    if (store !== undefined) {
      if (defaultStoreFrom.length === 0) merged.tls.store = { provider: p, config: structuredClone(store) as TlsStoreConfig };
      defaultStoreFrom.push(p);
    }
    takeTlsOptions(merged.tls.options, raw.tls?.options ?? {}, valid.tls.options, errorsByPath, p);
    // Errors outside of named elements (e.g. a whole section) are provider-level. So are a profile's:
    // a profile is not served by itself, and the logs and the API list provider errors.
    for (const [path, msgs] of errorsByPath) {
      if (/^(http|tcp)\.(routers|services|middlewares)\.[^.]+$/.test(path)) continue;
      for (const m of msgs) merged.providerErrors.push({ provider: p, path, message: m });
    }
    for (const e of msg.errors ?? []) merged.providerErrors.push({ ...e, provider: p });
  }
  if (defaultStoreFrom.length > 1) {
    // As Traefik does: which provider's default store should win is anyone's guess, so none does.
    merged.tls.store = null;
    for (const provider of defaultStoreFrom) merged.providerErrors.push({ provider, path: 'tls.stores.default', message: `tls.stores.default: defined by several providers (${defaultStoreFrom.join(', ')}); none applies` });
  }
  memo?.retain(seenProviders);
  applyProfiles(merged);
  return merged;
}

/**
 * resolveProfile finds the profile a router of `provider` names: a qualified name exactly; a bare
 * name in the router's own provider first (as every bare reference), else the one profile of that
 * name in any provider (profiles are typically written once in the file provider and named by
 * container labels). It returns the profile's element or the reason there is none.
 */
export function resolveProfile(profiles: ReadonlyMap<string, Element<HttpProfileConfig>>, name: string, provider: string): Element<HttpProfileConfig> | string {
  if (name.includes('@')) return profiles.get(name) ?? `profile "${name}" does not exist${didYouMean(name, [...profiles.keys()])}`;
  const own = profiles.get(`${name}@${provider}`);
  if (own !== undefined) return own;
  const found = [...profiles.values()].filter((el) => el.name.slice(0, el.name.lastIndexOf('@')) === name);
  if (found.length === 1) return found[0]!;
  if (found.length > 1) return `profile "${name}" is defined by several providers (${found.map((el) => el.name).sort().join(', ')}); name one of them`;
  const bare = [...new Set([...profiles.keys()].map((k) => k.slice(0, k.lastIndexOf('@'))))];
  return `profile "${name}" does not exist${didYouMean(name, bare)}`;
}

/**
 * applyProfiles gives each router that names a profile the profile's settings: entryPoints,
 * priority and each TLS option only where the router sets none; the profile's middlewares before
 * the router's own (a middleware listed by both runs once, at the profile's place). A router
 * whose profile is missing or invalid is disabled with the reason, the others carry on.
 */
export function applyProfiles(merged: MergedConfig): void {
  for (const el of merged.http.routers.values()) {
    const r = el.config;
    if (r === null || r.profile === undefined) continue;
    const at = `http.routers.${el.name.slice(0, el.name.lastIndexOf('@'))}.profile`;
    const found = resolveProfile(merged.http.profiles, r.profile, el.provider);
    if (typeof found === 'string') {
      el.errors.push(`${at}: ${found}`);
      el.config = null;
      continue;
    }
    if (found.config === null) {
      el.errors.push(`${at}: profile "${found.name}" is invalid: ${found.errors.join('; ')}`);
      el.config = null;
      continue;
    }
    const p = found.config;
    const out: HttpRouterConfig = { ...r, profile: found.name };
    if (out.entryPoints === undefined && p.entryPoints !== undefined) out.entryPoints = [...p.entryPoints];
    if (out.priority === undefined && p.priority !== undefined) out.priority = p.priority;
    if (p.tls !== undefined) out.tls = { ...structuredClone(p.tls), ...out.tls };
    if (p.middlewares !== undefined && p.middlewares.length > 0) out.middlewares = [...new Set([...p.middlewares, ...(r.middlewares ?? [])])];
    el.config = out;
  }
}

function qualifyService(s: HttpServiceConfig, p: string): HttpServiceConfig {
  if (s.loadBalancer?.serversTransport !== undefined) s.loadBalancer.serversTransport = qualify(s.loadBalancer.serversTransport, p);
  if (s.middlewares) s.middlewares = s.middlewares.map((m) => qualify(m, p));
  if (s.weighted) s.weighted.services = s.weighted.services.map((w) => ({ ...w, name: qualify(w.name, p) }));
  if (s.highestRandomWeight) s.highestRandomWeight.services = s.highestRandomWeight.services.map((w) => ({ ...w, name: qualify(w.name, p) }));
  if (s.failover) {
    s.failover.service = qualify(s.failover.service, p);
    s.failover.fallback = qualify(s.failover.fallback, p);
  }
  if (s.mirroring) {
    s.mirroring.service = qualify(s.mirroring.service, p);
    s.mirroring.mirrors = s.mirroring.mirrors?.map((m) => ({ ...m, name: qualify(m.name, p) }));
  }
  return s;
}

function qualifyMiddleware(m: Record<string, unknown>, p: string): Record<string, unknown> {
  const chain = m['chain'] as { middlewares?: string[] } | undefined;
  if (chain?.middlewares) chain.middlewares = chain.middlewares.map((n) => qualify(n, p));
  return m;
}

/**
 * takeTlsOptions collects `tls.options.<name>` as `name@provider`, invalid ones with their
 * errors. Routers name them bare or qualified; the TLS manager resolves the reference (and
 * `default`, which applies wherever a router names none).
 */
function takeTlsOptions(target: Map<string, Element<TlsOptionsSchemaConfig>>, raw: Record<string, unknown>, valid: Readonly<Record<string, unknown>>, errorsByPath: ReadonlyMap<string, string[]>, p: string): void {
  for (const bare of new Set([...Object.keys(raw), ...Object.keys(valid)])) {
    const name = qualify(bare, p);
    const errs = errorsByPath.get(`tls.options.${bare}`) ?? [];
    const c = valid[bare] as TlsOptionsSchemaConfig | undefined;
    const el: Element<TlsOptionsSchemaConfig> = { name, provider: p, config: c !== undefined && errs.length === 0 ? structuredClone(c) : null, raw: raw[bare], errors: [...errs] };
    if (el.config === null && el.errors.length === 0) el.errors.push(`tls.options.${bare}: invalid`);
    const existing = target.get(name);
    if (existing !== undefined) {
      existing.errors.push(`defined more than once by provider ${p}`);
      existing.config = null;
      continue;
    }
    target.set(name, el);
  }
}
