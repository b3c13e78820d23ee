/**
 * Gantry assembles a running proxy from a resolved static configuration: the upstream registry,
 * the configuration watcher, the providers, the entrypoints and the API; and it stops them in the
 * right order on shutdown (stop accepting, drain, then close the rest).
 */
import os from 'node:os';
import type { StaticConfig } from './config/static/index.js';
import { Logger } from './observability/logger.js';
import { AccessLog } from './observability/access-log.js';
import { UpstreamRegistry } from './upstreams/registry.js';
import { ConfigWatcher } from './watcher/watcher.js';
import type { EntrypointInfo, Snapshot } from './watcher/snapshot.js';
import { HttpEntrypoint } from './entrypoints/http.js';
import type { Provider } from './providers/provider.js';
import { ApiServer } from './api/server.js';
import { HealthCheckRegistry } from './health/active.js';
import { recordFailure, recordSuccess } from './health/passive.js';
import { IPMatcher } from './middlewares/ip.js';
import { createProviders } from './providers/index.js';
import './middlewares/index.js';

/**
 * Role of this process: `all` does everything (one process); with --workers the primary is the
 * `control` process (providers, API; no listeners) and each worker `serve`s the entrypoints from
 * configurations the primary sends it.
 */
export type GantryRole = 'all' | 'control' | 'serve';

export interface GantryOptions {
  config: StaticConfig;
  cwd: string;
  logger?: Logger;
  role?: GantryRole;
}

export class Gantry {
  readonly config: StaticConfig;
  readonly logger: Logger;
  readonly registry: UpstreamRegistry;
  readonly watcher: ConfigWatcher;
  readonly entrypoints: HttpEntrypoint[] = [];
  readonly providers: Provider[];
  readonly health = new HealthCheckRegistry();
  api: ApiServer | null = null;
  readonly role: GantryRole;
  #accessLog: AccessLog | null = null;
  #stopping: Promise<void> | null = null;

  constructor(opts: GantryOptions) {
    const c = opts.config;
    this.config = c;
    this.role = opts.role ?? 'all';
    this.logger = opts.logger ?? new Logger(c.log.level, c.log.format as 'json' | 'text');
    const t = c.serversTransport;
    this.registry = new UpstreamRegistry({
      dialTimeoutMs: t.forwardingTimeouts.dialTimeout,
      responseHeaderTimeoutMs: t.forwardingTimeouts.responseHeaderTimeout,
      idleConnTimeoutMs: t.forwardingTimeouts.idleConnTimeout,
      insecureSkipVerify: t.insecureSkipVerify,
    });
    if (c.accessLog !== null) {
      this.#accessLog = new AccessLog({
        format: c.accessLog.format === 'json' ? 'json' : 'common',
        filePath: c.accessLog.filePath ?? null,
        statusCodes: c.accessLog.filters.statusCodes,
        minDurationMs: c.accessLog.filters.minDuration,
      });
    }
    const infos: EntrypointInfo[] = Object.keys(c.entryPoints).map((name) => ({ name, tls: false }));
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
      },
      { throttleMs: c.providers.providersThrottleDuration, retireAfterMs: 30_000 },
    );
    const observe = this.#accessLog === null ? null : this.#accessLog.log;
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
            maxHeaderSize: 16 * 1024,
            normalize: { allowEncodedSlash: ep.http.encodedCharacters.allowEncodedSlash, allowEncodedBackslash: ep.http.encodedCharacters.allowEncodedBackSlash },
          },
          () => this.watcher.current,
          (addr) => insecure || trustedIPs.contains(addr),
          this.logger,
          observe,
        ),
      );
    }
    this.providers = this.role === 'serve' ? [] : createProviders(c, opts.cwd, this.logger);
    if (this.role === 'control') this.entrypoints.length = 0;
  }

  get snapshot(): Snapshot {
    return this.watcher.current;
  }

  async start(): Promise<void> {
    for (const p of this.providers) await p.start(this.watcher.push, this.logger.child({ provider: p.name }));
    // Apply what the providers emitted at start before accepting traffic.
    this.watcher.applyNow();
    for (const ep of this.entrypoints) await ep.listen();
    const api = this.config.api;
    if (api !== null && this.role !== 'serve') {
      this.api = new ApiServer(
        { address: api.address, insecure: api.insecure, authorize: null },
        () => this.watcher.current,
        this.registry,
        () => this.entrypoints.map((e) => ({ name: e.name, address: e.opts.address, port: e.port })),
        this.logger,
      );
      await this.api.listen();
    }
    this.logger.info('gantry started', { pid: process.pid, host: os.hostname() });
  }

  /** stop drains entrypoints (bounded by lifecycle.graceTimeout) and closes everything else. */
  stop(): Promise<void> {
    this.#stopping ??= this.#stop();
    return this.#stopping;
  }

  async #stop(): Promise<void> {
    const grace = this.config.lifecycle.graceTimeout;
    this.logger.info('shutting down', { graceMs: grace });
    await Promise.all(this.entrypoints.map((e) => e.close(grace)));
    await Promise.all(this.providers.map((p) => p.stop().catch(() => {})));
    if (this.api !== null) await this.api.close();
    this.watcher.close();
    await this.health.close();
    await this.registry.close();
    this.#accessLog?.close();
    this.logger.info('stopped');
  }
}
