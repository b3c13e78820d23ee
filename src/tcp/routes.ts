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
import type { Element, MergedConfig } from '../watcher/merge.js';
import { parseServerAddress, TcpService, type TcpServer, type TcpServiceOptions } from './service.js';
import { signedMs } from '../config/dynamic/transports.js';
import { parseDuration } from '../config/duration.js';
import { compileTlsClient } from '../upstreams/transport.js';

export interface TcpRoute {
  name: string;
  /** 'passthrough': bytes go to the server untouched; 'terminate': TLS ends here; null: plain TCP. */
  tls: 'passthrough' | 'terminate' | null;
  /** The router's own `tls.options` (terminate), resolved by the TLS manager; null = by SNI, else `default`. */
  tlsOptions: { ref: string; provider: string } | null;
  service: TcpService;
}

export interface TcpEntrypointRoutes {
  /** Routers for TLS connections (matched on the ClientHello's SNI and ALPN), or null. */
  tls: TcpRouteTable<TcpRoute> | null;
  /** Routers for plain connections, or null. */
  plain: TcpRouteTable<TcpRoute> | null;
  /** True when every plain router is a catch-all: route at once, without waiting for bytes (server-speaks-first protocols). */
  plainCatchAllOnly: boolean;
}

export function compileTcpRoutes(merged: MergedConfig, entrypoints: readonly string[], logger: Logger, cwd = process.cwd(), defaults: readonly string[] = entrypoints): Map<string, TcpEntrypointRoutes> {
  const services = new Map<string, TcpService>();
  const service = (name: string): TcpService => {
    const done = services.get(name);
    if (done !== undefined) return done;
    const el = merged.tcp.services.get(name);
    if (el === undefined) throw new Error(`service "${name}" does not exist`);
    if (el.config === null) throw new Error(`service "${name}" is invalid: ${el.errors.join('; ')}`);
    let svc: TcpService;
    try {
      svc = buildService(el as Element<TcpServiceConfig> & { config: TcpServiceConfig }, merged, logger, cwd);
    } catch (err) {
      if (el.errors.length === 0) el.errors.push((err as Error).message);
      throw err;
    }
    services.set(name, svc);
    return svc;
  };

  const byEp = new Map<string, { tls: Array<{ name: string; rule: string; priority: number; value: TcpRoute }>; plain: Array<{ name: string; rule: string; priority: number; value: TcpRoute }> }>();
  for (const el of merged.tcp.routers.values()) {
    if (el.config === null) continue;
    const r: TcpRouterConfig = el.config;
    try {
      // Checked here so that the error names the router (the table would only skip it).
      compileTcpRule(r.rule);
      const svc = service(r.service);
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

function buildService(el: Element<TcpServiceConfig> & { config: TcpServiceConfig }, merged: MergedConfig, logger: Logger, cwd: string): TcpService {
  const lb = el.config.loadBalancer;
  if (lb === undefined) throw new Error(`service "${el.name}": only loadBalancer TCP services are supported`);
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
  let proxyProtocol: 1 | 2 | null = lb.proxyProtocol?.version ?? (lb.proxyProtocol ? 2 : null);
  const opts: TcpServiceOptions = { terminationDelayMs: lb.terminationDelay };
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
