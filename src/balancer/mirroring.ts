/**
 * A `mirroring` service sends every request to its main service, which answers the client, and
 * also copies a share of the requests to each mirror, whose responses are discarded (Traefik's
 * mirror service). The share is counted, not drawn: with percent p, after n requests a mirror has
 * received ⌈n·p/100⌉ of them, so 10% means exactly every tenth request over time.
 *
 * A mirror must never slow or break the main request:
 * - mirrors are started on the next turn of the event loop, after the main handler has started;
 * - they answer into a DiscardResponse (see replay.ts), never the client's response, with their
 *   own RequestContext, and a handler that throws is caught and logged;
 * - each mirror has a cap of requests in flight (maxInFlight, default 100); beyond it a copy is
 *   skipped, so a slow mirror costs memory for at most that many bodies;
 * - a request whose client went away before its mirrors start is not mirrored;
 * - upgrade requests (WebSocket) are never mirrored.
 *
 * Bodies: to send one body several times it must be held in memory. When a request chosen for
 * mirroring has a body, up to maxBodySize bytes are buffered. Traefik's default, -1, means no
 * limit: one large upload would then be held whole (maxInFlight times over). Gantry's default is
 * DEFAULT_MIRROR_MAX_BODY; an explicit -1 still means no limit. A body within the limit is replayed to the main service and every mirror. A larger body
 * (by Content-Length, or found while reading) is not mirrored at all: the main service gets the
 * bytes read so far and then the rest of the stream. With mirrorBody false, mirrors get the
 * request without its body and nothing is buffered.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { RequestContext, type Handler } from '../proxy/context.js';
import { DiscardResponse, DiscardSocket, ReplayRequest, snapshotHead, type RequestHead } from './replay.js';
import { silentLogger, type Logger } from '../observability/logger.js';
import { ConfigError } from '../errors.js';

/** maxBodySize when none is configured: 1 MiB (Traefik: unlimited). */
export const DEFAULT_MIRROR_MAX_BODY = 1 << 20;

export interface MirrorTarget {
  readonly handler: Handler;
  /** Share of requests copied, 0–100 (fractions allowed). */
  readonly percent: number;
  /** Qualified service name, for logs. */
  readonly name?: string;
}

export interface MirroringOptions {
  /** Copy the request body to mirrors (default true, as in Traefik). */
  readonly mirrorBody?: boolean;
  /** Mirror copies allowed in flight per mirror before new copies are skipped (default 100). */
  readonly maxInFlight?: number;
  readonly logger?: Logger;
}

class Mirror {
  readonly handler: Handler;
  readonly percent: number;
  readonly name: string;
  /** Requests selected for this mirror so far. */
  count = 0;
  inFlight = 0;
  readonly onClose: () => void;

  constructor(t: MirrorTarget, i: number) {
    this.handler = t.handler;
    this.percent = t.percent;
    this.name = t.name ?? `mirror#${i}`;
    this.onClose = () => {
      this.inFlight--;
    };
  }
}

class MirroringService {
  readonly #main: Handler;
  readonly #mirrors: readonly Mirror[];
  readonly #maxBodySize: number;
  readonly #mirrorBody: boolean;
  readonly #maxInFlight: number;
  readonly #logger: Logger;
  #total = 0;

  constructor(main: Handler, mirrors: readonly MirrorTarget[], maxBodySize: number, opts: MirroringOptions) {
    this.#main = main;
    this.#mirrors = mirrors.map((m, i) => new Mirror(m, i));
    this.#maxBodySize = maxBodySize;
    this.#mirrorBody = opts.mirrorBody ?? true;
    this.#maxInFlight = opts.maxInFlight ?? 100;
    this.#logger = opts.logger ?? silentLogger;
  }

  handle(req: IncomingMessage, res: ServerResponse, ctx: RequestContext): void {
    const active = this.#select();
    if (active === null || ctx.upgradeSocket !== null) {
      this.#main(req, res, ctx);
      return;
    }
    // The head and the routing context are copied before the main service runs: its handlers
    // may rewrite headers or the context, and the mirrors must see the request as it arrived here.
    const withBody = hasBody(req);
    if (!withBody || !this.#mirrorBody) {
      const head = snapshotHead(req);
      const mctx = mirrorContext(ctx);
      this.#main(req, res, ctx);
      setImmediate(dispatch, this, active, head, res, mctx, EMPTY, withBody);
      return;
    }
    const max = this.#maxBodySize;
    const declared = req.headers['content-length'];
    if (max >= 0 && declared !== undefined && Number(declared) > max) {
      this.#logger.debug('no mirroring: request body larger than maxBodySize', { service: ctx.service, maxBodySize: max });
      this.#main(req, res, ctx);
      return;
    }
    new BodyCollector(this, active, req, res, ctx, max);
  }

