/**
 * compileTcpRoutes builds, for each entrypoint, the TCP route tables of a snapshot: routers with
 * `tls` (passthrough or termination) match TLS connections by their ClientHello; routers without
 * match plain connections, where only `HostSNI(\`*\`)` and `ClientIP` can match. A router that
 * cannot be built is disabled with its error, as HTTP routers are.
 */
import type { TcpRouterConfig, TcpServiceConfig } from '../config/dynamic/schema.js';
import type { Logger } from '../observability/logger.js';
import { RuleSyntaxError } from '../errors.js';
import { compileTcpRule, TcpRouteTable } from '../router/index.js';
import { qualify, type Element, type MergedConfig } from '../watcher/merge.js';
import { parseServerAddress, TcpService, TcpWeighted, type TcpServer, type TcpServiceOptions, type TcpTarget } from './service.js';
import { signedMs } from '../config/dynamic/transports.js';
import { parseDuration } from '../config/duration.js';
import { compileTlsClient } from '../upstreams/transport.js';
import { tcpHealth, TcpHealthChecker } from '../health/tcp.js';
import { buildGuard, GuardedTarget } from './middlewares.js';

export interface TcpRoute {
  name: string;
  /** 'passthrough': bytes go to the server untouched; 'terminate': TLS ends here; null: plain TCP. */
  tls: 'passthrough' | 'terminate' | null;
  /** The router's own `tls.options` (terminate), resolved by the TLS manager; null = by SNI, else `default`. */
  tlsOptions: { ref: string; provider: string } | null;
  service: TcpTarget;
}

export interface TcpEntrypointRoutes {
  /** Routers for TLS connections (matched on the ClientHello's SNI and ALPN), or null. */
  tls: TcpRouteTable<TcpRoute> | null;
  /** Routers for plain connections, or null. */
  plain: TcpRouteTable<TcpRoute> | null;
  /** True when every plain router is a catch-all: route at once, without waiting for bytes (server-speaks-first protocols). */
  plainCatchAllOnly: boolean;
}

export function compileTcpRoutes(
  merged: MergedConfig,
  entrypoints: readonly string[],
  logger: Logger,
  cwd = process.cwd(),
  defaults: readonly string[] = entrypoints,
  retain: (r: { stop(): void }) => void = () => {},
): Map<string, TcpEntrypointRoutes> {
  const services = new Map<string, TcpTarget>();
  /** Services taking part in health propagation: a load balancer with healthCheck, a weighted one with healthCheck: {}. */
  const reporting = new Set<string>();
  const building = new Set<string>();
  const service = (name: string): TcpTarget => {
    const done = services.get(name);
    if (done !== undefined) return done;
    const el = merged.tcp.services.get(name);
    if (el === undefined) throw new Error(`service "${name}" does not exist`);
    if (el.config === null) throw new Error(`service "${name}" is invalid: ${el.errors.join('; ')}`);
    if (building.has(name)) throw new Error(`service "${name}" refers to itself`);
    building.add(name);
    try {
      const c = el.config;
      let svc: TcpTarget;
      if (c.weighted !== undefined) {
        const follow = c.weighted.healthCheck !== undefined;
        const children = c.weighted.services.map((s) => {
          const child = qualify(s.name, el.provider);
          const target = service(child);
          if (follow && !reporting.has(child)) throw new Error(`service "${el.name}": child service "${child}" has no health check: healthCheck on a weighted service needs one on every child`);
          return { target, weight: s.weight ?? 1 };
        });
        svc = new TcpWeighted(el.name, children, follow);
        if (follow) reporting.add(name);
      } else {
        svc = buildService(el as Element<TcpServiceConfig> & { config: TcpServiceConfig }, merged, logger, cwd, retain);
        if (c.loadBalancer?.healthCheck !== undefined) reporting.add(name);
      }
      services.set(name, svc);
      return svc;
    } catch (err) {
      const msg = (err as Error).message;
      if (!el.errors.includes(msg)) el.errors.push(msg);
      throw err;
    } finally {
      building.delete(name);
    }
  };

  const byEp = new Map<string, { tls: Array<{ name: string; rule: string; priority: number; value: TcpRoute }>; plain: Array<{ name: string; rule: string; priority: number; value: TcpRoute }> }>();
  for (const el of merged.tcp.routers.values()) {
    if (el.config === null) continue;
    const r: TcpRouterConfig = el.config;
    try {
      // Checked here so that the error names the router (the table would only skip it).
      compileTcpRule(r.rule);
      let svc = service(r.service);
      const mws = r.middlewares ?? [];
      if (mws.length > 0) {
        const guards = mws.map((m) => {
          const mel = merged.tcp.middlewares.get(m);
          if (mel === undefined) throw new Error(`middleware "${m}" does not exist`);
          if (mel.config === null) throw new Error(`middleware "${m}" is invalid: ${mel.errors.join('; ')}`);
          return { name: m, guard: buildGuard(mel.config, `tcp.middlewares.${m.split('@')[0]}`) };
        });
        svc = new GuardedTarget(svc, guards, logger);
      }
      const mode = r.tls === undefined ? null : r.tls.passthrough === true ? 'passthrough' : 'terminate';
      const tlsOptions = mode === 'terminate' && r.tls?.options !== undefined ? { ref: r.tls.options, provider: el.provider } : null;
      const route: TcpRoute = { name: el.name, tls: mode, tlsOptions, service: svc };
      const eps = r.entryPoints ?? defaults;
      for (const ep of eps) {
        if (!entrypoints.includes(ep)) {
          el.errors.push(`entryPoint "${ep}" does not exist`);
          continue;
        }
        let lists = byEp.get(ep);
        if (lists === undefined) byEp.set(ep, (lists = { tls: [], plain: [] }));
        (mode === null ? lists.plain : lists.tls).push({ name: el.name, rule: r.rule, priority: r.priority ?? 0, value: route });
      }
    } catch (err) {
      const rule = err instanceof RuleSyntaxError ? '.rule' : '';
      el.errors.push(`tcp.routers.${el.name.split('@')[0]}${rule}: ${(err as Error).message}`);
    }
  }
  const out = new Map<string, TcpEntrypointRoutes>();
  for (const [ep, lists] of byEp) {
    out.set(ep, {
      tls: lists.tls.length === 0 ? null : new TcpRouteTable(lists.tls),
      plain: lists.plain.length === 0 ? null : new TcpRouteTable(lists.plain),
      plainCatchAllOnly: lists.plain.length > 0 && lists.plain.every((p) => /^\s*HostSNI\(\s*`\*`\s*\)\s*$/.test(p.rule)),
    });
  }
  return out;
}

