/**
 * H1Pool is Gantry's own HTTP/1.1 client for plain-http servers: a keep-alive pool of raw sockets
 * per origin. A request head is written with a single `socket.write`, held with the turn's other
 * heads until the turn ends (write-batch.ts); the response head is parsed
 * by head.ts and the body passed through as slices of the socket reads (Content-Length counted,
 * chunked framing followed by chunked.ts), so a connection goes back to the pool the moment its
 * response is complete. Each connection reads into one buffer it reuses (net's `onread`): the
 * fast lane's handler (send()) gets views of it and says when a write still holds one; other
 * handlers get copies. It implements the slice of undici's dispatch contract the forwarder uses
 * (`dispatch(opts, handler)`, a DispatchHandler with a pause/resume/abort controller), so the
 * forwarder runs on it or on an undici Pool alike (`--serversTransport.client`).
 *
 * Errors carry the codes the forwarder classifies (upstream-errors.ts): ECONNREFUSED and the like
 * from the dial, UND_ERR_CONNECT_TIMEOUT, UND_ERR_HEADERS_TIMEOUT, ECONNRESET. A request that
 * fails on a reused connection before any response byte arrived (the server had just closed it)
 * is sent again once on a new connection — only when it has no body and an idempotent method, the
 * requests the forwarder itself would retry.
 */
import net from 'node:net';
import type { Readable } from 'node:stream';
import type { Dispatcher } from 'undici';
import { ChunkedDecoder, type ChunkSink } from './chunked.js';
import { Framing, ParseError, parseHead, type ResponseHead } from './head.js';
import { bodyBytesRelayed } from '../../proxy/body-memory.js';
import { holdUntilTurnEnd } from './write-batch.js';

export interface H1PoolOptions {
  /** Dial timeout, ms. */
  dialTimeoutMs: number;
  /** Time allowed for the response head once the request is written, ms; 0 = none. */
  responseHeaderTimeoutMs: number;
  /** Longest time an idle connection is kept, ms (a server's shorter Keep-Alive hint wins). */
  idleTimeoutMs: number;
  /** Idle connections kept per origin at most. */
  maxIdle: number;
}

/** The part of undici's Dispatcher the forwarder uses; undici's Pool and H1Pool both have it. */
export interface UpstreamDispatcher {
  dispatch(opts: Dispatcher.DispatchOptions, handler: Dispatcher.DispatchHandler): boolean;
  close(): Promise<void>;
  destroy(): Promise<void>;
}

/**
 * The controller a `send()` handler gets: its response head is parsed for forwarding (no header
 * object; `response.fields` holds the lines to pass on), and is there from onResponseStart on.
 */
export interface ForwardingController extends Dispatcher.DispatchController {
  readonly response: ResponseHead | null;
  /**
   * retain says the chunk just handed to onResponseData is still referenced when the call returns
   * (queued on the client's socket): the connection reads its next bytes into a new buffer.
   */
  retain(): void;
}

const IDEMPOTENT = new Set(['GET', 'HEAD', 'OPTIONS', 'TRACE', 'PUT', 'DELETE']);
/** Request targets undici also refuses: anything outside visible ASCII and latin1. */
const INVALID_PATH = /[^\u0021-\u00ff]/;
const HEADER_NAME = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
const CRLFCRLF = Buffer.from('\r\n\r\n', 'latin1');
const MAX_HEAD = 64 * 1024;
/** Without a server hint, idle connections are closed after at most this long (Node's server closes after 5 s). */
const DEFAULT_KEEPALIVE_MS = 4_000;
const EMPTY_TRAILERS = Object.freeze({}) as Record<string, string>;
/**
 * Size of a connection's read buffer. Each connection reads into its own buffer, over and over,
 * instead of Node allocating (and the GC later freeing) a fresh one per read; pages never written
 * (small responses) cost no memory.
 */
const READ_BUFFER_BYTES = 64 * 1024;
/** A read gets at least this much room; below it the connection moves on to a new buffer. */
const MIN_READ_BYTES = 16 * 1024;

function codedError(message: string, code: string): Error {
  return Object.assign(new Error(message), { code });
}

