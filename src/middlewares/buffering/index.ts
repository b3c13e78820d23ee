/**
 * buffering reads the whole request body before the request goes on, as Traefik's buffering
 * middleware (pkg/middlewares/buffering, on oxy's buffer): a body over `maxRequestBodyBytes` is
 * refused with 413 (at once when Content-Length says so); up to `memRequestBodyBytes` it is kept in
 * memory, beyond that in a temporary file removed when the response is done. With
 * `maxResponseBodyBytes`, the response is held whole too and one over the limit becomes a 500.
 *
 * The buffered body replaces the request stream (which is consumed) through a documented
 * symbol-keyed field: the forwarder calls `bufferedBody(req)` and, when it is not null, sends
 * `body.open()` (a Buffer, or a fresh file stream for each attempt) instead of reading `req`. Since
 * the body can be sent again, a buffered request stays retryable. `req.headers` is updated to match:
 * `content-length` is the buffered size and `transfer-encoding` is removed.
 *
 * `retryExpression` (oxy's) is accepted for compatibility and ignored with a warning: the forwarder
 * and the retry middleware do the retrying.
 */
import { createReadStream, createWriteStream, unlink, type WriteStream } from 'node:fs';
import type { IncomingMessage, OutgoingHttpHeaders, ServerResponse } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import type { Readable } from 'node:stream';
import * as z from '../../config/zod.js';
import type { Handler, RequestContext } from '../../proxy/context.js';
import { sendText } from '../../proxy/respond.js';
import type { MiddlewareFactory } from '../types.js';
import { ResponseTap } from '../compress/tap.js';

export const bufferingSchema = z.strictObject({
  maxRequestBodyBytes: z.number().int().min(0).optional(),
  memRequestBodyBytes: z.number().int().min(0).optional(),
  maxResponseBodyBytes: z.number().int().min(0).optional(),
  memResponseBodyBytes: z.number().int().min(0).optional(),
  retryExpression: z.string().optional(),
});

export type BufferingOptions = z.infer<typeof bufferingSchema>;

/** Traefik's default for memRequestBodyBytes and memResponseBodyBytes. */
const DEFAULT_MEM_BYTES = 1024 * 1024;

/** BufferedBody is a request body read whole; `open()` may be called once per upstream attempt. */
export class BufferedBody {
  readonly length: number;
  readonly #data: Buffer | null;
  readonly #file: string | null;

  constructor(length: number, data: Buffer | null, file: string | null) {
    this.length = length;
    this.#data = data;
    this.#file = file;
  }

  /** open returns the body to send: the bytes, or a new stream over the temporary file. */
  open(): Buffer | Readable {
    return this.#data ?? createReadStream(this.#file!);
  }

  /** The bytes when held in memory, else null. */
  get data(): Buffer | null {
    return this.#data;
  }

  /** dispose removes the temporary file, if any. */
  dispose(): void {
    if (this.#file !== null) unlink(this.#file, ignore);
  }
}

/** kBufferedBody is the field of a request that holds its BufferedBody. */
export const kBufferedBody: unique symbol = Symbol('gantry.buffering.body');

type BufferedRequest = IncomingMessage & { [kBufferedBody]?: BufferedBody };

/** bufferedBody returns the body the buffering middleware read, or null when the request stream is to be read. */
export function bufferedBody(req: IncomingMessage): BufferedBody | null {
  return (req as BufferedRequest)[kBufferedBody] ?? null;
}

function ignore(): void {}

class Settings {
  readonly maxRequest: number;
  readonly memRequest: number;
  readonly next: Handler;
  constructor(o: BufferingOptions, next: Handler) {
    this.maxRequest = o.maxRequestBodyBytes ?? 0;
    this.memRequest = o.memRequestBodyBytes ?? DEFAULT_MEM_BYTES;
    this.next = next;
  }
}

/**
 * DRAIN_MAX_BYTES is how much of a refused body is still read and dropped after the 413, so the
 * client (still sending) can read the answer: closing a socket with unread data makes the kernel
 * reset it, and the client then sees EPIPE/ECONNRESET instead of the 413. Go's net/http reads up
 * to 256 KiB for the same reason and nginx does a lingering close; past this the connection is
 * closed.
 */
export const DRAIN_MAX_BYTES = 256 * 1024;

const kReader = Symbol('gantry.buffering.reader');
type ReadingRequest = IncomingMessage & { [kReader]: BodyReader };

/** BodyReader reads one request body into memory, then a temporary file past memRequestBodyBytes. */
class BodyReader {
  readonly #s: Settings;
  readonly #req: IncomingMessage;
  readonly #res: ServerResponse;
  readonly #ctx: RequestContext;
  #chunks: Buffer[] = [];
  #size = 0;
  #file: string | null = null;
  #out: WriteStream | null = null;
  #done = false;
  /** Bytes dropped after the 413 (the body goes on arriving); -1 while not refused. */
  #drained = -1;

