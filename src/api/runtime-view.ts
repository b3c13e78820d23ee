/**
 * The runtime view: what the API shows of a snapshot, in the shapes of Traefik's API. Every object
 * carries its qualified `name`, `provider`, `status` (enabled | warning | disabled) and `error`
 * when it has one.
 */
import type { Snapshot } from '../watcher/snapshot.js';
import type { Element } from '../watcher/merge.js';
import type { UpstreamRegistry } from '../upstreams/registry.js';

export type Status = 'enabled' | 'warning' | 'disabled';

export interface RouterView {
  name: string;
  provider: string;
  status: Status;
  rule?: string;
  service?: string;
  entryPoints?: string[];
  middlewares?: string[];
  priority?: number;
  tls?: unknown;
  using?: string[];
  error?: string[];
}

export interface ServiceView {
  name: string;
  provider: string;
  status: Status;
  type?: string;
  loadBalancer?: unknown;
  weighted?: unknown;
  highestRandomWeight?: unknown;
  mirroring?: unknown;
  failover?: unknown;
  static?: unknown;
  middlewares?: string[];
  serverStatus?: Record<string, 'UP' | 'DOWN'>;
  inFlight?: Record<string, number>;
  usedBy?: string[];
  error?: string[];
}

export interface MiddlewareView {
  name: string;
  provider: string;
  status: Status;
  type?: string;
  usedBy?: string[];
  error?: string[];
  [option: string]: unknown;
}

function status(el: Element<unknown>): Status {
  return el.config === null ? 'disabled' : el.errors.length > 0 ? 'disabled' : 'enabled';
}

function base(el: Element<unknown>): { name: string; provider: string; status: Status; error?: string[] } {
  const v: { name: string; provider: string; status: Status; error?: string[] } = { name: el.name, provider: el.provider, status: status(el) };
  if (el.errors.length > 0) v.error = [...el.errors];
  return v;
}

export function routerViews(s: Snapshot): RouterView[] {
  const out: RouterView[] = [];
  for (const el of s.merged.http.routers.values()) {
    const c = (el.config ?? el.raw ?? {}) as Record<string, unknown>;
    const v: RouterView = { ...base(el), rule: c['rule'] as string, service: c['service'] as string };
    if (c['entryPoints']) v.entryPoints = c['entryPoints'] as string[];
    if (c['middlewares']) v.middlewares = c['middlewares'] as string[];
    v.priority = (c['priority'] as number | undefined) ?? (typeof c['rule'] === 'string' ? (c['rule'] as string).length : 0);
    if (c['tls'] !== undefined) v.tls = c['tls'];
    const using = (el as Element<unknown> & { using?: string[] }).using;
    if (using) v.using = using;
    // Served on some entrypoints despite an error (e.g. one unknown entrypoint): a warning, not disabled.
    if (el.config !== null && el.errors.length > 0 && using !== undefined && using.length > 0) v.status = 'warning';
    out.push(v);
  }
  return out.sort((a, b) => (a.name < b.name ? -1 : 1));
}

export function serviceViews(s: Snapshot, registry: UpstreamRegistry): ServiceView[] {
  const usedBy = new Map<string, string[]>();
  for (const r of s.merged.http.routers.values()) {
    const svc = (r.config as { service?: string } | null)?.service;
    if (svc) usedBy.set(svc, [...(usedBy.get(svc) ?? []), r.name]);
  }
  const now = Date.now();
  const out: ServiceView[] = [];
  for (const el of s.merged.http.services.values()) {
    const c = (el.config ?? el.raw ?? {}) as Record<string, unknown>;
    const v: ServiceView = { ...base(el) };
    for (const t of ['loadBalancer', 'weighted', 'highestRandomWeight', 'mirroring', 'failover', 'static'] as const) {
      if (c[t] !== undefined) {
        v.type = t;
        v[t] = c[t];
      }
    }
    if (Array.isArray(c['middlewares'])) v.middlewares = c['middlewares'] as string[];
    const lb = c['loadBalancer'] as { servers?: Array<{ url: string }> } | undefined;
    if (lb?.servers) {
      v.serverStatus = {};
      v.inFlight = {};
      for (const srv of lb.servers) {
        const u = registry.get(srv.url);
        v.serverStatus[srv.url] = u === undefined || u.available(now) ? 'UP' : 'DOWN';
        v.inFlight[srv.url] = u?.inFlight ?? 0;
      }
      if (v.status === 'enabled' && Object.values(v.serverStatus).some((x) => x === 'DOWN')) v.status = 'warning';
    }
    const users = usedBy.get(el.name);
    if (users) v.usedBy = users;
    out.push(v);
  }
  return out.sort((a, b) => (a.name < b.name ? -1 : 1));
}

