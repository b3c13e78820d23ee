/**
 * Snapshot is one immutable, fully built configuration. A request reads the current snapshot once
 * on arrival and keeps it to the end (Traefik's handler switcher), so no request ever sees half a
 * configuration. When replaced, a snapshot is retired after a grace period and releases its
 * upstream references.
 */
import type { Handler } from '../proxy/context.js';
import type { LoadBalancerService } from '../proxy/forward.js';
import type { CompiledRule, MatchRequest, RouteTable } from '../router/index.js';
import type { MergedConfig } from './merge.js';
import type { TcpEntrypointRoutes } from '../tcp/routes.js';

export interface EntrypointInfo {
  name: string;
  tls: boolean;
}

export interface CompiledRouter {
  name: string;
  rule: string;
  priority: number;
  handler: Handler;
  /** The load-balancer service this router forwards to with no middleware between, or null (the fast lane's test). */
  direct: LoadBalancerService | null;
  compiled: CompiledRule;
  service: string;
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
  #release: (() => void) | null;

  constructor(version: number, tables: Map<string, RouteTable<CompiledRouter>>, merged: MergedConfig, services: Map<string, LoadBalancerService>, release: () => void, tcp: Map<string, TcpEntrypointRoutes> = new Map()) {
    this.version = version;
    this.tables = tables;
    this.merged = merged;
    this.services = services;
    this.tcp = tcp;
    this.#release = release;
  }

  /** route returns the router that takes the request on this entrypoint, or null (404). */
  route(entrypoint: string, req: MatchRequest): CompiledRouter | null {
    const table = this.tables.get(entrypoint);
    if (table === undefined) return null;
    const hit = table.match(req);
    return hit === null ? null : hit.value;
  }

  /** retire releases upstream references; called once, after in-flight requests had time to end. */
  retire(): void {
    const r = this.#release;
    this.#release = null;
    if (r !== null) r();
  }
}
