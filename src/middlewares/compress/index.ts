/**
 * compress compresses responses with gzip or brotli, as Traefik's compress middleware
 * (pkg/middlewares/compress): the encoding comes from Accept-Encoding (q-values, then the order of
 * `encodings`); a response is compressed only when it is not encoded already, its Content-Type is
 * allowed (excludedContentTypes, default application/grpc, or includedContentTypes) and its body
 * reaches `minResponseBodyBytes` (1024). Below that threshold the body is held until it either
 * reaches it or ends, so small answers go out unchanged with their Content-Length.
 *
 * A compressed response loses Content-Length, gains Content-Encoding and `Vary: Accept-Encoding`,
 * and is streamed: output is flushed after each burst of writes when the response had no
 * Content-Length (streams, server-sent events), as Go's reverse proxy flushes such responses.
 * zstd is accepted in `encodings` for Traefik compatibility and used when Node's zlib has it.
 */
import type { IncomingMessage, OutgoingHttpHeaders, ServerResponse } from 'node:http';
import type * as Zlib from 'node:zlib';
import * as z from '../../config/zod.js';
import { ConfigError } from '../../errors.js';
import type { Handler, RequestContext } from '../../proxy/context.js';
import type { MiddlewareFactory } from '../types.js';
import { negotiate } from './negotiate.js';
import { headerText, ResponseTap } from './tap.js';

const ENCODINGS = ['gzip', 'br', 'zstd'] as const;

export const compressSchema = z.strictObject({
  excludedContentTypes: z.array(z.string()).optional(),
  includedContentTypes: z.array(z.string()).optional(),
  minResponseBodyBytes: z.number().int().min(0).optional(),
  encodings: z.array(z.enum(ENCODINGS)).min(1, 'at least one encoding is needed').optional(),
  defaultEncoding: z.enum(ENCODINGS).optional(),
});

export type CompressOptions = z.infer<typeof compressSchema>;

type Encoder = Zlib.Gzip | Zlib.BrotliCompress;

// node:zlib is loaded when a compress middleware is built, not at start-up.
const zlib = (): typeof Zlib => process.getBuiltinModule('node:zlib');
const zstdFactory = (): (() => Encoder) | null => (zlib() as unknown as { createZstdCompress?: () => Encoder }).createZstdCompress ?? null;

function createEncoder(encoding: string, streaming: boolean): Encoder {
  if (encoding === 'gzip') return zlib().createGzip({ level: streaming ? 5 : 6 });
  if (encoding === 'br') {
    // Quality 4 keeps brotli's CPU cost near gzip's for on-the-fly compression, as Traefik's default.
    return zlib().createBrotliCompress({ params: { [zlib().constants.BROTLI_PARAM_QUALITY]: 4 } });
  }
  return zstdFactory()!();
}

/** A media type as compared by Traefik: lower-case, without parameters or spaces. */
function mediaType(ct: string): string {
  const semi = ct.indexOf(';');
  return (semi < 0 ? ct : ct.slice(0, semi)).replace(/\s+/g, '').toLowerCase();
}

class Settings {
  readonly encodings: string[];
  readonly defaultEncoding: string;
  readonly minBytes: number;
  readonly excluded: Set<string> | null;
  readonly included: Set<string> | null;

  constructor(o: CompressOptions) {
    if (o.excludedContentTypes?.length && o.includedContentTypes?.length) {
      throw new ConfigError('includedContentTypes', 'excludedContentTypes and includedContentTypes are mutually exclusive');
    }
    const wanted = o.encodings ?? ['gzip', 'br', 'zstd'];
    this.encodings = wanted.filter((e) => e !== 'zstd' || zstdFactory() !== null);
    if (this.encodings.length === 0) throw new ConfigError('encodings', 'zstd is not available in this Node.js; add gzip or br');
    this.defaultEncoding = o.defaultEncoding ?? '';
    this.minBytes = o.minResponseBodyBytes ?? 1024;
    this.included = o.includedContentTypes?.length ? new Set(o.includedContentTypes.map(mediaType)) : null;
    this.excluded = this.included === null ? new Set((o.excludedContentTypes?.length ? o.excludedContentTypes : ['application/grpc']).map(mediaType)) : null;
  }

  allows(contentType: string): boolean {
    const mt = mediaType(contentType);
    if (this.included !== null) return mt !== '' && this.included.has(mt);
    return !this.excluded!.has(mt);
  }
}

/** Compressor is the per-response state: held head and bytes until the decision, then the encoder. */
class Compressor extends ResponseTap {
  readonly #s: Settings;
  readonly #encoding: string;
  #status = 0;
  #headers: OutgoingHttpHeaders | null = null;
  #held: Buffer[] = [];
  #heldBytes = 0;
  #encoder: Encoder | null = null;
  #streaming = false;
  #flushQueued = false;

  constructor(res: ServerResponse, s: Settings, encoding: string) {
    super(res);
    this.#s = s;
    this.#encoding = encoding;
  }

