/**
 * grpcWeb turns gRPC-Web requests (what browsers can send: HTTP/1.1 or h2, no trailers) into gRPC
 * for the server, as Traefik's grpcWeb middleware does (on improbable-eng's grpcweb wrapper), and
 * the answers back (https://github.com/grpc/grpc/blob/master/doc/PROTOCOL-WEB.md):
 * - `application/grpc-web[+proto]` bodies go on as they are, with `application/grpc[+proto]`;
 *   `application/grpc-web-text[+proto]` bodies are base64 and are decoded first (read whole, at
 *   most 4 MiB: a unary or server-streaming call's request is one message).
 * - The server's `application/grpc…` answer goes back as `application/grpc-web…`, with its
 *   trailers (grpc-status, grpc-message …) as a last frame flagged 0x80, since the client cannot
 *   read HTTP trailers; in text mode the whole answer is base64.
 * - `allowOrigins` lists the origins whose browsers may call (`*`: any): their CORS preflight is
 *   answered here, and their answers carry Access-Control-Allow-Origin and expose the gRPC headers.
 * Other requests pass untouched. The server must speak HTTP/2 (an `h2c://` or `https://` URL).
 */
import type { IncomingMessage, OutgoingHttpHeaders, ServerResponse } from 'node:http';
import * as z from '../../config/zod.js';
import type { Handler, RequestContext } from '../../proxy/context.js';
import { sendText } from '../../proxy/respond.js';
import type { MiddlewareFactory } from '../types.js';
import { ResponseTap, headerText } from '../compress/tap.js';
import { BufferedBody, kBufferedBody } from '../buffering/index.js';

export const grpcWebSchema = z.strictObject({
  allowOrigins: z.array(z.string()).optional(),
});

export type GrpcWebOptions = z.infer<typeof grpcWebSchema>;

/** The largest base64 (text mode) request body read: it is held whole to be decoded. */
const MAX_TEXT_BODY = 4 * 1024 * 1024;

const EXPOSED = 'grpc-status, grpc-message, grpc-status-details-bin';

/** grpcWebKind tells a gRPC-Web request's mode by its Content-Type: 'binary', 'text' or null. */
export function grpcWebKind(contentType: string | undefined): { text: boolean; suffix: string } | null {
  if (contentType === undefined) return null;
  const m = /^application\/grpc-web(-text)?(\+[a-z0-9.-]+)?\s*(;|$)/i.exec(contentType);
  if (m === null) return null;
  return { text: m[1] !== undefined, suffix: (m[2] ?? '').toLowerCase() };
}

/** trailerFrame is gRPC-Web's last frame: flag 0x80, a 4-byte length, `name:value` CRLF lines. */
export function trailerFrame(trailers: Record<string, string | string[]>): Buffer {
  let text = '';
  for (const [name, v] of Object.entries(trailers)) for (const value of ([] as string[]).concat(v)) text += `${name.toLowerCase()}:${value}\r\n`;
  const body = Buffer.from(text, 'latin1');
  const frame = Buffer.allocUnsafe(5 + body.length);
  frame[0] = 0x80;
  frame.writeUInt32BE(body.length, 1);
  body.copy(frame, 5);
  return frame;
}

/** GrpcWebTap rewrites one gRPC answer into gRPC-Web. */
class GrpcWebTap extends ResponseTap {
  readonly #text: boolean;
  readonly #origin: string | null;
  #trailers: Record<string, string | string[]> = {};
  /** Text mode: bytes not yet base64-encoded (fewer than 3). */
  #rest: Buffer | null = null;
  #grpc = false;
  /** The server answered trailers-only (grpc-status in the head, as for most errors). */
  #statusInHead = false;
  readonly #addTrailers: ServerResponse['addTrailers'];

  constructor(res: ServerResponse, text: boolean, origin: string | null) {
    super(res);
    this.#text = text;
    this.#origin = origin;
    // The client cannot read HTTP trailers: the forwarder's go into the last frame instead.
    this.#addTrailers = res.addTrailers;
    res.addTrailers = (headers) => {
      const h = headers as Record<string, string | string[]>;
      for (const name in h) this.#trailers[name.toLowerCase()] = h[name]!;
    };
  }

