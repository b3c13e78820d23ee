/**
 * ResponseTap lets a middleware see and change the response an inner handler writes, for the few
 * middlewares that must (compress, errors, buffering's response limit). It replaces `writeHead`,
 * `write` and `end` on one response with functions that call the subclass, which decides the head
 * and may pass the body through, transform it or hold it. The previous functions are kept and
 * called for output, so taps stack (errors around compress around the forwarder) and never
 * uninstall themselves: after a decision to let everything through, a tap is one extra call.
 *
 * Callers' write callbacks are always called, and `write` returns false while the tap holds too
 * much, with a 'drain' emitted on the response later, so the forwarder's back-pressure still works.
 */
import type { OutgoingHttpHeaders, ServerResponse } from 'node:http';

type WriteHead = ServerResponse['writeHead'];
type LooseWriteHead = (this: ServerResponse, status: number, a?: unknown, b?: unknown) => ServerResponse;
type Write = (this: ServerResponse, chunk: unknown, encoding?: unknown, cb?: unknown) => boolean;
type End = (this: ServerResponse, chunk?: unknown, encoding?: unknown, cb?: unknown) => ServerResponse;
type Callback = (err?: Error | null) => void;

export abstract class ResponseTap {
  readonly res: ServerResponse;
  readonly #writeHead: WriteHead;
  readonly #write: Write;
  readonly #end: End;
  /** Once true, every call goes straight to the previous functions. */
  passthrough = false;
  #headDone = false;
  #ended = false;

  constructor(res: ServerResponse) {
    this.res = res;
    this.#writeHead = res.writeHead;
    this.#write = res.write as unknown as Write;
    this.#end = res.end as unknown as End;
    // Per-request closures are the price of observing a response; only these middlewares pay it.
    res.writeHead = ((status: number, a?: unknown, b?: unknown) => this.#onWriteHead(status, a, b)) as WriteHead;
    res.write = ((chunk: unknown, enc?: unknown, cb?: unknown) => this.#onWrite(chunk, enc, cb)) as ServerResponse['write'];
    res.end = ((chunk?: unknown, enc?: unknown, cb?: unknown) => this.#onEnd(chunk, enc, cb)) as ServerResponse['end'];
  }

  /** onHead receives the head; it calls sendHead/pass, or holds it and answers later. */
  protected abstract onHead(status: number, headers: OutgoingHttpHeaders): void;
  /** onData receives body bytes; it returns what `write` returns. */
  protected abstract onData(chunk: Buffer, cb: Callback | null): boolean;
  /** onEnd receives the end of the body. */
  protected abstract onEnd(cb: Callback | null): void;

  /**
   * uninstall puts back the functions this tap replaced, dropping it and every tap installed
   * after it (inner middlewares') from the response. The errors middleware does this once the
   * inner response is over, so that its error page is written as if the inner chain never ran.
   */
  protected uninstall(): void {
    const res = this.res;
    res.writeHead = this.#writeHead;
    res.write = this.#write as unknown as ServerResponse['write'];
    res.end = this.#end as unknown as ServerResponse['end'];
    this.passthrough = true;
  }

  /** sendHead writes a head below this tap, replacing any headers set with setHeader. */
  protected sendHead(status: number, headers: OutgoingHttpHeaders): void {
    const res = this.res;
    for (const name of res.getHeaderNames()) res.removeHeader(name);
    this.#writeHead.call(res, status, headers);
  }

  protected sendData(chunk: Buffer, cb: Callback | null = null): boolean {
    return this.#write.call(this.res, chunk, cb ?? undefined);
  }

  protected sendEnd(cb: Callback | null = null): void {
    this.#end.call(this.res, cb ?? undefined);
  }

  #onWriteHead(status: number, a?: unknown, b?: unknown): ServerResponse {
    if (this.passthrough) return (this.#writeHead as unknown as LooseWriteHead).call(this.res, status, a, b);
    if (this.#headDone) return this.res;
    this.#headDone = true;
    const given = typeof a === 'string' ? b : a;
    this.onHead(status, mergeHeaders(this.res, given));
    return this.res;
  }

  #implicitHead(): void {
    if (!this.#headDone && !this.res.headersSent) this.#onWriteHead(this.res.statusCode);
  }

  #onWrite(chunk: unknown, enc?: unknown, cb?: unknown): boolean {
    if (this.passthrough) return this.#write.call(this.res, chunk, enc, cb);
    this.#implicitHead();
    if (this.passthrough) return this.#write.call(this.res, chunk, enc, cb);
    if (typeof enc === 'function') {
      cb = enc;
      enc = undefined;
    }
    const buf = toBuffer(chunk, enc);
    return this.onData(buf, (cb as Callback | undefined) ?? null);
  }

  #onEnd(chunk?: unknown, enc?: unknown, cb?: unknown): ServerResponse {
    if (this.passthrough) return this.#end.call(this.res, chunk, enc, cb);
    if (this.#ended) return this.res;
    if (typeof chunk === 'function') {
      cb = chunk;
      chunk = undefined;
    } else if (typeof enc === 'function') {
      cb = enc;
      enc = undefined;
    }
    this.#implicitHead();
    if (this.passthrough) return this.#end.call(this.res, chunk, enc, cb);
    this.#ended = true;
    if (chunk !== undefined && chunk !== null) {
      const buf = toBuffer(chunk, enc);
      if (buf.length > 0) this.onData(buf, null);
    }
    if (this.passthrough) return this.#end.call(this.res, cb);
    this.onEnd((cb as Callback | undefined) ?? null);
    return this.res;
  }
}

function toBuffer(chunk: unknown, enc: unknown): Buffer {
  if (Buffer.isBuffer(chunk)) return chunk;
  if (typeof chunk === 'string') return Buffer.from(chunk, (enc as BufferEncoding | undefined) ?? 'utf8');
  if (chunk instanceof Uint8Array) return Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
  return Buffer.from(String(chunk));
}

/** mergeHeaders returns the head as Node would send it: setHeader values overridden by writeHead's, lower-case. */
function mergeHeaders(res: ServerResponse, given: unknown): OutgoingHttpHeaders {
  const out: OutgoingHttpHeaders = { ...res.getHeaders() };
  if (given === undefined || given === null) return out;
  if (Array.isArray(given)) {
    // Raw form: [[name, value], …] or [name, value, name, value …].
    const flat = given.length > 0 && Array.isArray(given[0]) ? (given as unknown[][]).flat() : given;
    for (let i = 0; i + 1 < flat.length; i += 2) {
      const name = String(flat[i]).toLowerCase();
      const v = flat[i + 1] as string;
      const prev = out[name];
      out[name] = prev === undefined ? v : ([] as (string | number)[]).concat(prev as string, v).map(String);
    }
    return out;
  }
  const obj = given as OutgoingHttpHeaders;
  for (const name in obj) {
    const v = obj[name];
    if (v !== undefined) out[name.toLowerCase()] = v;
  }
  return out;
}

/** headerText reads a single-valued header as text ('' when absent). */
export function headerText(headers: OutgoingHttpHeaders, name: string): string {
  const v = headers[name];
  if (v === undefined) return '';
  return Array.isArray(v) ? v.join(', ') : String(v);
}
