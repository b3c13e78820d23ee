/**
 * The forwarding hot path: a load-balancer service handler that picks a server, sends the request
 * over the origin's keep-alive pool and streams the response back. Bodies are streamed both ways
 * with back-pressure; nothing is buffered whole.
 *
 * Retries (DESIGN.md, "Behaviour every user relies on"): a request whose connection could not be
 * made is always retried once on another server — undici only reads the request body after the
 * connection is up, so the body is still intact. The retry middleware grants more attempts, which
 * also cover idempotent requests that failed after being sent but before any response byte.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Dispatcher } from 'undici';
import type { Balancer } from '../balancer/types.js';
import type { UpstreamRegistry, UpstreamTransport } from '../upstreams/registry.js';
import type { UpstreamServer } from '../upstreams/server.js';
import type { RequestContext, ResponseHeaders } from './context.js';
import { cleanResponseHeaders, hasRequestBody, upstreamRequestHeaders } from './headers.js';
import { sendError, writeHead } from './respond.js';
import { classifyUpstreamError, type UpstreamFailure } from './upstream-errors.js';
import { forwardUpgrade } from './upgrade.js';
import { bufferedBody } from '../middlewares/buffering/index.js';
import { bodyBytesRelayed } from './body-memory.js';

/** PassiveHealth receives the outcome of each attempt; client aborts are never reported. */
export interface PassiveHealth {
  success(server: UpstreamServer): void;
  failure(server: UpstreamServer): void;
}

export const noPassiveHealth: PassiveHealth = { success() {}, failure() {} };

export interface LoadBalancerOptions {
  /** Qualified service name. */
  name: string;
  passHostHeader: boolean;
  serverName: string;
  health: PassiveHealth;
  /** Called when a response is complete (for metrics); null when nobody listens. */
  onDone: ((ctx: RequestContext) => void) | null;
  /**
   * The entrypoint's fast lane may serve this service (entrypoints/fast): plain-http servers on
   * Gantry's own client, no sticky cookie. Decided when the snapshot is compiled.
   */
  fastLane?: boolean;
  /** The servers transport (timeouts, TLS, pools); the registry's default when not given. */
  transport?: UpstreamTransport;
  /** Record each answer's time to first byte on its server (the leasttime strategy reads it). */
  measureResponseTime?: boolean;
}

const IDEMPOTENT = new Set(['GET', 'HEAD', 'OPTIONS', 'TRACE', 'PUT', 'DELETE']);
const kExchange = Symbol('gantry.exchange');

/** LoadBalancerService forwards to one of its servers. Built once per snapshot per service. */
export class LoadBalancerService {
  readonly opts: LoadBalancerOptions;
  readonly balancer: Balancer;
  readonly registry: UpstreamRegistry;
  readonly transport: UpstreamTransport;
  readonly fastLane: boolean;
  readonly measureResponseTime: boolean;
  /** handle is the service's Handler (bound once, not per request). */
  readonly handle: (req: IncomingMessage, res: ServerResponse, ctx: RequestContext) => void;

  constructor(opts: LoadBalancerOptions, balancer: Balancer, registry: UpstreamRegistry) {
    this.opts = opts;
    this.balancer = balancer;
    this.registry = registry;
    this.transport = opts.transport ?? registry.defaultTransport;
    this.fastLane = opts.fastLane ?? false;
    this.measureResponseTime = opts.measureResponseTime ?? false;
    this.handle = (req, res, ctx) => this.forward(req, res, ctx, null, 0, null);
  }

  forward(req: IncomingMessage, res: ServerResponse, ctx: RequestContext, tried: Set<UpstreamServer> | null, attempt: number, lastFailure: UpstreamFailure | null): void {
    ctx.service = this.opts.name;
    let server = this.balancer.pick(req, res, ctx, tried);
    // Every available server was tried already (a one-server service, say). Attempts the retry
    // middleware granted go to them again, as Traefik's retry does over its whole load balancer;
    // the built-in connect-failure retry stays "once on another server" (DESIGN.md).
    if (server === null && tried !== null && grantedAttempts(ctx) > 0) server = this.balancer.pick(req, res, ctx, null);
    if (server === null) {
      if (lastFailure !== null) return sendError(res, ctx, lastFailure.kind, lastFailure.detail);
      return sendError(res, ctx, 'noServer', `service ${this.opts.name} has no available server`);
    }
    if (ctx.upgradeSocket !== null) {
      forwardUpgrade(req, res, ctx, server, this, tried, attempt);
      return;
    }
    const ex = new Exchange(this, req, res, ctx, server, tried, attempt);
    ex.start();
  }

