/**
 * UpstreamRegistry holds the state that must outlive configuration snapshots: one UpstreamServer
 * per server URL (health, in-flight counts) and the servers transports, each with one keep-alive
 * connection pool per origin. Pools are keyed by origin + transport: two services reaching the same
 * server with different TLS settings or timeouts never share a connection. Snapshots acquire the
 * servers and transports they use and release them when they are retired; a server nobody uses
 * any more is dropped, its pools closed once no other server shares the origin, and a transport
 * no snapshot uses is closed with its pools (Caddy's hosts.go).
 */
import type { H2CClient, Pool, buildConnector } from 'undici';
import { undici } from './undici.js';
import { UpstreamServer } from './server.js';
import { H1Pool, type UpstreamDispatcher } from './h1/pool.js';
import { defaultTransport, tlsConnectOptions, transportKey, type TransportOptions, type UpstreamClient } from './transport.js';

export { defaultTransport, type TransportOptions, type UpstreamClient } from './transport.js';

/** UpstreamTransport is one servers transport in use, with its pools by origin. */
export class UpstreamTransport {
  readonly key: string;
  readonly options: TransportOptions;
  /** No connection is reused (maxIdleConnsPerHost < 0): each request asks for a fresh one. */
  readonly noReuse: boolean;
  refs = 0;
  readonly #pools = new Map<string, UpstreamDispatcher>();

  constructor(options: TransportOptions, key: string) {
    this.options = options;
    this.key = key;
    this.noReuse = (options.maxIdleConnsPerHost ?? 200) < 0;
  }

  /** ownClient tells whether `server` is reached through Gantry's own HTTP/1.1 client (H1Pool). */
  ownClient(server: UpstreamServer): boolean {
    return (this.options.client ?? 'gantry') === 'gantry' && server.origin.startsWith('http:');
  }

  /** pool returns the connection pool of the server's origin, creating it on first use. */
  pool(server: UpstreamServer): UpstreamDispatcher {
    let p = this.#pools.get(server.origin);
    if (p === undefined) {
      p = this.#create(server);
      this.#pools.set(server.origin, p);
    }
    return p;
  }