/**
 * H1Request is one request on the pool, and its controller. It is the only per-request object of
 * the client (no closures): a stale controller held by a finished exchange can do no harm.
 */
class H1Request implements Dispatcher.DispatchController {
  readonly pool: H1Pool;
  readonly handler: Dispatcher.DispatchHandler;
  readonly method: string;
  readonly head: string;
  /** The body: null, a Buffer, or a stream (the client's request, or a buffered body's file). */
  readonly body: Buffer | Readable | null;
  /** With a stream body and no Content-Length: send it chunked. */
  readonly chunked: boolean;
  /** May be sent again after a stale-connection failure. */
  readonly retryable: boolean;
  conn: H1Conn | null = null;
  #aborted = false;
  #paused = false;
  #reason: Error | null = null;
  finished = false;
  /** The request (head and body) is fully written. */
  sent = false;
  /** The head is written (for a stream body it waits for the first body bytes). */
  headWritten = true;
  /** Response bytes received. */
  received = 0;
  /**
   * True while the response's last body bytes are being handed over (Content-Length bodies): the
   * handler may end its own response with them (`res.end(chunk)`, one write instead of two).
   */
  last = false;
  headerTimer: NodeJS.Timeout | null = null;
  /** Parse the response head for forwarding (send()) rather than into a header object. */
  forward = false;
  response: ResponseHead | null = null;

  constructor(pool: H1Pool, handler: Dispatcher.DispatchHandler, method: string, head: string, body: Buffer | Readable | null, chunked: boolean) {
    this.pool = pool;
    this.handler = handler;
    this.method = method;
    this.head = head;
    this.body = body;
    this.chunked = chunked;
    this.retryable = body === null && IDEMPOTENT.has(method);
  }

  get aborted(): boolean {
    return this.#aborted;
  }
  get paused(): boolean {
    return this.#paused;
  }
  get reason(): Error | null {
    return this.#reason;
  }

