/**
 * compileSnapshot turns a merged configuration into an immutable Snapshot: per-entrypoint route
 * tables whose entries hold each router's fully built handler (middleware chain + service). It runs
 * off the request path. An element that cannot be built is disabled with its error; the others
 * are served. Upstream state comes from the shared registry, so nothing resets on a reload.
 */
import os from 'node:os';
import type { HttpRouterConfig, HttpServiceConfig, LoadBalancerConfig } from '../config/dynamic/schema.js';
import { ConfigError } from '../errors.js';
import type { Handler, RequestContext } from '../proxy/context.js';
import { LoadBalancerService, type PassiveHealth } from '../proxy/forward.js';
import type { UpstreamRegistry, UpstreamTransport } from '../upstreams/registry.js';
import { compileServersTransport } from '../upstreams/transport.js';
import type { UpstreamServer } from '../upstreams/server.js';
import { createBalancer, createFailoverHandler, createHrwHandler, createMirroringHandler, createWeightedHandler, hasAvailableServer } from '../balancer/index.js';
import { DEFAULT_MIRROR_MAX_BODY } from '../balancer/mirroring.js';
import { DEFAULT_FAILOVER_MAX_BODY } from '../balancer/failover.js';
import { StatusRanges } from '../middlewares/errors/index.js';
import { middlewareFactory } from '../middlewares/registry.js';
import type { MiddlewareEnv } from '../middlewares/types.js';
import { fastStepOf, type FastStep } from '../middlewares/fast-step.js';
import type { Logger } from '../observability/logger.js';
import { compileHttpRule, RouteTable } from '../router/index.js';
import { qualify, type Element, type MergedConfig } from './merge.js';
import { Snapshot, SnapshotResources, type CompiledRouter, type EntrypointInfo } from './snapshot.js';
import { createStaticHandler } from '../services/static/index.js';
import { ActiveHealthChecker, type HealthCheckRegistry } from '../health/active.js';
import { compileTcpRoutes } from '../tcp/routes.js';
import { childDispatcher, type ChildRoute } from './children.js';
import { WindowedPassiveHealth } from '../health/passive-window.js';
import { parseDuration } from '../config/duration.js';

/** The fast steps of a router's middlewares, and whether every one of them has one. */
interface FastSteps {
  list: FastStep[];
  ok: boolean;
}

export interface CompileDeps {
  registry: UpstreamRegistry;
  logger: Logger;
  entrypoints: readonly EntrypointInfo[];
  health: PassiveHealth;
  activeHealth: HealthCheckRegistry;
  cwd: string;
  stickySecret: string;
  onDone: ((ctx: RequestContext) => void) | null;
  /** Gantry's own services and routers (`prometheus@internal`); routers of any provider may use the services. */
  internal?: InternalRoutes;
}

/**
 * InternalRoutes are what Gantry itself serves, named `<name>@internal` as in Traefik: services a
 * router can name (`service: prometheus@internal`, for `metrics.prometheus.manualRouting`), and
 * routers Gantry adds on given entrypoints (`/metrics` on `metrics.prometheus.entryPoint`).
 */
export interface InternalRoutes {
  services: ReadonlyMap<string, Handler>;
  routers: ReadonlyArray<{ name: string; rule: string; priority: number; entryPoints: readonly string[]; service: string }>;
}

const serverName = os.hostname();

