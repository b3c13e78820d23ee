/**
 * Forwarding in the entrypoint's fast lane (entrypoints/fast): the same load balancing, retries,
 * passive health and error answers as forward.ts, for the requests the fast lane takes — GET/HEAD,
 * and POST/PUT/PATCH/DELETE whose Content-Length body came in the same read as the head, on a
 * router whose middlewares all have fast steps (middlewares/fast-step.ts), to a service with
 * plain-http servers. The upstream head is built as one string straight from the parsed client
 * head, and the response head and its
 * first body bytes leave in a single socket write, where node:http would build header objects on
 * both sides and write twice.
 */
import { STATUS_CODES } from '../node-http.js';
import type { Socket } from 'node:net';
import type { Dispatcher } from 'undici';
import type { FastRequest } from '../entrypoints/fast/request-head.js';
import type { RequestErrorKind } from '../errors.js';
import { recordError } from './respond.js';
import type { ForwardingController, H1Pool } from '../upstreams/h1/pool.js';
import type { ResponseHead } from '../upstreams/h1/head.js';
import type { UpstreamServer } from '../upstreams/server.js';
import type { RequestContext } from './context.js';
import { retriesAllowed, type LoadBalancerService } from './forward.js';
import { REQUEST_DROP } from './headers.js';
import { classifyUpstreamError, type UpstreamFailure } from './upstream-errors.js';
import { MAX_SCRATCH_BYTES, writeJoined } from './write-scratch.js';

/** FastSink is the client connection a fast exchange answers on (entrypoints/fast/connection.ts). */
export interface FastSink {
  readonly socket: Socket;
  /** The client went away: nothing more is written. */
  readonly gone: boolean;
  /** The response must end the connection (client asked, or the entrypoint is shutting down). */
  readonly closeAfter: boolean;
  /** `Keep-Alive` header line (with CRLF) for responses that keep the connection. */
  readonly keepAliveLine: string;
  /** watchDrain: from now on the exchange's onDrain hears when the socket's write queue empties. */
  watchDrain(): void;
  /** finish ends the request: complete = the whole response was written. */
  finish(complete: boolean): void;
}

/** forwardFast forwards `req` to a server of `svc`; `tried` holds servers that failed already. */
export function forwardFast(svc: LoadBalancerService, sink: FastSink, req: FastRequest, ctx: RequestContext, tried: Set<UpstreamServer> | null, attempt: number, lastFailure: UpstreamFailure | null): void {
  if (sink.gone) {
    sink.finish(false);
    return;
  }
  ctx.service = svc.opts.name;
  let server = svc.balancer.pick(null, null, ctx, tried);
  if (server === null && tried !== null && ctx.retryAttempts > 0) server = svc.balancer.pick(null, null, ctx, null);
  if (server === null) {
    if (lastFailure !== null) return sendFastError(sink, req, ctx, lastFailure.kind, lastFailure.detail);
    return sendFastError(sink, req, ctx, 'noServer', `service ${svc.opts.name} has no available server`);
  }
  new FastExchange(svc, sink, req, ctx, server, tried, attempt).start();
}

/** FastExchange is one attempt of one request against one server; its methods are the pool's callbacks. */
export class FastExchange implements Dispatcher.DispatchHandler {
  readonly svc: LoadBalancerService;
  readonly sink: FastSink;
  readonly req: FastRequest;
  readonly ctx: RequestContext;
  readonly server: UpstreamServer;
  readonly tried: Set<UpstreamServer> | null;
  readonly attempt: number;
  controller: Dispatcher.DispatchController | null = null;
  connected = false;
  responded = false;
  finished = false;
  /** The response to the client is chunked (the server's had no Content-Length). */
  chunked = false;
  /** The response head, kept until it can leave together with the first body bytes. */
  pendingHead: string | null = null;

