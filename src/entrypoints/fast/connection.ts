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
import type { IdleLink, IdleReaper, Idler } from './idle-reaper.js';
import { forgetCachedPeer, sharedAddress, unmapIPv4 } from '../peer-address.js';

/** FastLaneHost is what the connection needs from its entrypoint. */
export interface FastLaneHost {
  readonly maxHeaderSize: number;
  /** Closes connections that wait too long for a request (the header and idle timeouts). */
  readonly idleReaper: IdleReaper;
  readonly keepAliveLine: string;
  readonly closing: boolean;
  /** fastRequest starts serving `req` on `conn` and returns true, or returns false to hand the connection off. */
  fastRequest(conn: FastConnection, req: FastRequest): boolean;
  /** fastFinished is told about each finished fast-lane request (observers, in-flight count). */
  fastFinished(conn: FastConnection, complete: boolean): void;
  /** handOff gives the socket to node:http (the bytes read were put back). */
  handOff(socket: Socket): void;
}

const CRLFCRLF = Buffer.from('\r\n\r\n', 'latin1');

const enum Flag {
  /** A request is being served. */
  Busy = 1,
  /** The client went away: nothing more is written. */
  Gone = 2,
  /** The connection ends after the response being served. */
  CloseAfter = 4,
  /** A 'drain' listener is on the socket (added at the first backpressure, see watchDrain). */
  DrainWatched = 8,
  /** The socket allowed half-open connections before the fast lane took it (given back on hand-off). */
  WasHalfOpen = 16,
}
const kConn = Symbol('gantry.fastConnection');
type TaggedSocket = Socket & { [kConn]?: FastConnection };

export class FastConnection implements FastSink, Idler {
  readonly socket: Socket;
  readonly host: FastLaneHost;
  /** The client's address (IPv4-mapped IPv6 unwrapped) and port, read when the connection came. */
  readonly remoteAddress: string;
  readonly remotePort: number;
  /** The request being served (what serving it needs hangs on it), or null. */
  request: FastRequest | null = null;
  // The reaper's queue links (idle-reaper.ts).
  idlePrev: IdleLink | null = null;
  idleNext: IdleLink | null = null;
  idleSince = 0;
  /** What is known of the connection (the Flag bits): one field, not five, on every idle connection. */
  #flags = 0;

  constructor(socket: Socket, host: FastLaneHost) {
    this.socket = socket;
    this.host = host;
    this.remoteAddress = sharedAddress(unmapIPv4(socket.remoteAddress ?? ''));
    this.remotePort = socket.remotePort ?? 0;
    forgetCachedPeer(socket);
    (socket as TaggedSocket)[kConn] = this;
    socket.on('data', onData);
    // A client's half-close ends the connection, as node:http does by default (httpAllowHalfOpen
    // off): an idle one is closed, and a request in progress counts as abandoned ('close' follows,
    // onGone aborts the upstream side). The stream does that itself once half-open is off, with
    // no 'end' listener of ours (104 bytes per connection); node:http gets the setting back.
    if (socket.allowHalfOpen) this.#flags |= Flag.WasHalfOpen;
    socket.allowHalfOpen = false;
    socket.on('close', onClose);
    socket.on('error', onError);
    socket.setNoDelay(true);
    // A socket the demultiplexer peeked at was paused; adding a 'data' listener does not resume it.
    if (socket.isPaused()) socket.resume();
    // Until the first request: the slowloris guard's time; afterwards the keep-alive idle time.
    host.idleReaper.move(this, host.idleReaper.awaitingRequest);
  }

  /**
   * watchDrain makes sure the socket tells this connection when its write queue empties. Added at
   * the first backpressure, not up front: an idle connection's listener table then fits in its
   * object (four events), and most connections never need it.
   */
  watchDrain(): void {
    if ((this.#flags & Flag.DrainWatched) !== 0) return;
    this.#flags |= Flag.DrainWatched;
    this.socket.on('drain', onDrain);
  }

  /** A request is being served. */
  get busy(): boolean {
    return (this.#flags & Flag.Busy) !== 0;
  }

  /** The client went away: nothing more is written. */
  get gone(): boolean {
    return (this.#flags & Flag.Gone) !== 0;
  }

  /** expire: the reaper found the connection idle past its timeout. */
  expire(): void {
    if (!this.busy) this.socket.destroy();
  }

  get closeAfter(): boolean {
    return (this.#flags & Flag.CloseAfter) !== 0 || this.host.closing;
  }

  get keepAliveLine(): string {
    return this.host.keepAliveLine;
  }

  onData(chunk: Buffer): void {
    const serving = this.request;
    if (serving !== null) {
      // Only a pipelining client sends before its answer came: node:http takes over afterwards.
      serving.pending = serving.pending === null ? chunk : Buffer.concat([serving.pending, chunk]);
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
    this.#flags |= Flag.Busy;
    this.host.idleReaper.move(this, this.host.idleReaper.serving);
    this.request = req;
    req.context = ctx;
    if (req.close) this.#flags |= Flag.CloseAfter;
  }

  /** closeAfterResponse: the response being served ends the connection (keep-alive limits). */
  closeAfterResponse(): void {
    this.#flags |= Flag.CloseAfter;
  }

  finish(complete: boolean): void {
    const req = this.request;
    if (req === null || !this.busy) return;
    this.#flags &= ~Flag.Busy;
    req.exchange = null;
    this.host.fastFinished(this, complete);
    this.request = null;
    if (this.gone) return;
    // Ended or kept, the connection now waits under the idle timeout: one whose client never
    // closes its side after our FIN is destroyed then, and does not hold its socket for ever.
    const reaper = this.host.idleReaper;
    reaper.move(this, reaper.betweenRequests);
    if (!complete || this.closeAfter) {
      this.socket.end();
      return;
    }
    if (req.pending !== null) this.handOff(req.pending);
  }

  /** handOff gives the connection, with `bytes` put back in front, to node:http. */
  handOff(bytes: Buffer | null): void {
    const socket = this.socket;
    socket.pause();
    socket.removeListener('data', onData);
    socket.allowHalfOpen = (this.#flags & Flag.WasHalfOpen) !== 0;
    socket.removeListener('close', onClose);
    socket.removeListener('error', onError);
    if ((this.#flags & Flag.DrainWatched) !== 0) socket.removeListener('drain', onDrain);
    this.host.idleReaper.remove(this);
    delete (socket as TaggedSocket)[kConn];
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
    this.#flags |= Flag.Gone;
    this.host.idleReaper.remove(this);
    if (this.busy) {
      const ex = this.request?.exchange;
      if (ex != null) ex.clientGone();
    }
  }
}

function connOf(s: Socket): FastConnection | undefined {
  return (s as TaggedSocket)[kConn];
}

function onData(this: Socket, chunk: Buffer): void {
  connOf(this)?.onData(chunk);
}

function onClose(this: Socket): void {
  connOf(this)?.onGone();
}

function onError(this: Socket): void {
  // ECONNRESET and the like: 'close' follows and does the bookkeeping.
  connOf(this)?.onGone();
}

function onDrain(this: Socket): void {
  connOf(this)?.request?.exchange?.onDrain();
}
