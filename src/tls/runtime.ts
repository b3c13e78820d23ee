/**
 * TlsRuntime is everything TLS and TCP an entrypoint needs from Gantry: which entrypoints
 * terminate TLS, the certificate store (files, ACME, the generated default), the ACME resolvers
 * and their challenge answers, the entrypoints' HTTPS redirects, and the connection demultiplexer
 * (tcp/demux.ts) that puts it together for each accepted socket.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import path from 'node:path';
import type net from 'node:net';
import type tls from 'node:tls';
import type { Duplex } from 'node:stream';
import type { StaticConfig } from '../config/static/index.js';
import type { Logger } from '../observability/logger.js';
import type { RequestContext } from '../proxy/context.js';
import { IPMatcher } from '../middlewares/ip.js';
import type { Snapshot } from '../watcher/snapshot.js';
import type { ConfigWatcher } from '../watcher/watcher.js';
import { ConnectionDemux } from '../tcp/demux.js';
import { secureContextFor } from './certificate.js';
import { TlsManager } from './manager.js';
import { AcmeResolver } from './acme/resolver.js';
import { EtcdStorage } from './acme/etcd-storage.js';
import { FileStorage, type AcmeStorage } from './acme/storage.js';

const CHALLENGE_PREFIX = '/.well-known/acme-challenge/';

export class TlsRuntime {
  readonly #config: StaticConfig;
  readonly #cwd: string;
  readonly #logger: Logger;
  readonly #port: (entrypoint: string) => number;
  #certificates: TlsManager | null = null;
  readonly resolvers: AcmeResolver[] = [];
  readonly #storages: AcmeStorage[] = [];
  /** Where challenge answers are looked up (every resolver's storage). */
  #alpnContexts = new Map<string, { value: string; ctx: tls.SecureContext }>();

  constructor(config: StaticConfig, cwd: string, logger: Logger, port: (entrypoint: string) => number) {
    this.#config = config;
    this.#cwd = cwd;
    this.#logger = logger;
    this.#port = port;
  }

  get certificates(): TlsManager | null {
    return this.#certificates;
  }

  /**
   * isTlsEntrypoint: an entrypoint terminates TLS when it has `http.tls` options, or is the
   * default `websecure` (DESIGN: web :80 and websecure :443).
   */
  isTlsEntrypoint(name: string): boolean {
    const ep = this.#config.entryPoints[name];
    return ep !== undefined && (ep.http.tls !== null || name === 'websecure');
  }

  /** acceptFor is the entrypoint's connection hook (tcp/demux.ts). */
  acceptFor(name: string, snapshot: () => Snapshot): (socket: net.Socket, http: (s: Duplex) => void) => void {
    const ep = this.#config.entryPoints[name]!;
    const pp = ep.proxyProtocol;
    const demux = new ConnectionDemux({
      name,
      tls: this.isTlsEntrypoint(name),
      tcpRoutes: () => snapshot().tcp.get(name) ?? null,
      // The store exists once start() ran; the demux reads it per connection.
      certificates: () => this.#certificates,
      acmeAlpn: Object.keys(this.#config.certificatesResolvers).length === 0 ? null : this.#alpn,
      proxyProtocol: pp === null ? null : new IPMatcher(pp.insecure ? ['0.0.0.0/0', '::/0'] : [...pp.trustedIPs]),
      logger: this.#logger.child({ entryPoint: name }),
    });
    return (socket, http) => demux.handle(socket, http);
  }

  /** preRouteFor answers ACME HTTP-01 challenges and the entrypoint's redirect, before routing. */
  preRouteFor(name: string): ((req: IncomingMessage, res: ServerResponse, ctx: RequestContext) => boolean) | null {
    const redirect = this.#config.entryPoints[name]!.http.redirections.entryPoint;
    const acme = Object.keys(this.#config.certificatesResolvers).length > 0;
    if (redirect === null && !acme) return null;
    return (req, res, ctx) => {
      if (acme && ctx.path.startsWith(CHALLENGE_PREFIX)) {
        void this.#answerHttp01(ctx.path.slice(CHALLENGE_PREFIX.length), res);
        return true;
      }
      if (redirect === null || ctx.scheme === 'https') return false;
      const port = this.#port(redirect.to);
      const scheme = redirect.scheme;
      const dflt = scheme === 'https' ? 443 : 80;
      const host = ctx.host.includes(':') && !ctx.host.startsWith('[') ? `[${ctx.host}]` : ctx.host;
      const target = `${scheme}://${host}${port === dflt || port === 0 ? '' : `:${port}`}${req.url ?? '/'}`;
      const safe = req.method === 'GET' || req.method === 'HEAD';
      // 301/302 let clients turn a POST into a GET; 308/307 keep the method (RFC 9110 §15.4).
      const status = redirect.permanent ? (safe ? 301 : 308) : safe ? 302 : 307;
      res.writeHead(status, { location: target, 'content-type': 'text/plain; charset=utf-8', 'content-length': String(Buffer.byteLength(target) + 1) });
      res.end(req.method === 'HEAD' ? undefined : `${target}\n`);
      return true;
    };
  }

  async #answerHttp01(token: string, res: ServerResponse): Promise<void> {
    for (const st of this.#storages) {
      const v = await st.getChallenge('http-01', token).catch(() => null);
      if (v !== null) {
        this.#logger.debug('acme: answered an HTTP-01 challenge', { token });
        res.writeHead(200, { 'content-type': 'text/plain', 'content-length': String(Buffer.byteLength(v)) });
        res.end(v);
        return;
      }
    }
    res.writeHead(404, { 'content-type': 'text/plain' });
    res.end('404 no such ACME challenge\n');
  }

  #alpn = async (servername: string): Promise<tls.SecureContext | null> => {
    for (const st of this.#storages) {
      const v = await st.getChallenge('tls-alpn-01', servername).catch(() => null);
      if (v === null) continue;
      const had = this.#alpnContexts.get(servername);
      if (had !== undefined && had.value === v) return had.ctx;
      const pem = JSON.parse(v) as { certPem: string; keyPem: string };
      const ctx = secureContextFor(pem, {});
      this.#alpnContexts.set(servername, { value: v, ctx });
      return ctx;
    }
    this.#alpnContexts.delete(servername);
    return null;
  };

  /** start builds the certificate store and the resolvers and follows the watcher's snapshots. */
  async start(watcher: ConfigWatcher): Promise<void> {
    this.#certificates = await TlsManager.create(this.#logger, this.#cwd);
    const epResolvers = new Map<string, string>();
    for (const [n, ep] of Object.entries(this.#config.entryPoints)) if (ep.http.tls?.certResolver !== undefined) epResolvers.set(n, ep.http.tls.certResolver);
    const storages = new Map<string, AcmeStorage>();
    for (const [name, r] of Object.entries(this.#config.certificatesResolvers)) {
      const cfg = r.acme;
      let storage = storages.get(cfg.storage);
      if (storage === undefined) {
        if (cfg.storage === 'etcd') {
          const etcd = this.#config.providers.etcd;
          if (etcd === null) throw new Error(`certificatesResolvers.${name}.acme.storage: etcd needs --providers.etcd.endpoints`);
          storage = new EtcdStorage(etcd.endpoints, etcd.rootKey);
        } else {
          storage = new FileStorage(path.resolve(this.#cwd, cfg.storage));
        }
        storages.set(cfg.storage, storage);
        this.#storages.push(storage);
      }
      this.resolvers.push(new AcmeResolver(name, cfg, { storage, certificates: this.#certificates, logger: this.#logger, entrypointResolvers: epResolvers }));
    }
    for (const r of this.resolvers) await r.start();
    const cwdCerts = this.#certificates;
    const apply = (s: Snapshot): void => {
      cwdCerts.setFiles(s.merged.tls.certificates);
      for (const r of this.resolvers) r.onSnapshot(s);
    };
    watcher.onSnapshot(apply);
    apply(watcher.current);
  }

  async stop(): Promise<void> {
    for (const r of this.resolvers) r.close();
    await Promise.all(this.#storages.map((s) => s.close().catch(() => {})));
  }
}
