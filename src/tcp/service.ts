/**
 * TcpService balances TCP connections over its servers (smooth weighted round robin, as the HTTP
 * wrr balancer), dials one, writes a PROXY header when the service asks for it, then pipes both
 * ways with half-close. A server that refuses the connection is skipped for the next one.
 */
import net from 'node:net';
import type { Duplex } from 'node:stream';
import type { Logger } from '../observability/logger.js';
import { buildProxyHeader, type ProxyAddresses } from './proxy-protocol.js';

export interface TcpServer {
  address: string;
  host: string;
  port: number;
  weight: number;
}

export class TcpService {
  readonly name: string;
  readonly servers: readonly TcpServer[];
  readonly proxyProtocol: 1 | 2 | null;
  readonly #current: number[];
  readonly #logger: Logger;

  constructor(name: string, servers: TcpServer[], proxyProtocol: 1 | 2 | null, logger: Logger) {
    this.name = name;
    this.servers = servers;
    this.proxyProtocol = proxyProtocol;
    this.#current = servers.map(() => 0);
    this.#logger = logger;
  }

  /** pick is smooth weighted round robin (nginx); -1 when there is no server with weight. */
  pick(skip: ReadonlySet<number>): number {
    let total = 0;
    let best = -1;
    for (let i = 0; i < this.servers.length; i++) {
      const w = this.servers[i]!.weight;
      if (w <= 0 || skip.has(i)) continue;
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
    const attempt = (): void => {
      const i = this.pick(tried);
      if (i < 0) {
        this.#logger.warn('tcp: no server could be reached', { router, service: this.name });
        client.destroy();
        return;
      }
      tried.add(i);
      const s = this.servers[i]!;
      const upstream = net.connect({ host: s.host, port: s.port, noDelay: true });
      let connected = false;
      upstream.once('connect', () => {
        connected = true;
        if (this.proxyProtocol !== null) upstream.write(buildProxyHeader(this.proxyProtocol, addrs));
        if (head !== null && head.length > 0) upstream.write(head);
        client.pipe(upstream);
        upstream.pipe(client);
        client.resume();
      });
      upstream.on('error', (err: NodeJS.ErrnoException) => {
        if (!connected) {
          this.#logger.warn('tcp: server refused the connection', { router, service: this.name, server: s.address, error: err.code ?? err.message });
          attempt();
          return;
        }
        client.destroy();
      });
      upstream.on('close', () => {
        if (connected) client.destroy();
      });
    };
    client.on('error', () => {});
    client.once('close', () => {
      // the upstream of the current attempt is closed by its pipe ending
    });
    attempt();
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
