/**
 * UpstreamRegistry holds the state that must outlive configuration snapshots: one UpstreamServer
 * per server URL (health, in-flight counts) and one keep-alive connection pool per origin. Snapshots
 * acquire the servers they use and release them when they are retired; a server nobody uses any
 * more is dropped, and its pool closed once no other server shares the origin (Caddy's hosts.go).
 */
import { H2CClient, Pool } from 'undici';
import { UpstreamServer } from './server.js';
import { H1Pool, type UpstreamDispatcher } from './h1/pool.js';

/** Which client forwards to http:// servers: Gantry's own (h1/) or undici's Pool. https:// and h2c:// always use undici. */
export type UpstreamClient = 'gantry' | 'undici';

export interface TransportOptions {
  /** Connect (dial) timeout in ms. */
  dialTimeoutMs: number;
  /** Time to wait for the response head after the request was sent, in ms; 0 = no limit. */
  responseHeaderTimeoutMs: number;
  /** How long an idle keep-alive connection to a server is kept, in ms. */
  idleConnTimeoutMs: number;
  /** Skip TLS verification of https:// servers. */
  insecureSkipVerify: boolean;
  /** Client for http:// servers (default 'gantry'). */
  client?: UpstreamClient;
  /** Idle keep-alive connections kept per origin (default 200). */
  maxIdleConnsPerHost?: number;
}

export const defaultTransport: TransportOptions = {
  dialTimeoutMs: 30_000,
  responseHeaderTimeoutMs: 0,
  idleConnTimeoutMs: 90_000,
  insecureSkipVerify: false,
};

export class UpstreamRegistry {
  #servers = new Map<string, UpstreamServer>();
  #pools = new Map<string, UpstreamDispatcher>();
  #transport: TransportOptions;

  constructor(transport: TransportOptions = defaultTransport) {
    this.#transport = transport;
  }

  get transport(): TransportOptions {
    return this.#transport;
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

  /** release drops one reference; the last one removes the server (and maybe its pool). */
  release(server: UpstreamServer): void {
    server.refs--;
    if (server.refs > 0 || this.#servers.get(server.url) !== server) return;
    this.#servers.delete(server.url);
    for (const other of this.#servers.values()) if (other.origin === server.origin) return;
    const pool = this.#pools.get(server.origin);
    if (pool !== undefined) {
      this.#pools.delete(server.origin);
      // close() lets requests still running on the pool finish.
      pool.close().catch(() => {});
    }
  }

  /** get returns the server for a URL if some snapshot uses it. */
  get(url: string): UpstreamServer | undefined {
    return this.#servers.get(url);
  }

  servers(): IterableIterator<UpstreamServer> {
    return this.#servers.values();
  }

  /** pool returns the connection pool of the server's origin, creating it on first use. */
  /** ownClient tells whether `server` is reached through Gantry's own HTTP/1.1 client (H1Pool). */
  ownClient(server: UpstreamServer): boolean {
    return (this.#transport.client ?? 'gantry') === 'gantry' && server.origin.startsWith('http:');
  }

  pool(server: UpstreamServer): UpstreamDispatcher {
    let p = this.#pools.get(server.origin);
    if (p === undefined) {
      const t = this.#transport;
      if (this.ownClient(server)) {
        p = new H1Pool(server.origin, {
          dialTimeoutMs: t.dialTimeoutMs,
          responseHeaderTimeoutMs: t.responseHeaderTimeoutMs,
          idleTimeoutMs: t.idleConnTimeoutMs,
          maxIdle: t.maxIdleConnsPerHost ?? 200,
        });
        this.#pools.set(server.origin, p);
        return p;
      }
      if (server.origin.startsWith('h2c:')) {
        // h2c:// servers speak HTTP/2 with prior knowledge: one connection, streams multiplexed.
        p = new H2CClient('http:' + server.origin.slice(4), {
          connectTimeout: t.dialTimeoutMs,
          headersTimeout: t.responseHeaderTimeoutMs,
          bodyTimeout: 0,
          keepAliveTimeout: Math.min(t.idleConnTimeoutMs, 4_000),
          keepAliveMaxTimeout: t.idleConnTimeoutMs,
        });
        this.#pools.set(server.origin, p);
        return p;
      }
      // https:// servers get HTTP/2 when they offer it by ALPN (undici's allowH2).
      p = new Pool(server.origin, {
        allowH2: true,
        connect: { timeout: t.dialTimeoutMs, rejectUnauthorized: !t.insecureSkipVerify },
        keepAliveTimeout: Math.min(t.idleConnTimeoutMs, 4_000),
        keepAliveMaxTimeout: t.idleConnTimeoutMs,
        headersTimeout: t.responseHeaderTimeoutMs,
        bodyTimeout: 0,
        pipelining: 1,
      });
      this.#pools.set(server.origin, p);
    }
    return p;
  }

  async close(): Promise<void> {
    const pools = [...this.#pools.values()];
    this.#pools.clear();
    await Promise.all(pools.map((p) => p.destroy().catch(() => {})));
  }
}
