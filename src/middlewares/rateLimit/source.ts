/**
 * Source criteria decide which requests share a rate-limit bucket or an in-flight counter, as
 * Traefik's `sourceCriterion` does (pkg/middlewares/middleware.go GetSourceExtractor): an
 * ipStrategy (the default), a request header, or the request host. When several are given the
 * first of ipStrategy, requestHeaderName, requestHost wins, as in Traefik. Shared by rateLimit
 * and inFlightReq.
 */
import type { IncomingMessage } from 'node:http';
import * as z from '../../config/zod.js';
import type { RequestContext } from '../../proxy/context.js';
import { IPStrategy, ipStrategySchema } from '../ip.js';

export const sourceCriterionSchema = z.strictObject({
  ipStrategy: ipStrategySchema.optional(),
  requestHeaderName: z.string().optional(),
  requestHost: z.boolean().optional(),
});

export type SourceCriterion = z.infer<typeof sourceCriterionSchema>;

/** SourceExtractor returns the key of a request under one source criterion. */
export class SourceExtractor {
  readonly #ip: IPStrategy | null;
  /** Lower-case header name, or '' when the criterion is not a header. */
  readonly #header: string;

  constructor(criterion: SourceCriterion | undefined, path: string) {
    const c = criterion ?? {};
    this.#ip = null;
    this.#header = '';
    if (c.ipStrategy !== undefined || (!c.requestHeaderName && !c.requestHost)) {
      this.#ip = new IPStrategy(c.ipStrategy, `${path}.ipStrategy`);
    } else if (c.requestHeaderName) {
      this.#header = c.requestHeaderName.toLowerCase();
    }
  }

  /** extract returns the source key; '' when the criterion yields nothing (all such requests then share one key, as in Traefik). */
  extract(req: IncomingMessage, ctx: RequestContext): string {
    if (this.#ip !== null) return this.#ip.clientIP(req, ctx);
    if (this.#header !== '') {
      const v = req.headers[this.#header];
      return v === undefined ? '' : Array.isArray(v) ? v[0] ?? '' : v;
    }
    // requestHost: Traefik's req.Host, the Host header as sent (with its port).
    return req.headers.host ?? '';
  }
}
