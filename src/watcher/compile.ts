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
import { createBalancer, createMirroringHandler, createWeightedHandler, hasAvailableServer } from '../balancer/index.js';
import { DEFAULT_MIRROR_MAX_BODY } from '../balancer/mirroring.js';
import { middlewareFactory } from '../middlewares/registry.js';
import type { MiddlewareEnv } from '../middlewares/types.js';
import type { Logger } from '../observability/logger.js';
import { compileHttpRule, RouteTable } from '../router/index.js';
import { qualify, type Element, type MergedConfig } from './merge.js';
import { Snapshot, SnapshotResources, type CompiledRouter, type EntrypointInfo } from './snapshot.js';
import { createStaticHandler } from '../services/static/index.js';
import { ActiveHealthChecker, type HealthCheckRegistry } from '../health/active.js';
import { compileTcpRoutes } from '../tcp/routes.js';

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
    if (c.loadBalancer) return buildLoadBalancer(el.name, c.loadBalancer);
    if (c.weighted) {
      const children = c.weighted.services.map((s) => {
        const handler = serviceHandler(s.name);
        // A load-balancer child with no available server is skipped while another child can
        // answer (Traefik's health propagation to a weighted service); other kinds always count.
        const lb = lbServices.get(s.name);
        const available = lb === undefined ? undefined : () => hasAvailableServer(lb.balancer);
        return { name: s.name, handler, weight: s.weight ?? 1, available };
      });
      return createWeightedHandler(children, c.weighted.sticky?.cookie, el.name, deps.stickySecret);
    }
    if (c.mirroring) {
      const main = serviceHandler(c.mirroring.service);
      const mirrors = (c.mirroring.mirrors ?? []).map((m) => ({ handler: serviceHandler(m.name), percent: m.percent ?? 0 }));
      return createMirroringHandler(main, mirrors, c.mirroring.maxBodySize ?? DEFAULT_MIRROR_MAX_BODY, { mirrorBody: c.mirroring.mirrorBody ?? true, logger: deps.logger.child({ service: el.name }) });
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
        health: deps.health,
        onDone: deps.onDone,
        fastLane: lb.sticky === undefined && servers.every((s) => transport.ownClient(s.server)),
        transport,
      },
      balancer,
      deps.registry,
    );
    lbServices.set(name, svc);
    return svc.handle;
  };

  const buildMiddleware = (name: string, next: Handler, stack: string[]): Handler => {
    const el = merged.http.middlewares.get(name);
    if (el === undefined) throw new ConfigError('', `middleware "${name}" does not exist`);
    if (el.config === null) throw new ConfigError('', `middleware "${name}" is invalid: ${el.errors.join('; ')}`);
    if (stack.includes(name)) throw new ConfigError('', `middleware chain loop: ${[...stack, name].join(' -> ')}`);
    const [type, options] = Object.entries(el.config)[0]!;
    if (type === 'chain') {
      const members = ((options as { middlewares?: string[] }).middlewares ?? []).map((m) => qualify(m, el.provider));
      let h = next;
      for (let i = members.length - 1; i >= 0; i--) h = buildMiddleware(members[i]!, h, [...stack, name]);
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
    };
    try {
      const parsed = factory.schema.parse(options);
      return factory.create(parsed, next, env);
    } catch (err) {
      const msg = errorText(err);
      if (!el.errors.includes(msg)) el.errors.push(msg);
      throw new ConfigError('', `middleware "${name}": ${msg}`);
    }
  };

  // Routers: build each one alone; a failure disables that router only.
  const perEntrypoint = new Map<string, CompiledRouter[]>();
  for (const ep of deps.entrypoints) perEntrypoint.set(ep.name, []);
  // Traefik: when some entrypoints are asDefault, routers without entryPoints go only to those.
  const defaultEps = deps.entrypoints.some((e) => e.asDefault === true) ? deps.entrypoints.filter((e) => e.asDefault === true) : deps.entrypoints;
  for (const el of merged.http.routers.values()) {
    if (el.config === null) continue;
    const r: HttpRouterConfig = el.config;
    try {
      const compiled = compileHttpRule(r.rule);
      let own = serviceHandler(r.service);
      const mws = r.middlewares ?? [];
      for (let i = mws.length - 1; i >= 0; i--) own = buildMiddleware(mws[i]!, own, []);
      const ownDirect = mws.length === 0 ? (lbServices.get(r.service) ?? null) : null;
      // The entrypoint's middlewares go in front of the router's own, built once per list.
      const chains = new Map<string, { handler: Handler; direct: LoadBalancerService | null; names: string[] }>();
      const chainFor = (epMws: readonly string[]) => {
        const key = epMws.join('\0');
        let c = chains.get(key);
        if (c === undefined) {
          let handler = own;
          for (let i = epMws.length - 1; i >= 0; i--) handler = buildMiddleware(qualify(epMws[i]!, el.provider), handler, []);
          // The fast lane serves only routers with no middleware at all, the entrypoint's included.
          c = { handler, direct: epMws.length === 0 ? ownDirect : null, names: [...epMws.map((m) => qualify(m, el.provider)), ...mws] };
          chains.set(key, c);
        }
        return c;
      };
      const tls = r.tls !== undefined;
      const eps = r.entryPoints ?? defaultEps.filter((e) => e.tls === tls).map((e) => e.name);
      const using: string[] = [];
      for (const epName of eps) {
        const ep = deps.entrypoints.find((e) => e.name === epName);
        if (ep === undefined) {
          el.errors.push(`entryPoint "${epName}" does not exist`);
          continue;
        }
        if (ep.tls !== tls) continue;
        let chain;
        try {
          chain = chainFor(ep.middlewares ?? []);
        } catch (err) {
          // A missing entrypoint middleware (global auth, say) keeps the router off that entrypoint only.
          el.errors.push(`entryPoints.${epName}.http.middlewares: ${errorText(err)}`);
          continue;
        }
        using.push(epName);
        perEntrypoint.get(epName)!.push({ name: el.name, rule: r.rule, priority: r.priority ?? 0, handler: chain.handler, direct: chain.direct, compiled, service: r.service, middlewares: chain.names });
      }
      (el as Element<HttpRouterConfig> & { using?: string[] }).using = using;
      if (using.length === 0 && el.errors.length === 0) el.errors.push('no entryPoint to serve this router on');
    } catch (err) {
      el.errors.push(`http.routers.${el.name.split('@')[0]}: ${errorText(err)}`);
    }
  }

  for (const r of deps.internal?.routers ?? []) {
    const handler = deps.internal!.services.get(r.service);
    if (handler === undefined) continue;
    const compiled = compileHttpRule(r.rule);
    for (const ep of r.entryPoints) perEntrypoint.get(ep)?.push({ name: r.name, rule: r.rule, priority: r.priority, handler, direct: null, compiled, service: r.service });
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
  const tcp = compileTcpRoutes(merged, deps.entrypoints.map((e) => e.name), deps.logger, deps.cwd, defaultEps.map((e) => e.name));
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