  constructor(svc: LoadBalancerService, sink: FastSink, req: FastRequest, ctx: RequestContext, server: UpstreamServer, tried: Set<UpstreamServer> | null, attempt: number) {
    this.svc = svc;
    this.sink = sink;
    this.req = req;
    this.ctx = ctx;
    this.server = server;
    this.tried = tried;
    this.attempt = attempt;
  }

  start(): void {
    const { svc, req, ctx, server } = this;
    server.inFlight++;
    ctx.server = server.url;
    req.exchange = this;
    const path = server.basePath === '' ? ctx.target() : server.basePath + ctx.target();
    const head = upstreamHead(req, ctx, path, svc.hostHeaderFor(req.host, server), svc.opts.serverName);
    try {
      (svc.transport.pool(server) as H1Pool).send(req.method, head, this, req.body);
    } catch (err) {
      this.onResponseError(null, err as Error);
    }
  }

  onRequestStart(controller: Dispatcher.DispatchController): void {
    this.controller = controller;
    this.connected = true;
    if (this.sink.gone) controller.abort(new Error('client closed request'));
  }

  onResponseStart(controller: Dispatcher.DispatchController, statusCode: number): void {
    this.controller = controller;
    if (statusCode < 200) return;
    this.responded = true;
    if (statusCode >= 500) this.svc.opts.health.failure(this.server);
    else this.svc.opts.health.success(this.server);
    if (this.sink.gone) return;
    const head = (controller as ForwardingController).response!;
    const bodyless = this.req.method === 'HEAD' || statusCode === 204 || statusCode === 304;
    this.chunked = !bodyless && !head.hasLength;
    this.ctx.status = statusCode;
    this.pendingHead = responseHead(statusCode, head, this.chunked, this.sink, this.ctx);
  }

  onResponseData(controller: Dispatcher.DispatchController, chunk: Buffer): void {
    if (this.sink.gone || chunk.length === 0) return;
    const socket = this.sink.socket;
    const head = this.pendingHead;
    let ok: boolean;
    if (this.chunked) {
      const prefix = (head ?? '') + chunk.length.toString(16) + '\r\n';
      if (prefix.length + chunk.length + 2 <= MAX_SCRATCH_BYTES) ok = writeJoined(socket, prefix, chunk, '\r\n');
      else {
        socket.cork();
        socket.write(prefix, 'latin1');
        socket.write(chunk);
        ok = socket.write('\r\n', 'latin1');
        socket.uncork();
      }
    } else if (head === null) {
      ok = socket.write(chunk);
    } else if (head.length + chunk.length <= MAX_SCRATCH_BYTES) {
      // Head and a small body in one buffer: one write, one syscall, no writev bookkeeping.
      ok = writeJoined(socket, head, chunk, '');
    } else {
      socket.cork();
      socket.write(head, 'latin1');
      ok = socket.write(chunk);
      socket.uncork();
    }
    this.pendingHead = null;
    // Bytes still queued may include this chunk, a view of the connection's read buffer: it must
    // not be overwritten. write() says false for any chunk over the high-water mark even when the
    // kernel took it all at once; only bytes really left queued are a reason to stop reading.
    if (socket.writableLength > 0) {
      (controller as ForwardingController).retain();
      if (!ok) {
        this.sink.watchDrain();
        controller.pause();
      }
    }
  }

  /** onDrain resumes the server's side once the client caught up. */
  onDrain(): void {
    if (!this.finished && this.controller !== null) this.controller.resume();
  }

  onResponseEnd(): void {
    this.done();
    if (this.sink.gone) {
      this.sink.finish(false);
      return;
    }
    const head = this.pendingHead;
    this.pendingHead = null;
    if (this.chunked) this.sink.socket.write((head ?? '') + '0\r\n\r\n', 'latin1');
    else if (head !== null) this.sink.socket.write(head, 'latin1');
    this.sink.finish(true);
  }

