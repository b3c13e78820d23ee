/**
 * TcpService balances TCP connections over its servers (smooth weighted round robin, as the HTTP
 * wrr balancer), dials one (bounded by a dial timeout), writes a PROXY header when the service asks
 * for it, then relays both ways in a Tunnel: the end of either side ends both, after at most
 * `terminationDelay` for the other to flush (Traefik's meaning; negative: no bound). A server that
 * refuses the connection or does not answer in time is skipped for the next one. A server with
 * `tls: true` is reached over TLS, checked as the service's `tcp.serversTransports` says (CAs,
 * client certificate, server name); its dial timeout and keep-alive probes apply to every server.
 */
import net from 'node:net';
import tls from 'node:tls';
import { tlsConnectOptions, type TlsClientOptions } from '../upstreams/transport.js';
import type { Duplex } from 'node:stream';
import type { Logger } from '../observability/logger.js';
import { buildProxyHeader, type ProxyAddresses } from './proxy-protocol.js';
import { Tunnel } from '../proxy/tunnel.js';
import { SmoothWeighted } from '../balancer/wrr.js';

/** Dial timeout for TCP servers (Traefik's TCP serversTransport default). */
export const TCP_DIAL_TIMEOUT_MS = 30_000;
/** Traefik's default terminationDelay: how long a half-closed connection may still flush. */
export const TCP_TERMINATION_DELAY_MS = 100;
/** Go's default interval between TCP keep-alive probes (Traefik's dialKeepAlive default). */
export const TCP_KEEPALIVE_MS = 15_000;

export interface TcpServer {
  address: string;
  host: string;
  port: number;
  weight: number;
  /** Reach this server over TLS (`servers[].tls`). */
  tls?: boolean;
}

export interface TcpServiceOptions {
  dialTimeoutMs?: number;
  terminationDelayMs?: number;
  /** Interval of TCP keep-alive probes on server connections; negative: none. */
  dialKeepAliveMs?: number;
  /** TLS to the servers marked `tls` (null: Node's roots, the address's host name). */
  tls?: TlsClientOptions | null;
  /** Whether a server passes its health checks (healthCheck); absent: every server counts. */
  healthy?: (address: string) => boolean;
}

/** TcpTarget is what a TCP router forwards a connection to: a load balancer or a weighted service. */
export interface TcpTarget {
  readonly name: string;
  serve(client: Duplex, head: Buffer | null, addrs: ProxyAddresses, router: string): void;
  /** up: some server could take a connection now (by the health checks). */
  up(): boolean;
}

export class TcpService implements TcpTarget {
  readonly name: string;
  readonly servers: readonly TcpServer[];
  readonly proxyProtocol: 1 | 2 | null;
  readonly #current: number[];
  readonly #logger: Logger;
  readonly #dialTimeoutMs: number;
  readonly #terminationDelayMs: number;
  readonly #keepAliveMs: number;
  readonly #tls: TlsClientOptions | null;
  /** Whether a server passes its health checks (healthCheck); null: every server counts. */
  readonly #healthy: ((address: string) => boolean) | null;

  constructor(name: string, servers: TcpServer[], proxyProtocol: 1 | 2 | null, logger: Logger, opts: TcpServiceOptions = {}) {
    this.name = name;
    this.servers = servers;
    this.proxyProtocol = proxyProtocol;
    this.#current = servers.map(() => 0);
    this.#logger = logger;
    this.#dialTimeoutMs = opts.dialTimeoutMs ?? TCP_DIAL_TIMEOUT_MS;
    this.#terminationDelayMs = opts.terminationDelayMs ?? TCP_TERMINATION_DELAY_MS;
    this.#keepAliveMs = opts.dialKeepAliveMs ?? TCP_KEEPALIVE_MS;
    this.#tls = opts.tls ?? null;
    this.#healthy = opts.healthy ?? null;
  }