export function middlewareViews(s: Snapshot): MiddlewareView[] {
  const usedBy = new Map<string, string[]>();
  for (const r of s.merged.http.routers.values()) {
    for (const m of (r.config as { middlewares?: string[] } | null)?.middlewares ?? []) usedBy.set(m, [...(usedBy.get(m) ?? []), r.name]);
  }
  for (const svc of s.merged.http.services.values()) {
    for (const m of svc.config?.middlewares ?? []) usedBy.set(m, [...(usedBy.get(m) ?? []), svc.name]);
  }
  const out: MiddlewareView[] = [];
  for (const el of s.merged.http.middlewares.values()) {
    const c = (el.config ?? el.raw ?? {}) as Record<string, unknown>;
    const [type] = Object.keys(c);
    const v: MiddlewareView = { ...base(el), ...c };
    if (type) v.type = type;
    const users = usedBy.get(el.name);
    if (users) v.usedBy = users;
    out.push(v);
  }
  return out.sort((a, b) => (a.name < b.name ? -1 : 1));
}

export interface TcpRouterView {
  name: string;
  provider: string;
  status: Status;
  rule?: string;
  service?: string;
  entryPoints?: string[];
  priority?: number;
  tls?: unknown;
  error?: string[];
}

export interface TcpServiceView {
  name: string;
  provider: string;
  status: Status;
  type?: string;
  loadBalancer?: unknown;
  weighted?: unknown;
  usedBy?: string[];
  error?: string[];
}

export function tcpRouterViews(s: Snapshot): TcpRouterView[] {
  const out: TcpRouterView[] = [];
  for (const el of s.merged.tcp.routers.values()) {
    const c = (el.config ?? el.raw ?? {}) as Record<string, unknown>;
    const v: TcpRouterView = { ...base(el), rule: c['rule'] as string, service: c['service'] as string };
    if (c['entryPoints']) v.entryPoints = c['entryPoints'] as string[];
    if (typeof c['priority'] === 'number') v.priority = c['priority'];
    if (c['tls'] !== undefined) v.tls = c['tls'];
    out.push(v);
  }
  return out.sort((a, b) => (a.name < b.name ? -1 : 1));
}

export function tcpServiceViews(s: Snapshot): TcpServiceView[] {
  const usedBy = new Map<string, string[]>();
  for (const r of s.merged.tcp.routers.values()) {
    const svc = (r.config as { service?: string } | null)?.service;
    if (svc) usedBy.set(svc, [...(usedBy.get(svc) ?? []), r.name]);
  }
  const out: TcpServiceView[] = [];
  for (const el of s.merged.tcp.services.values()) {
    const c = (el.config ?? el.raw ?? {}) as Record<string, unknown>;
    const v: TcpServiceView = { ...base(el) };
    for (const t of ['loadBalancer', 'weighted'] as const) {
      if (c[t] !== undefined) {
        v.type = t;
        v[t] = c[t];
      }
    }
    const users = usedBy.get(el.name);
    if (users) v.usedBy = users;
    out.push(v);
  }
  return out.sort((a, b) => (a.name < b.name ? -1 : 1));
}