export function compileSnapshot(merged: MergedConfig, version: number, deps: CompileDeps): Snapshot {
  const resources = new SnapshotResources(deps.registry);
  const services = new Map<string, Handler>();
  const building = new Set<string>();
  const lbServices = new Map<string, LoadBalancerService>();
  const transports = new Map<string, UpstreamTransport>();

  /**
   * transportFor resolves a load balancer's `serversTransport` (qualified by merge.ts): none or
   * `default@internal` is the static one; a named one is compiled once per snapshot and shared,
   * by what it does, with the previous snapshot's (its pools survive the reload).
   */
  const transportFor = (ref: string | undefined): UpstreamTransport => {
    if (ref === undefined || ref === '' || ref === 'default@internal') return deps.registry.defaultTransport;
    const done = transports.get(ref);
    if (done !== undefined) return done;
    const el = merged.http.serversTransports.get(ref);
    if (el === undefined) throw new ConfigError('', `serversTransport "${ref}" does not exist`);
    if (el.config === null) throw new ConfigError('', `serversTransport "${ref}" is invalid: ${el.errors.join('; ')}`);
    const at = `http.serversTransports.${el.name}`;
    const t = deps.registry.acquireTransport(compileServersTransport(el.config, deps.cwd, at, deps.registry.transport.client ?? 'gantry'));
    resources.transports.push(t);
    transports.set(ref, t);
    return t;
  };

  /**
   * Each built service's health as its parents see it: `up` tells whether it could answer now;
   * `reports` whether it takes part in Traefik's health propagation (a loadBalancer with a
   * healthCheck, or a service of services with `healthCheck: {}`). A parent with
   * `healthCheck: {}` needs every child to report, as in Traefik.
   */
  const health = new Map<string, { up: () => boolean; reports: boolean } | null>();
  /** Load-balancer services wrapped in service-level middlewares: the fast lane must not skip them. */
  const wrapped = new Set<string>();

  const serviceHandler = (name: string): Handler => {
    const done = services.get(name) ?? deps.internal?.services.get(name);
    if (done !== undefined) return done;
    const el = merged.http.services.get(name);
    if (el === undefined) throw new ConfigError('', `service "${name}" does not exist`);
    if (el.config === null) throw new ConfigError('', `service "${name}" is invalid: ${el.errors.join('; ')}`);
    if (building.has(name)) throw new ConfigError('', `service "${name}" refers to itself`);
    building.add(name);
    try {
      const h = buildService(el as Element<HttpServiceConfig> & { config: HttpServiceConfig });
      services.set(name, h);
      return h;
    } catch (err) {
      if (el.errors.length === 0) el.errors.push(errorText(err));
      throw err;
    } finally {
      building.delete(name);
    }
  };

  const buildService = (el: Element<HttpServiceConfig> & { config: HttpServiceConfig }): Handler => {
    const c = el.config;
    let h = buildServiceType(el);
    // Service-level middlewares run after the router's (Traefik v3.7); the health stays the service's.
    const mws = c.middlewares ?? [];
    if (mws.length > 0) wrapped.add(el.name);
    for (let i = mws.length - 1; i >= 0; i--) h = buildMiddleware(qualify(mws[i]!, el.provider), h, []);
    return h;
  };

  /** childHealth returns a child's health, or throws when `parentWantsIt` and the child reports none. */
  const childHealth = (parent: string, kind: string, child: string, parentWantsIt: boolean): (() => boolean) | null => {
    const h = health.get(child) ?? null;
    if (parentWantsIt && (h === null || !h.reports)) {
      throw new ConfigError('', `child service "${child}" of ${kind} service "${parent}" has no health check: healthCheck on a ${kind} service needs one on every child (a loadBalancer healthCheck, or healthCheck: {})`);
    }
    return h === null ? null : h.up;
  };

  const buildServiceType = (el: Element<HttpServiceConfig> & { config: HttpServiceConfig }): Handler => {
    const c = el.config;
    if (c.loadBalancer) return buildLoadBalancer(el.name, c.loadBalancer);
    if (c.weighted) {
      const w = c.weighted;
      const wants = w.healthCheck !== undefined;
      const children = w.services.map((s) => {
        const handler = serviceHandler(s.name);
        // A child that cannot answer is skipped while another can (Traefik's health propagation
        // to a weighted service); load balancers always tell, other kinds with healthCheck: {}.
        const up = childHealth(el.name, 'weighted', s.name, wants);
        return { name: s.name, handler, weight: s.weight ?? 1, available: up ?? undefined };
      });
      const ups = children.map((ch) => ch.available);
      health.set(el.name, wants ? { up: () => ups.some((f) => f === undefined || f()), reports: true } : null);
      return createWeightedHandler(children, w.sticky?.cookie, el.name, deps.stickySecret);
    }
    if (c.highestRandomWeight) {
      const w = c.highestRandomWeight;
      const wants = w.healthCheck !== undefined;
      const children = w.services.map((s) => ({ name: s.name, handler: serviceHandler(s.name), weight: s.weight ?? 1, available: childHealth(el.name, 'highestRandomWeight', s.name, wants) }));
      const built = createHrwHandler(children, el.name);
      health.set(el.name, wants ? { up: built.up, reports: true } : null);
      return built.handler;
    }
    if (c.mirroring) {
      const main = serviceHandler(c.mirroring.service);
      const wants = c.mirroring.healthCheck !== undefined;
      // A mirroring service is as healthy as its main service (Traefik propagates the main's status only).
      const up = childHealth(el.name, 'mirroring', c.mirroring.service, wants);
      health.set(el.name, wants ? { up: up ?? (() => true), reports: true } : null);
      const mirrors = (c.mirroring.mirrors ?? []).map((m) => ({ handler: serviceHandler(m.name), percent: m.percent ?? 0 }));
      return createMirroringHandler(main, mirrors, c.mirroring.maxBodySize ?? DEFAULT_MIRROR_MAX_BODY, { mirrorBody: c.mirroring.mirrorBody ?? true, logger: deps.logger.child({ service: el.name }) });
    }
    if (c.failover) {
      const f = c.failover;
      const main = serviceHandler(f.service);
      const fallback = serviceHandler(f.fallback);
      const statuses = f.errors?.status !== undefined && f.errors.status.length > 0 ? new StatusRanges(f.errors.status, `http.services.${el.name}.failover.errors.status`) : null;
      // Without status-based failover, only the main service's health can send to the fallback.
      const mainUp = childHealth(el.name, 'failover', f.service, statuses === null);
      const wants = f.healthCheck !== undefined;
      const fallbackUp = wants ? childHealth(el.name, 'failover', f.fallback, true) : null;
      const built = createFailoverHandler({ name: el.name, main, fallback, mainUp, fallbackUp, statuses, maxBodyBytes: f.errors?.maxRequestBodyBytes ?? DEFAULT_FAILOVER_MAX_BODY });
      health.set(el.name, wants ? { up: built.up, reports: true } : null);
      return built.handler;
    }
    if (c.static) return createStaticHandler(c.static, deps.cwd, el.name);
    throw new ConfigError('', 'service has no type');
  };

  const buildLoadBalancer = (name: string, lb: LoadBalancerConfig): Handler => {
    const transport = transportFor(lb.serversTransport);
    const servers = (lb.servers ?? []).map((s) => {
      const server = deps.registry.acquire(s.url);
      resources.servers.push(server);
      return { server, weight: s.weight ?? 1 };
    });
    const balancer = createBalancer(lb, servers, name, { stickySecret: deps.stickySecret });
    if (lb.healthCheck) {
      // Probes are shared by (server, check) in the registry: an unchanged reload keeps them running.
      const checker = new ActiveHealthChecker(name, servers, lb.healthCheck, { registry: deps.activeHealth, logger: deps.logger.child({ service: name }), transport });
      checker.start();
      resources.stoppers.push(checker);
    }
    const svc = new LoadBalancerService(
      {
        name,
        passHostHeader: lb.passHostHeader ?? true,
        serverName,
        health:
          lb.passiveHealthCheck === undefined
            ? deps.health
            : new WindowedPassiveHealth(lb.passiveHealthCheck.maxFailedAttempts ?? 1, parseDuration(lb.passiveHealthCheck.failureWindow ?? '10s') || 10_000, deps.logger.child({ service: name })),
        onDone: deps.onDone,
        // leasttime measures every answer's first byte, which only the general path does.
        fastLane: lb.sticky === undefined && lb.strategy !== 'leasttime' && servers.every((s) => transport.ownClient(s.server)),
        measureResponseTime: lb.strategy === 'leasttime',
        transport,
      },
      balancer,
      deps.registry,
    );
    lbServices.set(name, svc);
    health.set(name, { up: () => hasAvailableServer(balancer), reports: lb.healthCheck !== undefined });
    return svc.handle;
  };

  /**
   * buildMiddleware builds a middleware (a chain: its members) in front of `next`. With `steps`, it
   * also collects the fast steps (middlewares/fast-step.ts) in run order — the chain is built from
   * its end, so each goes to the front — and clears `ok` at a middleware that has none.
   */
  const buildMiddleware = (name: string, next: Handler, stack: string[], steps: FastSteps | null = null): Handler => {
    const el = merged.http.middlewares.get(name);
    if (el === undefined) throw new ConfigError('', `middleware "${name}" does not exist`);
    if (el.config === null) throw new ConfigError('', `middleware "${name}" is invalid: ${el.errors.join('; ')}`);
    if (stack.includes(name)) throw new ConfigError('', `middleware chain loop: ${[...stack, name].join(' -> ')}`);
    const [type, options] = Object.entries(el.config)[0]!;
    if (type === 'chain') {
      const members = ((options as { middlewares?: string[] }).middlewares ?? []).map((m) => qualify(m, el.provider));
      let h = next;
      for (let i = members.length - 1; i >= 0; i--) h = buildMiddleware(members[i]!, h, [...stack, name], steps);
      return h;
    }
    const factory = middlewareFactory(type);
    if (factory === undefined) throw new ConfigError('', `middleware "${name}" has unknown type ${type}`);
    const env: MiddlewareEnv = {
      name,
      provider: el.provider,
      logger: deps.logger.child({ middleware: name }),
      serviceHandler: (svc: string) => serviceHandler(qualify(svc, el.provider)),
      cwd: deps.cwd,
      retain: (r) => resources.stoppers.push(r),
    };
    try {
      const parsed = factory.schema.parse(options);
      const handler = factory.create(parsed, next, env);
      if (steps !== null) {
        const step = fastStepOf(handler);
        if (step === undefined) steps.ok = false;
        else steps.list.unshift(step);
      }
      return handler;
    } catch (err) {
      const msg = errorText(err);
      if (!el.errors.includes(msg)) el.errors.push(msg);
      throw new ConfigError('', `middleware "${name}": ${msg}`);
    }
  };

  // Multi-layer routing (Traefik v3.7): children are reached through their parents, never directly.
  const childrenOf = new Map<string, Element<HttpRouterConfig>[]>();
  for (const el of merged.http.routers.values()) {
    for (const parent of el.config?.parentRefs ?? []) {
      if (!merged.http.routers.has(parent)) {
        el.errors.push(`http.routers.${el.name.split('@')[0]}.parentRefs: parent router "${parent}" does not exist`);
        continue;
      }
      const list = childrenOf.get(parent);
      if (list === undefined) childrenOf.set(parent, [el]);
      else list.push(el);
    }
  }

  /** routerHandler builds a router's handler: middlewares, then its service or its child routers. */
  const routerHandler = (el: Element<HttpRouterConfig>, stack: readonly string[]): { handler: Handler; direct: LoadBalancerService | null; steps: FastSteps } => {
    const r = el.config!;
    if (stack.includes(el.name)) throw new ConfigError('', `parentRefs loop: ${[...stack, el.name].join(' -> ')}`);
    const kids = childrenOf.get(el.name) ?? [];
    let handler: Handler;
    let direct: LoadBalancerService | null = null;
    // A parent router's children choose the service: not for the fast lane.
    const steps: FastSteps = { list: [], ok: r.service !== undefined };
    if (r.service !== undefined) {
      if (kids.length > 0) throw new ConfigError('', `has a service and child routers (${kids.map((k) => k.name).join(', ')}): a parent router must not have a service`);
      handler = serviceHandler(r.service);
      direct = wrapped.has(r.service) ? null : (lbServices.get(r.service) ?? null);
    } else {
      if (kids.length === 0) throw new ConfigError('', 'has no service, and no router names it in parentRefs');
      const entries: Array<{ name: string; rule: string; priority: number; value: ChildRoute }> = [];
      for (const k of kids) {
        if (k.config === null) continue;
        try {
          entries.push({ name: k.name, rule: k.config.rule, priority: k.config.priority ?? 0, value: { name: k.name, handler: routerHandler(k, [...stack, el.name]).handler } });
        } catch (err) {
          const msg = `http.routers.${k.name.split('@')[0]}: ${errorText(err)}`;
          if (!k.errors.includes(msg)) k.errors.push(msg);
        }
      }
      if (entries.length === 0) throw new ConfigError('', 'none of its child routers can be built');
      handler = childDispatcher(new RouteTable(entries), el.name);
    }
    const mws = r.middlewares ?? [];
    for (let i = mws.length - 1; i >= 0; i--) handler = buildMiddleware(mws[i]!, handler, [], steps);
    return { handler, direct: steps.ok ? direct : null, steps };
  };

  // Routers: build each one alone; a failure disables that router only.
  const perEntrypoint = new Map<string, CompiledRouter[]>();
  for (const ep of deps.entrypoints) perEntrypoint.set(ep.name, []);
  // Traefik: when some entrypoints are asDefault, routers without entryPoints go only to those.
  const defaultEps = deps.entrypoints.some((e) => e.asDefault === true) ? deps.entrypoints.filter((e) => e.asDefault === true) : deps.entrypoints;
  // Worked out once, not per router: 10,000 routers share these.
  const defaultEpNames = { tls: defaultEps.filter((e) => e.tls).map((e) => e.name), plain: defaultEps.filter((e) => !e.tls).map((e) => e.name) };
  const entrypointByName = new Map(deps.entrypoints.map((e) => [e.name, e]));
  const noEntrypointMiddlewares: readonly string[] = [];
  for (const el of merged.http.routers.values()) {
    if (el.config === null || el.config.parentRefs !== undefined) continue;
    const r: HttpRouterConfig = el.config;
    try {
      const compiled = compileHttpRule(r.rule);
      const { handler: own, direct: ownDirect, steps: ownSteps } = routerHandler(el, []);
      const mws = r.middlewares ?? [];
      // The entrypoint's middlewares go in front of the router's own, built once per list (most
      // routers are on one entrypoint, or on several without middlewares: one chain).
      const chains: Array<{ key: string; handler: Handler; direct: LoadBalancerService | null; fastSteps: readonly FastStep[]; names: readonly string[] }> = [];
      const chainFor = (epMws: readonly string[]) => {
        const key = epMws.length === 0 ? '' : epMws.join('\0');
        for (const c of chains) if (c.key === key) return c;
        let handler = own;
        let steps = ownSteps;
        if (epMws.length > 0) {
          steps = { list: [...ownSteps.list], ok: ownSteps.ok };
          for (let i = epMws.length - 1; i >= 0; i--) handler = buildMiddleware(qualify(epMws[i]!, el.provider), handler, [], steps);
        }
        // The fast lane serves a router only when every middleware, the entrypoint's included, has a fast step.
        const direct = steps.ok ? ownDirect : null;
        const c = { key, handler, direct, fastSteps: direct === null ? [] : steps.list, names: epMws.length === 0 ? mws : [...epMws.map((m) => qualify(m, el.provider)), ...mws] };
        chains.push(c);
        return c;
      };
      const tls = r.tls !== undefined;
      const eps = r.entryPoints ?? (tls ? defaultEpNames.tls : defaultEpNames.plain);
      const using: string[] = [];
      const obs = r.observability;
      for (const epName of eps) {
        const ep = entrypointByName.get(epName);
        if (ep === undefined) {
          el.errors.push(`entryPoint "${epName}" does not exist`);
          continue;
        }
        if (ep.tls !== tls) continue;
        let chain;
        try {
          chain = chainFor(ep.middlewares ?? noEntrypointMiddlewares);
        } catch (err) {
          // A missing entrypoint middleware (global auth, say) keeps the router off that entrypoint only.
          el.errors.push(`entryPoints.${epName}.http.middlewares: ${errorText(err)}`);
          continue;
        }
        using.push(epName);
        perEntrypoint.get(epName)!.push({
          name: el.name,
          rule: r.rule,
          priority: r.priority ?? 0,
          handler: chain.handler,
          direct: chain.direct,
          fastSteps: chain.fastSteps,
          compiled,
          service: r.service ?? '',
          middlewares: chain.names,
          accessLogs: obs?.accessLogs ?? true,
          metrics: obs?.metrics ?? true,
        });
      }
      (el as Element<HttpRouterConfig> & { using?: string[] }).using = using;
      if (using.length === 0 && el.errors.length === 0) el.errors.push('no entryPoint to serve this router on');
    } catch (err) {
      el.errors.push(`http.routers.${el.name.split('@')[0]}: ${errorText(err)}`);
    }
  }
  // A child is served where its parents are.
  const usingOf = (el: Element<HttpRouterConfig>, depth: number): string[] => {
    const own = (el as Element<HttpRouterConfig> & { using?: string[] }).using;
    if (own !== undefined || depth > 32) return own ?? [];
    const out = new Set<string>();
    for (const p of el.config?.parentRefs ?? []) {
      const parent = merged.http.routers.get(p);
      if (parent !== undefined) for (const ep of usingOf(parent, depth + 1)) out.add(ep);
    }
    return [...out];
  };
  for (const el of merged.http.routers.values()) {
    if (el.config?.parentRefs === undefined) continue;
    const using = usingOf(el, 0);
    (el as Element<HttpRouterConfig> & { using?: string[] }).using = using;
    if (using.length === 0 && el.errors.length === 0) el.errors.push(`http.routers.${el.name.split('@')[0]}: not reachable (no parent router that is served leads to it)`);
  }

  for (const r of deps.internal?.routers ?? []) {
    const handler = deps.internal!.services.get(r.service);
    if (handler === undefined) continue;
    const compiled = compileHttpRule(r.rule);
    for (const ep of r.entryPoints) perEntrypoint.get(ep)?.push({ name: r.name, rule: r.rule, priority: r.priority, handler, direct: null, fastSteps: [], compiled, service: r.service, accessLogs: true, metrics: true });
  }

  // Services no router uses are built too, so their errors show before someone routes to them.
  for (const name of merged.http.services.keys()) {
    try {
      serviceHandler(name);
    } catch {
      // recorded on the element by serviceHandler
    }
  }

  const tables = new Map<string, RouteTable<CompiledRouter>>();
  for (const [ep, routers] of perEntrypoint) {
    tables.set(ep, new RouteTable(routers.map((r) => ({ name: r.name, rule: r.rule, priority: r.priority, value: r }))));
  }
  const tcp = compileTcpRoutes(merged, deps.entrypoints.map((e) => e.name), deps.logger, deps.cwd, defaultEps.map((e) => e.name), (r) => resources.stoppers.push(r));
  return new Snapshot(
    version,
    tables,
    merged,
    lbServices,
    resources,
    tcp,
  );
}

function errorText(err: unknown): string {
  if (err instanceof ConfigError) return err.message;
  if (err instanceof Error) return err.message;
  return String(err);
}
