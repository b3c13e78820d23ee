/**
 * Active health checks (Traefik's `healthCheck`): each server is asked `method path` on a timer
 * and marked DOWN (`server.activeHealthy = false`) when the answer is an error, a timeout or an
 * unexpected status, UP again when a check passes. Transitions are logged with the service and
 * the URL.
 *
 * Checks outlive snapshots. A HealthCheckRegistry holds one Probe per (server, normalized check
 * config), reference-counted by the ActiveHealthCheckers that use it (Caddy's usage pool habit).
 * A reload that keeps a service's servers and check config starts the new snapshot's checker
 * (refs 2) and stops the old one (refs 1): the probe keeps its timer and its state. Build the new
 * snapshot's checkers before stopping the old ones, or an unchanged probe would be dropped and
 * recreated.
 *
 * Defaults as in Traefik: interval 30s, timeout 5s, unhealthyInterval = interval, method GET,
 * any 2xx or 3xx is healthy unless `status` asks for one code, redirects are followed (up to 10,
 * as Go's client) unless `followRedirects: false`, when a 3xx is the answer judged, `hostname` is
 * sent as the Host header, `port` and `scheme` replace those of the server URL, `path` is
 * resolved against the server URL. `mode: grpc` asks the gRPC Health Checking Protocol instead
 * (grpc.ts). Checks go through the service's servers transport: its CAs, client certificate and
 * server name for https:// servers.
 *
 * The first check runs when a probe starts, so a server that is down at start is known to be
 * down within one timeout, not one interval. With several worker processes each worker checks on
 * its own; they reach the same verdicts within one interval.
 */
import type { Agent, Dispatcher } from 'undici';
import { undici } from '../upstreams/undici.js';
import { tlsConnectOptions, transportKey, type TransportOptions } from '../upstreams/transport.js';
import { grpcProber } from './grpc.js';
import type { UpstreamServer } from '../upstreams/server.js';
import type { WeightedServer } from '../balancer/types.js';
import type { HealthCheckConfig } from '../config/dynamic/schema.js';
import { parseDuration } from '../config/duration.js';
import { silentLogger, type Logger } from '../observability/logger.js';

export { serverStatus, serverStatusMap, type ServerStatus } from './status.js';

/** NormalizedCheck is a HealthCheckConfig with every default applied; equal checks share probes. */
export interface NormalizedCheck {
  readonly path: string;
  readonly scheme: string;
  readonly hostname: string;
  readonly port: number;
  readonly method: string;
  readonly headers: Readonly<Record<string, string>>;
  /** Expected status; 0 means any 2xx or 3xx. */
  readonly status: number;
  readonly intervalMs: number;
  readonly unhealthyIntervalMs: number;
  readonly timeoutMs: number;
  /** 'http', or 'grpc' (the gRPC Health Checking Protocol, grpc.ts). */
  readonly mode: 'http' | 'grpc';
  readonly followRedirects: boolean;
}

export const DEFAULT_INTERVAL_MS = 30_000;
export const DEFAULT_TIMEOUT_MS = 5_000;

export function normalizeHealthCheck(c: HealthCheckConfig): NormalizedCheck {
  const interval = durationOr(c.interval, DEFAULT_INTERVAL_MS);
  const headers: Record<string, string> = {};
  for (const k of Object.keys(c.headers ?? {}).sort()) headers[k] = c.headers![k]!;
  return {
    path: c.path ?? '',
    scheme: c.scheme ?? '',
    hostname: c.hostname ?? '',
    port: c.port ?? 0,
    method: (c.method ?? 'GET').toUpperCase(),
    headers,
    status: c.status ?? 0,
    intervalMs: interval,
    unhealthyIntervalMs: durationOr(c.unhealthyInterval, interval),
    timeoutMs: durationOr(c.timeout, DEFAULT_TIMEOUT_MS),
    mode: c.mode?.toLowerCase() === 'grpc' ? 'grpc' : 'http',
    followRedirects: c.followRedirects ?? true,
  };
}

function durationOr(v: string | number | undefined, def: number): number {
  if (v === undefined) return def;
  const ms = parseDuration(v);
  // As Traefik does, a zero or invalid duration falls back to the default.
  return ms === null || ms <= 0 ? def : ms;
}

