/**
 * ConnectionDemux decides, for each accepted connection, who speaks to it. In order:
 * 1. a PROXY protocol header from a trusted load balancer is read and gives the client address;
 * 2. a TLS ClientHello is peeked (not terminated): `acme-tls/1` with a pending TLS-ALPN-01
 *    challenge gets the challenge certificate; TCP routers with `tls` match it by SNI/ALPN and take
 *    it (passthrough: raw bytes to the server; termination: TLS ends here, plain bytes go on);
 * 3. plain bytes go to a matching plain TCP router (`HostSNI(\`*\`)`);
 * 4. everything else goes to the entrypoint's HTTP server, after TLS termination on a TLS
 *    entrypoint (certificate chosen by SNI in the TlsManager's store).
 * An entrypoint with no TCP routers, no TLS and no PROXY protocol skips all of it.
 */
import type net from 'node:net';
import tls from 'node:tls';
import type { Duplex } from 'node:stream';
import type { Logger } from '../observability/logger.js';
import type { IPMatcher } from '../middlewares/ip.js';
import { parseClientHello } from '../tls/clienthello.js';
import type { TlsManager } from '../tls/manager.js';
import type { ClientAuthType } from '../tls/options.js';
import { parseProxyHeader, type ProxyAddresses } from './proxy-protocol.js';
import type { TcpEntrypointRoutes, TcpRoute } from './routes.js';
import { unmapIPv4 } from '../entrypoints/peer-address.js';

/** How long a client may take to send its PROXY header and ClientHello. */
const PEEK_TIMEOUT_MS = 10_000;
/** How long a TLS handshake may take once the ClientHello is in. */
const HANDSHAKE_TIMEOUT_MS = 10_000;
const ACME_TLS_ALPN = 'acme-tls/1';

export interface DemuxOptions {
  name: string;
  /** A TLS entrypoint terminates TLS for its HTTP routers. */
  tls: boolean;
  tcpRoutes: () => TcpEntrypointRoutes | null;
  certificates: () => TlsManager | null;
  /** The TLS-ALPN-01 challenge certificate for a name, or null when none is pending. */
  acmeAlpn: ((servername: string) => Promise<tls.SecureContext | null>) | null;
  /** Peers whose PROXY protocol header is believed; null when the entrypoint takes none. */
  proxyProtocol: IPMatcher | null;
  logger: Logger;
}

export class ConnectionDemux {
  readonly #o: DemuxOptions;

  constructor(opts: DemuxOptions) {
    this.#o = opts;
  }