  onResponseError(_controller: Dispatcher.DispatchController | null, err: Error): void {
    this.done();
    const { sink, ctx } = this;
    if (sink.gone) {
      sink.finish(false);
      return;
    }
    const failure = classifyUpstreamError(err, this.connected);
    if (this.responded && this.pendingHead === null) {
      // The head is out: the only honest signal left is to cut the response short.
      ctx.errorText = failure.detail;
      sink.socket.destroy();
      sink.finish(false);
      return;
    }
    if (this.responded) {
      // The server's head is still here (its body broke in the same read): the client gets a 502
      // instead; the server did answer, so this is no case for a retry.
      this.pendingHead = null;
      sendFastError(sink, this.req, ctx, 'upstreamError', failure.detail);
      return;
    }
    this.svc.opts.health.failure(this.server);
    // The body is in memory: like a buffered one, it can be sent again where retries allow it.
    if (this.attempt < retriesAllowed(failure, ctx, this.req.method, this.req.body !== null)) {
      const tried = this.tried ?? new Set<UpstreamServer>();
      tried.add(this.server);
      ctx.retries++;
      const delay = this.attempt === 0 || ctx.retryInitialIntervalMs === 0 ? 0 : ctx.retryInitialIntervalMs * 2 ** (this.attempt - 1);
      if (delay === 0) forwardFast(this.svc, sink, this.req, ctx, tried, this.attempt + 1, failure);
      else setTimeout(forwardFast, delay, this.svc, sink, this.req, ctx, tried, this.attempt + 1, failure).unref();
      return;
    }
    sendFastError(sink, this.req, ctx, failure.kind, failure.detail);
  }

  /** clientGone is called by the connection when the client goes away mid-request. */
  clientGone(): void {
    if (this.finished) return;
    this.ctx.status = 499;
    this.ctx.errorText = 'client closed request';
    if (this.controller !== null) this.controller.abort(new Error('client closed request'));
  }

  done(): void {
    if (this.finished) return;
    this.finished = true;
    this.server.inFlight--;
    const cb = this.svc.opts.onDone;
    if (cb !== null) cb(this.ctx);
  }
}

/** upstreamHead is the request head sent to the server: upstreamRequestHeaders' rules, as one string. */
export function upstreamHead(req: FastRequest, ctx: RequestContext, path: string, host: string, serverName: string): string {
  let head = req.method + ' ' + path + ' HTTP/1.1\r\nhost: ' + host + '\r\n';
  const { names, values } = req;
  let xff: string | null = null;
  let seen = 0;
  for (let i = 0; i < names.length; i++) {
    const name = names[i]!;
    if (REQUEST_DROP.has(name)) continue;
    // Forwarding headers still here came from a trusted proxy (entrypoint stripped the others).
    if (req.forwarded && name.charCodeAt(0) === 120 /* x */) {
      switch (name) {
        case 'x-forwarded-for':
          xff = values[i]!;
          continue;
        case 'x-forwarded-proto':
          seen |= 1;
          break;
        case 'x-forwarded-host':
          seen |= 2;
          break;
        case 'x-forwarded-port':
          seen |= 4;
          break;
        case 'x-forwarded-server':
          seen |= 8;
          break;
        case 'x-real-ip':
          seen |= 16;
          break;
        case 'x-forwarded-prefix':
          seen |= 32;
          break;
      }
    }
    head += name + ': ' + values[i]! + '\r\n';
  }
  // X-Forwarded-* are added after all removals (CVE-2024-45410), as upstreamRequestHeaders does.
  const remote = ctx.remoteAddr;
  head += 'x-forwarded-for: ' + (xff === null ? remote : xff + ', ' + remote) + '\r\n';
  if ((seen & 1) === 0) head += 'x-forwarded-proto: ' + ctx.scheme + '\r\n';
  if ((seen & 2) === 0) head += 'x-forwarded-host: ' + (req.host !== '' ? req.host : ctx.host) + '\r\n';
  if ((seen & 4) === 0) head += 'x-forwarded-port: ' + ctx.port + '\r\n';
  if ((seen & 8) === 0) head += 'x-forwarded-server: ' + serverName + '\r\n';
  if ((seen & 16) === 0) head += 'x-real-ip: ' + remote + '\r\n';
  if ((seen & 32) === 0 && ctx.strippedPrefix !== '') head += 'x-forwarded-prefix: ' + ctx.strippedPrefix + '\r\n';
  return head + '\r\n';
}

