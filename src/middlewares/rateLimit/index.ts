/**
 * rateLimit limits each source to `average` requests per `period`, with bursts of up to `burst`
 * requests, as Traefik's rateLimit middleware (pkg/middlewares/ratelimiter/rate_limiter.go) does
 * with golang.org/x/time/rate: a request that would have to wait at most `maxDelay` for its token
 * is delayed, a longer wait is refused with 429, `Retry-After` (seconds, rounded up) and `X-Retry-In`.
 *
 * Buckets are kept in an LRU map bounded to MAX_SOURCES (Traefik's 65536) and dropped once idle
 * long enough to be full again, so memory stays bounded whatever the number of clients.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { z } from 'zod';
import { parseDuration } from '../../config/duration.js';
import { durationSchema } from '../../config/dynamic/schema.js';
import { ConfigError } from '../../errors.js';
import type { Handler, RequestContext } from '../../proxy/context.js';
import type { MiddlewareEnv, MiddlewareFactory } from '../types.js';
import { sendText } from '../../proxy/respond.js';
import { SourceExtractor, sourceCriterionSchema } from './source.js';

export const rateLimitSchema = z.strictObject({
  average: z.number().min(0).optional(),
  period: durationSchema.optional(),
  burst: z.number().int().min(0).optional(),
  sourceCriterion: sourceCriterionSchema.optional(),
});

export type RateLimitOptions = z.infer<typeof rateLimitSchema>;

/** MAX_SOURCES bounds the number of buckets kept (Traefik's maxSources). */
export const MAX_SOURCES = 65536;

/** Clock returns milliseconds; tests inject a fake one. */
export type Clock = () => number;

class Bucket {
  tokens: number;
  last: number;
  constructor(tokens: number, last: number) {
    this.tokens = tokens;
    this.last = last;
  }
}

/** RateLimiter holds the buckets of one rateLimit middleware. */
export class RateLimiter {
  readonly #ratePerMs: number;
  readonly #burst: number;
  readonly #maxDelayMs: number;
  /** A bucket idle this long is full again and may be forgotten. */
  readonly #idleMs: number;
  readonly #maxSources: number;
  readonly #buckets = new Map<string, Bucket>();
  readonly #now: Clock;

  constructor(ratePerSecond: number, burst: number, now: Clock, maxSources = MAX_SOURCES) {
    this.#ratePerMs = ratePerSecond / 1000;
    this.#burst = burst;
    this.#now = now;
    this.#maxSources = maxSources;
    // Traefik caps the wait it absorbs by delaying: half a token interval, 500 ms for slow rates.
    this.#maxDelayMs = ratePerSecond < 1 ? 500 : 1000 / (Math.floor(ratePerSecond) * 2);
    this.#idleMs = (burst / ratePerSecond) * 1000 + 1000;
  }

  get size(): number {
    return this.#buckets.size;
  }

  /**
   * reserve takes one token for `source` and returns how long the request must wait: 0 to go now,
   * a positive delay up to maxDelay to go later, or -delay (negative) when it is refused.
   */
  reserve(source: string): number {
    const now = this.#now();
    let b = this.#buckets.get(source);
    if (b === undefined) {
      b = new Bucket(this.#burst, now);
      this.#prune(now);
    } else {
      this.#buckets.delete(source);
      const tokens = b.tokens + (now - b.last) * this.#ratePerMs;
      b.tokens = tokens > this.#burst ? this.#burst : tokens;
      b.last = now;
    }
    this.#buckets.set(source, b);
    const left = b.tokens - 1;
    if (left >= 0) {
      b.tokens = left;
      return 0;
    }
    const delay = -left / this.#ratePerMs;
    if (delay > this.#maxDelayMs) return -delay;
    b.tokens = left;
    return delay;
  }

  /** #prune evicts the least recently used buckets when full and a few idle ones otherwise. */
  #prune(now: number): void {
    let n = 0;
    for (const [key, b] of this.#buckets) {
      if (this.#buckets.size >= this.#maxSources || (now - b.last > this.#idleMs && n < 2)) {
        this.#buckets.delete(key);
        n++;
        continue;
      }
      break;
    }
  }
}

/** createRateLimit builds the handler; `now` is injectable for tests. */
export function createRateLimit(options: RateLimitOptions, next: Handler, env: MiddlewareEnv, now: Clock = performance.now.bind(performance)): Handler {
  const average = options.average ?? 0;
  const periodMs = options.period === undefined ? 1000 : parseDuration(options.period)!;
  if (periodMs < 0) throw new ConfigError('period', 'must not be negative');
  // Traefik: no average means no limit at all.
  if (average === 0) return next;
  const period = periodMs === 0 ? 1000 : periodMs;
  const burst = options.burst === undefined || options.burst < 1 ? 1 : options.burst;
  const ratePerSecond = (average * 1000) / period;
  const limiter = new RateLimiter(ratePerSecond, burst, now);
  const extractor = new SourceExtractor(options.sourceCriterion, 'sourceCriterion');
  const logger = env.logger;
  // Built once per middleware: a delayed request whose client left meanwhile goes no further.
  const delayed = function (req: IncomingMessage, res: ServerResponse, ctx: RequestContext): void {
    if (!res.destroyed) next(req, res, ctx);
  };

  return function rateLimitHandler(req: IncomingMessage, res: ServerResponse, ctx: RequestContext): void {
    const wait = limiter.reserve(extractor.extract(req, ctx));
    if (wait === 0) return next(req, res, ctx);
    if (wait > 0) {
      setTimeout(delayed, wait, req, res, ctx);
      return;
    }
    const seconds = -wait / 1000;
    if (logger.enabled('debug')) logger.debug('rate limit exceeded', { middleware: env.name, retryIn: seconds });
    sendText(res, ctx, 429, 'Too Many Requests', {
      // The wait rounded up to whole seconds (Traefik writes floor+1, the same for any real, fractional wait).
      'retry-after': String(Math.max(1, Math.ceil(seconds))),
      'x-retry-in': `${Math.round(-wait)}ms`,
    });
  };
}

export const rateLimit: MiddlewareFactory<RateLimitOptions> = {
  type: 'rateLimit',
  schema: rateLimitSchema,
  create(options, next, env) {
    return createRateLimit(options, next, env);
  },
};