  /** #select counts the request and returns the mirrors it goes to, or null (no allocation then). */
  #select(): Mirror[] | null {
    const total = ++this.#total;
    let active: Mirror[] | null = null;
    for (const m of this.#mirrors) {
      if (m.count * 100 >= total * m.percent) continue;
      m.count++;
      if (m.inFlight >= this.#maxInFlight) {
        this.#logger.debug('mirror copy skipped: too many in flight', { mirror: m.name, inFlight: m.inFlight });
        continue;
      }
      if (active === null) active = [m];
      else active.push(m);
    }
    return active;
  }

  /** bodyDone is called by the collector: replay to main, then to the mirrors if the body fitted. */
  bodyDone(active: Mirror[], req: IncomingMessage, res: ServerResponse, ctx: RequestContext, chunks: Buffer[], overflow: boolean): void {
    if (overflow) {
      this.#logger.debug('no mirroring: request body larger than maxBodySize', { service: ctx.service, maxBodySize: this.#maxBodySize });
      this.#main(new ReplayRequest(req.socket, req, chunks, req), res, ctx);
      return;
    }
    const head = snapshotHead(req);
    const mctx = mirrorContext(ctx);
    this.#main(new ReplayRequest(req.socket, req, chunks, null), res, ctx);
    setImmediate(dispatch, this, active, head, res, mctx, chunks, false);
  }

  /** bodyFailed is called when the client went away while its body was being buffered. */
  bodyFailed(res: ServerResponse, ctx: RequestContext, err: Error | null): void {
    this.#logger.debug('client went away while its body was buffered for mirroring', { service: ctx.service, error: err });
    ctx.status = 499;
    if (!res.destroyed) res.destroy();
  }

  /** sendCopies starts one discarded copy of the request per mirror. */
  sendCopies(active: Mirror[], head: RequestHead, res: ServerResponse, ctx: RequestContext, body: readonly Buffer[], dropBody: boolean): void {
    if (res.destroyed && !res.writableFinished) {
      this.#logger.debug('no mirroring: the client went away', { service: ctx.service });
      return;
    }
    for (const m of active) {
      const socket = new DiscardSocket();
      let headers = undefined;
      if (dropBody) {
        headers = { ...head.headers };
        delete headers['content-length'];
        delete headers['transfer-encoding'];
      }
      const mreq = new ReplayRequest(socket, head, body, null, headers);
      const mres = new DiscardResponse(mreq, socket);
      m.inFlight++;
      mres.once('close', m.onClose);
      try {
        m.handler(mreq, mres, active.length === 1 ? ctx : mirrorContext(ctx));
      } catch (err) {
        this.#logger.warn('mirror handler failed', { mirror: m.name, error: err });
        if (!mres.destroyed) mres.destroy();
      }
    }
  }
}

const EMPTY: readonly Buffer[] = [];

function dispatch(svc: MirroringService, active: Mirror[], head: RequestHead, res: ServerResponse, ctx: RequestContext, body: readonly Buffer[], dropBody: boolean): void {
  svc.sendCopies(active, head, res, ctx, body, dropBody);
}

/** mirrorContext copies what routing decided, so a mirror's handlers never write to the client's context. Each copy gets its own. */
function mirrorContext(ctx: RequestContext): RequestContext {
  const m = new RequestContext(ctx.entrypoint, ctx.scheme, ctx.remoteAddr, ctx.host, ctx.port, ctx.path, ctx.query, ctx.start);
  m.clientIP = ctx.clientIP;
  m.router = ctx.router;
  m.strippedPrefix = ctx.strippedPrefix;
  return m;
}

/** hasBody follows RFC 9112 §6.3: a request has a body only with Content-Length > 0 or Transfer-Encoding. */
function hasBody(req: IncomingMessage): boolean {
  const te = req.headers['transfer-encoding'];
  if (te !== undefined) return true;
  const cl = req.headers['content-length'];
  return cl !== undefined && cl !== '0';
}

/** BodyCollector reads up to max+1 bytes of a request body (all of it when max < 0). */
class BodyCollector {
  readonly #svc: MirroringService;
  readonly #active: Mirror[];
  readonly #req: IncomingMessage;
  readonly #res: ServerResponse;
  readonly #ctx: RequestContext;
  readonly #max: number;
  readonly #chunks: Buffer[] = [];
  #size = 0;
  #done = false;

  constructor(svc: MirroringService, active: Mirror[], req: IncomingMessage, res: ServerResponse, ctx: RequestContext, max: number) {
    this.#svc = svc;
    this.#active = active;
    this.#req = req;
    this.#res = res;
    this.#ctx = ctx;
    this.#max = max;
    req.on('data', this.#onData);
    req.once('end', this.#onEnd);
    req.once('error', this.#onError);
    req.once('close', this.#onClose);
  }

  #finish(): void {
    this.#done = true;
    const req = this.#req;
    req.off('data', this.#onData);
    req.off('end', this.#onEnd);
    req.off('error', this.#onError);
    req.off('close', this.#onClose);
  }

  #onData = (chunk: Buffer): void => {
    if (this.#done) return;
    this.#chunks.push(chunk);
    this.#size += chunk.length;
    if (this.#max >= 0 && this.#size > this.#max) {
      this.#req.pause();
      this.#finish();
      this.#svc.bodyDone(this.#active, this.#req, this.#res, this.#ctx, this.#chunks, true);
    }
  };
  #onEnd = (): void => {
    if (this.#done) return;
    this.#finish();
    this.#svc.bodyDone(this.#active, this.#req, this.#res, this.#ctx, this.#chunks, false);
  };
  #onError = (err: Error): void => {
    if (this.#done) return;
    this.#finish();
    this.#svc.bodyFailed(this.#res, this.#ctx, err);
  };
  #onClose = (): void => {
    if (this.#done) return;
    this.#finish();
    this.#svc.bodyFailed(this.#res, this.#ctx, null);
  };
}

/**
 * createMirroringHandler returns the handler of a `mirroring` service: `main` answers the client,
 * each mirror gets `percent`% of the requests with its response discarded. maxBodySize < 0 means
 * no limit on the buffered body (Traefik's default).
 */
export function createMirroringHandler(main: Handler, mirrors: readonly MirrorTarget[], maxBodySize = -1, opts: MirroringOptions = {}): Handler {
  for (const m of mirrors) {
    if (!(m.percent >= 0 && m.percent <= 100)) throw new ConfigError(`mirror ${m.name ?? ''}`.trim(), `percent must be between 0 and 100, got ${m.percent}`);
  }
  const service = new MirroringService(main, mirrors, maxBodySize, opts);
  return service.handle.bind(service);
}