  constructor(s: Settings, req: IncomingMessage, res: ServerResponse, ctx: RequestContext) {
    this.#s = s;
    this.#req = req;
    this.#res = res;
    this.#ctx = ctx;
  }

  start(): void {
    const req = this.#req as ReadingRequest;
    req[kReader] = this;
    req.on('data', onReqData);
    req.on('end', onReqEnd);
    req.on('error', onReqError);
    this.#res.on('close', onResClose);
    (this.#res as ServerResponse & { [kReader]: BodyReader })[kReader] = this;
  }

  data(chunk: Buffer): void {
    if (this.#drained >= 0) {
      this.#drained += chunk.length;
      // Too much to drop politely: give up the connection (the client may then miss the 413).
      if (this.#drained > DRAIN_MAX_BYTES) this.#req.socket?.destroy();
      return;
    }
    if (this.#done) return;
    this.#size += chunk.length;
    if (this.#s.maxRequest > 0 && this.#size > this.#s.maxRequest) {
      this.#refuse();
      return;
    }
    if (this.#out !== null) {
      if (!this.#out.write(chunk)) {
        this.#req.pause();
        this.#out.once('drain', resumeReq.bind(this.#req));
      }
      return;
    }
    this.#chunks.push(chunk);
    if (this.#size > this.#s.memRequest) this.#spill();
  }

  end(): void {
    if (this.#drained >= 0) {
      // The refused body was read to its end: the keep-alive connection can serve the next request.
      this.#drained = -1;
      this.#detach();
      return;
    }
    if (this.#done) return;
    this.#done = true;
    this.#detach();
    const req = this.#req as BufferedRequest;
    const finish = (): void => {
      const body = new BufferedBody(this.#size, this.#file === null ? Buffer.concat(this.#chunks, this.#size) : null, this.#file);
      this.#chunks = [];
      req[kBufferedBody] = body;
      req.headers['content-length'] = String(this.#size);
      delete req.headers['transfer-encoding'];
      if (this.#res.destroyed) return;
      this.#s.next(req, this.#res, this.#ctx);
    };
    if (this.#out === null) finish();
    else this.#out.end(finish);
  }

  /** abort is the client going away or a read error: drop everything, answer nothing. */
  abort(): void {
    if (this.#drained >= 0) {
      this.#drained = -1;
      this.#detach();
      return;
    }
    if (this.#done) return;
    this.#stop();
  }

  /**
   * #refuse answers 413 to a body found too large while reading it, and keeps reading (and
   * dropping) the rest, up to DRAIN_MAX_BYTES, so the answer reaches the client.
   */
  #refuse(): void {
    this.#done = true;
    this.#drained = 0;
    this.#chunks = [];
    this.#discardFile();
    // The request may be paused behind the temporary file's back-pressure, which is gone now.
    this.#req.resume();
    sendText(this.#res, this.#ctx, 413, 'Request Entity Too Large');
  }

  /** resClosed cleans the temporary file once the exchange is over. */
  resClosed(): void {
    // The 413 is out, but the refused body is still being dropped (and counted) until its end.
    if (this.#drained >= 0) return;
    this.abort();
    bufferedBody(this.#req)?.dispose();
  }

  #spill(): void {
    this.#file = join(tmpdir(), `gantry-body-${randomBytes(8).toString('hex')}`);
    this.#out = createWriteStream(this.#file, { flags: 'wx', mode: 0o600 });
    this.#out.on('error', onFileError.bind(this));
    for (const c of this.#chunks) this.#out.write(c);
    this.#chunks = [];
  }

  fileError(): void {
    if (this.#done) return;
    this.#stop();
    sendText(this.#res, this.#ctx, 500, 'Internal Server Error: could not buffer the request body');
  }

  #stop(): void {
    this.#done = true;
    this.#detach();
    this.#chunks = [];
    this.#discardFile();
    // Read and drop the rest so that an answer can still be delivered.
    this.#req.resume();
  }

  #discardFile(): void {
    if (this.#out !== null) {
      this.#out.destroy();
      this.#out = null;
    }
    if (this.#file !== null) {
      unlink(this.#file, ignore);
      this.#file = null;
    }
  }

  #detach(): void {
    const req = this.#req;
    req.removeListener('data', onReqData);
    req.removeListener('end', onReqEnd);
    req.removeListener('error', onReqError);
    // An error after we stopped listening must not crash the process.
    req.on('error', ignore);
  }
}

function onReqData(this: ReadingRequest, chunk: Buffer): void {
  this[kReader].data(chunk);
}
function onReqEnd(this: ReadingRequest): void {
  this[kReader].end();
}
function onReqError(this: ReadingRequest): void {
  this[kReader].abort();
}
function onResClose(this: ServerResponse & { [kReader]: BodyReader }): void {
  this[kReader].resClosed();
}
function resumeReq(this: IncomingMessage): void {
  this.resume();
}
function onFileError(this: BodyReader): void {
  this.fileError();
}

/** ResponseLimiter holds a response whole and turns one over maxResponseBodyBytes into a 500. */
class ResponseLimiter extends ResponseTap {
  readonly #max: number;
  readonly #ctx: RequestContext;
  #status = 0;
  #headers: OutgoingHttpHeaders | null = null;
  #chunks: Buffer[] = [];
  #size = 0;
  #discard = false;

  constructor(res: ServerResponse, ctx: RequestContext, max: number) {
    super(res);
    this.#ctx = ctx;
    this.#max = max;
  }

  protected onHead(status: number, headers: OutgoingHttpHeaders): void {
    const length = headers['content-length'];
    if (length !== undefined && Number(length) > this.#max) return this.#overflow();
    this.#status = status;
    this.#headers = headers;
  }

  protected onData(chunk: Buffer, cb: ((err?: Error | null) => void) | null): boolean {
    if (cb !== null) process.nextTick(cb);
    if (this.#discard) return true;
    this.#size += chunk.length;
    if (this.#size > this.#max) {
      this.#overflow();
      return true;
    }
    this.#chunks.push(chunk);
    return true;
  }

  protected onEnd(cb: ((err?: Error | null) => void) | null): void {
    if (this.#discard) {
      if (cb !== null) process.nextTick(cb);
      return;
    }
    const headers = this.#headers!;
    headers['content-length'] = this.#size;
    delete headers['transfer-encoding'];
    this.passthrough = true;
    this.sendHead(this.#status, headers);
    for (const c of this.#chunks) this.sendData(c);
    this.#chunks = [];
    this.sendEnd(cb);
  }

  #overflow(): void {
    this.#discard = true;
    this.#chunks = [];
    // The 500 goes below this tap; the rest of the upstream body is then swallowed.
    this.passthrough = true;
    sendText(this.res, this.#ctx, 500, 'Internal Server Error: response body too large');
    this.passthrough = false;
  }
}

export const buffering: MiddlewareFactory<BufferingOptions> = {
  type: 'buffering',
  schema: bufferingSchema,
  create(options, next, env) {
    if (options.retryExpression !== undefined) {
      env.logger.warn('buffering.retryExpression is not supported and is ignored; use the retry middleware', { middleware: env.name });
    }
    const maxResponse = options.maxResponseBodyBytes ?? 0;
    const inner: Handler =
      maxResponse > 0
        ? function limitResponse(req, res, ctx) {
            new ResponseLimiter(res, ctx, maxResponse);
            next(req, res, ctx);
          }
        : next;
    const settings = new Settings(options, inner);
    return function bufferingHandler(req: IncomingMessage, res: ServerResponse, ctx: RequestContext): void {
      const already = bufferedBody(req);
      if (already !== null) {
        // An outer buffering middleware read the body: only this one's limit is left to check.
        if (settings.maxRequest > 0 && already.length > settings.maxRequest) return sendText(res, ctx, 413, 'Request Entity Too Large');
        return inner(req, res, ctx);
      }
      const cl = req.headers['content-length'];
      if (settings.maxRequest > 0 && cl !== undefined && Number(cl) > settings.maxRequest) {
        // A body small enough to drop is left for Node to read and discard after the answer, so the
        // client can finish sending and read the 413 (see DRAIN_MAX_BYTES); a larger one closes.
        if (Number(cl) <= DRAIN_MAX_BYTES) return sendText(res, ctx, 413, 'Request Entity Too Large');
        return sendText(res, ctx, 413, 'Request Entity Too Large', { connection: 'close' });
      }
      if (req.headers['transfer-encoding'] === undefined && (cl === undefined || cl === '0') || ctx.upgradeSocket !== null) {
        return inner(req, res, ctx);
      }
      new BodyReader(settings, req, res, ctx).start();
    };
  },
};