  /** handle takes a freshly accepted socket; `http` hands a (possibly TLS) socket to the HTTP server. */
  handle(socket: net.Socket, http: (s: Duplex) => void): void {
    const o = this.#o;
    // A proxy relays small writes that must not wait for Nagle's algorithm (TLS and HTTP/2 too).
    socket.setNoDelay(true);
    const routes = o.tcpRoutes();
    const remote = unmapIPv4(socket.remoteAddress ?? '');
    const pp = o.proxyProtocol !== null && o.proxyProtocol.contains(remote);
    if (!pp && !o.tls && routes === null) return http(socket);
    const addrs: ProxyAddresses = { srcAddr: remote, srcPort: socket.remotePort ?? 0, dstAddr: unmapIPv4(socket.localAddress ?? ''), dstPort: socket.localPort ?? 0 };
    if (!pp && routes !== null && routes.plainCatchAllOnly && routes.tls === null && !o.tls) {
      if (this.#plain(socket, Buffer.alloc(0), routes, addrs)) return;
    }
    let buf: Buffer = Buffer.alloc(0);
    let ppDone = !pp;
    const timer = setTimeout(() => {
      o.logger.debug('connection closed before a complete ClientHello or PROXY header', { remote });
      socket.destroy();
    }, PEEK_TIMEOUT_MS);
    const onData = (chunk: Buffer): void => {
      buf = buf.length === 0 ? chunk : Buffer.concat([buf, chunk]);
      if (!ppDone) {
        const r = parseProxyHeader(buf);
        if (r.kind === 'incomplete') return;
        if (r.kind === 'invalid') return fail(r.reason);
        if (r.kind === 'header') {
          if (r.addresses !== null) {
            Object.assign(addrs, r.addresses);
            setPeer(socket, r.addresses.srcAddr, r.addresses.srcPort);
          }
          buf = buf.subarray(r.length);
        }
        ppDone = true;
        if (routes !== null && routes.plainCatchAllOnly && routes.tls === null && !o.tls) {
          stop();
          if (this.#plain(socket, buf, routes, addrs)) return;
          return fail('no TCP router');
        }
        if (!o.tls && routes === null) {
          stop();
          if (buf.length > 0) socket.unshift(buf);
          return http(socket);
        }
        if (buf.length === 0) return;
      }
      const h = parseClientHello(buf);
      if (h.kind === 'incomplete') return;
      stop();
      if (h.kind === 'invalid') return fail(h.reason);
      if (h.kind === 'notTls') {
        if (routes !== null && this.#plain(socket, buf, routes, addrs)) return;
        if (o.tls) {
          socket.end('HTTP/1.1 400 Bad Request\r\nconnection: close\r\ncontent-type: text/plain\r\n\r\n400 bad request: plain HTTP sent to a TLS entrypoint\n');
          return;
        }
        socket.unshift(buf);
        return http(socket);
      }
      void this.#tls(socket, buf, h.sni, h.alpn, routes, addrs, http);
    };
    const stop = (): void => {
      clearTimeout(timer);
      socket.removeListener('data', onData);
      socket.pause();
    };
    const fail = (reason: string): void => {
      stop();
      o.logger.debug('connection refused', { remote, reason });
      socket.destroy();
    };
    socket.on('error', noop);
    socket.on('data', onData);
  }

  #plain(socket: net.Socket, head: Buffer, routes: TcpEntrypointRoutes, addrs: ProxyAddresses): boolean {
    if (routes.plain === null) return false;
    const hit = routes.plain.match({ sni: '', clientIP: addrs.srcAddr, alpn: [] });
    if (hit === null) return false;
    hit.value.service.serve(socket, head, addrs, hit.value.name);
    return true;
  }

  async #tls(socket: net.Socket, hello: Buffer, sni: string, alpn: string[], routes: TcpEntrypointRoutes | null, addrs: ProxyAddresses, http: (s: Duplex) => void): Promise<void> {
    const o = this.#o;
    if (o.acmeAlpn !== null && alpn.length === 1 && alpn[0] === ACME_TLS_ALPN) {
      const ctx = await o.acmeAlpn(sni).catch(() => null);
      if (ctx !== null) {
        socket.unshift(hello);
        const t = this.#terminate(socket, ctx, [ACME_TLS_ALPN]);
        t.once('secure', () => t.end());
        o.logger.debug('acme: answered a TLS-ALPN-01 challenge', { domain: sni, pid: process.pid });
        return;
      }
    }
    const hit = routes?.tls?.match({ sni, clientIP: addrs.srcAddr, alpn }) ?? null;
    if (hit !== null) return this.#tcp(socket, hello, sni, hit.value, addrs);
    const store = o.certificates();
    if (!o.tls || store === null) {
      socket.destroy();
      return;
    }
    const hs = store.handshake(sni);
    if (hs.refuse !== null) {
      o.logger.debug('tls connection refused', { remote: addrs.srcAddr, servername: sni, reason: hs.refuse });
      socket.destroy();
      return;
    }
    socket.unshift(hello);
    const t = this.#terminate(socket, hs.context, hs.options.alpn, hs.options.clientAuth);
    if (addrs.srcAddr !== unmapIPv4(t.remoteAddress ?? '')) setPeer(t, addrs.srcAddr, addrs.srcPort);
    // The HTTP server gets the connection once the handshake is done (and the client's
    // certificate, if asked for, has passed): only then is the ALPN choice (h2 or http/1.1) known.
    t.once('authorized', () => http(t));
  }

  #tcp(socket: net.Socket, hello: Buffer, sni: string, route: TcpRoute, addrs: ProxyAddresses): void {
    const store = this.#o.certificates();
    if (route.tls === 'passthrough' || store === null) {
      route.service.serve(socket, hello, addrs, route.name);
      return;
    }
    const hs = store.handshake(sni, route.tlsOptions);
    if (hs.refuse !== null) {
      this.#o.logger.debug('tls connection refused', { remote: addrs.srcAddr, servername: sni, reason: hs.refuse });
      socket.destroy();
      return;
    }
    socket.unshift(hello);
    const t = this.#terminate(socket, hs.context, undefined, hs.options.clientAuth);
    t.once('authorized', () => route.service.serve(t, null, addrs, route.name));
  }