  protected onHead(status: number, headers: OutgoingHttpHeaders): void {
    const ct = headerText(headers, 'content-type');
    const m = /^application\/grpc(\+[a-z0-9.-]+)?/i.exec(ct);
    if (this.#origin !== null) {
      headers['access-control-allow-origin'] = this.#origin;
      headers['access-control-expose-headers'] = EXPOSED;
      if (this.#origin !== '*') headers['vary'] = 'Origin';
    }
    if (m === null) {
      // Not a gRPC answer (a 404 page, Gantry's own 502): it goes back as it is, trailers too.
      this.res.addTrailers = this.#addTrailers;
      this.passthrough = true;
      this.sendHead(status, headers);
      return;
    }
    this.#grpc = true;
    this.#statusInHead = headers['grpc-status'] !== undefined;
    headers['content-type'] = `application/grpc-web${this.#text ? '-text' : ''}${m[1] ?? '+proto'}`;
    delete headers['content-length'];
    delete headers['trailer'];
    this.sendHead(status, headers);
  }

  protected onData(chunk: Buffer, cb: ((err?: Error | null) => void) | null): boolean {
    if (!this.#text) return this.sendData(chunk, cb);
    const all = this.#rest === null ? chunk : Buffer.concat([this.#rest, chunk]);
    const whole = all.length - (all.length % 3);
    this.#rest = whole === all.length ? null : all.subarray(whole);
    if (whole === 0) {
      if (cb !== null) process.nextTick(cb);
      return true;
    }
    return this.sendData(Buffer.from(all.subarray(0, whole).toString('base64'), 'latin1'), cb);
  }

  protected onEnd(cb: ((err?: Error | null) => void) | null): void {
    // A trailers-only answer is read from the head (gRPC-Web allows it): no empty last frame.
    if (this.#grpc && !(this.#statusInHead && Object.keys(this.#trailers).length === 0)) {
      const frame = trailerFrame(this.#trailers);
      if (!this.#text) this.sendData(frame);
      else {
        const tail = this.#rest === null ? frame : Buffer.concat([this.#rest, frame]);
        this.#rest = null;
        this.sendData(Buffer.from(tail.toString('base64'), 'latin1'));
      }
    }
    this.sendEnd(cb);
  }
}

export const grpcWeb: MiddlewareFactory<GrpcWebOptions> = {
  type: 'grpcWeb',
  schema: grpcWebSchema,
  create(options, next) {
    const origins = options.allowOrigins ?? [];
    const any = origins.includes('*');
    const allowed = new Set(origins);
    /** allowOrigin is the Access-Control-Allow-Origin for a request's Origin, or null. */
    const allowOrigin = (origin: string | undefined): string | null => {
      if (origin === undefined || origin === '') return null;
      if (any) return '*';
      return allowed.has(origin) ? origin : null;
    };

    const handler: Handler = (req: IncomingMessage, res: ServerResponse, ctx: RequestContext) => {
      const origin = allowOrigin(req.headers.origin);
      if (req.method === 'OPTIONS' && req.headers['access-control-request-method'] !== undefined) {
        // A browser's CORS preflight for a gRPC-Web call.
        const h: OutgoingHttpHeaders = { 'content-length': 0 };
        if (origin !== null) {
          h['access-control-allow-origin'] = origin;
          h['access-control-allow-methods'] = 'POST';
          h['access-control-allow-headers'] = req.headers['access-control-request-headers'] ?? '';
          h['access-control-max-age'] = '600';
          if (origin !== '*') h['vary'] = 'Origin';
        }
        res.writeHead(origin === null ? 403 : 204, h);
        res.end();
        return;
      }
      const kind = grpcWebKind(req.headers['content-type']);
      if (kind === null || req.method !== 'POST') return next(req, res, ctx);
      req.headers['content-type'] = `application/grpc${kind.suffix}`;
      new GrpcWebTap(res, kind.text, origin);
      if (!kind.text) return next(req, res, ctx);
      readBase64Body(req, res, ctx, next);
    };
    return handler;
  },
};

/** readBase64Body reads a text-mode body whole, decodes it, and sends the request on with the bytes. */
function readBase64Body(req: IncomingMessage, res: ServerResponse, ctx: RequestContext, next: Handler): void {
  const parts: Buffer[] = [];
  let size = 0;
  let refused = false;
  req.on('data', (d: Buffer) => {
    if (refused) return;
    size += d.length;
    if (size > MAX_TEXT_BODY) {
      refused = true;
      ctx.errorText = `grpcWeb: base64 request body over ${MAX_TEXT_BODY} bytes`;
      sendText(res, ctx, 413, '413 request entity too large: a gRPC-Web text body is limited to 4 MiB');
      return;
    }
    parts.push(d);
  });
  req.on('end', () => {
    if (refused) return;
    const text = Buffer.concat(parts).toString('latin1').replace(/\s+/g, '');
    if (!/^[A-Za-z0-9+/]*={0,2}$/.test(text)) {
      ctx.errorText = 'grpcWeb: the text-mode body is not base64';
      sendText(res, ctx, 400, '400 bad request: a gRPC-Web text body must be base64');
      return;
    }
    const data = Buffer.from(text, 'base64');
    (req as IncomingMessage & { [kBufferedBody]?: BufferedBody })[kBufferedBody] = new BufferedBody(data.length, data, null);
    req.headers['content-length'] = String(data.length);
    delete req.headers['transfer-encoding'];
    next(req, res, ctx);
  });
}
