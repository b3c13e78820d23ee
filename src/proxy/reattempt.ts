/**
 * Sending one request again after its first answer was refused: the failover service's
 * status-based fallback (`failover.errors`) and the retry middleware's `status` retries. Both need
 * the request body held in memory, up to a limit, so that every attempt gets the whole of it
 * (Traefik's mirror.NewReusableRequest), and the refused answer kept from the client (StatusCatch).
 *
 * A body larger than the limit is not held: the caller is told (`complete: false`) and the one
 * attempt it can still make streams the bytes read so far, then the rest of the client's body.
 */
import type { IncomingMessage, OutgoingHttpHeaders, ServerResponse } from 'node:http';
import { ReplayRequest, snapshotHead, type RequestHead } from '../balancer/replay.js';
import { ResponseTap } from '../middlewares/compress/tap.js';
import { bufferedBody, kBufferedBody } from '../middlewares/buffering/index.js';
import { hasRequestBody } from './headers.js';

export interface HeldRequest {
  readonly head: RequestHead;
  /** The body bytes read (all of them when complete). */
  readonly chunks: readonly Buffer[];
  /** The whole body is in `chunks` (or was buffered by the buffering middleware). */
  readonly complete: boolean;
}

export interface HoldListener {
  /** held is called once the body is in (or found too large). */
  held(h: HeldRequest): void;
  /** failed is called when the client went away while its body was read. */
  failed(err: Error | null): void;
}

/**
 * holdRequest reads the body of `req` up to `max` bytes (no limit when max < 0) and tells `l`.
 * A request without a body, or one the buffering middleware already read, is held at once.
 */
export function holdRequest(req: IncomingMessage, max: number, l: HoldListener): void {
  if (bufferedBody(req) !== null || !hasRequestBody(req)) {
    l.held({ head: snapshotHead(req), chunks: [], complete: true });
    return;
  }
  const declared = req.headers['content-length'];
  if (max >= 0 && declared !== undefined && Number(declared) > max) {
    l.held({ head: snapshotHead(req), chunks: [], complete: false });
    return;
  }
  new BodyHolder(req, max, l);
}

/**
 * replayOf returns a fresh copy of the held request for one attempt: its own headers (inner
 * handlers may change them), the held body, then — when the body was too large to hold — the rest
 * of the client's stream (which only one attempt can read).
 */
export function replayOf(req: IncomingMessage, h: HeldRequest): IncomingMessage {
  const r = new ReplayRequest(req.socket, h.head, h.chunks, h.complete ? null : req);
  const buffered = bufferedBody(req);
  if (buffered !== null) (r as IncomingMessage & { [kBufferedBody]?: unknown })[kBufferedBody] = buffered;
  return r;
}

/** StatusRangeSet tells whether a status is one to catch (errors' StatusRanges has this shape). */
export interface StatusRangeSet {
  contains(status: number): boolean;
}

/**
 * StatusCatch watches one attempt's response. A head whose status is in `ranges` (and while
 * `armed`) is kept from the client with its body, and `caught(status)` is called once the inner
 * handler ended that response; any other head goes out untouched.
 */
export class StatusCatch extends ResponseTap {
  readonly #ranges: StatusRangeSet;
  readonly #caught: (status: number) => void;
  readonly #armed: () => boolean;
  #status = 0;

  constructor(res: ServerResponse, ranges: StatusRangeSet, armed: () => boolean, caught: (status: number) => void) {
    super(res);
    this.#ranges = ranges;
    this.#armed = armed;
    this.#caught = caught;
  }

  protected onHead(status: number, headers: OutgoingHttpHeaders): void {
    if (!this.#ranges.contains(status) || !this.#armed()) {
      this.passthrough = true;
      this.sendHead(status, headers);
      return;
    }
    this.#status = status;
  }

  protected onData(_chunk: Buffer, cb: ((err?: Error | null) => void) | null): boolean {
    if (cb !== null) process.nextTick(cb);
    return true;
  }

  protected onEnd(cb: ((err?: Error | null) => void) | null): void {
    if (cb !== null) this.res.once('finish', cb);
    // The inner handlers are done with this attempt; the next one installs its own taps.
    this.uninstall();
    // Headers an inner handler set with setHeader belong to the refused answer.
    for (const name of this.res.getHeaderNames()) this.res.removeHeader(name);
    this.#caught(this.#status);
  }
}

/** BodyHolder reads a request body into memory, up to max + 1 bytes. */
class BodyHolder {
  readonly #req: IncomingMessage;
  readonly #max: number;
  readonly #l: HoldListener;
  readonly #chunks: Buffer[] = [];
  #size = 0;
  #done = false;

  constructor(req: IncomingMessage, max: number, l: HoldListener) {
    this.#req = req;
    this.#max = max;
    this.#l = l;
    req.on('data', this.#onData);
    req.once('end', this.#onEnd);
    req.once('error', this.#onError);
    req.once('close', this.#onClose);
  }

  #finish(): void {
    this.#done = true;
    const req = this.#req;
    req.off('data', this.#onData);
    req.off('end', this.#onEnd);
    req.off('error', this.#onError);
    req.off('close', this.#onClose);
  }

  #onData = (chunk: Buffer): void => {
    if (this.#done) return;
    this.#chunks.push(chunk);
    this.#size += chunk.length;
    if (this.#max >= 0 && this.#size > this.#max) {
      this.#req.pause();
      this.#finish();
      this.#l.held({ head: snapshotHead(this.#req), chunks: this.#chunks, complete: false });
    }
  };
  #onEnd = (): void => {
    if (this.#done) return;
    this.#finish();
    this.#l.held({ head: snapshotHead(this.#req), chunks: this.#chunks, complete: true });
  };
  #onError = (err: Error): void => {
    if (this.#done) return;
    this.#finish();
    this.#l.failed(err);
  };
  #onClose = (): void => {
    if (this.#done) return;
    this.#finish();
    this.#l.failed(null);
  };
}