  /**
   * #terminate starts the server side of TLS on a socket. It emits 'authorized' once the
   * handshake is done and the client certificate (if the options ask for one) is acceptable;
   * a certificate that fails verification closes the connection.
   */
  #terminate(socket: net.Socket, ctx: tls.SecureContext, alpn: string[] | undefined, clientAuth: ClientAuthType = 'NoClientCert'): tls.TLSSocket {
    const requestCert = clientAuth !== 'NoClientCert';
    // rejectUnauthorized makes OpenSSL fail the handshake when no certificate is sent
    // (SSL_VERIFY_FAIL_IF_NO_PEER_CERT); whether a sent one is trusted is checked on 'secure'.
    const rejectUnauthorized = clientAuth === 'RequireAnyClientCert' || clientAuth === 'RequireAndVerifyClientCert';
    const t = new tls.TLSSocket(socket, { isServer: true, secureContext: ctx, ALPNProtocols: alpn, requestCert, rejectUnauthorized });
    const timer = setTimeout(() => t.destroy(), HANDSHAKE_TIMEOUT_MS);
    t.once('secure', () => {
      clearTimeout(timer);
      const verify = clientAuth === 'VerifyClientCertIfGiven' || clientAuth === 'RequireAndVerifyClientCert';
      if (verify && hasPeerCertificate(t)) {
        const err = verifyError(t);
        if (err !== null) {
          this.#o.logger.debug('tls client certificate refused', { remote: socket.remoteAddress, error: err });
          t.destroy();
          return;
        }
      }
      t.emit('authorized');
    });
    t.once('close', () => clearTimeout(timer));
    t.on('error', (err: Error) => {
      this.#o.logger.debug('tls handshake failed', { remote: socket.remoteAddress, error: err.message });
      t.destroy();
    });
    return t;
  }
}

function noop(): void {}

function hasPeerCertificate(t: tls.TLSSocket): boolean {
  const c = t.getPeerCertificate();
  return c !== null && Object.keys(c).length > 0;
}

/**
 * verifyError is OpenSSL's verdict on the client's certificate chain against the options' CAs.
 * tls.Server reads it the same way when a connection is secure (`onServerSocketSecure` in Node's
 * _tls_wrap.js); a TLSSocket made by hand gets no such check. If the handle does not offer it,
 * the certificate counts as unverified: mTLS fails closed.
 */
function verifyError(t: tls.TLSSocket): string | null {
  const handle = (t as unknown as { _handle?: { verifyError?: () => (Error & { code?: string }) | null } })._handle;
  if (typeof handle?.verifyError !== 'function') return 'cannot verify the client certificate';
  const e = handle.verifyError();
  return e === null || e === undefined ? null : (e.code ?? e.message);
}

/** setPeer makes the client address from a PROXY header the socket's remote address for everyone after. */
function setPeer(s: net.Socket, addr: string, port: number): void {
  Object.defineProperty(s, 'remoteAddress', { value: addr, configurable: true });
  Object.defineProperty(s, 'remotePort', { value: port, configurable: true });
}
