/**
 * FastConnection reads a client connection itself before node:http ever sees it. While requests
 * arrive whole (head and Content-Length body), one per read, and the fast lane takes them
 * (request-head.ts, the entrypoint's fastRequest), they are answered here at a fraction of
 * node:http's cost. The first request that does not fit — a partial head or body, a chunked body,
 * an upgrade, pipelining, anything unusual — is handed to
 * node:http with every byte read so far put back, and the connection stays there: node:http then
 * applies all its checks and timeouts exactly as if it had had the connection from the start.
 * A hand-off only happens between requests, never during one.
 */
import type { Socket } from 'node:net';
import type { RequestContext } from '../../proxy/context.js';
import type { FastExchange, FastSink } from '../../proxy/fast-forward.js';
import { bodyBytesRelayed } from '../../proxy/body-memory.js';
import { FastRequest, parseFastHead } from './request-head.js';

/** FastLaneHost is what the connection needs from its entrypoint. */
export interface FastLaneHost {
  readonly maxHeaderSize: number;
  readonly idleTimeoutMs: number;
  readonly headerTimeoutMs: number;
  readonly keepAliveLine: string;
  readonly closing: boolean;
  /** fastRequest starts serving `req` on `conn` and returns true, or returns false to hand the connection off. */
  fastRequest(conn: FastConnection, req: FastRequest): boolean;
  /** fastFinished is told about each finished fast-lane request (observers, in-flight count). */
  fastFinished(conn: FastConnection, complete: boolean): void;
  /** handOff gives the socket to node:http (the bytes read were put back). */
  handOff(socket: Socket): void;
  forget(conn: FastConnection): void;
}

const CRLFCRLF = Buffer.from('\r\n\r\n', 'latin1');
const kConn = Symbol('gantry.fastConnection');
type TaggedSocket = Socket & { [kConn]?: FastConnection };

export class FastConnection implements FastSink {
  readonly socket: Socket;
  readonly host: FastLaneHost;
  /** A request is being served. */
  busy = false;
  gone = false;
  /** Bytes that arrived while a request was being served (pipelining, or garbage): handed off afterwards. */
  pending: Buffer | null = null;
  exchange: FastExchange | null = null;
  /** The request being served and its context (read by the entrypoint's fastFinished). */
  request: FastRequest | null = null;
  context: RequestContext | null = null;
  /** The entrypoint's writeTimeout for the request being served, or null. */
  deadline: NodeJS.Timeout | null = null;
  #closeAfter = false;
  #served = 0;
  #begun = false;

  constructor(socket: Socket, host: FastLaneHost) {
    this.socket = socket;
    this.host = host;
    (socket as TaggedSocket)[kConn] = this;
    socket.on('data', onData);
    socket.on('end', onEnd);
    socket.on('close', onClose);
    socket.on('error', onError);
    socket.on('drain', onDrain);
    socket.on('timeout', onTimeout);
    socket.setNoDelay(true);
    // A socket the demultiplexer peeked at was paused; adding a 'data' listener does not resume it.
    if (socket.isPaused()) socket.resume();
    // Until the first request: the slowloris guard's time; afterwards the keep-alive idle time.
    socket.setTimeout(host.headerTimeoutMs);
  }

  /** No request has begun on this connection yet (shutdown gives such a one a moment: see the entrypoint's close). */
  get fresh(): boolean {
    return !this.#begun && !this.gone;
  }

  get closeAfter(): boolean {
    return this.#closeAfter || this.host.closing;
  }

  get keepAliveLine(): string {
    return this.host.keepAliveLine;
  }

  onData(chunk: Buffer): void {
    if (this.busy) {
      // Only a pipelining client sends before its answer came: node:http takes over afterwards.
      this.pending = this.pending === null ? chunk : Buffer.concat([this.pending, chunk]);
      this.socket.pause();
      return;
    }
    const end = chunk.indexOf(CRLFCRLF);
    if (end < 0 || end > this.host.maxHeaderSize) return this.handOff(chunk);
    const req = parseFastHead(chunk.toString('latin1', 0, end));
    // The read holds exactly one request: its head and all of its body (Content-Length), no more.
    if (req === null || end + 4 + req.contentLength !== chunk.length) return this.handOff(chunk);
    if (req.contentLength > 0) {
      req.body = chunk.subarray(end + 4);
      // The read's buffer lives outside V8's heap until a collection: counted like relayed bodies.
      bodyBytesRelayed(chunk.length);
    }
    if (!this.host.fastRequest(this, req)) return this.handOff(chunk);
  }

  /** begin marks a request as taken by the fast lane. */
  begin(req: FastRequest, ctx: RequestContext): void {
    this.busy = true;
    this.#begun = true;
    this.request = req;
    this.context = ctx;
    if (req.close) this.#closeAfter = true;
  }

  /** closeAfterResponse: the response being served ends the connection (keep-alive limits). */
  closeAfterResponse(): void {
    this.#closeAfter = true;
  }

  finish(complete: boolean): void {
    if (!this.busy) return;
    this.busy = false;
    this.exchange = null;
    this.host.fastFinished(this, complete);
    this.request = null;
    this.context = null;
    if (this.gone) return;
    if (!complete || this.closeAfter) {
      this.socket.end();
      return;
    }
    if (this.#served++ === 0) this.socket.setTimeout(this.host.idleTimeoutMs);
    const pending = this.pending;
    if (pending !== null) {
      this.pending = null;
      this.handOff(pending);
    }
  }

  /** handOff gives the connection, with `bytes` put back in front, to node:http. */
  handOff(bytes: Buffer | null): void {
    const socket = this.socket;
    socket.pause();
    socket.removeListener('data', onData);
    socket.removeListener('end', onEnd);
    socket.removeListener('close', onClose);
    socket.removeListener('error', onError);
    socket.removeListener('drain', onDrain);
    socket.removeListener('timeout', onTimeout);
    socket.setTimeout(0);
    delete (socket as TaggedSocket)[kConn];
    this.host.forget(this);
    if (bytes !== null && bytes.length > 0) socket.unshift(bytes);
    this.host.handOff(socket);
  }

  /** closeIdle ends the connection if no request is being served (shutdown); returns whether it did. */
  closeIdle(): boolean {
    if (this.busy) return false;
    this.socket.end();
    this.socket.destroySoon();
    return true;
  }

  onGone(): void {
    if (this.gone) return;
    this.gone = true;
    this.host.forget(this);
    if (this.busy) {
      const ex = this.exchange;
      if (ex !== null) ex.clientGone();
    }
  }
}

function connOf(s: Socket): FastConnection | undefined {
  return (s as TaggedSocket)[kConn];
}

function onData(this: Socket, chunk: Buffer): void {
  connOf(this)?.onData(chunk);
}

function onEnd(this: Socket): void {
  // The client half-closed. As node:http does by default (httpAllowHalfOpen off), a request in
  // progress counts as abandoned: the upstream side is aborted and the connection closed.
  const c = connOf(this);
  if (c === undefined) return;
  if (c.busy) {
    c.onGone();
    this.destroy();
  } else this.end();
}

function onClose(this: Socket): void {
  connOf(this)?.onGone();
}

function onError(this: Socket): void {
  // ECONNRESET and the like: 'close' follows and does the bookkeeping.
  connOf(this)?.onGone();
}

function onDrain(this: Socket): void {
  connOf(this)?.exchange?.onDrain();
}

function onTimeout(this: Socket): void {
  const c = connOf(this);
  // A slow server is not the client's idleness: only an idle connection is closed.
  if (c !== undefined && !c.busy) this.destroy();
}
