/**
 * Stand-ins for Node's request and response objects, used by the mirroring service:
 *
 * - ReplayRequest is an IncomingMessage that replays a buffered body, optionally followed by the
 *   rest of the original request (when the body was too large to mirror, the main request still
 *   gets every byte). Handlers see an ordinary request: method, url, headers, rawHeaders.
 * - DiscardSocket is an in-memory Duplex that accepts and drops every byte written to it.
 * - DiscardResponse is a real ServerResponse bound to a DiscardSocket: the mirror's handler writes
 *   a normal response (status, headers, streamed body) and all of it is thrown away. It emits
 *   'finish' and then 'close' like a response whose client read everything, so a forwarder's
 *   usual cleanup (inFlight, access log) runs unchanged. Destroying it never touches a client.
 *
 * Subclassing the real classes (rather than duck-typing) keeps every property a handler might
 * read (headersSent, writableEnded, getHeader …) correct.
 */
import type { IncomingHttpHeaders } from 'node:http';
import { IncomingMessage, ServerResponse } from '../node-http.js';
import type { Socket } from 'node:net';
import { Duplex } from 'node:stream';

export class DiscardSocket extends Duplex {
  /** Mirrors have no TCP peer; handlers should use RequestContext.remoteAddr/clientIP. */
  readonly remoteAddress: string | undefined = undefined;
  readonly remotePort: number | undefined = undefined;
  readonly encrypted = false;

  constructor() {
    super();
    // Errors from a discarded exchange concern nobody; without a listener they would crash the process.
    this.on('error', noop);
  }

  override _write(_chunk: unknown, _encoding: BufferEncoding, cb: (err?: Error | null) => void): void {
    cb();
  }
  override _read(): void {}
  setTimeout(): this {
    return this;
  }
  setNoDelay(): this {
    return this;
  }
  setKeepAlive(): this {
    return this;
  }
}

export class DiscardResponse extends ServerResponse {
  constructor(req: IncomingMessage, socket: DiscardSocket) {
    super(req);
    this.assignSocket(socket as unknown as Socket);
    this.once('finish', closeAfterFinish);
  }
}

/** closeAfterFinish destroys the discard socket, which makes Node emit 'close' on the response. */
function closeAfterFinish(this: DiscardResponse): void {
  this.socket?.destroy();
}

/** RequestHead is what a replay copies from the original request (an IncomingMessage is one). */
export interface RequestHead {
  readonly method?: string | undefined;
  readonly url?: string | undefined;
  readonly httpVersion: string;
  readonly httpVersionMajor: number;
  readonly httpVersionMinor: number;
  readonly headers: IncomingHttpHeaders;
  readonly rawHeaders: string[];
}

/** snapshotHead copies a request's head, so later changes to the request do not reach the copy. */
export function snapshotHead(req: IncomingMessage): RequestHead {
  return {
    method: req.method,
    url: req.url,
    httpVersion: req.httpVersion,
    httpVersionMajor: req.httpVersionMajor,
    httpVersionMinor: req.httpVersionMinor,
    headers: { ...req.headers },
    rawHeaders: req.rawHeaders.slice(),
  };
}

export class ReplayRequest extends IncomingMessage {
  #source: IncomingMessage | null;

  /**
   * The request replays `body` and then, when `rest` is given, streams what is left of `rest`
   * (which must be paused and have no 'data' listener). Headers are copied, so a handler may
   * change them without affecting the other copies.
   */
  constructor(socket: Socket | DiscardSocket, from: RequestHead, body: readonly Buffer[], rest: IncomingMessage | null, headers?: IncomingHttpHeaders) {
    super(socket as Socket);
    this.method = from.method;
    this.url = from.url;
    this.httpVersion = from.httpVersion;
    this.httpVersionMajor = from.httpVersionMajor;
    this.httpVersionMinor = from.httpVersionMinor;
    this.headers = headers ?? { ...from.headers };
    this.rawHeaders = headers === undefined ? from.rawHeaders.slice() : rawFromHeaders(headers);
    this.#source = rest;
    for (const chunk of body) this.push(chunk);
    if (rest === null) {
      this.complete = true;
      this.push(null);
      return;
    }
    rest.on('data', this.#onData);
    rest.once('end', this.#onEnd);
    rest.once('error', this.#onError);
    rest.once('close', this.#onClose);
  }

  override _read(): void {
    const src = this.#source;
    if (src !== null && src.isPaused()) src.resume();
  }

  /**
   * _destroy does what IncomingMessage's does without destroying `socket`: a replay must not close
   * the client connection (or a discard socket someone else owns). An unfinished source is
   * destroyed with it, as destroying the original request would have done. As in Node, the error
   * is only emitted when someone listens for it.
   */
  override _destroy(err: Error | null, cb: (err?: Error | null) => void): void {
    if (!this.readableEnded || !this.complete) this.aborted = true;
    const src = this.#source;
    if (src !== null) {
      this.#detach(src);
      if (!src.complete && !src.destroyed) src.destroy(err ?? undefined);
    }
    cb(err !== null && this.listenerCount('error') > 0 ? err : null);
  }

  #onData = (chunk: Buffer): void => {
    if (!this.push(chunk)) this.#source?.pause();
  };
  #onEnd = (): void => {
    const src = this.#source;
    if (src !== null) {
      this.trailers = src.trailers;
      this.rawTrailers = src.rawTrailers;
    }
    this.complete = true;
    this.push(null);
  };
  #onError = (err: Error): void => {
    this.destroy(err);
  };
  #onClose = (): void => {
    // The client went away before sending the whole body.
    if (!this.complete) this.destroy(new Error('aborted'));
  };

  #detach(src: IncomingMessage): void {
    src.off('data', this.#onData);
    src.off('end', this.#onEnd);
    src.off('error', this.#onError);
    src.off('close', this.#onClose);
    this.#source = null;
  }
}

function rawFromHeaders(headers: IncomingHttpHeaders): string[] {
  const raw: string[] = [];
  for (const [k, v] of Object.entries(headers)) {
    if (v === undefined) continue;
    if (Array.isArray(v)) for (const x of v) raw.push(k, x);
    else raw.push(k, v);
  }
  return raw;
}

function noop(): void {}
