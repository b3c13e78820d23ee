/**
 * Gantry assembles a running proxy from a resolved static configuration: the upstream registry,
 * the configuration watcher, the providers, the entrypoints and the API; and it stops them in the
 * right order on shutdown (stop accepting, drain, then close the rest).
 */
import type net from 'node:net';
import os from 'node:os';
import type { StaticConfig } from './config/static/index.js';
import { FileSink, Logger } from './observability/logger.js';
import { AccessLog } from './observability/access-log.js';
import { UpstreamRegistry } from './upstreams/registry.js';
import { compileTlsClient, TransportError } from './upstreams/transport.js';
import { ConfigError } from './errors.js';
import { ConfigWatcher } from './watcher/watcher.js';
import type { EntrypointInfo, Snapshot } from './watcher/snapshot.js';
import { HttpEntrypoint } from './entrypoints/http.js';
import type { Provider } from './providers/provider.js';
import type { ApiServer } from './api/server.js';
import { Metrics, mergeStats, type GaugeSources, type StatsSnapshot } from './observability/metrics.js';
import { PROMETHEUS_CONTENT_TYPE, renderPrometheus } from './observability/prometheus.js';
import type { InternalRoutes } from './watcher/compile.js';
import type { Handler } from './proxy/context.js';
import { VERSION } from './version.js';
import type { RequestObserver } from './entrypoints/http.js';
import { HealthCheckRegistry } from './health/active.js';
import { recordFailure, recordSuccess } from './health/passive.js';
import { IPMatcher } from './middlewares/ip.js';
import { createProviders } from './providers/index.js';
import { ACCEPT_SOCKETS } from './entrypoints/accept-sockets.js';
import type { RestProvider } from './providers/rest/index.js';
import { TlsRuntime } from './tls/runtime.js';
import { Readiness } from './api/readiness.js';
import { startIdleTrim, type IdleTrim } from './idle-trim.js';
import './middlewares/index.js';

/**
 * Role of this process: `all` does everything (one process). With --workers=N the `primary` does
 * everything too and is one of the N processes that serve the ports; each of the N-1 workers
 * `serve`s the entrypoints from configurations the primary sends it.
 */
export type GantryRole = 'all' | 'primary' | 'serve';

/** Counters of one serving process, as a worker reports them to the primary. */
export interface LocalStats {
  stats: StatsSnapshot | null;
  openConnections: Record<string, number>;
}

export interface GantryOptions {
  config: StaticConfig;
  cwd: string;
  logger?: Logger;
  role?: GantryRole;
  /** With --workers: collects the primary's and every worker's counters, so the API and /metrics speak for all. */
  workerStats?: () => Promise<LocalStats[]>;
  /** A worker's /metrics text: asked of the primary, which speaks for all workers (cluster/worker.ts). */
  metricsText?: () => Promise<string>;
}

export class Gantry {
  readonly config: StaticConfig;
  readonly logger: Logger;
  readonly registry: UpstreamRegistry;
  readonly watcher: ConfigWatcher;
  readonly entrypoints: HttpEntrypoint[] = [];
  /** The enabled providers, made (and their modules loaded) by start(); none in a worker. */
  readonly providers: Provider[] = [];
  readonly health = new HealthCheckRegistry();
  /** TLS termination, certificates (files, ACME, default), TCP routers and redirects of the entrypoints. */
  readonly tls: TlsRuntime;
  api: ApiServer | null = null;
  readonly role: GantryRole;
  readonly #cwd: string;
  #workerStats: (() => Promise<LocalStats[]>) | null;
  #metricsText: (() => Promise<string>) | null;
  #accessLog: AccessLog | null = null;
  /** Traffic counters for /metrics and the dashboard; null when neither the API nor metrics are on. */
  readonly metrics: Metrics | null;
  #stopping: Promise<void> | null = null;
  #idleTrim: IdleTrim | null = null;
  /** What /ping reports: ready once every provider's first configuration is applied and served. */
  readonly readiness: Readiness;

