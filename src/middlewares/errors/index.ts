/**
 * errors answers with a page from another service when the response status is in `status`, as
 * Traefik's errors middleware (pkg/middlewares/customerrors): the original response's body is
 * discarded, the error service is asked for `query` (GET, the original headers, `{status}`,
 * `{originalStatus}` and `{url}` replaced), and its answer is sent with the original status code
 * (or the one `statusRewrites` maps it to) and the error service's headers.
 *
 * The error page request gets a context of its own whose response modifiers are those registered
 * before this middleware ran (outer headers middlewares still apply), plus one that sets the status.
 */
import type { IncomingMessage, OutgoingHttpHeaders, ServerResponse } from 'node:http';
import { performance } from 'node:perf_hooks';
import * as z from '../../config/zod.js';
import { ConfigError } from '../../errors.js';
import { RequestContext, type Handler, type ResponseModifier } from '../../proxy/context.js';
import type { MiddlewareEnv, MiddlewareFactory } from '../types.js';
import { ResponseTap } from '../compress/tap.js';
import { pageRequest, queryEscape } from './page.js';

export const errorsSchema = z.strictObject({
  status: z.array(z.union([z.string(), z.number()]).transform(String)).min(1, 'status needs at least one code or range'),
  service: z.string().min(1, 'service is empty'),
  query: z.string().optional(),
  statusRewrites: z.record(z.string(), z.number().int().min(100).max(599)).optional(),
});

export type ErrorsOptions = z.infer<typeof errorsSchema>;

/** StatusRanges is a list of inclusive [from, to] ranges of status codes, from "500-599" and "404". */
export class StatusRanges {
  readonly #ranges: number[];

  constructor(specs: readonly string[], path: string) {
    this.#ranges = [];
    specs.forEach((spec, i) => {
      const m = /^\s*(\d{3})\s*(?:-\s*(\d{3})\s*)?$/.exec(spec);
      const from = m ? Number(m[1]) : NaN;
      const to = m ? Number(m[2] ?? m[1]) : NaN;
      if (!m || from < 100 || to > 599 || from > to) throw new ConfigError(`${path}[${i}]`, `"${spec}" is not a status code or range like 500-599`);
      this.#ranges.push(from, to);
    });
  }

  contains(status: number): boolean {
    const r = this.#ranges;
    for (let i = 0; i < r.length; i += 2) if (status >= r[i]! && status <= r[i + 1]!) return true;
    return false;
  }
}

/** StatusOverride gives the error page the status of the response it replaces. */
class StatusOverride implements ResponseModifier {
  readonly status: number;
  constructor(status: number) {
    this.status = status;
  }
  modifyResponse(): number {
    return this.status;
  }
}

class ErrorPages {
  readonly #ranges: StatusRanges;
  readonly #service: Handler;
  readonly #query: string;
  readonly #rewrites: { ranges: StatusRanges; status: number }[];

  constructor(o: ErrorsOptions, env: MiddlewareEnv) {
    this.#ranges = new StatusRanges(o.status, 'status');
    let q = o.query ?? '/';
    if (!q.startsWith('/')) q = '/' + q;
    this.#query = q;
    this.#rewrites = Object.entries(o.statusRewrites ?? {}).map(([k, v]) => ({ ranges: new StatusRanges([k], `statusRewrites.${k}`), status: v }));
    // Looked up last, so that a bad status list is reported even when the service is missing too.
    this.#service = env.serviceHandler(o.service);
  }

  catches(status: number): boolean {
    return this.#ranges.contains(status);
  }

  /** serve asks the error service for the page of a response with `status`. */
  serve(req: IncomingMessage, res: ServerResponse, ctx: RequestContext, status: number, modifiers: number, originalTarget: string): void {
    let final = status;
    for (const r of this.#rewrites) {
      if (r.ranges.contains(status)) {
        final = r.status;
        break;
      }
    }
    const target = this.#query
      .replaceAll('{status}', String(final))
      .replaceAll('{originalStatus}', String(status))
      .replaceAll('{url}', queryEscape(originalTarget));
    const q = target.indexOf('?');
    const pageCtx = new RequestContext(ctx.entrypoint, ctx.scheme, ctx.remoteAddr, ctx.host, ctx.port, q < 0 ? target : target.slice(0, q), q < 0 ? '' : target.slice(q + 1), performance.now());
    pageCtx.clientIP = ctx.clientIP;
    pageCtx.router = ctx.router;
    const mods = ctx.responseModifiers;
    if (mods !== null) for (let i = 0; i < modifiers; i++) pageCtx.addResponseModifier(mods[i]!);
    pageCtx.addResponseModifier(new StatusOverride(final));
    ctx.status = final;
    new PageStatus(res, final);
    this.#service(pageRequest(req, target), res, pageCtx);
  }
}

/** Catcher watches the response of the next handler and swaps in the error page when needed. */
class Catcher extends ResponseTap {
  readonly #pages: ErrorPages;
  readonly #req: IncomingMessage;
  readonly #ctx: RequestContext;
  readonly #modifiers: number;
  readonly #target: string;
  #status = 0;

  constructor(pages: ErrorPages, req: IncomingMessage, res: ServerResponse, ctx: RequestContext) {
    super(res);
    this.#pages = pages;
    this.#req = req;
    this.#ctx = ctx;
    this.#modifiers = ctx.responseModifiers === null ? 0 : ctx.responseModifiers.length;
    this.#target = ctx.target();
  }

  protected onHead(status: number, headers: OutgoingHttpHeaders): void {
    if (!this.#pages.catches(status)) {
      this.passthrough = true;
      this.sendHead(status, headers);
      return;
    }
    this.#status = status;
  }

  protected onData(_chunk: Buffer, cb: ((err?: Error | null) => void) | null): boolean {
    // The original body is dropped, as Traefik's codeCatcher does.
    if (cb !== null) process.nextTick(cb);
    return true;
  }

  protected onEnd(cb: ((err?: Error | null) => void) | null): void {
    if (cb !== null) this.res.once('finish', cb);
    // Inner middlewares (compress …) are done with the original response; the page must not go
    // through them, as in Traefik where the page is written to the errors middleware's own writer.
    this.uninstall();
    this.#pages.serve(this.#req, this.res, this.#ctx, this.#status, this.#modifiers, this.#target);
  }
}

/** PageStatus makes sure the error page goes out with the replaced response's status. */
class PageStatus extends ResponseTap {
  readonly #status: number;
  constructor(res: ServerResponse, status: number) {
    super(res);
    this.#status = status;
  }
  protected onHead(_status: number, headers: OutgoingHttpHeaders): void {
    this.passthrough = true;
    this.sendHead(this.#status, headers);
  }
  protected onData(): boolean {
    return true; // never reached: the head always switches to passthrough
  }
  protected onEnd(): void {}
}

export const errors: MiddlewareFactory<ErrorsOptions> = {
  type: 'errors',
  schema: errorsSchema,
  create(options, next, env) {
    const pages = new ErrorPages(options, env);
    return function errorsHandler(req: IncomingMessage, res: ServerResponse, ctx: RequestContext): void {
      if (ctx.upgradeSocket !== null) return next(req, res, ctx);
      new Catcher(pages, req, res, ctx);
      next(req, res, ctx);
    };
  },
};
