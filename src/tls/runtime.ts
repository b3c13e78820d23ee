/**
 * TlsRuntime is everything TLS and TCP an entrypoint needs from Gantry: which entrypoints
 * terminate TLS, the certificate store (files, ACME, the generated default), the ACME resolvers
 * and their challenge answers, the entrypoints' HTTPS redirects, and the connection demultiplexer
 * (tcp/demux.ts) that puts it together for each accepted socket.
 *
 * With `--workers=N` the work is split by role. The `primary` serves like a process alone and
 * runs the ACME resolvers — it alone talks to the CA; it publishes every ACME certificate and
 * every pending challenge answer to the workers (cluster/primary.ts). A worker (`serve`) runs no resolver: it serves the certificates and
 * answers the challenges it is given (applyAcmeCertificates, applyChallenge), and with etcd
 * storage also looks answers up in etcd, where another replica's primary may have put them.
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
import { parseCertificate, secureContextFor, type LoadedCertificate } from './certificate.js';
import { TlsManager } from './manager.js';
import type { AcmeResolver } from './acme/resolver.js';
import type { AcmeStorage, ChallengeKind } from './acme/storage.js';
import type { ChallengePublisher, PendingChallenge } from './acme/relay.js';
import type { PemPair } from './selfsigned.js';

/** The process's part in TLS: everything, everything and relaying to workers (the primary), or serving only (a worker). */
export type TlsRole = 'all' | 'primary' | 'serve';

const CHALLENGE_PREFIX = '/.well-known/acme-challenge/';

export class TlsRuntime {
  readonly #config: StaticConfig;
  readonly #cwd: string;
  readonly #logger: Logger;
  readonly #port: (entrypoint: string) => number;
  #certificates: TlsManager | null = null;
  readonly resolvers: AcmeResolver[] = [];
  readonly #storages: AcmeStorage[] = [];
  #alpnContexts = new Map<string, { value: string; ctx: tls.SecureContext }>();
  readonly role: TlsRole;
  /** Challenge answers the primary pushed to this worker, by `kind/key`. */
  readonly #pushed = new Map<string, string>();
  /** ACME certificates the primary pushed, by resolver; applied to the store once it exists. */
  #pushedAcme = new Map<string, LoadedCertificate[]>();
  /** Primary: answers stored and not yet withdrawn, for workers that start mid-order. */
  readonly #pending = new Map<string, PendingChallenge>();
  /**
   * publishChallenge is set by the primary of `--workers=N`: it delivers a challenge answer to
   * every worker and resolves once they all have it, before the CA is asked to validate.
   */
  publishChallenge: ChallengePublisher | null = null;
  readonly #changeListeners: Array<() => void> = [];
  #ordersEnabled = false;
  #watcher: ConfigWatcher | null = null;

  constructor(config: StaticConfig, cwd: string, logger: Logger, port: (entrypoint: string) => number, role: TlsRole = 'all') {
    this.#config = config;
    this.#cwd = cwd;
    this.#logger = logger;
    this.#port = port;
    this.role = role;
  }

  /** onCertificatesChange calls `fn` whenever the store is rebuilt (files, ACME, options). */
  onCertificatesChange(fn: () => void): void {
    this.#changeListeners.push(fn);
  }