  /** hostFor is the Host header sent to `server`. */
  hostFor(req: IncomingMessage, server: UpstreamServer): string {
    return this.hostHeaderFor(req.headers.host, server);
  }

  /** hostHeaderFor is the Host header sent to `server` for a client Host value. */
  hostHeaderFor(clientHost: string | undefined, server: UpstreamServer): string {
    if (this.opts.passHostHeader && clientHost !== undefined && clientHost !== '') return clientHost;
    return server.hostHeader;
  }
}

/**
 * Exchange is one attempt of one request against one server: the undici dispatch handler. It is
 * the only per-request object of the forwarder; its methods are the callbacks, so no closures.
 */
class Exchange implements Dispatcher.DispatchHandler {
  readonly svc: LoadBalancerService;
  readonly req: IncomingMessage;
  readonly res: ServerResponse;
  readonly ctx: RequestContext;
  readonly server: UpstreamServer;
  readonly tried: Set<UpstreamServer> | null;
  readonly attempt: number;
  controller: Dispatcher.DispatchController | null;
  connected: boolean;
  responded: boolean;
  finished: boolean;
  clientGone: boolean;
  replayable: boolean;
  /** The response was ended with its last chunk (see onResponseData). */
  ended: boolean;
  /** The client sends a request body (hasRequestBody, read once). */
  readonly hasBody: boolean;
  /** Response bytes are counted here for body-memory.ts (Gantry's own client counts its own). */
  readonly countBody: boolean;
  /** When the request was dispatched (performance.now()), for leasttime; 0 when not measured. */
  sentAt: number;

  constructor(svc: LoadBalancerService, req: IncomingMessage, res: ServerResponse, ctx: RequestContext, server: UpstreamServer, tried: Set<UpstreamServer> | null, attempt: number) {
    this.svc = svc;
    this.req = req;
    this.res = res;
    this.ctx = ctx;
    this.server = server;
    this.tried = tried;
    this.attempt = attempt;
    this.controller = null;
    this.connected = false;
    this.responded = false;
    this.finished = false;
    this.clientGone = false;
    this.replayable = false;
    this.ended = false;
    this.hasBody = hasRequestBody(req);
    this.countBody = !svc.transport.ownClient(server);
    this.sentAt = 0;
  }

  start(): void {
    const { req, ctx, server, svc } = this;
    server.inFlight++;
    ctx.server = server.url;
    (this.res as unknown as Record<symbol, Exchange>)[kExchange] = this;
    if (this.attempt === 0) this.res.once('close', onClientClose);
    // A body the buffering middleware holds can be replayed; otherwise the client stream is sent.
    const buffered = bufferedBody(req);
    this.replayable = buffered !== null;
    const body = buffered !== null ? buffered.open() : this.hasBody ? req : null;
    const headers = upstreamRequestHeaders(req, ctx, {
      host: svc.hostFor(req, server),
      upgrade: null,
      serverName: svc.opts.serverName,
    });
    const path = server.basePath === '' ? ctx.target() : server.basePath + ctx.target();
    if (svc.measureResponseTime) this.sentAt = performance.now();
    try {
      svc.transport.pool(server).dispatch(
        // A constant servername keeps undici from reconnecting when the Host changes (registry.ts).
        { path, method: req.method as Dispatcher.HttpMethod, headers, body, idempotent: false, blocking: true, bodyTimeout: 0, reset: svc.transport.noReuse, servername: server.hostHeader } as Dispatcher.DispatchOptions,
        this,
      );
    } catch (err) {
      this.onResponseError(null, err as Error);
    }
  }

  onRequestStart(controller: Dispatcher.DispatchController): void {
    this.controller = controller;
    this.connected = true;
    if (this.clientGone) controller.abort(new Error('client closed request'));
    // From here on undici streams the body: a failure can no longer be retried with it.
    else if (!this.replayable && this.hasBody) this.ctx.bodyStarted = true;
  }

  onResponseStart(controller: Dispatcher.DispatchController, statusCode: number, headers: Record<string, string | string[] | undefined>): void {
    this.controller = controller;
    if (statusCode < 200) return; // 1xx informational: Node's server answers Expect itself.
    this.responded = true;
    if (this.sentAt !== 0) this.server.recordResponseTime(performance.now() - this.sentAt);
    if (this.clientGone) return;
    const out = cleanResponseHeaders(headers as ResponseHeaders);
    writeHead(this.res, this.ctx, statusCode, out);
    // A 5xx still counts as an answer for the retry logic, but as a failure for passive health.
    if (statusCode >= 500) this.svc.opts.health.failure(this.server);
    else this.svc.opts.health.success(this.server);
  }