  abort(reason: Error): void {
    if (this.finished || this.#aborted) return;
    this.#aborted = true;
    this.#reason = reason;
    const conn = this.conn;
    if (conn !== null) conn.drop(this);
    this.finish();
    this.handler.onResponseError?.(this, reason);
  }

  pause(): void {
    if (this.finished || this.#paused) return;
    this.#paused = true;
    if (this.conn !== null) this.conn.socket.pause();
  }

  resume(): void {
    if (!this.#paused) return;
    this.#paused = false;
    if (!this.finished && this.conn !== null) this.conn.socket.resume();
  }

  finish(): void {
    this.finished = true;
    if (this.headerTimer !== null) {
      clearTimeout(this.headerTimer);
      this.headerTimer = null;
    }
  }

  fail(err: Error): void {
    if (this.finished) return;
    this.finish();
    this.handler.onResponseError?.(this, err);
  }

  retain(): void {
    if (this.conn !== null) this.conn.lent = true;
  }
}

/** H1Conn is one pooled connection; its listeners are registered once, for its whole life. */
class H1Conn implements ChunkSink {
  readonly pool: H1Pool;
  readonly socket: net.Socket;
  connected = false;
  closed = false;
  /** Requests served before the current one: 0 means a fresh connection. */
  uses = 0;
  req: H1Request | null = null;
  /** Pool tick when the connection went idle, and how long it may stay idle (ms). */
  idleSince = 0;
  keepAliveMs = DEFAULT_KEEPALIVE_MS;
  dialTimer: NodeJS.Timeout | null = null;
  // Response state.
  headBuf: Buffer | null = null;
  inBody = false;
  framing: Framing = Framing.None;
  remaining = 0;
  keepAlive = true;
  decoder: ChunkedDecoder | null = null;
  /** The buffer this connection reads into. */
  readBuf: Buffer = Buffer.allocUnsafeSlow(READ_BUFFER_BYTES);
  /** Start of the free part of readBuf: the bytes before it may still be referenced. */
  readOff = 0;
  /** readBuf from readOff on: where the next read lands. */
  nextRead: Buffer = this.readBuf;
  /** The handler said the last read's bytes are still referenced (retain()). */
  lent = false;

  constructor(pool: H1Pool, host: string, port: number) {
    this.pool = pool;
    const self = this;
    const socket = net.connect({
      host,
      port,
      noDelay: true,
      keepAlive: true,
      keepAliveInitialDelay: 60_000,
      onread: {
        buffer: function nextReadBuffer() {
          return self.nextRead;
        },
        callback: function onRead(n: number, buf: Uint8Array): boolean {
          self.onRead(n, buf as Buffer);
          return true; // pausing is the socket's pause(), as for any socket
        },
      },
    });
    this.socket = socket;
    socket.on('connect', function onConnect() {
      self.onConnect();
    });
    socket.on('end', function onEnd() {
      self.onEnd();
    });
    socket.on('error', function onError(err: Error) {
      self.onClose(err);
    });
    socket.on('close', function onClose() {
      self.onClose(null);
    });
    socket.on('drain', function onDrain() {
      const r = self.req;
      if (r !== null && r.body !== null && !r.sent && !Buffer.isBuffer(r.body)) r.body.resume();
    });
  }

  onConnect(): void {
    if (this.dialTimer !== null) {
      clearTimeout(this.dialTimer);
      this.dialTimer = null;
    }
    this.connected = true;
    const r = this.req;
    if (r !== null) this.start(r);
  }

  /** start writes `r` on this (connected) connection. */
  start(r: H1Request): void {
    this.req = r;
    r.conn = this;
    this.headBuf = null;
    this.inBody = false;
    this.keepAlive = true;
    const b = r.body;
    if (b !== null && !Buffer.isBuffer(b) && (b.destroyed || b.errored != null)) {
      // The client's body broke off while the connection was being made (Node's parser refused a
      // chunk, the client went away): nothing is written, the connection stays good.
      this.req = null;
      r.conn = null;
      this.pool.release(this);
      r.fail(codedError('request body closed before it was sent', 'UND_ERR_ABORTED'));
      return;
    }
    r.handler.onRequestStart?.(r, null);
    if (r.finished) return; // aborted from onRequestStart
    const socket = this.socket;
    const body = r.body;
    if (body === null) {
      holdUntilTurnEnd(socket);
      socket.write(r.head, 'latin1');
      r.sent = true;
    } else if (Buffer.isBuffer(body)) {
      holdUntilTurnEnd(socket);
      socket.write(r.head, 'latin1');
      if (body.length > 0) socket.write(body);
      r.sent = true;
    } else {
      // As undici does, the head goes out with the first body bytes: a body the client breaks off
      // before its first byte (a chunk Node's parser refuses) never reaches the server at all.
      r.headWritten = false;
      this.pipeBody(body);
    }
    const t = this.pool.opts.responseHeaderTimeoutMs;
    if (t > 0 && !r.finished) {
      r.headerTimer = setTimeout(onHeaderTimeout, t, r);
      r.headerTimer.unref();
    }
  }

  pipeBody(body: Readable): void {
    bodies.set(body, this);
    body.on('data', onBodyData);
    body.on('end', onBodyEnd);
    body.on('error', onBodyError);
    body.on('close', onBodyClose);
    if (body.isPaused()) body.resume();
    // An IncomingMessage that has already ended emits nothing more.
    if (body.readableEnded) onBodyEnd.call(body);
  }

  unpipeBody(body: Readable): void {
    bodies.delete(body);
    body.off('data', onBodyData);
    body.off('end', onBodyEnd);
    body.off('error', onBodyError);
    body.off('close', onBodyClose);
  }

  /**
   * onRead takes `n` bytes read into the connection's buffer. Only the fast lane's handler (send())
   * is handed views of it, and says when it keeps one (retain()); any other handler gets a copy.
   */
  onRead(n: number, buf: Buffer): void {
    const r = this.req;
    if (r !== null && !r.forward) {
      bodyBytesRelayed(n);
      this.onData(Buffer.from(buf.subarray(0, n)));
      return;
    }
    this.onData(buf.subarray(0, n));
    if (this.lent) {
      // The bytes just read stay where they are; later reads go after them, into a new buffer
      // when too little is left. Only retained bytes ever become garbage.
      bodyBytesRelayed(n);
      this.lent = false;
      this.readOff += n;
      if (READ_BUFFER_BYTES - this.readOff < MIN_READ_BYTES) {
        this.readBuf = Buffer.allocUnsafeSlow(READ_BUFFER_BYTES);
        this.readOff = 0;
        this.nextRead = this.readBuf;
      } else {
        this.nextRead = this.readBuf.subarray(this.readOff);
      }
    }
  }

  onData(chunk: Buffer): void {
    const r = this.req;
    if (r === null) {
      // Bytes on an idle connection (or after an aborted request): nothing can be trusted on it.
      this.destroy();
      return;
    }
    r.received += chunk.length;
    try {
      if (this.inBody) this.body(r, chunk, 0);
      else this.headData(r, chunk);
    } catch (err) {
      this.fail(r, err as Error);
    }
  }

  headData(r: H1Request, chunk: Buffer): void {
    let buf = chunk;
    if (this.headBuf !== null) {
      buf = Buffer.concat([this.headBuf, chunk]);
      this.headBuf = null;
    }
    let start = 0;
    for (;;) {
      const idx = buf.indexOf(CRLFCRLF, start);
      if (idx < 0) {
        if (buf.length - start > MAX_HEAD) throw new ParseError('response head too large', 'UND_ERR_HEADERS_OVERFLOW');
        // Kept across reads: a copy, the read buffer is reused.
        this.headBuf = Buffer.from(start === 0 ? buf : buf.subarray(start));
        return;
      }
      if (idx - start > MAX_HEAD) throw new ParseError('response head too large', 'UND_ERR_HEADERS_OVERFLOW');
      const head = parseHead(buf.toString('latin1', start, idx), r.method, r.forward);
      start = idx + 4;
      if (head.status < 200) {
        // 1xx: informational heads are read past (Node's server answers Expect itself); 101 was
        // not asked for (upgrades do not come through here).
        if (head.status === 101) throw new ParseError('unexpected 101 Switching Protocols');
        continue;
      }
      if (r.headerTimer !== null) {
        clearTimeout(r.headerTimer);
        r.headerTimer = null;
      }
      this.inBody = true;
      this.framing = head.framing;
      this.remaining = head.length;
      this.keepAlive = head.keepAlive;
      if (head.keepAliveHintMs > 0) this.keepAliveMs = Math.max(0, head.keepAliveHintMs - 1000);
      if (head.framing === Framing.Chunked) {
        if (this.decoder === null) this.decoder = new ChunkedDecoder();
        else this.decoder.reset();
      }
      r.response = head;
      r.handler.onResponseStart?.(r, head.status, head.headers, head.reason);
      if (r.finished) return;
      this.body(r, buf, start);
      return;
    }
  }

  body(r: H1Request, buf: Buffer, start: number): void {
    switch (this.framing) {
      case Framing.Length: {
        const avail = buf.length - start;
        if (avail === 0) return;
        if (avail <= this.remaining) {
          this.remaining -= avail;
          r.last = this.remaining === 0;
          r.handler.onResponseData?.(r, start === 0 ? buf : buf.subarray(start));
        } else {
          // More bytes than announced: the rest is garbage; the connection is not reused.
          this.keepAlive = false;
          const n = this.remaining;
          this.remaining = 0;
          r.last = true;
          r.handler.onResponseData?.(r, buf.subarray(start, start + n));
        }
        if (this.remaining === 0 && !r.finished) this.complete(r);
        return;
      }
      case Framing.Chunked: {
        const end = this.decoder!.execute(buf, start, this);
        if (end >= 0 && !r.finished) {
          if (end < buf.length) this.keepAlive = false;
          this.complete(r);
        }
        return;
      }
      case Framing.Close:
        if (buf.length > start) r.handler.onResponseData?.(r, start === 0 ? buf : buf.subarray(start));
        return;
      case Framing.None:
        if (buf.length > start) this.keepAlive = false;
        this.complete(r);
        return;
    }
  }

  onChunkData(chunk: Buffer): void {
    const r = this.req;
    if (r !== null && !r.finished) r.handler.onResponseData?.(r, chunk);
  }

  /** complete ends the response: the connection returns to the pool when it can carry another request. */
  complete(r: H1Request): void {
    this.req = null;
    r.conn = null;
    r.finish();
    if (r.body !== null && !Buffer.isBuffer(r.body) && !r.sent) {
      // The server answered before the whole body was sent: it is drained, the connection dropped.
      this.unpipeBody(r.body);
      r.body.resume();
      this.keepAlive = false;
    }
    if (r.paused) this.socket.resume();
    if (this.keepAlive && r.sent && !this.closed) {
      this.uses++;
      this.pool.release(this);
    } else {
      this.destroy();
    }
    r.handler.onResponseEnd?.(r, EMPTY_TRAILERS);
  }

  onEnd(): void {
    const r = this.req;
    if (r !== null && this.inBody && this.framing === Framing.Close) {
      this.keepAlive = false;
      this.complete(r);
      return;
    }
    if (r !== null) this.fail(r, codedError('other side closed', 'ECONNRESET'));
    else this.destroy();
  }

  onClose(err: Error | null): void {
    if (this.dialTimer !== null) {
      clearTimeout(this.dialTimer);
      this.dialTimer = null;
    }
    const wasClosed = this.closed;
    this.closed = true;
    this.pool.forget(this);
    const r = this.req;
    if (r !== null) this.fail(r, err ?? codedError('other side closed', 'ECONNRESET'));
    if (!wasClosed && err !== null) this.socket.destroy();
  }

  /** fail ends the current request with an error, retrying it on a new connection when that is safe. */
  fail(r: H1Request, err: Error): void {
    if (this.req !== r) return;
    this.req = null;
    r.conn = null;
    if (r.body !== null && !Buffer.isBuffer(r.body)) this.unpipeBody(r.body);
    this.destroy();
    if (r.finished) return;
    // A reused connection the server had closed: nothing of the response came, the request has no
    // body and may be repeated. Sent once more on a fresh connection (Go's and nginx's habit).
    if (this.uses > 0 && this.connected && r.received === 0 && r.retryable && !r.aborted) {
      if (r.headerTimer !== null) {
        clearTimeout(r.headerTimer);
        r.headerTimer = null;
      }
      this.pool.connect(r);
      return;
    }
    r.fail(err);
  }

  /** drop detaches an aborted request; the connection cannot be trusted any more. */
  drop(r: H1Request): void {
    if (this.req !== r) return;
    this.req = null;
    r.conn = null;
    if (r.body !== null && !Buffer.isBuffer(r.body)) this.unpipeBody(r.body);
    // Nothing was written yet (a stream body that broke off before its first byte): still good.
    if (!r.headWritten && this.connected && !this.closed) this.pool.release(this);
    else this.destroy();
  }

  destroy(): void {
    if (this.closed) return;
    this.closed = true;
    this.pool.forget(this);
    this.socket.destroy();
  }
}

/** Request bodies being sent, to their connection (listeners are shared functions, not closures). */
const bodies = new WeakMap<Readable, H1Conn>();

function onBodyData(this: Readable, chunk: Buffer): void {
  bodyBytesRelayed(chunk.length);
  const conn = bodies.get(this);
  const r = conn?.req;
  if (conn === undefined || r == null) return;
  if (chunk.length === 0) return;
  const socket = conn.socket;
  let ok: boolean;
  socket.cork();
  if (!r.headWritten) {
    r.headWritten = true;
    socket.write(r.head, 'latin1');
  }
  if (r.chunked) {
    socket.write(chunk.length.toString(16) + '\r\n', 'latin1');
    socket.write(chunk);
    ok = socket.write('\r\n', 'latin1');
  } else {
    ok = socket.write(chunk);
  }
  socket.uncork();
  if (!ok) this.pause();
}

function onBodyEnd(this: Readable): void {
  const conn = bodies.get(this);
  const r = conn?.req;
  if (conn === undefined || r == null) return;
  conn.unpipeBody(this);
  if (!r.headWritten) {
    r.headWritten = true;
    conn.socket.write(r.chunked ? r.head + '0\r\n\r\n' : r.head, 'latin1');
  } else if (r.chunked) conn.socket.write('0\r\n\r\n', 'latin1');
  r.sent = true;
}

function onBodyError(this: Readable, err: Error): void {
  const conn = bodies.get(this);
  const r = conn?.req;
  if (conn === undefined || r == null) return;
  // The client's body broke off: the server must not take a truncated body for a whole one.
  r.abort(err);
}

function onBodyClose(this: Readable): void {
  const conn = bodies.get(this);
  const r = conn?.req;
  if (conn === undefined || r == null || r.sent) return;
  if (this.readableEnded) return;
  r.abort(codedError('request body closed before it was complete', 'ECONNRESET'));
}

function onHeaderTimeout(r: H1Request): void {
  r.headerTimer = null;
  if (r.finished) return;
  const conn = r.conn;
  const err = codedError('no response head within responseHeaderTimeout', 'UND_ERR_HEADERS_TIMEOUT');
  if (conn !== null) {
    conn.req = null;
    r.conn = null;
    if (r.body !== null && !Buffer.isBuffer(r.body)) conn.unpipeBody(r.body);
    conn.destroy();
  }
  r.fail(err);
}

function onDialTimeout(conn: H1Conn): void {
  conn.dialTimer = null;
  if (conn.connected || conn.closed) return;
  conn.socket.destroy(codedError('connect timeout', 'UND_ERR_CONNECT_TIMEOUT'));
}

export class H1Pool implements UpstreamDispatcher {
  readonly opts: H1PoolOptions;
  readonly host: string;
  readonly port: number;
  /** Idle connections, most recently used last. */
  #idle: H1Conn[] = [];
  #all = new Set<H1Conn>();
  #closed = false;
  #tick = 0;
  #sweepMs: number;
  #sweeper: NodeJS.Timeout | null = null;

  constructor(origin: string, opts: H1PoolOptions) {
    const u = new URL(origin);
    if (u.protocol !== 'http:') throw new Error(`H1Pool serves http:// origins only, not ${origin}`);
    this.host = u.hostname.replace(/^\[|\]$/g, '');
    this.port = Number(u.port || 80);
    this.opts = opts;
    this.#sweepMs = Math.max(50, Math.min(1000, Math.floor(Math.min(opts.idleTimeoutMs, DEFAULT_KEEPALIVE_MS) / 4)));
  }

  dispatch(opts: Dispatcher.DispatchOptions, handler: Dispatcher.DispatchHandler): boolean {
    if (this.#closed) throw codedError('the pool is closed', 'UND_ERR_CLOSED');
    const method = opts.method;
    const path = opts.path;
    if (INVALID_PATH.test(path) || path.charCodeAt(0) !== 47) throw codedError('invalid request path', 'UND_ERR_INVALID_ARG');
    const raw = opts.body ?? null;
    let body: Buffer | Readable | null;
    if (raw === null) body = null;
    else if (Buffer.isBuffer(raw)) body = raw;
    else if (typeof raw === 'string') body = Buffer.from(raw);
    else if (raw instanceof Uint8Array) body = Buffer.from(raw.buffer, raw.byteOffset, raw.byteLength);
    else if (typeof (raw as Readable).on === 'function') body = raw as Readable;
    else throw codedError('unsupported request body', 'UND_ERR_INVALID_ARG');
    let head = `${method} ${path} HTTP/1.1\r\n`;
    let lines = 1;
    let hasLength = false;
    const headers = opts.headers as Record<string, string | string[] | undefined> | null | undefined;
    if (headers != null) {
      for (const name in headers) {
        const v = headers[name];
        if (v === undefined) continue;
        if (!HEADER_NAME.test(name)) throw codedError(`invalid header name ${JSON.stringify(name)}`, 'UND_ERR_INVALID_ARG');
        if (name.length === 14 && name.toLowerCase() === 'content-length') hasLength = true;
        if (typeof v === 'string') {
          head += name + ': ' + v + '\r\n';
          lines++;
        } else {
          for (let i = 0; i < v.length; i++) head += name + ': ' + v[i] + '\r\n';
          lines += v.length;
        }
      }
    }
    let chunked = false;
    if (body !== null && !hasLength) {
      if (Buffer.isBuffer(body)) head += 'content-length: ' + body.length + '\r\n';
      else {
        head += 'transfer-encoding: chunked\r\n';
        chunked = true;
      }
      lines++;
    }
    head += '\r\n';
    lines++;
    // Header values must not break lines: exactly one LF per line written, each after a CR, no NUL.
    if (countByte(head, '\n') !== lines || countByte(head, '\r') !== lines || head.indexOf('\0') >= 0) {
      throw codedError('invalid header value', 'UND_ERR_INVALID_ARG');
    }
    this.#start(new H1Request(this, handler, method, head, body, chunked));
    return true;
  }

  /**
   * send sends a request whose head the caller built and checked (the entrypoint's fast lane builds
   * it from a head it validated byte by byte), with its whole body if it has one: no header object,
   * no re-validation.
   */
  send(method: string, head: string, handler: Dispatcher.DispatchHandler, body: Buffer | null = null): void {
    if (this.#closed) throw codedError('the pool is closed', 'UND_ERR_CLOSED');
    const r = new H1Request(this, handler, method, head, body, false);
    r.forward = true;
    this.#start(r);
  }

  #start(r: H1Request): void {
    const conn = this.#idle.pop();
    if (conn !== undefined) conn.start(r);
    else this.connect(r);
  }

  /** connect dials a new connection for `r`. */
  connect(r: H1Request): void {
    if (this.#closed) {
      r.fail(codedError('the pool is closed', 'UND_ERR_CLOSED'));
      return;
    }
    const conn = new H1Conn(this, this.host, this.port);
    this.#all.add(conn);
    conn.req = r;
    r.conn = conn;
    const t = this.opts.dialTimeoutMs;
    if (t > 0) conn.dialTimer = setTimeout(onDialTimeout, t, conn);
  }

  /** release puts a connection back for the next request. */
  release(conn: H1Conn): void {
    if (this.#closed || this.#idle.length >= this.opts.maxIdle || conn.keepAliveMs === 0) {
      conn.destroy();
      return;
    }
    conn.idleSince = this.#tick;
    this.#idle.push(conn);
    if (this.#sweeper === null) {
      this.#sweeper = setInterval(sweep, this.#sweepMs, this);
      this.#sweeper.unref();
    }
  }

  /** forget removes a closed connection from the pool's lists. */
  forget(conn: H1Conn): void {
    this.#all.delete(conn);
    const i = this.#idle.indexOf(conn);
    if (i >= 0) this.#idle.splice(i, 1);
  }

  /** sweepIdle closes connections idle longer than allowed. */
  sweepIdle(): void {
    this.#tick++;
    const idle = this.#idle;
    const limit = Math.min(this.opts.idleTimeoutMs, Infinity);
    for (let i = idle.length - 1; i >= 0; i--) {
      const c = idle[i]!;
      if ((this.#tick - c.idleSince) * this.#sweepMs >= Math.min(limit, c.keepAliveMs)) c.destroy();
    }
    if (idle.length === 0 && this.#sweeper !== null) {
      clearInterval(this.#sweeper);
      this.#sweeper = null;
    }
  }

  get idleCount(): number {
    return this.#idle.length;
  }

  get connectionCount(): number {
    return this.#all.size;
  }

  /** close lets running requests finish; idle connections are closed now, busy ones when done. */
  async close(): Promise<void> {
    this.#closed = true;
    for (const c of [...this.#idle]) c.destroy();
    if (this.#sweeper !== null) {
      clearInterval(this.#sweeper);
      this.#sweeper = null;
    }
  }

  /** destroy closes every connection, failing the requests on them. */
  async destroy(): Promise<void> {
    await this.close();
    for (const c of [...this.#all]) {
      const r = c.req;
      if (r !== null) c.fail(r, codedError('the pool was destroyed', 'UND_ERR_DESTROYED'));
      c.destroy();
    }
  }
}

function sweep(pool: H1Pool): void {
  pool.sweepIdle();
}

function countByte(s: string, ch: string): number {
  let n = 0;
  let i = s.indexOf(ch);
  while (i >= 0) {
    n++;
    i = s.indexOf(ch, i + 1);
  }
  return n;
}