/** checkURL is the URL a check asks: `path` resolved against the server URL, then scheme and port overrides. */
export function checkURL(serverUrl: string, check: NormalizedCheck): string {
  const u = new URL(check.path, serverUrl);
  if (check.scheme !== '') u.protocol = `${check.scheme}:`;
  if (check.port !== 0) u.port = String(check.port);
  return u.toString();
}

/**
 * Prober performs one check and resolves to null when healthy, or to the reason it is not. It
 * never rejects. `dispatcher` carries the service's transport (HTTP checks); `transport` is its
 * options (gRPC checks open their own HTTP/2 connection).
 */
export type Prober = (url: string, check: NormalizedCheck, dispatcher: Dispatcher, transport: TransportOptions | null) => Promise<string | null>;

/** defaultProber checks over HTTP with undici, or with the gRPC health protocol for `mode: grpc`. */
export const httpProber: Prober = async (url, check, dispatcher, transport) => {
  if (check.mode === 'grpc') return grpcProber(url, check, transport);
  const headers: Record<string, string> = { ...check.headers };
  if (check.hostname !== '') headers['host'] = check.hostname;
  try {
    const res = await undici().request(url, {
      method: check.method as Dispatcher.HttpMethod,
      headers,
      dispatcher,
      signal: AbortSignal.timeout(check.timeoutMs),
      headersTimeout: check.timeoutMs,
      bodyTimeout: check.timeoutMs,
    });
    await res.body.dump();
    const code = res.statusCode;
    if (check.status !== 0) return code === check.status ? null : `status ${code}, expected ${check.status}`;
    return code >= 200 && code < 400 ? null : `status ${code}`;
  } catch (err) {
    const e = err as Error & { code?: string; name?: string };
    if (e.name === 'TimeoutError') return `timeout after ${check.timeoutMs}ms`;
    return e.code !== undefined ? `${e.code}: ${e.message}` : e.message;
  }
};

/** Probe checks one server with one check config on its own timer. */
export class Probe {
  readonly server: UpstreamServer;
  readonly check: NormalizedCheck;
  readonly url: string;
  /** Last verdict; starts as the server's current active health, so a new probe does not flap. */
  up: boolean;
  /** Last failure reason, or null. */
  reason: string | null = null;
  /** Services using this probe, counted (a service may hold it from two snapshots during a reload). */
  readonly services = new Map<string, number>();
  refs = 0;
  /** The servers transport the check goes through (null: Node's defaults), and its pooled dispatcher key. */
  readonly transport: TransportOptions | null;
  readonly transportKey: string;
  readonly #registry: HealthCheckRegistry;
  readonly #logger: Logger;
  #timer: NodeJS.Timeout | null = null;
  #stopped = false;

  constructor(registry: HealthCheckRegistry, server: UpstreamServer, check: NormalizedCheck, logger: Logger, transport: TransportOptions | null = null) {
    this.#registry = registry;
    this.transport = transport;
    this.transportKey = transport === null ? '' : transportKey(transport);
    this.server = server;
    this.check = check;
    this.url = checkURL(server.url, check);
    this.up = server.activeHealthy;
    this.#logger = logger;
  }

  start(): void {
    this.#schedule(0);
  }