  /** pendingChallenges are the answers a worker that starts now must be given (primary). */
  pendingChallenges(): PendingChallenge[] {
    return [...this.#pending.values()];
  }

  /** acmeCertificates are the PEMs of every ACME certificate, by resolver (what workers serve). */
  acmeCertificates(): Record<string, PemPair[]> {
    const out: Record<string, PemPair[]> = {};
    for (const [r, list] of this.#certificates?.acmeCertificates() ?? []) out[r] = list.map((c) => ({ certPem: c.certPem, keyPem: c.keyPem }));
    return out;
  }

  /** applyAcmeCertificates replaces the ACME certificates a worker serves with the primary's set. */
  applyAcmeCertificates(acme: Record<string, PemPair[]>): void {
    const next = new Map<string, LoadedCertificate[]>();
    for (const [resolver, list] of Object.entries(acme)) {
      const certs: LoadedCertificate[] = [];
      for (const p of list) {
        try {
          const c = parseCertificate(`acme:${resolver}`, p.certPem, p.keyPem);
          certs.push({ ...c, source: `acme:${resolver}:${c.names[0]}` });
        } catch (err) {
          this.#logger.error('acme: certificate from the primary is unusable', { resolver, error: (err as Error).message });
        }
      }
      next.set(resolver, certs);
    }
    for (const r of this.#pushedAcme.keys()) if (!next.has(r)) next.set(r, []);
    this.#pushedAcme = next;
    const m = this.#certificates;
    if (m !== null) for (const [r, certs] of next) m.setAcme(r, certs);
  }

  /** applyChallenge records (or, with null, withdraws) a challenge answer the primary pushed. */
  applyChallenge(kind: ChallengeKind, key: string, value: string | null): void {
    if (value === null) this.#pushed.delete(`${kind}/${key}`);
    else this.#pushed.set(`${kind}/${key}`, value);
  }

  /** #challenge finds an answer: pushed by the primary, else in a storage (etcd: maybe another replica's). */
  async #challenge(kind: ChallengeKind, key: string): Promise<string | null> {
    const v = this.#pushed.get(`${kind}/${key}`);
    if (v !== undefined) return v;
    for (const st of this.#storages) {
      const s = await st.getChallenge(kind, key).catch(() => null);
      if (s !== null) return s;
    }
    return null;
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

  /**
   * preRouteFor answers ACME HTTP-01 challenges and the entrypoint's redirect, before routing.
   * Challenges are answered only on the entrypoints a resolver's `httpChallenge.entryPoint` names,
   * as Traefik does: elsewhere `/.well-known/acme-challenge/` is routed like any path.
   */
  preRouteFor(name: string): ((req: IncomingMessage, res: ServerResponse, ctx: RequestContext) => boolean) | null {
    return this.#preRoute(name);
  }

  /** preRouteOnlyUnder: with no redirect on the entrypoint, preRoute only ever answers challenges. */
  preRouteOnlyUnder(name: string): string | null {
    return this.#config.entryPoints[name]!.http.redirections.entryPoint === null ? CHALLENGE_PREFIX : null;
  }

  #preRoute(name: string): ((req: IncomingMessage, res: ServerResponse, ctx: RequestContext) => boolean) | null {
    const redirect = this.#config.entryPoints[name]!.http.redirections.entryPoint;
    const acme = Object.values(this.#config.certificatesResolvers).some((r) => r.acme.httpChallenge?.entryPoint === name);
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
    const v = await this.#challenge('http-01', token);
    if (v !== null) {
      this.#logger.debug('acme: answered an HTTP-01 challenge', { token, pid: process.pid });
      res.writeHead(200, { 'content-type': 'text/plain', 'content-length': String(Buffer.byteLength(v)) });
      res.end(v);
      return;
    }
    this.#logger.debug('acme: no answer for an HTTP-01 challenge', { token, pid: process.pid });
    res.writeHead(404, { 'content-type': 'text/plain' });
    res.end('404 no such ACME challenge\n');
  }

  #alpn = async (servername: string): Promise<tls.SecureContext | null> => {
    const v = await this.#challenge('tls-alpn-01', servername);
    if (v === null) {
      this.#alpnContexts.delete(servername);
      return null;
    }
    const had = this.#alpnContexts.get(servername);
    if (had !== undefined && had.value === v) return had.ctx;
    const pem = JSON.parse(v) as { certPem: string; keyPem: string };
    const ctx = secureContextFor(pem, {});
    this.#alpnContexts.set(servername, { value: v, ctx });
    return ctx;
  };

  /**
   * start builds the certificate store and follows the watcher's snapshots. The resolvers run
   * here unless this is a worker; a worker only opens the storages challenges can be read from.
   */
  async start(watcher: ConfigWatcher): Promise<void> {
    const certs = await TlsManager.create(this.#logger, this.#cwd);
    this.#certificates = certs;
    certs.onChange(() => {
      for (const fn of this.#changeListeners) fn();
    });
    for (const [r, list] of this.#pushedAcme) certs.setAcme(r, list);
    const epResolvers = new Map<string, string>();
    for (const [n, ep] of Object.entries(this.#config.entryPoints)) if (ep.http.tls?.certResolver !== undefined) epResolvers.set(n, ep.http.tls.certResolver);
    const storages = new Map<string, AcmeStorage>();
    const configured = Object.entries(this.#config.certificatesResolvers);
    // The ACME client, its storages and the etcd client are loaded only when a resolver needs them
    // here (a worker with file storage runs no resolver and stores nothing).
    const needed = configured.some(([, r]) => this.role !== 'serve' || r.acme.storage === 'etcd');
    const acme = needed ? await loadAcme() : null;
    for (const [name, r] of configured) {
      const cfg = r.acme;
      let storage = storages.get(cfg.storage);
      if (storage === undefined) {
        if (cfg.storage === 'etcd') {
          const etcd = this.#config.providers.etcd;
          if (etcd === null) throw new Error(`certificatesResolvers.${name}.acme.storage: etcd needs --providers.etcd.endpoints`);
          storage = new acme!.EtcdStorage(acme!.etcdClientOptions(etcd, this.#cwd, this.#logger.child({ component: 'etcd' })), etcd.rootKey);
        } else if (this.role === 'serve') {
          // A worker's answers come from the primary; a file holds none.
          continue;
        } else {
          storage = new acme!.FileStorage(path.resolve(this.#cwd, cfg.storage));
        }
        storages.set(cfg.storage, storage);
        this.#storages.push(storage);
        if (this.role === 'primary') {
          storage = new acme!.RelayStorage(storage, () => this.publishChallenge, this.#pending);
          storages.set(cfg.storage, storage);
        }
      }
      if (this.role === 'serve') continue;
      this.resolvers.push(new acme!.AcmeResolver(name, cfg, { storage, certificates: certs, logger: this.#logger, entrypointResolvers: epResolvers }));
    }
    for (const r of this.resolvers) await r.start();
    this.#watcher = watcher;
    const apply = (s: Snapshot): void => {
      certs.setStore(s.merged.tls.store);
      certs.setFiles(s.merged.tls.certificates);
      certs.setOptions(s.merged);
      if (this.#ordersEnabled) for (const r of this.resolvers) r.onSnapshot(s);
    };
    watcher.onSnapshot(apply);
    apply(watcher.current);
  }

  /**
   * enableOrders lets the resolvers order what the routers want. It is called once something
   * listens for the CA's validation requests (this process's entrypoints; with --workers, the
   * primary's): an order made earlier would fail its challenges and cost the CA's rate limit.
   */
  enableOrders(): void {
    if (this.#ordersEnabled) return;
    this.#ordersEnabled = true;
    const s = this.#watcher?.current;
    if (s !== undefined) for (const r of this.resolvers) r.onSnapshot(s);
  }

  async stop(): Promise<void> {
    for (const r of this.resolvers) r.close();
    await Promise.all(this.#storages.map((s) => s.close().catch(() => {})));
  }
}

async function loadAcme(): Promise<{
  AcmeResolver: typeof import('./acme/resolver.js').AcmeResolver;
  EtcdStorage: typeof import('./acme/etcd-storage.js').EtcdStorage;
  etcdClientOptions: typeof import('../providers/etcd/options.js').etcdClientOptions;
  FileStorage: typeof import('./acme/storage.js').FileStorage;
  RelayStorage: typeof import('./acme/relay.js').RelayStorage;
}> {
  const [resolver, etcd, options, storage, relay] = await Promise.all([import('./acme/resolver.js'), import('./acme/etcd-storage.js'), import('../providers/etcd/options.js'), import('./acme/storage.js'), import('./acme/relay.js')]);
  return { AcmeResolver: resolver.AcmeResolver, EtcdStorage: etcd.EtcdStorage, etcdClientOptions: options.etcdClientOptions, FileStorage: storage.FileStorage, RelayStorage: relay.RelayStorage };
}
