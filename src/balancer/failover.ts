/**
 * A `failover` service (Traefik's pkg/server/service/loadbalancer/failover): `service` answers
 * while it is up, `fallback` otherwise. "Up" is the main service's health as its health checks
 * see it (active, and Gantry's passive ejections); with `errors.status`, an answer of the main
 * service with one of those statuses is also handed to the fallback: the request is sent again,
 * whole, and the client never sees the refused answer.
 *
 * To send a request twice its body must be held: up to `errors.maxRequestBodyBytes`
 * (DEFAULT_FAILOVER_MAX_BODY when not set; Traefik's default, -1, is no limit and still means that
 * when given). A larger body is refused with 413, as Traefik does. When both services are down,
 * the answer is 503.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Handler, RequestContext } from '../proxy/context.js';
import { sendError, sendText } from '../proxy/respond.js';
import { holdRequest, replayOf, StatusCatch, type HeldRequest, type HoldListener, type StatusRangeSet } from '../proxy/reattempt.js';

/** maxRequestBodyBytes when none is configured: 1 MiB, as the mirroring default (Traefik: no limit). */
export const DEFAULT_FAILOVER_MAX_BODY = 1 << 20;

export interface FailoverOptions {
  readonly name: string;
  readonly main: Handler;
  readonly fallback: Handler;
  /** The main service's health; null when it reports none (only `errors` then sends to the fallback). */
  readonly mainUp: (() => boolean) | null;
  /** The fallback's health, followed only with `healthCheck: {}` (as Traefik); null: always up. */
  readonly fallbackUp: (() => boolean) | null;
  /** Statuses of the main service that go to the fallback; null without `errors.status`. */
  readonly statuses: StatusRangeSet | null;
  readonly maxBodyBytes: number;
}

class FailoverService {
  readonly o: FailoverOptions;

  constructor(o: FailoverOptions) {
    this.o = o;
  }

  handle(req: IncomingMessage, res: ServerResponse, ctx: RequestContext): void {
    const o = this.o;
    if (o.mainUp === null || o.mainUp()) {
      // Upgrades cannot be sent twice: they go to the main service as they are.
      if (o.statuses === null || ctx.upgradeSocket !== null) return o.main(req, res, ctx);
      holdRequest(req, o.maxBodyBytes, new Attempt(this, req, res, ctx));
      return;
    }
    this.toFallback(req, res, ctx);
  }

  toFallback(req: IncomingMessage, res: ServerResponse, ctx: RequestContext): void {
    const o = this.o;
    if (o.fallbackUp !== null && !o.fallbackUp()) return sendError(res, ctx, 'noServer', `service ${o.name}: main and fallback services are down`);
    o.fallback(req, res, ctx);
  }

  /** up is this service's health for its parents: the main or the fallback is up. */
  up(): boolean {
    const o = this.o;
    return o.mainUp === null || o.mainUp() || o.fallbackUp === null || o.fallbackUp();
  }
}

/** Attempt is one request through a failover with `errors`: hold the body, try main, maybe fallback. */
class Attempt implements HoldListener {
  readonly svc: FailoverService;
  readonly req: IncomingMessage;
  readonly res: ServerResponse;
  readonly ctx: RequestContext;
  held_: HeldRequest | null = null;

  constructor(svc: FailoverService, req: IncomingMessage, res: ServerResponse, ctx: RequestContext) {
    this.svc = svc;
    this.req = req;
    this.res = res;
    this.ctx = ctx;
  }

  held(h: HeldRequest): void {
    if (!h.complete) {
      this.ctx.errorText = 'failover: request body larger than maxRequestBodyBytes';
      sendText(this.res, this.ctx, 413, '413 Request Entity Too Large: the body is larger than this failover service holds');
      return;
    }
    this.held_ = h;
    new StatusCatch(this.res, this.svc.o.statuses!, armed, this.#caught);
    this.svc.o.main(replayOf(this.req, h), this.res, this.ctx);
  }

  failed(): void {
    this.ctx.status = 499;
    this.ctx.errorText = 'client closed request';
    if (!this.res.destroyed) this.res.destroy();
  }

  #caught = (): void => {
    if (this.res.destroyed) return;
    this.ctx.bodyStarted = false;
    this.svc.toFallback(replayOf(this.req, this.held_!), this.res, this.ctx);
  };
}

function armed(): boolean {
  return true;
}

/** createFailoverHandler returns the handler of a failover service and its health for parents. */
export function createFailoverHandler(o: FailoverOptions): { handler: Handler; up: () => boolean } {
  const svc = new FailoverService(o);
  return { handler: svc.handle.bind(svc), up: svc.up.bind(svc) };
}
