/**
 * Snapshot is one immutable, fully built configuration. A request reads the current snapshot once
 * on arrival and keeps it to the end (Traefik's handler switcher), so no request ever sees half a
 * configuration. When replaced, a snapshot is retired after a grace period and releases its
 * upstream references.
 */
import type { Handler } from '../proxy/context.js';
import type { FastStep } from '../middlewares/fast-step.js';
import type { LoadBalancerService } from '../proxy/forward.js';
import type { CompiledRule, MatchRequest, RouteTable } from '../router/index.js';
import type { MergedConfig } from './merge.js';
import type { TcpEntrypointRoutes } from '../tcp/routes.js';
import type { UpstreamRegistry, UpstreamTransport } from '../upstreams/registry.js';
import type { UpstreamServer } from '../upstreams/server.js';

/**
 * SnapshotResources are what a snapshot holds in the long-lived registries: references to upstream
 * servers and the health checkers it started. They are released when the snapshot is retired,
 * some time after the swap; kept apart from the snapshot (and out of any closure over the compile
 * step) so that waiting to release them does not keep the old routing tables alive. Under a storm
 * of reloads that made the process grow by every snapshot of the last retire period.
 */
export class SnapshotResources {
  readonly registry: UpstreamRegistry;
  readonly servers: UpstreamServer[] = [];
  readonly transports: UpstreamTransport[] = [];
  readonly stoppers: Array<{ stop(): void }> = [];

  constructor(registry: UpstreamRegistry) {
    this.registry = registry;
  }

  release(): void {
    for (const s of this.servers) this.registry.release(s);
    for (const t of this.transports) this.registry.releaseTransport(t);
    for (const r of this.stoppers) r.stop();
    this.servers.length = 0;
    this.transports.length = 0;
    this.stoppers.length = 0;
  }
}

export interface EntrypointInfo {
  name: string;
  tls: boolean;
  /**
   * `entryPoints.<name>.http.middlewares`: run before each router's own on this entrypoint; bare
   * names resolve in the router's provider, as the router's own do (Traefik's entrypoint model).
   */
  middlewares?: readonly string[];
  /** `asDefault`: routers without entryPoints go to the asDefault entrypoints when any is set. */
  asDefault?: boolean;
}

export interface CompiledRouter {
  name: string;
  rule: string;
  priority: number;
  handler: Handler;
  /**
   * The load-balancer service this router forwards to when every middleware in front of it has a
   * fast step, or null (the fast lane's test); `fastSteps` are those steps, in run order.
   */
  direct: LoadBalancerService | null;
  fastSteps: readonly FastStep[];
  compiled: CompiledRule;
  /** The service ('' for a parent router, whose child routers choose one). */
  service: string;
  /** The middlewares in front of the service on this entrypoint, in run order (the entrypoint's, then the router's). */
  middlewares?: readonly string[];
  /** The router's observability switches (access log line, metrics). */
  accessLogs: boolean;
  metrics: boolean;
}

export class Snapshot {
  readonly version: number;
  readonly tables: ReadonlyMap<string, RouteTable<CompiledRouter>>;
  /** The merged configuration with every element's status and errors (for the API). */
  readonly merged: MergedConfig;
  /** The load-balancer services, for health and the API. */
  readonly services: ReadonlyMap<string, LoadBalancerService>;
  /** TCP routers by entrypoint (only entrypoints that have some). */
  readonly tcp: ReadonlyMap<string, TcpEntrypointRoutes>;
  #resources: SnapshotResources | null;

  constructor(version: number, tables: Map<string, RouteTable<CompiledRouter>>, merged: MergedConfig, services: Map<string, LoadBalancerService>, resources: SnapshotResources, tcp: Map<string, TcpEntrypointRoutes> = new Map()) {
    this.version = version;
    this.tables = tables;
    this.merged = merged;
    this.services = services;
    this.tcp = tcp;
    this.#resources = resources;
  }

  /** route returns the router that takes the request on this entrypoint, or null (404). */
  route(entrypoint: string, req: MatchRequest): CompiledRouter | null {
    const table = this.tables.get(entrypoint);
    if (table === undefined) return null;
    const hit = table.match(req);
    return hit === null ? null : hit.value;
  }

  /** retire releases upstream references and health checkers now; called once. */
  retire(): void {
    this.detachResources()?.release();
  }

  /** detachResources hands over what retire() would release, for releasing later without this snapshot. */
  detachResources(): SnapshotResources | null {
    const r = this.#resources;
    this.#resources = null;
    return r;
  }
}