/**
 * responseHead is the client's response head: the server's field lines without the hop-by-hop ones
 * (head.ts), then Date when the server sent none, framing and connection, as node:http adds them.
 */
function responseHead(status: number, head: ResponseHead, chunked: boolean, sink: FastSink, ctx: RequestContext): string {
  const fields = ctx.responseModifiers === null ? head.fields : editFields(head.fields, ctx);
  return statusLine(status) + fields + (head.hasDate ? '' : 'date: ' + httpDate() + '\r\n') + (chunked ? 'transfer-encoding: chunked\r\n' : '') + (sink.closeAfter ? 'connection: close\r\n\r\n' : sink.keepAliveLine + '\r\n');
}

/**
 * editFields applies the fast edits of the request's response modifiers to field lines (`Name:
 * value` CRLF each), as writeHead applies the modifiers to a header object: the last registered
 * first. A name that is set or removed loses all its lines; a set one gets one line at the end.
 */
export function editFields(fields: string, ctx: RequestContext): string {
  const mods = ctx.responseModifiers!;
  const final = new Map<string, string>();
  for (let i = mods.length - 1; i >= 0; i--) {
    const edits = mods[i]!.fastEdits!;
    for (let j = 0; j < edits.length; j++) {
      const [name, value] = edits[j]!;
      final.delete(name); // keep the order of the last change
      final.set(name, value);
    }
  }
  let out = '';
  let pos = 0;
  while (pos < fields.length) {
    const eol = fields.indexOf('\r\n', pos);
    const colon = fields.indexOf(':', pos);
    if (!final.has(fields.slice(pos, colon).toLowerCase())) out += fields.slice(pos, eol + 2);
    pos = eol + 2;
  }
  for (const [name, value] of final) if (value !== '') out += name + ': ' + value + '\r\n';
  return out;
}

const STATUS_LINES = new Map<number, string>();

/** statusLine is `HTTP/1.1 200 OK` and CRLF, with the standard reason phrase (as node:http writes). */
function statusLine(status: number): string {
  let line = STATUS_LINES.get(status);
  if (line === undefined) {
    line = 'HTTP/1.1 ' + status + ' ' + (STATUS_CODES[status] ?? 'Unknown') + '\r\n';
    if (status < 600) STATUS_LINES.set(status, line);
  }
  return line;
}

/** sendFastError answers with one of the request error kinds, as respond.ts's sendError does. */
export function sendFastError(sink: FastSink, req: FastRequest, ctx: RequestContext, kind: RequestErrorKind, detail?: string): void {
  const status = recordError(ctx, kind, detail);
  ctx.status = status;
  const body = `${status} ${ctx.errorText}\n`;
  // The request's response modifiers (a headers middleware's) apply to Gantry's own answers too.
  const fields = 'content-type: text/plain; charset=utf-8\r\nx-content-type-options: nosniff\r\n';
  const head =
    statusLine(status) +
    (ctx.responseModifiers === null ? fields : editFields(fields, ctx)) +
    `content-length: ${Buffer.byteLength(body)}\r\ndate: ${httpDate()}\r\n` +
    (sink.closeAfter ? 'connection: close\r\n\r\n' : sink.keepAliveLine + '\r\n');
  sink.socket.write(req.method === 'HEAD' ? head : head + body, 'utf8');
  sink.finish(true);
}

let dateSecond = 0;
let dateText = '';

/** httpDate is the current IMF-fixdate, rebuilt at most once a second. */
function httpDate(): string {
  const now = Date.now();
  const s = Math.floor(now / 1000);
  if (s !== dateSecond) {
    dateSecond = s;
    dateText = new Date(now).toUTCString();
  }
  return dateText;
}