function buildService(el: Element<TcpServiceConfig> & { config: TcpServiceConfig }, merged: MergedConfig, logger: Logger, cwd: string, retain: (r: { stop(): void }) => void): TcpService {
  const lb = el.config.loadBalancer;
  if (lb === undefined) throw new Error(`service "${el.name}" has no type`);
  const servers: TcpServer[] = [];
  for (const s of lb.servers ?? []) {
    const a = parseServerAddress(s.address);
    if (a === null) {
      const msg = `server address "${s.address}" is not host:port`;
      el.errors.push(msg);
      throw new Error(`service "${el.name}": ${msg}`);
    }
    servers.push({ address: s.address, host: a.host, port: a.port, weight: s.weight ?? 1, tls: s.tls === true });
  }
  let healthy: ((address: string) => boolean) | undefined;
  if (lb.healthCheck !== undefined) {
    const checker = new TcpHealthChecker(el.name, servers, lb.healthCheck, logger.child({ service: el.name }));
    retain(checker);
    healthy = (address) => tcpHealth.healthy(address);
  }
  let proxyProtocol: 1 | 2 | null = lb.proxyProtocol?.version ?? (lb.proxyProtocol ? 2 : null);
  const opts: TcpServiceOptions = { terminationDelayMs: lb.terminationDelay, healthy };
  const ref = lb.serversTransport;
  if (ref !== undefined && ref !== '' && ref !== 'default@internal') {
    // As in Traefik, a named transport's terminationDelay and proxyProtocol replace the load
    // balancer's (deprecated) ones.
    const t = merged.tcp.serversTransports.get(ref);
    if (t === undefined) throw new Error(`service "${el.name}": serversTransport "${ref}" does not exist`);
    if (t.config === null) throw new Error(`service "${el.name}": serversTransport "${ref}" is invalid: ${t.errors.join('; ')}`);
    const c = t.config;
    opts.dialTimeoutMs = c.dialTimeout === undefined ? undefined : (parseDuration(c.dialTimeout) ?? undefined);
    opts.dialKeepAliveMs = c.dialKeepAlive === undefined ? undefined : (signedMs(c.dialKeepAlive) ?? undefined);
    opts.terminationDelayMs = c.terminationDelay === undefined ? undefined : (signedMs(c.terminationDelay) ?? undefined);
    proxyProtocol = c.proxyProtocol === undefined ? null : (c.proxyProtocol.version ?? 2);
    opts.tls = c.tls === undefined ? null : compileTlsClient(c.tls, cwd, `tcp.serversTransports.${t.name}.tls`);
  }
  return new TcpService(el.name, servers, proxyProtocol, logger.child({ service: el.name }), opts);
}