  onResponseData(controller: Dispatcher.DispatchController, chunk: Buffer): void {
    if (this.countBody) bodyBytesRelayed(chunk.length);
    if (this.clientGone) return;
    if ((controller as { last?: boolean }).last === true) {
      // Gantry's client says these are the last body bytes: head, body and end in one write.
      this.ended = true;
      this.res.end(chunk);
      return;
    }
    // false is also said for a large chunk the kernel took at once: pause only if bytes are queued.
    // An HTTP/2 stream says false when its flow-control window is used up: always pause then.
    if (!this.res.write(chunk) && (this.req.httpVersionMajor === 2 || (this.res.socket?.writableLength ?? 1) > 0)) {
      controller.pause();
      this.res.once('drain', onDrain);
    }
  }

  onResponseEnd(_controller: Dispatcher.DispatchController, trailers: Record<string, string | string[] | undefined>): void {
    this.done();
    if (this.clientGone || this.ended) return;
    // Trailers (gRPC's grpc-status) go on: HTTP/2 carries them, HTTP/1.1 only with chunked bodies.
    for (const _ in trailers) {
      this.res.addTrailers(trailers as Record<string, string>);
      break;
    }
    this.res.end();
  }

  onResponseError(_controller: Dispatcher.DispatchController | null, err: Error): void {
    this.done();
    if (this.clientGone) return;
    const failure = classifyUpstreamError(err, this.connected);
    if (this.responded) {
      // The head is out: the only honest signal left is to cut the response short.
      this.ctx.errorText = failure.detail;
      this.res.destroy();
      return;
    }
    this.svc.opts.health.failure(this.server);
    if (this.shouldRetry(failure)) {
      const tried = this.tried ?? new Set<UpstreamServer>();
      tried.add(this.server);
      this.ctx.retries++;
      const next = () => this.svc.forward(this.req, this.res, this.ctx, tried, this.attempt + 1, failure);
      const delay = this.attempt === 0 || this.ctx.retryInitialIntervalMs === 0 ? 0 : this.ctx.retryInitialIntervalMs * 2 ** (this.attempt - 1);
      if (delay === 0) next();
      else setTimeout(next, delay).unref();
      return;
    }
    sendError(this.res, this.ctx, failure.kind, failure.detail);
  }

  shouldRetry(failure: UpstreamFailure): boolean {
    return this.attempt < retriesAllowed(failure, this.ctx, this.req.method ?? '', this.hasBody);
  }

  done(): void {
    if (this.finished) return;
    this.finished = true;
    this.server.inFlight--;
    const cb = this.svc.opts.onDone;
    if (cb !== null) cb(this.ctx);
  }
}

/**
 * retriesAllowed is how many attempts beyond the first a failed request gets (the fast lane uses
 * it too, so both paths retry alike).
 */
export function retriesAllowed(failure: UpstreamFailure, ctx: RequestContext, method: string, hasBody: boolean): number {
  const granted = grantedAttempts(ctx);
  // The connection could not be made: always one retry elsewhere, plus the retry middleware's.
  if (!failure.afterSend) return 1 + granted;
  if (ctx.bodyStarted || !IDEMPOTENT.has(method)) return 0;
  // Sent but unanswered. Body-less GET/HEAD get one retry by default, as nginx's
  // proxy_next_upstream does (a pooled connection the server had just closed); the retry
  // middleware extends this to every idempotent method.
  const safeDefault = (method === 'GET' || method === 'HEAD') && !hasBody ? 1 : 0;
  return Math.max(granted, safeDefault);
}

/** grantedAttempts is what the retry middleware grants, none once its `timeout` has passed. */
export function grantedAttempts(ctx: RequestContext): number {
  return ctx.retryDeadline !== 0 && performance.now() >= ctx.retryDeadline ? 0 : ctx.retryAttempts;
}

/** onClientClose runs with `this` = the ServerResponse; it aborts the upstream side if unfinished. */
function onClientClose(this: ServerResponse): void {
  const ex = (this as unknown as Record<symbol, Exchange | undefined>)[kExchange];
  if (ex === undefined || this.writableFinished) return;
  ex.clientGone = true;
  ex.ctx.status = 499;
  ex.ctx.errorText = 'client closed request';
  if (!ex.finished && ex.controller !== null) ex.controller.abort(new Error('client closed request'));
}

function onDrain(this: ServerResponse): void {
  const ex = (this as unknown as Record<symbol, Exchange | undefined>)[kExchange];
  if (ex !== undefined && ex.controller !== null && !ex.finished) ex.controller.resume();
}