  constructor(opts: GantryOptions) {
    const c = opts.config;
    this.config = c;
    this.role = opts.role ?? 'all';
    this.#cwd = opts.cwd;
    this.#workerStats = opts.workerStats ?? null;
    this.#metricsText = opts.metricsText ?? null;
    this.logger = opts.logger ?? new Logger(c.log.level, c.log.format as 'json' | 'text', c.log.filePath === undefined ? undefined : openLogFile(c.log.filePath));
    const t = c.serversTransport;
    let serversTls;
    try {
      serversTls = compileTlsClient({ insecureSkipVerify: t.insecureSkipVerify, rootCAs: [...t.rootCAs] }, opts.cwd, 'serversTransport');
    } catch (err) {
      // A CA file that cannot be read is a configuration error, reported as such at start.
      if (err instanceof TransportError) throw new ConfigError('', err.message);
      throw err;
    }
    this.registry = new UpstreamRegistry({
      dialTimeoutMs: t.forwardingTimeouts.dialTimeout,
      responseHeaderTimeoutMs: t.forwardingTimeouts.responseHeaderTimeout,
      idleConnTimeoutMs: t.forwardingTimeouts.idleConnTimeout,
      insecureSkipVerify: t.insecureSkipVerify,
      client: t.client === 'undici' ? 'undici' : 'gantry',
      maxIdleConnsPerHost: t.maxIdleConnsPerHost,
      tls: serversTls,
    });
    if (c.accessLog !== null) {
      this.#accessLog = new AccessLog({
        format: c.accessLog.format === 'json' ? 'json' : 'common',
        filePath: c.accessLog.filePath ?? null,
        statusCodes: c.accessLog.filters.statusCodes,
        minDurationMs: c.accessLog.filters.minDuration,
        retryAttempts: c.accessLog.filters.retryAttempts,
        bufferingSize: c.accessLog.bufferingSize,
        fields: c.accessLog.fields,
      });
    }
    const prom = c.metrics.prometheus;
    this.metrics = c.api !== null || prom !== null ? new Metrics(prom?.buckets ?? [0.1, 0.3, 1.2, 5]) : null;
    this.tls = new TlsRuntime(c, opts.cwd, this.logger, (name) => this.entrypoints.find((e) => e.name === name)?.port ?? 0, this.role);
    const infos: EntrypointInfo[] = Object.entries(c.entryPoints).map(([name, ep]) => ({ name, tls: this.tls.isTlsEntrypoint(name), middlewares: ep.http.middlewares, asDefault: ep.asDefault }));
    this.watcher = new ConfigWatcher(
      {
        registry: this.registry,
        logger: this.logger,
        entrypoints: infos,
        health: { success: recordSuccess, failure: (s) => void recordFailure(s, Date.now()) },
        activeHealth: this.health,
        cwd: opts.cwd,
        stickySecret: '',
        onDone: null,
        internal: this.#internalRoutes(),
      },
      { throttleMs: c.providers.providersThrottleDuration, retireAfterMs: 30_000 },
    );
    // Series of routers and services that are gone are dropped with the configuration that had them.
    const metrics = this.metrics;
    if (metrics !== null) {
      this.watcher.onSnapshot((snap) => metrics.retain(new Set([...snap.merged.http.routers.keys(), PROMETHEUS_INTERNAL]), new Set([...snap.merged.http.services.keys(), PROMETHEUS_INTERNAL])));
    }
    // The finish observers (access log, metrics), called in order when each request ends.
    const observers: RequestObserver[] = [];
    if (this.#accessLog !== null) observers.push(this.#accessLog.log);
    if (this.metrics !== null) observers.push(this.metrics.observe);
    const observe: RequestObserver | null = observers.length === 0 ? null : observers.length === 1 ? observers[0]! : (req, ctx) => { for (const o of observers) o(req, ctx); };
    const explainMisses = c.accessLog !== null || c.log.level === 'debug';
    for (const [name, ep] of Object.entries(c.entryPoints)) {
      const rt = ep.transport.respondingTimeouts;
      const trustedIPs = new IPMatcher([...ep.forwardedHeaders.trustedIPs]);
      const insecure = ep.forwardedHeaders.insecure;
      this.entrypoints.push(
        new HttpEntrypoint(
          {
            name,
            address: ep.address,
            idleTimeoutMs: rt.idleTimeout,
            readTimeoutMs: rt.readTimeout,
            // The head must arrive well before Node's 60 s default (slowloris); never after readTimeout.
            headerTimeoutMs: Math.min(rt.readTimeout || 10_000, 10_000),
            writeTimeoutMs: rt.writeTimeout,
            keepAliveMaxRequests: ep.transport.keepAliveMaxRequests,
            keepAliveMaxTimeMs: ep.transport.keepAliveMaxTime,
            maxHeaderSize: 16 * 1024,
            normalize: { allowEncodedSlash: ep.http.encodedCharacters.allowEncodedSlash, allowEncodedBackslash: ep.http.encodedCharacters.allowEncodedBackSlash },
            explainMisses,
            debugHeaders: c.api?.debugHeaders === true,
            accept: this.tls.acceptFor(name, () => this.watcher.current),
            http2: { maxConcurrentStreams: ep.http2.maxConcurrentStreams, h2c: ep.http2.h2c },
            preRoute: this.tls.preRouteFor(name),
            preRouteOnlyUnder: this.tls.preRouteOnlyUnder(name),
            // A worker binds none: it accepts on the primary's sockets (adopt).
            acceptSockets: ACCEPT_SOCKETS,
          },
          () => this.watcher.current,
          (addr) => insecure || trustedIPs.contains(addr),
          this.logger,
          observe,
        ),
      );
    }
    this.readiness = new Readiness({
      providers: this.providers,
      applyAll: () => {
        this.watcher.applyNow();
        return this.watcher.upToDate ? this.watcher.current.version : null;
      },
      onSnapshot: (fn) => this.watcher.onSnapshot(fn),
      logger: this.logger,
    });
  }

  get snapshot(): Snapshot {
    return this.watcher.current;
  }

  /**
   * start starts the providers, applies their first configuration and listens. `adopted` (a
   * worker of --workers): the primary's listening sockets and port by entrypoint, accepted on
   * instead of binding.
   */
  async start(adopted?: ReadonlyMap<string, { port: number; servers: net.Server[] }>): Promise<void> {
    // Filled in place: the readiness check holds this list.
    if (this.role !== 'serve') this.providers.push(...(await createProviders(this.config, this.#cwd, this.logger)));
    for (const p of this.providers) await p.start(this.watcher.push, this.logger.child({ provider: p.name }));
    // Apply what the providers emitted at start before accepting traffic.
    this.watcher.applyNow();
    // The primary of --workers runs the ACME resolvers (workers get the certificates from it).
    await this.tls.start(this.watcher);
    // The certificate API and expiry gauges belong to the process that serves the API (not a worker).
    const tlsApi = this.role === 'serve' ? null : await import('./tls/api.js');
    if (this.metrics !== null && tlsApi !== null) tlsApi.trackCertificateExpiry(this.tls, this.metrics);
    for (const ep of this.entrypoints) {
      const a = adopted?.get(ep.name);
      if (a === undefined) await ep.listen();
      else ep.adopt(a.servers, a.port);
    }
    // From here on this process serves what it has: readiness waits for the providers' first loads.
    if (this.role !== 'serve') this.readiness.start();
    // This process answers the CA's validation requests from here on (a worker never orders).
    if (this.role !== 'serve') this.tls.enableOrders();
    const api = this.config.api;
    if (api !== null && tlsApi !== null) {
      // Loaded here: workers (role serve) never serve the API.
      const [{ ApiServer }, { createAuthorizer }] = await Promise.all([import('./api/server.js'), import('./api/auth.js')]);
      this.api = new ApiServer(
        { address: api.address, insecure: api.insecure, authorize: createAuthorizer(api.basicAuth), allowedHosts: api.allowedHosts },
        () => this.watcher.current,
        this.registry,
        () => this.entrypoints.map((e) => ({ name: e.name, address: e.opts.address, port: e.port })),
        this.logger,
        {
          metrics: this.metrics,
          stats: this.#workerStats === null ? null : async () => mergeStats((await this.#workerStats!()).flatMap((w) => (w.stats === null ? [] : [w.stats]))),
          prometheus: prometheusOnApi(this.config) ? () => this.metricsText() : null,
          dashboardDir: api.dashboard ? undefined : null,
          features: { tracing: '', metrics: this.config.metrics.prometheus === null ? '' : 'Prometheus', accessLog: this.#accessLog !== null },
          readiness: () => this.readiness.waiting(),
        },
      );
      // The write APIs of the REST provider: native /api/providers/rest and Docker Flow Proxy's /v1/docker-flow-proxy/*.
      const rest = this.providers.find((p): p is RestProvider => p.name === 'rest');
      const { restRoutes } = rest === undefined ? { restRoutes: null } : await import('./providers/rest/index.js');
      if (rest !== undefined && restRoutes !== null) for (const r of restRoutes(rest, { snapshot: () => this.watcher.current, registry: this.registry, logger: this.logger })) this.api.addRoute(r);
      this.api.addRoute(tlsApi.certificatesRoute(this.tls));
      await this.api.listen();
    }
    // A process that has gone quiet gives back the young generation that start-up grew (idle-trim.ts).
    this.#idleTrim = startIdleTrim({
      onTrim: (before, after, pauseMs) => this.logger.debug('idle trim: collected', { beforeMiB: mib(before), afterMiB: mib(after), pauseMs: Math.round(pauseMs) }),
    });
    this.logger.info('gantry started', { pid: process.pid, host: os.hostname(), node: process.version });
  }

  /**
   * metricsText renders /metrics: every worker's counters (the primary sums them; a worker asks
   * the primary), with the label sets metrics.prometheus asks for.
   */
  async metricsText(): Promise<string> {
    if (this.#metricsText !== null) return this.#metricsText();
    const prom = this.config.metrics.prometheus;
    const stats = this.#workerStats !== null
      ? mergeStats((await this.#workerStats()).flatMap((w) => (w.stats === null ? [] : [w.stats])))
      : (this.metrics?.snapshotStats() ?? mergeStats([]));
    const sets = prom === null ? undefined : { entryPoints: prom.addEntryPointsLabels, routers: prom.addRoutersLabels, services: prom.addServicesLabels };
    return renderPrometheus(stats, this.#gauges(), this.metrics?.certificates() ?? [], sets);
  }

  /**
   * #internalRoutes: with metrics.prometheus on, the service `prometheus@internal` (for routers
   * of one's own, with `manualRouting`), and unless manualRouting, the router that serves
   * `/metrics` on `metrics.prometheus.entryPoint` (Traefik's prometheus@internal router).
   */
  #internalRoutes(): InternalRoutes {
    const prom = this.config.metrics.prometheus;
    if (prom === null) return { services: new Map(), routers: [] };
    const handler: Handler = (_req, res, ctx) => {
      this.metricsText().then(
        (text) => {
          ctx.status = 200;
          res.writeHead(200, { 'content-type': PROMETHEUS_CONTENT_TYPE, 'content-length': Buffer.byteLength(text) });
          res.end(text);
        },
        (err: unknown) => {
          ctx.status = 503;
          this.logger.warn('metrics: cannot render /metrics', { error: err as Error });
          res.writeHead(503, { 'content-type': 'text/plain; charset=utf-8' });
          res.end('metrics unavailable\n');
        },
      );
    };
    const ep = prom.entryPoint;
    const onEntrypoint = !prom.manualRouting && ep !== undefined && ep in this.config.entryPoints;
    return {
      services: new Map([[PROMETHEUS_INTERNAL, handler]]),
      routers: onEntrypoint ? [{ name: PROMETHEUS_INTERNAL, rule: 'PathPrefix(`/metrics`)', priority: Number.MAX_SAFE_INTEGER, entryPoints: [ep], service: PROMETHEUS_INTERNAL }] : [],
    };
  }

  /** #gauges are the state /metrics reports at scrape time (this process's view). */
  #gauges(): GaugeSources {
    return {
      version: VERSION,
      reloads: () => this.watcher.stats,
      openConnections: async () => {
        if (this.#workerStats !== null) {
          const sum: Record<string, number> = {};
          for (const w of await this.#workerStats()) for (const [ep, n] of Object.entries(w.openConnections)) sum[ep] = (sum[ep] ?? 0) + n;
          return sum;
        }
        const out: Record<string, number> = {};
        for (const ep of this.entrypoints) {
          out[ep.name] = await ep.openConnections();
        }
        return out;
      },
      servers: () => {
        const now = Date.now();
        const out: Array<{ service: string; url: string; up: boolean }> = [];
        for (const [service, lb] of this.watcher.current.services) {
          for (const ws of lb.balancer.servers) out.push({ service, url: ws.server.url, up: ws.server.available(now) });
        }
        return out;
      },
    };
  }

  /** localStats are this process's traffic counters and open connections (a worker's report). */
  async localStats(): Promise<LocalStats> {
    const openConnections: Record<string, number> = {};
    for (const ep of this.entrypoints) {
      openConnections[ep.name] = await ep.openConnections();
    }
    return { stats: this.metrics?.snapshotStats() ?? null, openConnections };
  }

  /**
   * stop drains entrypoints and closes everything else. Each entrypoint first keeps accepting for
   * its requestAcceptGraceTimeout (so that a load balancer has time to notice /ping answering 503
   * and stop sending), then stops accepting and lets in-flight requests finish within its
   * graceTimeOut (Traefik's entrypoint shutdown).
   */
  stop(): Promise<void> {
    this.#stopping ??= this.#stop();
    return this.#stopping;
  }

  async #stop(): Promise<void> {
    this.#idleTrim?.stop();
    const grace = this.config.lifecycle.graceTimeout;
    if (this.api !== null) this.api.terminating = true;
    const lifeCycle = (name: string) => this.config.entryPoints[name]?.transport.lifeCycle;
    const acceptMs = Math.max(0, ...this.entrypoints.map((e) => lifeCycle(e.name)?.requestAcceptGraceTimeout ?? 0));
    this.logger.info('shutting down', { graceMs: grace, ...(acceptMs > 0 ? { acceptingForMs: acceptMs } : {}) });
    await Promise.all(
      this.entrypoints.map(async (e) => {
        const lc = lifeCycle(e.name);
        const accept = lc?.requestAcceptGraceTimeout ?? 0;
        if (accept > 0) await new Promise((r) => setTimeout(r, accept));
        await e.close(lc?.graceTimeOut ?? grace);
      }),
    );
    await Promise.all(this.providers.map((p) => p.stop().catch(() => {})));
    await this.tls.stop();
    if (this.api !== null) await this.api.close();
    this.watcher.close();
    await this.health.close();
    await this.registry.close();
    this.#accessLog?.close();
    this.logger.info('stopped');
  }
}

const mib = (bytes: number) => Math.round((bytes / 1048576) * 10) / 10;

/** The service (and router) name of Gantry's own /metrics, as Traefik names it. */
const PROMETHEUS_INTERNAL = 'prometheus@internal';

/**
 * prometheusOnApi: /metrics is on the API address unless metrics.prometheus.entryPoint names an
 * entrypoint or manualRouting is on. The API plays the part of Traefik's `traefik` entrypoint (its
 * default for entryPoint), so `entryPoint: traefik` means the API unless such an entrypoint exists.
 */
function prometheusOnApi(c: StaticConfig): boolean {
  const prom = c.metrics.prometheus;
  if (prom === null || prom.manualRouting) return false;
  return prom.entryPoint === undefined || (prom.entryPoint === 'traefik' && !('traefik' in c.entryPoints));
}

/**
 * stopAndExit drains and stops `gantry`, then exits 0 (1 when stopping failed). Whatever is still
 * open one second after the grace period — a tunnel, a provider that does not answer — does not
 * hold the process: it exits 0 then, as an orchestrator expects of a SIGTERM.
 */
export function stopAndExit(gantry: Gantry): void {
  const deadline = setTimeout(() => {
    gantry.logger.warn('shutdown still busy one second after the grace period; exiting', { graceMs: gantry.config.lifecycle.graceTimeout });
    process.exit(0);
  }, shutdownBudgetMs(gantry.config) + 1000);
  deadline.unref();
  gantry.stop().then(
    () => process.exit(0),
    (err) => {
      gantry.logger.error('shutdown failed', { error: err as Error });
      process.exit(1);
    },
  );
}

/** openLogFile opens `log.filePath`; a path that cannot be written is a configuration error at start. */
function openLogFile(file: string): FileSink {
  try {
    return new FileSink(file);
  } catch (err) {
    throw new ConfigError('log.filePath', `cannot open ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
}

/**
 * shutdownBudgetMs is the longest a shutdown may take by the configuration: the slowest
 * entrypoint's requestAcceptGraceTimeout plus its graceTimeOut (the top-level lifecycle values
 * without entrypoints).
 */
export function shutdownBudgetMs(c: StaticConfig): number {
  let most = c.lifecycle.requestAcceptGraceTimeout + c.lifecycle.graceTimeout;
  for (const ep of Object.values(c.entryPoints)) {
    const lc = ep.transport.lifeCycle;
    most = Math.max(most, (lc.requestAcceptGraceTimeout ?? 0) + (lc.graceTimeOut ?? c.lifecycle.graceTimeout));
  }
  return most;
}
