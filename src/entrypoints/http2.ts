/**
 * Http2Front serves HTTP/2 connections of an entrypoint: TLS connections that chose `h2` by ALPN,
 * and, with `http2.h2c`, cleartext connections that open with the HTTP/2 preface. Each stream
 * becomes a request for the entrypoint's handler through node:http2's compatibility objects, so an
 * h2 request meets the same routing, middlewares, forwarding and observers as an HTTP/1.1 one.
 *
 * Limits, as the anchors set them (Traefik maxConcurrentStreams 250, HAProxy 100): concurrent
 * streams per connection, the header list size, nghttp2's session memory bound, and the flood
 * defences Node carries (Rapid Reset, CVE-2023-44487: a stream-reset rate limit; CONTINUATION
 * floods, CVE-2024-27316: a bound on continuation frames) — a connection that trips them is ended
 * with GOAWAY while other connections go on.
 */
import type * as http2 from 'node:http2';
import type { Duplex } from 'node:stream';
import type { Logger } from '../observability/logger.js';

/** The HTTP/2 connection preface (RFC 9113 §3.4) a prior-knowledge h2c client opens with. */
export const H2_PREFACE = Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', 'latin1');

// RFC 9113 §7 error codes: node:http2 itself is loaded only when an entrypoint serves HTTP/2.
const H2 = { NGHTTP2_NO_ERROR: 0x0, NGHTTP2_ENHANCE_YOUR_CALM: 0xb } as const;

export interface Http2Options {
  maxConcurrentStreams: number;
  /** Bytes allowed in a request's header list (names, values and 32 bytes each, RFC 9113 §6.5.2). */
  maxHeaderListSize: number;
  /** A connection with no stream open for this long is closed. */
  idleTimeoutMs: number;
}

/** Streams a client may cancel early within RESET_WINDOW_MS before its connection is closed. */
const RESET_LIMIT = 100;
const RESET_WINDOW_MS = 10_000;

export type Http2Handler = (req: http2.Http2ServerRequest, res: http2.Http2ServerResponse) => void;

export class Http2Front {
  #server: http2.Http2Server | null = null;
  readonly #sessions = new Set<http2.ServerHttp2Session>();
  readonly #resets = new WeakMap<http2.Http2Session, { since: number; count: number }>();
  readonly #logger: Logger;
  readonly #opts: Http2Options;
  readonly #onRequest: Http2Handler;

  constructor(opts: Http2Options, onRequest: Http2Handler, logger: Logger) {
    this.#logger = logger;
    this.#opts = opts;
    this.#onRequest = onRequest;
  }

  /** server is made on the first HTTP/2 connection: node:http2 costs ~5 MB of RSS once loaded. */
  get server(): http2.Http2Server {
    return (this.#server ??= this.#createServer());
  }

  #createServer(): http2.Http2Server {
    const opts = this.#opts;
    const server = process.getBuiltinModule('node:http2').createServer({
      settings: { maxConcurrentStreams: opts.maxConcurrentStreams, maxHeaderListSize: opts.maxHeaderListSize, enablePush: false },
      maxHeaderListPairs: 256,
      // Streams the peer opens beyond maxConcurrentStreams are refused; a peer that keeps doing
      // it is sent away (node:http2's default is 100 refused streams per session).
      maxSessionRejectedStreams: 100,
      maxSessionInvalidFrames: 100,
    });
    server.on('request', this.#onRequest);
    server.on('stream', (stream: http2.ServerHttp2Stream) => {
      // A closed stream no longer knows its session.
      const session = stream.session;
      stream.once('close', () => this.#streamClosed(stream, session));
    });
    server.on('session', (session: http2.ServerHttp2Session) => {
      this.#sessions.add(session);
      session.once('close', () => this.#sessions.delete(session));
      session.on('error', (err: Error) => this.#logger.debug('http2 session error', { error: err.message }));
      if (opts.idleTimeoutMs > 0) session.setTimeout(opts.idleTimeoutMs, () => session.close());
    });
    server.on('sessionError', (err: Error) => this.#logger.debug('http2 session error', { error: err.message }));
    return server;
  }

  /**
   * #streamClosed counts the streams that end in a reset (a client's cancellation). Opening
   * and resetting streams in a loop (Rapid Reset) makes the proxy start request after request
   * that nobody waits for; nghttp2's reset rate limit stops it only after thousands. A session
   * with more than RESET_LIMIT such streams within RESET_WINDOW_MS is told to calm down and closed.
   */
  #streamClosed(stream: http2.ServerHttp2Stream, session: http2.Http2Session | undefined): void {
    // A reset by either side ends a stream with a code other than NO_ERROR; Gantry resets streams
    // only when their request broke, so these are nearly always the client's cancellations.
    if (stream.rstCode === undefined || stream.rstCode === H2.NGHTTP2_NO_ERROR) return;
    if (session === undefined || session.destroyed) return;
    const now = Date.now();
    let r = this.#resets.get(session);
    if (r === undefined || now - r.since > RESET_WINDOW_MS) this.#resets.set(session, (r = { since: now, count: 0 }));
    if (++r.count <= RESET_LIMIT) return;
    this.#logger.warn('http2 client reset too many streams; connection closed', { resets: r.count, windowMs: RESET_WINDOW_MS });
    session.goaway(H2.NGHTTP2_ENHANCE_YOUR_CALM);
    session.destroy();
  }

  /** accept starts an HTTP/2 session on a connection (TLS with ALPN h2, or h2c with the preface). */
  accept(socket: Duplex): void {
    // The demultiplexer made this TLS socket by hand and its handshake is over, but only a
    // tls.Server clears `secureConnecting`: a session would otherwise wait for a 'secureConnect'
    // that a server-side socket never emits.
    const t = socket as Duplex & { secureConnecting?: boolean; setNoDelay?: (on: boolean) => unknown };
    if (t.secureConnecting === true) t.secureConnecting = false;
    // Small frames go out at once: with Nagle's algorithm and delayed ACKs, responses waited ~40 ms.
    t.setNoDelay?.(true);
    // The socket came from node:http's listener, which allows half-open connections (it ends them
    // itself for HTTP/1.1); node:http2 does not. A client that sent FIN with streams in flight
    // would leave its session and those streams open for good, and shutdown waiting for them.
    if ((socket as Duplex & { allowHalfOpen?: boolean }).allowHalfOpen) socket.once('end', () => socket.end());
    this.server.emit('connection', socket);
  }

  /** sessions open now (for shutdown and the API). */
  get size(): number {
    return this.#sessions.size;
  }

  /** goAway asks every session to finish its streams and take no new ones (graceful shutdown). */
  goAway(): void {
    for (const s of this.#sessions) s.close();
  }

  /** destroy ends every session now (after the grace period). */
  destroy(): void {
    for (const s of this.#sessions) s.destroy();
    this.#sessions.clear();
  }
}