  stop(): void {
    this.#stopped = true;
    if (this.#timer !== null) clearTimeout(this.#timer);
    this.#timer = null;
  }

  #schedule(ms: number): void {
    if (this.#stopped) return;
    this.#timer = setTimeout(runProbe, ms, this);
    // Health timers must not keep a process alive that is otherwise done (graceful exit, tests).
    this.#timer.unref();
  }

  /** run performs one check, records the verdict and schedules the next one. */
  async run(): Promise<void> {
    this.#timer = null;
    let reason: string | null;
    try {
      reason = await this.#registry.prober(this.url, this.check, this.#registry.dispatcherFor(this), this.transport);
    } catch (err) {
      // A Prober should not reject; if one does, the check failed rather than the process.
      reason = err instanceof Error ? err.message : String(err);
    }
    if (this.#stopped) return;
    const up = reason === null;
    this.reason = reason;
    if (up !== this.up) {
      this.up = up;
      const fields = { service: [...this.services.keys()].join(','), url: this.server.url, check: this.url };
      if (up) this.#logger.info('health check: server is UP', fields);
      else this.#logger.warn('health check: server is DOWN', { ...fields, reason });
      this.#registry.recompute(this.server);
    }
    this.#schedule(up ? this.check.intervalMs : this.check.unhealthyIntervalMs);
  }
}

function runProbe(p: Probe): void {
  void p.run();
}

export interface HealthCheckRegistryOptions {
  readonly prober?: Prober;
  /** Dispatcher for checks (e.g. one that accepts the servers' self-signed certificates); a private Agent by default. */
  readonly dispatcher?: Dispatcher;
}

/** HealthCheckRegistry holds the probes of the process, deduplicated by (server, check config). */
export class HealthCheckRegistry {
  readonly prober: Prober;
  readonly #probes = new Map<UpstreamServer, Map<string, Probe>>();
  #dispatcher: Dispatcher | null;
  readonly #ownsDispatcher: boolean;
  /** Dispatchers by transport key and redirect policy, with the probes using each. */
  readonly #dispatchers = new Map<string, { dispatcher: Dispatcher; refs: number }>();

  constructor(opts: HealthCheckRegistryOptions = {}) {
    this.prober = opts.prober ?? httpProber;
    this.#dispatcher = opts.dispatcher ?? null;
    this.#ownsDispatcher = opts.dispatcher === undefined;
  }

  get dispatcher(): Dispatcher {
    // A private agent keeps checks off the forwarder's pools; created only when checks exist.
    this.#dispatcher ??= new (undici().Agent)({ keepAliveTimeout: 4_000, connections: 2 });
    return this.#dispatcher;
  }

  /**
   * dispatcherFor is the dispatcher a probe's HTTP checks use: the one given to the registry (tests),
   * else one per (transport, followRedirects), so that checks trust what the service's forwarding
   * trusts and never share connections with it.
   */
  dispatcherFor(probe: Probe): Dispatcher {
    if (!this.#ownsDispatcher) return this.dispatcher;
    const d = this.#dispatchers.get(dispatcherKey(probe));
    return d === undefined ? this.dispatcher : d.dispatcher;
  }

  #holdDispatcher(probe: Probe): void {
    if (!this.#ownsDispatcher) return;
    const key = dispatcherKey(probe);
    let d = this.#dispatchers.get(key);
    if (d === undefined) {
      const t = probe.transport;
      const agent = new (undici().Agent)({ keepAliveTimeout: 4_000, connections: 2, connect: t === null ? {} : { timeout: t.dialTimeoutMs, ...tlsConnectOptions(t, '') } });
      // Go's client follows at most 10 redirects; so does Traefik's health check unless told not to.
      const dispatcher = probe.check.followRedirects ? agent.compose(undici().interceptors.redirect({ maxRedirections: 10 })) : agent;
      d = { dispatcher, refs: 0 };
      this.#dispatchers.set(key, d);
    }
    d.refs++;
  }

  #dropDispatcher(probe: Probe): void {
    if (!this.#ownsDispatcher) return;
    const key = dispatcherKey(probe);
    const d = this.#dispatchers.get(key);
    if (d === undefined || --d.refs > 0) return;
    this.#dispatchers.delete(key);
    d.dispatcher.close().catch(() => {});
  }

  /** acquire returns the probe for (server, check, transport), starting it when it is new. */
  acquire(server: UpstreamServer, check: NormalizedCheck, service: string, logger: Logger, transport: TransportOptions | null = null): Probe {
    const key = JSON.stringify(check) + (transport === null ? '' : `\0${transportKey(transport)}`);
    let byKey = this.#probes.get(server);
    if (byKey === undefined) {
      byKey = new Map();
      this.#probes.set(server, byKey);
    }
    let probe = byKey.get(key);
    const created = probe === undefined;
    if (probe === undefined) {
      probe = new Probe(this, server, check, logger, transport);
      byKey.set(key, probe);
      this.#holdDispatcher(probe);
    }
    probe.refs++;
    probe.services.set(service, (probe.services.get(service) ?? 0) + 1);
    if (created) probe.start();
    return probe;
  }

  /** release drops one reference; the last one stops the probe. */
  release(probe: Probe, service: string): void {
    const n = (probe.services.get(service) ?? 1) - 1;
    if (n <= 0) probe.services.delete(service);
    else probe.services.set(service, n);
    if (--probe.refs > 0) return;
    probe.stop();
    this.#dropDispatcher(probe);
    const byKey = this.#probes.get(probe.server);
    if (byKey !== undefined) {
      byKey.delete(JSON.stringify(probe.check) + (probe.transport === null ? '' : `\0${probe.transportKey}`));
      if (byKey.size === 0) this.#probes.delete(probe.server);
    }
    this.recompute(probe.server);
  }

  /**
   * recompute sets a server's activeHealthy: UP when every probe of it passes. A server no
   * longer checked at all is UP again, or removing a health check would leave it out forever.
   */
  recompute(server: UpstreamServer): void {
    const byKey = this.#probes.get(server);
    let up = true;
    if (byKey !== undefined) for (const p of byKey.values()) if (!p.up) up = false;
    server.activeHealthy = up;
  }

  /** size is the number of running probes (for tests and metrics). */
  get size(): number {
    let n = 0;
    for (const m of this.#probes.values()) n += m.size;
    return n;
  }

  /** close stops every probe and closes the private dispatcher (process shutdown). */
  async close(): Promise<void> {
    for (const m of this.#probes.values()) for (const p of m.values()) p.stop();
    this.#probes.clear();
    const own = [...this.#dispatchers.values()];
    this.#dispatchers.clear();
    await Promise.all(own.map((d) => d.dispatcher.close().catch(() => {})));
    if (this.#ownsDispatcher && this.#dispatcher !== null) await this.#dispatcher.close();
    this.#dispatcher = null;
  }
}

/** The process-wide registry used when a checker is given none. */
export const defaultHealthRegistry = new HealthCheckRegistry();

export interface ActiveHealthCheckerOptions {
  readonly registry?: HealthCheckRegistry;
  readonly logger?: Logger;
  /** The service's servers transport (TLS to https:// servers); Node's defaults when absent. */
  readonly transport?: { readonly options: TransportOptions } | null;
}

function dispatcherKey(p: Probe): string {
  return `${p.transportKey}/${p.check.followRedirects ? 'follow' : 'stay'}`;
}

/**
 * ActiveHealthChecker is one service's health check in one snapshot: start() when the snapshot
 * is built, stop() when it is released. Both are idempotent.
 */
export class ActiveHealthChecker {
  readonly serviceName: string;
  readonly check: NormalizedCheck;
  readonly #servers: readonly UpstreamServer[];
  readonly #registry: HealthCheckRegistry;
  readonly #logger: Logger;
  readonly #transport: TransportOptions | null;
  #probes: Probe[] | null = null;

  constructor(serviceName: string, servers: readonly (UpstreamServer | WeightedServer)[], config: HealthCheckConfig, opts: ActiveHealthCheckerOptions = {}) {
    this.serviceName = serviceName;
    this.check = normalizeHealthCheck(config);
    // A server listed twice is checked once.
    this.#servers = [...new Set(servers.map((s) => ('server' in s ? s.server : s)))];
    this.#registry = opts.registry ?? defaultHealthRegistry;
    this.#logger = opts.logger ?? silentLogger;
    this.#transport = opts.transport?.options ?? null;
  }

  start(): void {
    if (this.#probes !== null) return;
    this.#probes = this.#servers.map((s) => this.#registry.acquire(s, this.check, this.serviceName, this.#logger, this.#transport));
  }

  stop(): void {
    if (this.#probes === null) return;
    for (const p of this.#probes) this.#registry.release(p, this.serviceName);
    this.#probes = null;
  }

  /** probes are the running probes of this checker (empty when stopped), for the API. */
  get probes(): readonly Probe[] {
    return this.#probes ?? [];
  }
}
