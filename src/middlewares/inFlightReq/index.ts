/**
 * inFlightReq caps the number of requests of one source being served at once, as Traefik's
 * inFlightReq middleware (pkg/middlewares/inflightreq, built on oxy's connlimit): over `amount`,
 * the request is refused with 429. A request counts until its response is finished or the client
 * went away ('close' on the response).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import * as z from '../../config/zod.js';
import type { Handler, RequestContext } from '../../proxy/context.js';
import type { MiddlewareFactory } from '../types.js';
import { sendText } from '../../proxy/respond.js';
import { SourceExtractor, sourceCriterionSchema } from '../rateLimit/source.js';

export const inFlightReqSchema = z.strictObject({
  amount: z.number().int().min(1, 'amount must be at least 1'),
  sourceCriterion: sourceCriterionSchema.optional(),
});

export type InFlightReqOptions = z.infer<typeof inFlightReqSchema>;


/** InFlightCounter counts requests per source; sources at zero are removed, so memory is bounded by load. */
export class InFlightCounter {
  readonly #amount: number;
  readonly #counts = new Map<string, number>();

  constructor(amount: number) {
    this.#amount = amount;
  }

  acquire(source: string): boolean {
    const n = this.#counts.get(source) ?? 0;
    if (n >= this.#amount) return false;
    this.#counts.set(source, n + 1);
    return true;
  }

  release(source: string): void {
    const n = this.#counts.get(source);
    if (n === undefined) return;
    if (n <= 1) this.#counts.delete(source);
    else this.#counts.set(source, n - 1);
  }

  count(source: string): number {
    return this.#counts.get(source) ?? 0;
  }
}

export const inFlightReq: MiddlewareFactory<InFlightReqOptions> = {
  type: 'inFlightReq',
  schema: inFlightReqSchema,
  create(options, next) {
    const counter = new InFlightCounter(options.amount);
    const extractor = new SourceExtractor(options.sourceCriterion, 'sourceCriterion');
    // One symbol and one listener per middleware instance (not per request), so that two
    // inFlightReq middlewares on one chain keep their own source on the response.
    const kSource = Symbol('gantry.inFlightReq.source');
    type Tracked = ServerResponse & { [kSource]: string };
    const onClose = function (this: Tracked): void {
      counter.release(this[kSource]);
    };
    return function inFlightReqHandler(req: IncomingMessage, res: ServerResponse, ctx: RequestContext): void {
      const source = extractor.extract(req, ctx);
      if (!counter.acquire(source)) {
        sendText(res, ctx, 429, 'Too Many Requests');
        return;
      }
      (res as Tracked)[kSource] = source;
      res.on('close', onClose);
      next(req, res, ctx);
    };
  },
};