  /** settings are the resolved connection settings (for the API and tests). */
  get settings(): { dialTimeoutMs: number; terminationDelayMs: number; dialKeepAliveMs: number; proxyProtocol: 1 | 2 | null; tls: TlsClientOptions | null } {
    return { dialTimeoutMs: this.#dialTimeoutMs, terminationDelayMs: this.#terminationDelayMs, dialKeepAliveMs: this.#keepAliveMs, proxyProtocol: this.proxyProtocol, tls: this.#tls };
  }

  /** #dial opens the connection to a server: plain, or TLS for a server marked `tls`. */
  #dial(s: TcpServer): { socket: net.Socket; ready: string } {
    const keepAlive = this.#keepAliveMs >= 0;
    const base = { host: s.host, port: s.port, noDelay: true, keepAlive, keepAliveInitialDelay: keepAlive ? this.#keepAliveMs || TCP_KEEPALIVE_MS : 0 };
    if (s.tls !== true) return { socket: net.connect(base), ready: 'connect' };
    const t = { dialTimeoutMs: this.#dialTimeoutMs, responseHeaderTimeoutMs: 0, idleConnTimeoutMs: 0, insecureSkipVerify: false, tls: this.#tls };
    return { socket: tls.connect({ ...base, ...tlsConnectOptions(t, s.host) }), ready: 'secureConnect' };
  }

  up(): boolean {
    return this.servers.some((s) => s.weight > 0 && (this.#healthy === null || this.#healthy(s.address)));
  }

  /** pick is smooth weighted round robin (nginx) over healthy servers; -1 when there is none. */
  pick(skip: ReadonlySet<number>): number {
    let total = 0;
    let best = -1;
    const healthy = this.#healthy;
    for (let i = 0; i < this.servers.length; i++) {
      const w = this.servers[i]!.weight;
      if (w <= 0 || skip.has(i) || (healthy !== null && !healthy(this.servers[i]!.address))) continue;
      this.#current[i]! += w;
      total += w;
      if (best < 0 || this.#current[i]! > this.#current[best]!) best = i;
    }
    if (best >= 0) this.#current[best]! -= total;
    return best;
  }

  /**
   * serve connects the client to a server. `head` are bytes already read from the client (a
   * peeked ClientHello) that must reach the server first.
   */
  serve(client: Duplex, head: Buffer | null, addrs: ProxyAddresses, router: string): void {
    const tried = new Set<number>();
    let upstream: net.Socket | null = null;
    // A client that leaves while a server is being dialled takes the dial with it.
    const onClientGone = (): void => {
      upstream?.destroy();
    };
    client.on('error', noop);
    client.once('close', onClientGone);
    const attempt = (): void => {
      const i = this.pick(tried);
      if (i < 0) {
        this.#logger.warn('tcp: no server could be reached', { router, service: this.name });
        client.destroy();
        return;
      }
      tried.add(i);
      const s = this.servers[i]!;
      const { socket: up, ready } = this.#dial(s);
      upstream = up;
      // Traefik's dialTimeout 0 means no timeout; a TLS server must also finish its handshake in it.
      const dial = this.#dialTimeoutMs > 0 ? setTimeout(() => up.destroy(Object.assign(new Error('connect timeout'), { code: 'ETIMEDOUT' })), this.#dialTimeoutMs) : null;
      dial?.unref();
      let connected = false;
      up.once(ready, () => {
        if (dial !== null) clearTimeout(dial);
        connected = true;
        client.off('close', onClientGone);
        if (client.destroyed) {
          up.destroy();
          return;
        }
        if (this.proxyProtocol !== null) up.write(buildProxyHeader(this.proxyProtocol, addrs));
        if (head !== null && head.length > 0) up.write(head);
        new Tunnel(client, up, { idleTimeoutMs: 0, lingerMs: this.#terminationDelayMs }, noop);
      });
      up.on('error', (err: NodeJS.ErrnoException) => {
        if (dial !== null) clearTimeout(dial);
        if (connected || client.destroyed) return;
        this.#logger.warn('tcp: server could not be reached', { router, service: this.name, server: s.address, error: err.code ?? err.message });
        attempt();
      });
    };
    attempt();
  }
}

function noop(): void {}

/**
 * TcpWeighted splits connections between TCP services by weight (Traefik's tcp `weighted`), with
 * the smooth round-robin of the HTTP balancers. With `healthCheck: {}`, a child that is down is
 * skipped while another is up.
 */
export class TcpWeighted implements TcpTarget {
  readonly name: string;
  readonly #children: readonly TcpTarget[];
  readonly #wrr: SmoothWeighted;
  readonly #eligible: Uint8Array;
  readonly #followHealth: boolean;

  constructor(name: string, children: ReadonlyArray<{ target: TcpTarget; weight: number }>, followHealth: boolean) {
    this.name = name;
    this.#children = children.map((c) => c.target);
    this.#wrr = new SmoothWeighted(children.map((c) => c.weight));
    this.#eligible = new Uint8Array(children.length);
    this.#followHealth = followHealth;
  }

  up(): boolean {
    return !this.#followHealth || this.#children.some((c) => c.up());
  }

  serve(client: Duplex, head: Buffer | null, addrs: ProxyAddresses, router: string): void {
    const e = this.#eligible;
    for (let i = 0; i < e.length; i++) e[i] = !this.#followHealth || this.#children[i]!.up() ? 1 : 0;
    let i = this.#wrr.next(e);
    if (i === -1) i = this.#wrr.next(e.fill(1));
    if (i === -1) {
      client.destroy();
      return;
    }
    this.#children[i]!.serve(client, head, addrs, router);
  }
}

/** parseServerAddress reads `host:port` / `[v6]:port`; null when it is not one. */
export function parseServerAddress(address: string): { host: string; port: number } | null {
  const m = /^(\[[0-9a-fA-F:.]+\]|[^:\s/]+):(\d{1,5})$/.exec(address);
  if (!m) return null;
  const port = Number(m[2]);
  if (port < 1 || port > 65535) return null;
  return { host: m[1]!.startsWith('[') ? m[1]!.slice(1, -1) : m[1]!, port };
}
