/**
 * Upgrade requests (WebSocket and other `Upgrade` protocols) are forwarded on a connection of
 * their own, with the same routing, middlewares and header hygiene as ordinary requests. Only a
 * `101 Switching Protocols` whose `Upgrade` names the protocol the client asked for starts a
 * tunnel (Go's ReverseProxy does the same check). Any other answer is relayed as an ordinary
 * response and the client connection is closed after it: bytes the client sent past the upgrade
 * request are never passed to the server, so a server that declines the upgrade cannot be used to
 * carry a second, unrouted request past the router's middlewares.
 */
import http from '../node-http.js';
import type * as https from 'node:https';
import net from 'node:net';
import type { ClientRequest, IncomingMessage, ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import type { RequestContext, ResponseHeaders } from './context.js';
import type { UpstreamServer } from '../upstreams/server.js';
import type { LoadBalancerService } from './forward.js';
import { cleanResponseHeaders, upstreamRequestHeaders } from './headers.js';
import { sendError, writeHead } from './respond.js';
import { classifyUpstreamError } from './upstream-errors.js';
import { Tunnel } from './tunnel.js';
import { tlsConnectOptions } from '../upstreams/transport.js';

/** How long a tunnel may take to flush after one side ended (see Tunnel). */
const UPGRADE_LINGER_MS = 500;

const kTunnel = Symbol('gantry.tunnelOptions');

/** markUpgradeSocket records, on a client socket, how long its tunnel may stay idle (set by the entrypoint). */
export function markUpgradeSocket(socket: Duplex, idleTimeoutMs: number): void {
  (socket as Duplex & { [kTunnel]?: number })[kTunnel] = idleTimeoutMs;
}

function idleTimeoutOf(socket: Duplex): number {
  return (socket as Duplex & { [kTunnel]?: number })[kTunnel] ?? 0;
}

function codedError(message: string, code: string): Error {
  return Object.assign(new Error(message), { code });
}

export function forwardUpgrade(
  req: IncomingMessage,
  res: ServerResponse,
  ctx: RequestContext,
  server: UpstreamServer,
  svc: LoadBalancerService,
  tried: Set<UpstreamServer> | null,
  attempt: number,
): void {
  new UpgradeExchange(req, res, ctx, server, svc, tried, attempt).start();
}

/** UpgradeExchange is one attempt of an upgrade request against one server. */
class UpgradeExchange {
  readonly req: IncomingMessage;
  readonly res: ServerResponse;
  readonly ctx: RequestContext;
  readonly server: UpstreamServer;
  readonly svc: LoadBalancerService;
  readonly tried: Set<UpstreamServer> | null;
  readonly attempt: number;
  readonly client: Duplex;
  readonly protocol: string;
  upstream: ClientRequest | null = null;
  connected = false;
  released = false;
  answered = false;
  timer: NodeJS.Timeout | null = null;

  constructor(req: IncomingMessage, res: ServerResponse, ctx: RequestContext, server: UpstreamServer, svc: LoadBalancerService, tried: Set<UpstreamServer> | null, attempt: number) {
    this.req = req;
    this.res = res;
    this.ctx = ctx;
    this.server = server;
    this.svc = svc;
    this.tried = tried;
    this.attempt = attempt;
    this.client = ctx.upgradeSocket!;
    this.protocol = String(req.headers.upgrade ?? '');
  }

  start(): void {
    const { req, ctx, server, svc } = this;
    const url = new URL(server.origin);
    const secure = url.protocol === 'https:';
    const host = url.hostname.replace(/^\[|\]$/g, '');
    const transport = svc.transport.options;
    ctx.server = server.url;
    server.inFlight++;
    const headers = upstreamRequestHeaders(req, ctx, { host: svc.hostFor(req, server), upgrade: this.protocol, serverName: svc.opts.serverName });
    const options: https.RequestOptions = {
      host,
      port: Number(url.port || (secure ? 443 : 80)),
      method: req.method,
      path: server.basePath === '' ? ctx.target() : server.basePath + ctx.target(),
      headers,
      setHost: false,
      agent: false,
    };
    // The service's servers transport decides what the server's certificate is checked against.
    if (secure) Object.assign(options, { servername: '' }, tlsConnectOptions(transport, host));
    const up = (secure ? process.getBuiltinModule('node:https') : http).request(options);
    this.upstream = up;
    this.timer = setTimeout(() => up.destroy(codedError('connect timeout', 'UND_ERR_CONNECT_TIMEOUT')), transport.dialTimeoutMs);
    this.timer.unref();
    up.once('socket', (s: net.Socket) => {
      s.once(secure ? 'secureConnect' : 'connect', () => this.#connected(transport.responseHeaderTimeoutMs));
    });
    up.on('upgrade', (upRes: IncomingMessage, socket: Duplex, head: Buffer) => this.#switched(upRes, socket, head));
    up.on('response', (upRes: IncomingMessage) => this.#declined(upRes));
    up.on('error', (err: Error) => this.#failed(err));
    // The client leaving before the server answered ends the attempt.
    // A half-close counts as leaving too, as node:http's default has it (httpAllowHalfOpen off).
    this.client.once('close', this.#onClientClose);
    this.client.once('end', this.#onClientClose);
    up.end();
  }

  /** #onClientClose: the client left before the server answered (the response, still attached, says so to the entrypoint). */
  readonly #onClientClose = (): void => {
    if (this.answered) return;
    this.answered = true;
    this.#clearTimer();
    this.ctx.errorText = 'client closed request';
    this.upstream?.destroy();
    this.#release();
    // After a half-close the socket stays open until destroyed; its close ends the bookkeeping.
    this.client.destroy();
  };

  #forgetClient(): void {
    this.client.off('close', this.#onClientClose);
    this.client.off('end', this.#onClientClose);
  }

  #connected(headerTimeoutMs: number): void {
    this.connected = true;
    this.#clearTimer();
    if (headerTimeoutMs > 0) {
      this.timer = setTimeout(() => this.upstream?.destroy(codedError('no response head within responseHeaderTimeout', 'UND_ERR_HEADERS_TIMEOUT')), headerTimeoutMs);
      this.timer.unref();
    }
  }

  #clearTimer(): void {
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
  }

  #release(): void {
    if (this.released) return;
    this.released = true;
    this.server.inFlight--;
  }

  /** #switched: the server answered 101. Only the protocol the client asked for opens a tunnel. */
  #switched(upRes: IncomingMessage, socket: Duplex, head: Buffer): void {
    this.#clearTimer();
    this.answered = true;
    this.#forgetClient();
    const { ctx, res, client } = this;
    const offered = String(upRes.headers.upgrade ?? '');
    if (offered.toLowerCase() !== this.protocol.toLowerCase()) {
      socket.destroy();
      this.#release();
      this.svc.opts.health.failure(this.server);
      sendError(res, ctx, 'upstreamError', `server switched to protocol ${JSON.stringify(offered)} when ${JSON.stringify(this.protocol)} was requested`);
      return;
    }
    if (client.destroyed) {
      socket.destroy();
      this.#release();
      return;
    }
    this.svc.opts.health.success(this.server);
    const headers = cleanResponseHeaders({ ...upRes.headers } as ResponseHeaders);
    headers['connection'] = 'Upgrade';
    headers['upgrade'] = offered;
    // A sticky balancer set its cookie on the response: the raw 101 head must carry it too.
    const own = res.getHeader('set-cookie');
    if (own !== undefined) headers['set-cookie'] = [...toList(own), ...(headers['set-cookie'] === undefined ? [] : toList(headers['set-cookie']))];
    // Middlewares' response headers apply to the 101 too; its status is not theirs to change.
    const mods = ctx.responseModifiers;
    if (mods !== null) for (let i = mods.length - 1; i >= 0; i--) mods[i]!.modifyResponse(101, headers, ctx);
    ctx.status = 101;
    // From now on the client socket carries raw bytes: the ServerResponse must not touch it.
    res.detachSocket(client as net.Socket);
    client.write(switchingHead(headers));
    if (head.length > 0) client.write(head);
    if (ctx.upgradeHead !== null && ctx.upgradeHead.length > 0) socket.write(ctx.upgradeHead);
    new Tunnel(client, socket, { idleTimeoutMs: idleTimeoutOf(client), lingerMs: UPGRADE_LINGER_MS }, () => {
      this.#release();
      // The response was detached from the socket: tell the entrypoint the exchange is over.
      res.emit('close');
    });
  }

  /** #declined: any answer but 101 is an ordinary response; the connection closes after it. */
  #declined(upRes: IncomingMessage): void {
    this.#clearTimer();
    this.answered = true;
    this.#forgetClient();
    const status = upRes.statusCode ?? 502;
    if (status >= 500) this.svc.opts.health.failure(this.server);
    else this.svc.opts.health.success(this.server);
    const { res, ctx } = this;
    if (res.destroyed) {
      upRes.destroy();
      this.#release();
      return;
    }
    writeHead(res, ctx, status, cleanResponseHeaders({ ...upRes.headers } as ResponseHeaders));
    upRes.pipe(res);
    upRes.once('end', () => this.#release());
    upRes.once('close', () => {
      this.#release();
      // A body cut short by the server must not look complete to the client.
      if (!upRes.complete) res.destroy();
    });
    res.once('close', () => upRes.destroy());
  }

  #failed(err: Error): void {
    this.#clearTimer();
    if (this.answered) return;
    this.answered = true;
    this.#forgetClient();
    this.#release();
    const { req, res, ctx, svc } = this;
    if (this.client.destroyed) return;
    svc.opts.health.failure(this.server);
    const failure = classifyUpstreamError(err, this.connected);
    // Nothing was sent yet: the connect-failure retry applies as for ordinary requests.
    if (!failure.afterSend && this.attempt < 1 + ctx.retryAttempts) {
      const next = this.tried ?? new Set<UpstreamServer>();
      next.add(this.server);
      ctx.retries++;
      svc.forward(req, res, ctx, next, this.attempt + 1, failure);
      return;
    }
    sendError(res, ctx, failure.kind, failure.detail);
  }
}

/** switchingHead is the raw 101 head (header values were checked by the parser or at config time). */
function switchingHead(headers: ResponseHeaders): string {
  let head = 'HTTP/1.1 101 Switching Protocols\r\n';
  for (const name in headers) {
    const v = headers[name]!;
    if (Array.isArray(v)) for (const item of v) head += `${name}: ${item}\r\n`;
    else head += `${name}: ${v}\r\n`;
  }
  return head + '\r\n';
}

function toList(v: string | string[] | number): string[] {
  return Array.isArray(v) ? v : [String(v)];
}