  protected onHead(status: number, headers: OutgoingHttpHeaders): void {
    const length = headerText(headers, 'content-length');
    if (
      status < 200 || status === 204 || status === 206 || status === 304 ||
      headerText(headers, 'content-encoding') !== '' ||
      !this.#s.allows(headerText(headers, 'content-type')) ||
      (length !== '' && Number(length) < this.#s.minBytes)
    ) {
      this.passthrough = true;
      this.sendHead(status, headers);
      return;
    }
    this.#status = status;
    this.#headers = headers;
    this.#streaming = length === '';
    if (length !== '' || this.#s.minBytes === 0) this.#start();
  }

  protected onData(chunk: Buffer, cb: ((err?: Error | null) => void) | null): boolean {
    const enc = this.#encoder;
    if (enc !== null) {
      const ok = enc.write(chunk, cb ?? undefined);
      if (this.#streaming && !this.#flushQueued) {
        this.#flushQueued = true;
        setImmediate(flushSoon, this);
      }
      return ok && !this.res.writableNeedDrain;
    }
    this.#held.push(chunk);
    this.#heldBytes += chunk.length;
    if (cb !== null) process.nextTick(cb);
    if (this.#heldBytes >= this.#s.minBytes) this.#start();
    return true;
  }

  protected onEnd(cb: ((err?: Error | null) => void) | null): void {
    const enc = this.#encoder;
    if (enc !== null) {
      enc.end();
      if (cb !== null) this.res.once('finish', cb);
      return;
    }
    // Too small to be worth compressing: send it as it came, with its true length.
    const headers = this.#headers!;
    headers['content-length'] = this.#heldBytes;
    delete headers['transfer-encoding'];
    this.passthrough = true;
    this.sendHead(this.#status, headers);
    for (const b of this.#held) this.sendData(b);
    this.#held = [];
    this.sendEnd(cb);
  }

  flush(): void {
    this.#flushQueued = false;
    const enc = this.#encoder;
    if (enc !== null && !enc.writableEnded) enc.flush();
  }

  #start(): void {
    const headers = this.#headers!;
    delete headers['content-length'];
    delete headers['transfer-encoding'];
    headers['content-encoding'] = this.#encoding;
    const vary = headerText(headers, 'vary');
    if (!/(^|,)\s*(accept-encoding|\*)\s*(,|$)/i.test(vary)) headers['vary'] = vary === '' ? 'Accept-Encoding' : `${vary}, Accept-Encoding`;
    // A strong validator names the identity bytes; the compressed bytes need a weak one (RFC 9110 §8.8.1).
    const etag = headerText(headers, 'etag');
    if (etag !== '' && !etag.startsWith('W/')) headers['etag'] = `W/${etag}`;
    this.sendHead(this.#status, headers);
    const enc = createEncoder(this.#encoding, this.#streaming);
    this.#encoder = enc;
    enc.on('data', onEncoded);
    enc.on('end', onEncoderEnd);
    enc.on('error', onEncoderError);
    enc.on('drain', onEncoderDrain);
    (enc as EncoderWithTap)[kTap] = this;
    for (const b of this.#held) enc.write(b);
    this.#held = [];
  }

  encoded(chunk: Buffer): void {
    if (!this.sendData(chunk)) {
      this.#encoder!.pause();
      this.res.once('drain', resumeEncoder);
    }
  }

  resume(): void {
    this.#encoder?.resume();
  }

  /** closed frees the encoder when the client went away before the end. */
  closed(): void {
    const enc = this.#encoder;
    if (enc !== null && !enc.destroyed && !this.res.writableFinished) enc.destroy();
  }

  encoderEnded(): void {
    this.sendEnd();
  }

  encoderDrained(): void {
    // The forwarder waits for 'drain' on the response when write returned false.
    if (!this.res.writableNeedDrain) this.res.emit('drain');
  }
}

const kTap = Symbol('gantry.compress.tap');
const kRes = Symbol('gantry.compress.res');
type EncoderWithTap = Encoder & { [kTap]: Compressor };
type ResWithTap = ServerResponse & { [kRes]: Compressor };

function onEncoded(this: EncoderWithTap, chunk: Buffer): void {
  this[kTap].encoded(chunk);
}
function onEncoderEnd(this: EncoderWithTap): void {
  this[kTap].encoderEnded();
}
function onEncoderError(this: EncoderWithTap): void {
  this[kTap].res.destroy();
}
function onEncoderDrain(this: EncoderWithTap): void {
  this[kTap].encoderDrained();
}
function resumeEncoder(this: ResWithTap): void {
  this[kRes].resume();
}
function onResClose(this: ResWithTap): void {
  this[kRes].closed();
}
function flushSoon(c: Compressor): void {
  c.flush();
}

export const compress: MiddlewareFactory<CompressOptions> = {
  type: 'compress',
  schema: compressSchema,
  create(options, next) {
    const s = new Settings(options);
    return function compressHandler(req: IncomingMessage, res: ServerResponse, ctx: RequestContext): void {
      if (req.method === 'HEAD' || ctx.upgradeSocket !== null) return next(req, res, ctx);
      let accept = req.headers['accept-encoding'];
      if (accept === undefined) {
        if (s.defaultEncoding === '') return next(req, res, ctx);
        accept = s.defaultEncoding;
      }
      const ct = req.headers['content-type'];
      // Traefik also looks at the request's Content-Type: a gRPC request gets no compression.
      if (ct !== undefined && s.excluded !== null && s.excluded.has(mediaType(ct))) return next(req, res, ctx);
      const encoding = negotiate(accept, s.encodings, s.defaultEncoding);
      if (encoding === '') return next(req, res, ctx);
      (res as ResWithTap)[kRes] = new Compressor(res, s, encoding);
      res.on('close', onResClose);
      next(req, res, ctx);
    };
  },
};
