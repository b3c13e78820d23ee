/**
 * Merging provider configurations: every element name is qualified with its provider
 * (`demo@file`), and the references inside an element (a router's service and middlewares, a
 * chain's members, a weighted service's children …) are qualified relative to that provider when
 * they are bare. Invalid elements are kept aside with their errors so the API can show them.
 */
import type { DynamicConfig, HttpRouterConfig, HttpServiceConfig, TcpRouterConfig, TcpServiceConfig, TlsCertificateConfig } from '../config/dynamic/schema.js';
import { validateDynamic } from '../config/dynamic/validate.js';
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
  };
  tcp: {
    routers: Map<string, Element<TcpRouterConfig>>;
    services: Map<string, Element<TcpServiceConfig>>;
  };
  tls: { certificates: Array<{ provider: string; config: TlsCertificateConfig }>; options: Map<string, Element<unknown>> };
  /** Problems a provider reported that are not tied to an element it emitted. */
  providerErrors: Array<ProviderError & { provider: string }>;
}

/** qualify returns `name@provider` unless the name already names a provider. */
export function qualify(name: string, provider: string): string {
  return name.includes('@') ? name : `${name}@${provider}`;
}

export function emptyMerged(): MergedConfig {
  return {
    http: { routers: new Map(), services: new Map(), middlewares: new Map() },
    tcp: { routers: new Map(), services: new Map() },
    tls: { certificates: [], options: new Map() },
    providerErrors: [],
  };
}

/** mergeConfigs validates each provider's configuration and merges them, qualified. */
export function mergeConfigs(messages: Iterable<ConfigMessage>): MergedConfig {
  const merged = emptyMerged();
  for (const msg of messages) {
    const p = msg.provider;
    const { config: valid, errors } = validateDynamic(msg.config);
    const raw: DynamicConfig = msg.config ?? {};
    const errorsByPath = new Map<string, string[]>();
    for (const e of errors) {
      const list = errorsByPath.get(e.path) ?? [];
      list.push(e.message);
      errorsByPath.set(e.path, list);
    }
    const take = <C>(section: 'http' | 'tcp', kind: string, target: Map<string, Element<C>>, fix: (c: C) => C) => {
      const rawSection = (raw as Record<string, Record<string, Record<string, unknown> | undefined> | undefined>)[section]?.[kind] ?? {};
      const validSection = ((valid as unknown as Record<string, Record<string, Record<string, C>> | undefined>)[section]?.[kind] ?? {}) as Record<string, C>;
      const names = new Set([...Object.keys(rawSection), ...Object.keys(validSection)]);
      for (const bare of names) {
        const name = qualify(bare, p);
        const errs = errorsByPath.get(`${section}.${kind}.${bare}`) ?? [];
        const c = validSection[bare];
        const el: Element<C> = { name, provider: p, config: c !== undefined && errs.length === 0 ? fix(structuredClone(c)) : null, raw: rawSection[bare], errors: [...errs] };
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
      service: qualify(r.service, p),
      middlewares: r.middlewares?.map((m) => qualify(m, p)),
    }));
    take<HttpServiceConfig>('http', 'services', merged.http.services, (s) => qualifyService(s, p));
    take<Record<string, unknown>>('http', 'middlewares', merged.http.middlewares, (m) => qualifyMiddleware(m, p));
    take<TcpRouterConfig>('tcp', 'routers', merged.tcp.routers, (r) => ({ ...r, service: qualify(r.service, p), middlewares: r.middlewares?.map((m) => qualify(m, p)) }));
    take<TcpServiceConfig>('tcp', 'services', merged.tcp.services, (s) => s);
    for (const cert of (valid as DynamicConfig).tls?.certificates ?? []) merged.tls.certificates.push({ provider: p, config: cert as TlsCertificateConfig });
    // Errors outside of named elements (e.g. a whole section) are provider-level.
    for (const [path, msgs] of errorsByPath) {
      if (/^(http|tcp)\.(routers|services|middlewares)\.[^.]+$/.test(path)) continue;
      for (const m of msgs) merged.providerErrors.push({ provider: p, path, message: m });
    }
    for (const e of msg.errors ?? []) merged.providerErrors.push({ ...e, provider: p });
  }
  return merged;
}

function qualifyService(s: HttpServiceConfig, p: string): HttpServiceConfig {
  if (s.weighted) s.weighted.services = s.weighted.services.map((w) => ({ ...w, name: qualify(w.name, p) }));
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
