/**
 * HttpEntrypoint is one listening address (`web` on :80). It parses and checks each request
 * (smuggling, duplicate Host, absolute-form targets, path normalisation), finds the router in the
 * current snapshot and runs its handler. Malformed requests that Node's parser rejects are answered
 * by the clientError handler instead of a silently dropped socket.
 */
import type { IncomingMessage, Server as HttpServer } from 'node:http';
import http, { ServerResponse } from '../node-http.js';
import net, { type Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { RequestContext, type RequestView } from '../proxy/context.js';
import { normalizePath, type NormalizeOptions } from '../proxy/normalize.js';
import { sendError, sendText } from '../proxy/respond.js';
import { stripUntrustedForwarded } from '../proxy/headers.js';
import type { Snapshot } from '../watcher/snapshot.js';
import type { Logger } from '../observability/logger.js';
import type { MatchRequest } from '../router/index.js';
import { answerClientError } from './client-error.js';
import { parseHostHeader, parseListenAddress } from './address.js';
import { nearestMiss } from '../api/explain.js';
import { debugHeaders } from './debug-headers.js';
import { FastConnection, type FastLaneHost } from './fast/connection.js';
import { IdleReaper } from './fast/idle-reaper.js';
import type { FastRequest } from './fast/request-head.js';
import { forwardFast } from '../proxy/fast-forward.js';
import { markUpgradeSocket } from '../proxy/upgrade.js';
import { H2_PREFACE, Http2Front } from './http2.js';
import { assertPortFree, connectionCount, openAcceptSockets, reusePortAvailable } from './accept-sockets.js';
import { unmapIPv4 } from './peer-address.js';

export interface HttpEntrypointOptions {
  name: string;
  address: string;
  /** Idle keep-alive timeout for client connections, ms. */
  idleTimeoutMs: number;
  /** Time allowed to receive a whole request, ms (0 = none). */
  readTimeoutMs: number;
  /** Time allowed to receive the request head (slowloris guard), ms. */
  headerTimeoutMs: number;
  /**
   * respondingTimeouts.writeTimeout: a response not fully written this long after its request's
   * head arrived is cut (Go's WriteTimeout), ms; 0 = none. Upgraded tunnels are left to the idle
   * timeouts: a WebSocket is meant to outlive any response deadline.
   */
  writeTimeoutMs?: number;
  /** transport.keepAliveMaxRequests: the connection closes after this many requests; 0 = no limit. */
  keepAliveMaxRequests?: number;
  /** transport.keepAliveMaxTime: a response after the connection is this old closes it, ms; 0 = no limit. */
  keepAliveMaxTimeMs?: number;
  maxHeaderSize: number;
  normalize: NormalizeOptions;
  /** Explain 404s (the nearest miss) in the logged error text; only worth it when 404s are logged. */
  explainMisses?: boolean;
  /** --api.debugHeaders: name the router and server in response headers. */
  debugHeaders?: boolean;
  /**
   * Takes each accepted connection before the HTTP parser does (TLS termination, TCP routers,
   * PROXY protocol: see tcp/demux.ts); it calls `http` with the socket HTTP should read.
   */
  accept?: ((socket: Socket, http: (s: Duplex) => void) => void) | null;
  /**
   * Answers a request before routing (ACME HTTP-01 challenges, the entrypoint's HTTPS redirect);
   * returns true when it did.
   */
  preRoute?: ((req: IncomingMessage, res: ServerResponse, ctx: RequestContext) => boolean) | null;
  /**
   * preRoute answers only requests whose path starts with this (ACME's `/.well-known/acme-challenge/`):
   * the others may take the fast lane. Null or absent: preRoute may answer any request.
   */
  preRouteOnlyUnder?: string | null;
  /** HTTP/2: ALPN h2 on TLS connections; `h2c` adds prior-knowledge cleartext HTTP/2. */
  http2?: { maxConcurrentStreams: number; h2c: boolean };
  /** Listening sockets on the port (accept-sockets.ts); 1 (the default) where the platform has no SO_REUSEPORT. */
  acceptSockets?: number;
}

/** RequestObserver is told about each finished request (access log, metrics); null fields are off. */
export interface RequestObserver {
  (req: RequestView, ctx: RequestContext): void;
}

const kCtx = Symbol('gantry.ctx');
const kEntrypoint = Symbol('gantry.entrypoint');
const kWriteTimer = Symbol('gantry.writeTimer');
/** Per connection: requests begun and when it was accepted (keepAliveMaxRequests / keepAliveMaxTime). */
const kConnState = Symbol('gantry.connState');
type TrackedSocket = Duplex & { [kConnState]?: { requests: number; since: number } };

/** How long, at shutdown, a connection accepted before the listener closed may take to send its first request. */
const FRESH_CONNECTION_GRACE_MS = 500;

export class HttpEntrypoint implements FastLaneHost {
  readonly name: string;
  readonly opts: HttpEntrypointOptions;
  readonly server: HttpServer;
  #snapshot: () => Snapshot;
  #trusted: (remoteAddr: string) => boolean;
  #logger: Logger;
  #observe: RequestObserver | null;
  #closing = false;
  #defaultPort = '80';
  #inFlight = 0;
  #idleWaiters: Array<() => void> = [];
  /**
   * The connections the fast lane is reading (fast/connection.ts), in its queues; it closes those
   * that wait too long for their first or next request. node:http owns the others.
   */
  readonly idleReaper: IdleReaper;
  /** The listening sockets besides `server` (accept-sockets.ts), or in a worker all of them (adopt). */
  #acceptSockets: net.Server[] = [];
  /** A worker's port: that of the primary's sockets it adopted (0: this process listens itself). */
  #adoptedPort = 0;
  /** Sockets given straight to node:http whose first request has not arrived yet. */
  #freshHttp = new Set<Duplex>();
  /** Client sockets node:http handed over for an upgrade (tunnels, or the answer that declined one). */
  #tunnels = new Set<Duplex>();
  #toHttp: (s: Duplex) => void;
  readonly #h2: Http2Front;
  /** keepAliveMaxRequests or keepAliveMaxTime is set. */
  #limits = false;
  /** preRoute's only path prefix (preRouteOnlyUnder), or null. */
  #preRouteUnder: string | null = null;
  readonly keepAliveLine: string;

  constructor(opts: HttpEntrypointOptions, snapshot: () => Snapshot, trusted: (remoteAddr: string) => boolean, logger: Logger, observe: RequestObserver | null) {
    this.name = opts.name;
    this.#trusted = trusted;
    this.opts = opts;
    this.#snapshot = snapshot;
    this.#logger = logger.child({ entryPoint: opts.name });
    this.#observe = observe;
    this.server = http.createServer({
      keepAliveTimeout: opts.idleTimeoutMs,
      requestTimeout: opts.readTimeoutMs,
      headersTimeout: opts.headerTimeoutMs,
      // Timeouts are only checked this often; Node's 30 s default would blunt the slowloris guard.
      connectionsCheckingInterval: Math.min(1000, opts.headerTimeoutMs),
      maxHeaderSize: opts.maxHeaderSize,
      requireHostHeader: true,
      noDelay: true,
    });
    (this.server as unknown as Record<symbol, HttpEntrypoint>)[kEntrypoint] = this;
    // node:http emits each request as soon as its head is parsed, before it parses the rest of the
    // read (the body, pipelined requests). When that rest is malformed, clientError answers 400 and
    // ends the connection, and no request of the read may have been forwarded: requests are routed
    // once the read is parsed, in arrival order.
    this.server.on('request', (req: IncomingMessage, res: ServerResponse) => {
      this.#freshHttp.delete(req.socket);
      process.nextTick(handleUnlessRefused, this, req, res);
    });
    this.server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
      this.#freshHttp.delete(socket);
      this.#onUpgrade(req, socket, head);
    });
    this.server.on('clientError', (err: Error & { code?: string }, socket: Duplex) => answerClientError(err, socket, this.#logger));
    this.idleReaper = new IdleReaper({ awaitingRequestMs: opts.headerTimeoutMs, betweenRequestsMs: opts.idleTimeoutMs });
    this.keepAliveLine = `connection: keep-alive\r\nkeep-alive: timeout=${Math.floor(opts.idleTimeoutMs / 1000)}\r\n`;
    // Connections reach node:http through Node's own listener, called by us: first the
    // demultiplexer (TLS, TCP routers, PROXY protocol) sees the raw socket, then the fast lane reads
    // it, and node:http gets what either passes on.
    const httpConnection = this.server.listeners('connection')[0] as (s: Duplex) => void;
    this.server.removeListener('connection', httpConnection);
    this.#toHttp = (s: Duplex): void => {
      httpConnection.call(this.server, s);
      if (s.isPaused()) s.resume();
    };
    // Requests the fast lane could never take here: every one needs a look before routing, or a
    // response modifier. A preRoute limited to one path prefix only sends that prefix to node:http.
    const preRoute = opts.preRoute ?? null;
    this.#preRouteUnder = preRoute === null ? null : (opts.preRouteOnlyUnder ?? null);
    const fastLane = (preRoute === null || this.#preRouteUnder !== null) && opts.debugHeaders !== true;
    const serveNow = fastLane ? (s: Duplex): void => this.#serve(s) : (s: Duplex): void => this.#direct(s);
    this.#limits = (opts.keepAliveMaxRequests ?? 0) > 0 || (opts.keepAliveMaxTimeMs ?? 0) > 0;
    // The connection's age counts from when it reached HTTP (after TLS), on either lane.
    const serveHttp1 = this.#limits
      ? (s: Duplex): void => {
          (s as TrackedSocket)[kConnState] = { requests: 0, since: Date.now() };
          serveNow(s);
        }
      : serveNow;
    const h2 = opts.http2 ?? { maxConcurrentStreams: 250, h2c: false };
    this.#h2 = new Http2Front(
      { maxConcurrentStreams: h2.maxConcurrentStreams, maxHeaderListSize: 2 * opts.maxHeaderSize, idleTimeoutMs: opts.idleTimeoutMs },
      (req, res) => this.handle(req as unknown as IncomingMessage, res as unknown as ServerResponse, null, null),
      this.#logger,
    );
    // TLS connections that chose h2 by ALPN go to HTTP/2; with h2c, so do cleartext connections
    // that open with the HTTP/2 preface.
    const serve = (s: Duplex): void => {
      if ((s as Duplex & { alpnProtocol?: string | false }).alpnProtocol === 'h2') return this.#h2.accept(s);
      if (h2.h2c && !(s as Duplex & { encrypted?: boolean }).encrypted) return peekPreface(s, this.#h2, serveHttp1);
      serveHttp1(s);
    };
    const accept = opts.accept ?? null;
    this.server.on('connection', accept === null ? serve : (socket: Socket) => accept(socket, serve));
  }

  #serve(s: Duplex): void {
    if (this.#closing || !(s instanceof net.Socket)) return this.#direct(s);
    new FastConnection(s, this); // it puts itself in idleReaper's queues
  }

  /** #direct gives a new connection to node:http, remembered as fresh until its first request. */
  #direct(s: Duplex): void {
    this.#freshHttp.add(s);
    s.once('close', () => this.#freshHttp.delete(s));
    this.#toHttp(s);
  }

  /** #anyFresh: a connection accepted before the listener closed has not sent its first request yet. */
  #anyFresh(): boolean {
    if (this.#freshHttp.size > 0) return true;
    // The fast lane's connections that have not begun a request wait in this queue.
    return !this.idleReaper.awaitingRequest.empty;
  }

  // FastLaneHost: what the fast lane's connections ask of their entrypoint.
  get maxHeaderSize(): number {
    return this.opts.maxHeaderSize;
  }
  get closing(): boolean {
    return this.#closing;
  }
  handOff(socket: Socket): void {
    this.#toHttp(socket);
  }

  /**
   * fastRequest serves a request the fast lane parsed when its router forwards straight to a
   * load-balancer service the fast lane can drive; otherwise it returns false and node:http gets
   * the connection. The checks are #context's, on the parsed head.
   */
  fastRequest(conn: FastConnection, req: FastRequest): boolean {
    if (this.#closing) return false;
    const start = performance.now();
    const socket = conn.socket;
    const host = parseHostHeader(req.host);
    if (host === null) return false;
    const url = req.url;
    const q = url.indexOf('?');
    const norm = normalizePath(q < 0 ? url : url.slice(0, q), this.opts.normalize);
    if (!norm.ok) return false;
    if (this.#preRouteUnder !== null && norm.path.startsWith(this.#preRouteUnder)) return false;
    const remote = conn.remoteAddress;
    const scheme = (socket as Socket & { encrypted?: boolean }).encrypted ? 'https' : 'http';
    const ctx = new RequestContext(this.name, scheme, remote, host.host, host.port ?? this.#defaultPort, norm.path, q < 0 ? '' : url.slice(q + 1), start);
    ctx.remotePort = conn.remotePort;
    if (!this.#trusted(remote)) {
      if (req.forwarded) req.stripForwarded();
    } else {
      const xfp = req.header('x-forwarded-proto');
      if (xfp === 'https' || xfp === 'wss') ctx.scheme = 'https';
    }
    const router = this.#snapshot().route(this.name, new RoutingRequest(req, ctx));
    const svc = router === null ? null : router.direct;
    if (svc === null || svc.fastLane !== true) return false;
    // The middlewares' fast steps; one that says no leaves the request to node:http and the handlers.
    const steps = router!.fastSteps;
    for (let i = 0; i < steps.length; i++) if (!steps[i]!(req, ctx)) return false;
    ctx.router = router!.name;
    ctx.accessLogs = router!.accessLogs;
    ctx.metrics = router!.metrics;
    this.#inFlight++;
    conn.begin(req, ctx);
    if (this.#limits && this.#lastOnConnection(socket)) conn.closeAfterResponse();
    const wt = this.opts.writeTimeoutMs ?? 0;
    if (wt > 0) req.writeDeadline = setTimeout(cutFast, wt, conn, req);
    forwardFast(svc, conn, req, ctx, null, 0, null);
    return true;
  }

  fastFinished(conn: FastConnection, complete: boolean): void {
    const req = conn.request!;
    if (req.writeDeadline !== null) {
      clearTimeout(req.writeDeadline);
      req.writeDeadline = null;
    }
    this.#requestDone(req, req.context!, complete);
  }

  /**
   * #lastOnConnection counts a request on its connection and tells whether the response must close
   * it (keepAliveMaxRequests reached, or keepAliveMaxTime passed), as Traefik's keep-alive
   * middleware does with `Connection: close`. Both lanes share the count (it lives on the socket).
   */
  #lastOnConnection(socket: Duplex | null): boolean {
    const st = socket === null ? undefined : (socket as TrackedSocket)[kConnState];
    if (st === undefined) return false;
    st.requests++;
    const max = this.opts.keepAliveMaxRequests ?? 0;
    const age = this.opts.keepAliveMaxTimeMs ?? 0;
    return (max > 0 && st.requests >= max) || (age > 0 && Date.now() - st.since >= age);
  }


  /** listen binds the entrypoint's address, with `acceptSockets` sockets where the platform has SO_REUSEPORT. */
  async listen(): Promise<void> {
    const { host, port } = parseListenAddress(this.opts.address);
    const sockets = reusePortAvailable ? Math.max(1, this.opts.acceptSockets ?? 1) : 1;
    if (sockets > 1) await assertPortFree(host, port);
    await new Promise<void>((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen({ host, port, reusePort: sockets > 1 }, () => {
        this.server.off('error', reject);
        resolve();
      });
    });
    const addr = this.server.address();
    if (addr !== null && typeof addr === 'object') this.#defaultPort = String(addr.port);
    if (sockets > 1) {
      try {
        this.#acceptSockets = await openAcceptSockets(this.server, host, this.port, sockets - 1);
      } catch (err) {
        // One socket still serves; it accepts one connection per turn.
        this.#logger.warn('entrypoint keeps one listening socket', { error: err as Error });
      }
    }
    this.#logger.info('entrypoint listening', { address: this.opts.address, port: this.#defaultPort });
  }

  /** listeningServers are the servers whose sockets accept for this entrypoint (the primary sends them to its workers). */
  listeningServers(): net.Server[] {
    return [this.server, ...this.#acceptSockets];
  }

  /**
   * adopt makes a worker of --workers accept on the primary's listening sockets, received over
   * IPC, instead of binding its own: every process waits on the same sockets, so a new connection
   * goes to whichever is free to accept it (SO_REUSEPORT's hash would give a busy process its share
   * regardless), and what a worker that dies had not accepted stays queued for the others.
   */
  adopt(servers: net.Server[], port: number): void {
    for (const s of servers) {
      // What node:http gives its own listening socket (Node made this server without options).
      Object.assign(s, { allowHalfOpen: true, noDelay: true });
      s.on('connection', (socket: net.Socket) => this.server.emit('connection', socket));
    }
    this.#acceptSockets = servers;
    this.#adoptedPort = port;
    this.#defaultPort = String(port);
    this.#logger.info('entrypoint listening', { address: this.opts.address, port: this.#defaultPort, sockets: servers.length });
  }

  /** openConnections counts the connections the entrypoint's sockets accepted that are still open. */
  async openConnections(): Promise<number> {
    let n = 0;
    for (const s of [this.server, ...this.#acceptSockets]) n += await connectionCount(s);
    return n;
  }

  /** port is the bound port (useful with :0). */
  get port(): number {
    if (this.#adoptedPort !== 0) return this.#adoptedPort;
    const a = this.server.address();
    return a !== null && typeof a === 'object' ? a.port : 0;
  }

  /** handle runs one request; for upgrades `socket` is the raw client socket. */
  handle(req: IncomingMessage, res: ServerResponse, socket: Duplex | null, head: Buffer | null): void {
    const snapshot = this.#snapshot();
    const ctx = this.#context(req, res);
    if (ctx === null) return;
    ctx.upgradeSocket = socket;
    ctx.upgradeHead = head;
    if (!this.#trusted(ctx.remoteAddr)) stripUntrustedForwarded(req);
    else {
      // A trusted proxy tells us the scheme the client used.
      const xfp = req.headers['x-forwarded-proto'];
      if (xfp === 'https' || xfp === 'wss') ctx.scheme = 'https';
    }
    this.#inFlight++;
    (res as unknown as Record<symbol, RequestContext>)[kCtx] = ctx;
    (res as unknown as Record<symbol, HttpEntrypoint>)[kEntrypoint] = this;
    res.once('close', onResponseClose);
    if (this.#closing || (this.#limits && this.#lastOnConnection(req.socket))) res.shouldKeepAlive = false;
    const wt = this.opts.writeTimeoutMs ?? 0;
    if (wt > 0 && socket === null) (res as unknown as Record<symbol, NodeJS.Timeout>)[kWriteTimer] = setTimeout(cutResponse, wt, res, ctx);
    if (this.opts.debugHeaders === true) ctx.addResponseModifier(debugHeaders);
    const preRoute = this.opts.preRoute ?? null;
    if (preRoute !== null && preRoute(req, res, ctx)) return;
    const routing = new RoutingRequest(req, ctx);
    const router = snapshot.route(this.name, routing);
    if (router === null) {
      sendError(res, ctx, 'noRoute', `${ctx.host}${ctx.path}`);
      // Off the hot path: only when the 404 is going to be logged.
      if (this.opts.explainMisses === true) {
        const miss = nearestMiss(snapshot.tables.get(this.name), routing);
        ctx.errorText += `; ${miss}`;
        this.#logger.debug('no router matched', { host: ctx.host, path: ctx.path, nearest: miss });
      }
      return;
    }
    ctx.router = router.name;
    ctx.accessLogs = router.accessLogs;
    ctx.metrics = router.metrics;
    try {
      router.handler(req, res, ctx);
    } catch (err) {
      this.#logger.error('handler failed', { router: router.name, error: err as Error });
      sendText(res, ctx, 500, '500 internal error');
    }
  }

  /** finished is called when a response is done (or the client went away). */
  finished(req: IncomingMessage, res: ServerResponse, ctx: RequestContext): void {
    if (ctx.status === 0) ctx.status = res.statusCode;
    this.#requestDone(req, ctx, res.writableFinished);
  }

  /** #requestDone ends the bookkeeping of a request on either path: 499, observers, drain waiters. */
  #requestDone(req: RequestView, ctx: RequestContext, complete: boolean): void {
    this.#inFlight--;
    if (!complete && ctx.status < 400) ctx.status = 499;
    if (this.#observe !== null) {
      // An observer (access log, metrics) must never take the proxy down.
      try {
        this.#observe(req, ctx);
      } catch (err) {
        this.#logger.error('request observer failed', { error: err as Error });
      }
    }
    if (this.#inFlight === 0 && this.#idleWaiters.length > 0) for (const w of this.#idleWaiters.splice(0)) w();
  }


  #context(req: IncomingMessage, res: ServerResponse): RequestContext | null {
    const start = performance.now();
    const remote = unmapIPv4(req.socket.remoteAddress ?? '');
    if (req.httpVersionMajor === 2) {
      const refused = http2Refusal(req);
      if (refused !== null) return this.#reject(req, res, remote, start, refused.reason, refused.status);
    }
    // Node keeps only the first of several Host headers; a request that has two is ambiguous.
    const raw = req.rawHeaders;
    let hosts = 0;
    for (let i = 0; i < raw.length; i += 2) {
      const k = raw[i]!;
      if (k.length === 4 && k.toLowerCase() === 'host') hosts++;
    }
    // RFC 9112 §3.2: more than one Host line is a 400 whatever the form of the target.
    if (hosts > 1) return this.#reject(req, res, remote, start, 'more than one Host header');
    // node:http decodes chunked and no other coding: with gzip or deflate before it, the body would
    // be forwarded as if it had none (RFC 9112 §6.1: 501 for a coding not understood).
    const te = req.headers['transfer-encoding'];
    if (te !== undefined && te.toLowerCase() !== 'chunked') return this.#reject(req, res, remote, start, `transfer coding ${JSON.stringify(te)} is not supported`, 501);
    // node:http takes `SOURCE … ICE/1.0` (Icecast) and reports it as HTTP/1.0: an ICE request cannot be
    // told from an HTTP one, so the method is refused (nginx and HAProxy refuse ICE).
    if (req.method === 'SOURCE') return this.#reject(req, res, remote, start, 'the SOURCE method is not supported', 501);
    const url = req.url ?? '/';
    let target = url;
    let hostHeader = req.headers.host ?? '';
    if (url.charCodeAt(0) !== 47 /* / */) {
      // Absolute-form (RFC 9112 §3.2.2): the target's authority wins over Host.
      const m = /^https?:\/\/([^/?#]+)([^#]*)$/i.exec(url);
      if (m === null) return this.#reject(req, res, remote, start, 'invalid request target');
      hostHeader = m[1]!;
      target = m[2] === '' ? '/' : m[2]!;
      if (target.charCodeAt(0) !== 47) target = '/' + target;
      req.headers.host = hostHeader;
    }
    const host = parseHostHeader(hostHeader);
    if (host === null) return this.#reject(req, res, remote, start, 'invalid Host header');
    const q = target.indexOf('?');
    const rawPath = q < 0 ? target : target.slice(0, q);
    const query = q < 0 ? '' : target.slice(q + 1);
    const norm = normalizePath(rawPath, this.opts.normalize);
    if (!norm.ok) return this.#reject(req, res, remote, start, norm.reason);
    const scheme = (req.socket as Socket & { encrypted?: boolean }).encrypted ? 'https' : 'http';
    const ctx = new RequestContext(this.name, scheme, remote, host.host, host.port ?? this.#defaultPort, norm.path, query, start);
    ctx.remotePort = req.socket.remotePort ?? 0;
    return ctx;
  }

  #reject(req: IncomingMessage, res: ServerResponse, remote: string, start: number, reason: string, status: 400 | 501 = 400): null {
    const ctx = new RequestContext(this.name, 'http', remote, '', this.#defaultPort, '', '', start);
    this.#inFlight++;
    (res as unknown as Record<symbol, RequestContext>)[kCtx] = ctx;
    (res as unknown as Record<symbol, HttpEntrypoint>)[kEntrypoint] = this;
    res.once('close', onResponseClose);
    res.shouldKeepAlive = false;
    ctx.errorText = reason;
    sendText(res, ctx, status, `${status} ${status === 400 ? 'bad request' : 'not implemented'}: ${reason}`);
    return null;
  }

  #onUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    const res = new ServerResponse(req);
    res.assignSocket(socket as Socket);
    res.shouldKeepAlive = false;
    // node:http no longer reads this socket: after an answer that is not a tunnel it is closed,
    // unread bytes and all, even if the client never closes its side.
    res.once('finish', () => (socket as Socket).destroySoon());
    // Tunnels outlive the request handling: shutdown closes those still open after the grace period.
    this.#tunnels.add(socket);
    socket.once('close', () => this.#tunnels.delete(socket));
    const proto = String(req.headers.upgrade ?? '').toLowerCase();
    // node:http hands over the socket right after the head: a body would be read as tunnel bytes.
    const cl = req.headers['content-length'];
    if (req.headers['transfer-encoding'] !== undefined || (cl !== undefined && cl !== '0')) {
      sendText(res, new RequestContext(this.name, 'http', '', '', '', '/', '', performance.now()), 400, '400 bad request: an upgrade request with a body is refused');
      return;
    }
    if (proto === 'h2c' || proto === '') {
      // h2c upgrades are refused (h2c smuggling): the request is served as plain HTTP/1.1 instead,
      // without the upgrade, and the connection closes afterwards.
      delete req.headers.upgrade;
      delete req.headers['http2-settings'];
      this.handle(req, res, null, null);
      return;
    }
    markUpgradeSocket(socket, this.opts.idleTimeoutMs);
    this.handle(req, res, socket, head);
  }

  /**
   * close stops accepting, lets in-flight requests finish (up to graceMs), closes idle keep-alive
   * connections, then forces whatever is left.
   */
  async close(graceMs: number): Promise<void> {
    this.#closing = true;
    const closed = Promise.all([this.server, ...this.#acceptSockets].map((s) => new Promise<void>((resolve) => s.close(() => resolve()))));
    // A client that connected just before the listener closed has usually written its request
    // already, and it is on its way: closing that connection now would reset a request Gantry
    // accepted (seen: two resets per SIGTERM under a steady load of new connections). So new
    // connections get a moment to deliver their first request (served, with Connection: close),
    // as Go's http.Server gives them (5 s); keep-alive connections that are idle close after it.
    const freshUntil = Date.now() + Math.min(graceMs, FRESH_CONNECTION_GRACE_MS);
    while (this.#anyFresh() && Date.now() < freshUntil) await new Promise((r) => setTimeout(r, 5));
    this.server.closeIdleConnections();
    this.#h2.goAway();
    for (const c of this.idleReaper.all() as FastConnection[]) c.closeIdle();
    const idle = this.#inFlight === 0 ? Promise.resolve() : new Promise<void>((resolve) => this.#idleWaiters.push(resolve));
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<'timeout'>((resolve) => (timer = setTimeout(() => resolve('timeout'), graceMs)));
    const r = await Promise.race([idle.then(() => 'idle' as const), timeout]);
    clearTimeout(timer);
    if (r === 'timeout') this.#logger.warn('grace timeout reached; closing remaining connections', { inFlight: this.#inFlight });
    this.server.closeAllConnections();
    for (const c of this.idleReaper.all() as FastConnection[]) c.socket.destroy();
    this.idleReaper.stop();
    for (const s of this.#tunnels) s.destroy();
    this.#tunnels.clear();
    this.#h2.destroy();
    await closed;
  }
}

/**
 * RoutingRequest is what the rules see. Header matchers get one value per header line, as in Go
 * (Traefik), through `headersDistinct` — computed only if a rule actually looks at headers.
 */
class RoutingRequest implements MatchRequest {
  readonly host: string;
  readonly path: string;
  readonly method: string;
  readonly query: string;
  readonly clientIP: string;
  readonly #req: { readonly headersDistinct: NodeJS.Dict<string[]> };

  constructor(req: { readonly method?: string | undefined; readonly headersDistinct: NodeJS.Dict<string[]> }, ctx: RequestContext) {
    this.#req = req;
    // Rules compare hosts without IPv6 brackets.
    this.host = ctx.host.charCodeAt(0) === 91 ? ctx.host.slice(1, -1) : ctx.host;
    this.path = ctx.path;
    this.method = req.method ?? 'GET';
    this.query = ctx.query;
    this.clientIP = ctx.clientIP;
  }

  get headers(): NodeJS.Dict<string[]> {
    return this.#req.headersDistinct;
  }
}

/** handleUnlessRefused runs a request unless its connection was refused meanwhile (clientError ended it). */
function handleUnlessRefused(ep: HttpEntrypoint, req: IncomingMessage, res: ServerResponse): void {
  const s = req.socket;
  if (s === null || s.writableEnded || s.destroyed) return;
  ep.handle(req, res, null, null);
}

/** cutResponse ends a response that missed the writeTimeout: the connection is closed mid-response, as Go does. */
function cutResponse(res: ServerResponse, ctx: RequestContext): void {
  if (res.writableFinished) return;
  ctx.errorText = 'response not written within the entrypoint writeTimeout';
  res.destroy();
}

function cutFast(conn: FastConnection, req: FastRequest): void {
  req.writeDeadline = null;
  if (!conn.busy || conn.request !== req) return;
  req.context!.errorText = 'response not written within the entrypoint writeTimeout';
  conn.socket.destroy();
}

function onResponseClose(this: ServerResponse): void {
  const timer = (this as unknown as Record<symbol, NodeJS.Timeout | undefined>)[kWriteTimer];
  if (timer !== undefined) clearTimeout(timer);
  const ctx = (this as unknown as Record<symbol, RequestContext | undefined>)[kCtx];
  // The entrypoint is kept on the response itself: once a request body was consumed, the request
  // stream is destroyed and `req.socket` is null, so the socket cannot lead back to the server.
  const ep = (this as unknown as Record<symbol, HttpEntrypoint | undefined>)[kEntrypoint];
  if (ctx !== undefined && ep !== undefined) ep.finished(this.req, this, ctx);
}

/**
 * http2Refusal checks what HTTP/2 adds to a request (RFC 9113 §8.3): the authority comes from
 * `:authority`, and a Host field naming another one makes the request malformed; CONNECT (plain,
 * or the extended CONNECT of WebSocket over HTTP/2) is not proxied. The authority becomes
 * `req.headers.host` for everything after (routing, passHostHeader, X-Forwarded-Host).
 */
function http2Refusal(req: IncomingMessage): { reason: string; status: 400 | 501 } | null {
  const h = req.headers as NodeJS.Dict<string | string[]>;
  if (req.method === 'CONNECT') return { reason: 'CONNECT is not supported over HTTP/2 (nor WebSocket over HTTP/2)', status: 501 };
  const authority = h[':authority'];
  const host = h['host'];
  if (typeof authority === 'string' && authority !== '') {
    if (typeof host === 'string' && host.toLowerCase() !== authority.toLowerCase()) return { reason: ':authority and Host name different hosts', status: 400 };
    h['host'] = authority;
  } else if (typeof host !== 'string' || host === '') {
    return { reason: 'no :authority and no Host', status: 400 };
  }
  return null;
}

/**
 * peekPreface reads a cleartext connection's first bytes: the HTTP/2 preface sends it to HTTP/2
 * (prior knowledge, RFC 9113 §3.3), anything else to HTTP/1.1, with the bytes put back.
 */
function peekPreface(s: Duplex, h2: Http2Front, http1: (s: Duplex) => void): void {
  s.once('data', (chunk: Buffer) => {
    s.pause();
    s.unshift(chunk);
    const n = Math.min(chunk.length, H2_PREFACE.length);
    if (n >= 3 && chunk.subarray(0, n).equals(H2_PREFACE.subarray(0, n))) h2.accept(s);
    else http1(s);
  });
}