  #create(server: UpstreamServer): UpstreamDispatcher {
    const t = this.options;
    const idle = t.maxIdleConnsPerHost ?? 200;
    if (this.ownClient(server)) {
      return new H1Pool(server.origin, {
        dialTimeoutMs: t.dialTimeoutMs,
        responseHeaderTimeoutMs: t.responseHeaderTimeoutMs,
        idleTimeoutMs: t.idleConnTimeoutMs,
        // Go's http.Transport keeps 2 idle connections per host when the option is 0.
        maxIdle: idle < 0 ? 0 : idle === 0 ? 2 : idle,
      });
    }
    if (server.origin.startsWith('h2c:')) {
      // h2c:// servers speak HTTP/2 with prior knowledge: one connection, streams multiplexed.
      return new (undici().H2CClient)('http:' + server.origin.slice(4), {
        connectTimeout: t.dialTimeoutMs,
        headersTimeout: t.responseHeaderTimeoutMs,
        bodyTimeout: 0,
        keepAliveTimeout: Math.min(t.idleConnTimeoutMs, 4_000),
        keepAliveMaxTimeout: t.idleConnTimeoutMs,
      });
    }
    const host = new URL(server.origin).hostname;
    // undici would take the TLS server name from each request's Host header (the client's, with
    // passHostHeader) and reconnect whenever it changes. As in Traefik, the server's certificate is
    // checked against the server URL's host, or the transport's serverName, whatever the Host.
    const connector = undici().buildConnector({ timeout: t.dialTimeoutMs, allowH2: t.disableHTTP2 !== true, ...(server.origin.startsWith('https:') ? tlsConnectOptions(t, host) : {}) } as buildConnector.BuildOptions);
    return new (undici().Pool)(server.origin, {
      connect: (opts, cb) => connector({ ...opts, servername: undefined }, cb),
      // https:// servers get HTTP/2 when they offer it by ALPN, unless the transport says not to.
      allowH2: t.disableHTTP2 !== true,
      keepAliveTimeout: Math.min(t.idleConnTimeoutMs, 4_000),
      keepAliveMaxTimeout: t.idleConnTimeoutMs,
      headersTimeout: t.responseHeaderTimeoutMs,
      bodyTimeout: 0,
      pipelining: 1,
    });
  }

  /** closeOrigin closes the pool of an origin no server uses any more. */
  closeOrigin(origin: string): void {
    const pool = this.#pools.get(origin);
    if (pool === undefined) return;
    this.#pools.delete(origin);
    // close() lets requests still running on the pool finish.
    pool.close().catch(() => {});
  }

  /** close lets running requests finish, then closes every pool. */
  close(): void {
    for (const origin of [...this.#pools.keys()]) this.closeOrigin(origin);
  }

  async destroy(): Promise<void> {
    const pools = [...this.#pools.values()];
    this.#pools.clear();
    await Promise.all(pools.map((p) => p.destroy().catch(() => {})));
  }
}

export class UpstreamRegistry {
  #servers = new Map<string, UpstreamServer>();
  #transports = new Map<string, UpstreamTransport>();
  /** The static `serversTransport` (Traefik's `default@internal`); lives as long as the registry. */
  readonly defaultTransport: UpstreamTransport;

  constructor(transport: TransportOptions = defaultTransport) {
    this.defaultTransport = new UpstreamTransport(transport, transportKey(transport));
    this.defaultTransport.refs = 1;
    this.#transports.set(this.defaultTransport.key, this.defaultTransport);
  }

  /** transport is the default transport's options. */
  get transport(): TransportOptions {
    return this.defaultTransport.options;
  }

  /** acquireTransport returns the shared transport for these options, counting one more reference. */
  acquireTransport(options: TransportOptions): UpstreamTransport {
    const key = transportKey(options);
    let t = this.#transports.get(key);
    if (t === undefined) {
      t = new UpstreamTransport(options, key);
      this.#transports.set(key, t);
    }
    t.refs++;
    return t;
  }

  /** releaseTransport drops one reference; the last one closes its pools. */
  releaseTransport(t: UpstreamTransport): void {
    if (--t.refs > 0 || this.#transports.get(t.key) !== t) return;
    this.#transports.delete(t.key);
    t.close();
  }

  /** acquire returns the shared server for a URL, counting one more reference to it. */
  acquire(url: string): UpstreamServer {
    let s = this.#servers.get(url);
    if (s === undefined) {
      s = new UpstreamServer(url);
      this.#servers.set(url, s);
    }
    s.refs++;
    return s;
  }

  /** release drops one reference; the last one removes the server (and maybe its pools). */
  release(server: UpstreamServer): void {
    server.refs--;
    if (server.refs > 0 || this.#servers.get(server.url) !== server) return;
    this.#servers.delete(server.url);
    for (const other of this.#servers.values()) if (other.origin === server.origin) return;
    for (const t of this.#transports.values()) t.closeOrigin(server.origin);
  }

  /** get returns the server for a URL if some snapshot uses it. */
  get(url: string): UpstreamServer | undefined {
    return this.#servers.get(url);
  }

  servers(): IterableIterator<UpstreamServer> {
    return this.#servers.values();
  }

  /** ownClient tells whether `server` is reached through Gantry's own HTTP/1.1 client (H1Pool). */
  ownClient(server: UpstreamServer, transport: UpstreamTransport = this.defaultTransport): boolean {
    return transport.ownClient(server);
  }

  /** pool returns the server's connection pool on `transport` (default: the static one). */
  pool(server: UpstreamServer, transport: UpstreamTransport = this.defaultTransport): UpstreamDispatcher {
    return transport.pool(server);
  }

  async close(): Promise<void> {
    const all = [...this.#transports.values()];
    await Promise.all(all.map((t) => t.destroy()));
  }
}
