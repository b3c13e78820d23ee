/**
 * rateLimit limits each source to `average` requests per `period`, with bursts of up to `burst`
 * requests, as Traefik's rateLimit middleware (pkg/middlewares/ratelimiter/rate_limiter.go) does
 * with golang.org/x/time/rate: a request that would have to wait at most `maxDelay` for its token
 * is delayed, a longer wait is refused with 429, `Retry-After` (seconds, rounded up) and `X-Retry-In`.
 *
 * Buckets are kept in an LRU map bounded to MAX_SOURCES (Traefik's 65536) and dropped once idle
 * long enough to be full again, so memory stays bounded whatever the number of clients.
 *
 * With `redis`, the buckets live in Redis and every replica shares them (redis/limiter.ts, which
 * also says what happens while Redis is unavailable).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import * as z from '../../config/zod.js';
import { parseDuration } from '../../config/duration.js';
import { durationSchema } from '../../config/dynamic/schema.js';
import { ConfigError } from '../../errors.js';
import type { Handler, RequestContext } from '../../proxy/context.js';
import type { MiddlewareEnv, MiddlewareFactory } from '../types.js';
import { sendText } from '../../proxy/respond.js';
import { SourceExtractor, sourceCriterionSchema } from './source.js';
import { clientTlsOptions, clientTlsSchema } from '../../tls/client-options.js';
import { acquireClient, RedisRateLimiter } from './redis/limiter.js';
import type { RedisClientOptions } from './redis/client.js';

const count = z.number().int().min(0);

/** Traefik's `rateLimit.redis` (its defaults: localhost:6379, read/write 3 s, dial 5 s). */
export const redisSchema = z.strictObject({
  endpoints: z
    .array(z.string().min(1))
    .min(1)
    .max(1, 'not supported yet (several endpoints make a Redis Cluster client in Traefik; Gantry talks to one Redis server: give one endpoint)')
    .optional(),
  tls: clientTlsSchema.optional(),
  username: z.string().optional(),
  password: z.string().optional(),
  db: count.optional(),
  poolSize: count.optional(),
  minIdleConns: count.optional(),
  maxActiveConns: count.optional(),
  readTimeout: durationSchema.optional(),
  writeTimeout: durationSchema.optional(),
  dialTimeout: durationSchema.optional(),
});

export const rateLimitSchema = z.strictObject({
  average: z.number().min(0).optional(),
  period: durationSchema.optional(),
  burst: z.number().int().min(0).optional(),
  sourceCriterion: sourceCriterionSchema.optional(),
  redis: redisSchema.optional(),
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
  /** The longest wait absorbed by delaying a request (ms); longer is refused. */
  readonly maxDelayMs: number;
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
    this.maxDelayMs = ratePerSecond < 1 ? 500 : 1000 / (Math.floor(ratePerSecond) * 2);
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
    if (delay > this.maxDelayMs) return -delay;
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
  const decide = (wait: number, req: IncomingMessage, res: ServerResponse, ctx: RequestContext): void => {
    if (wait === 0) return next(req, res, ctx);
    if (wait > 0) {
      setTimeout(delayed, wait, req, res, ctx);
      return;
    }
    refuse(wait, res, ctx);
  };

  if (options.redis !== undefined) {
    const { client, release } = acquireClient(redisOptions(options.redis, env.cwd));
    env.retain({ stop: release });
    const shared = new RedisRateLimiter(client, env.name, { ratePerSecond, burst, maxDelayMs: limiter.maxDelayMs }, limiter, logger);
    return function redisRateLimitHandler(req: IncomingMessage, res: ServerResponse, ctx: RequestContext): void {
      shared.reserve(extractor.extract(req, ctx)).then(
        (wait) => {
          if (!res.destroyed) decide(wait, req, res, ctx);
        },
        (err: unknown) => {
          logger.error('rate limit failed', { middleware: env.name, error: err as Error });
          if (!res.destroyed) sendText(res, ctx, 500, 'Internal Server Error');
        },
      );
    };
  }

  return function rateLimitHandler(req: IncomingMessage, res: ServerResponse, ctx: RequestContext): void {
    decide(limiter.reserve(extractor.extract(req, ctx)), req, res, ctx);
  };

  function refuse(wait: number, res: ServerResponse, ctx: RequestContext): void {
    const seconds = -wait / 1000;
    if (logger.enabled('debug')) logger.debug('rate limit exceeded', { middleware: env.name, retryIn: seconds });
    sendText(res, ctx, 429, 'Too Many Requests', {
      // The wait rounded up to whole seconds (Traefik writes floor+1, the same for any real, fractional wait).
      'retry-after': String(Math.max(1, Math.ceil(seconds))),
      'x-retry-in': `${Math.round(-wait)}ms`,
    });
  }
}

/** redisOptions reads `rateLimit.redis` with Traefik's defaults. */
function redisOptions(r: NonNullable<RateLimitOptions['redis']>, cwd: string): RedisClientOptions {
  const endpoint = r.endpoints?.[0] ?? 'localhost:6379';
  const m = /^(?:\[([0-9a-fA-F:.]+)\]|([^:\s/]+))(?::(\d{1,5}))?$/.exec(endpoint);
  const port = m?.[3] === undefined ? 6379 : Number(m[3]);
  if (m === null || port < 1 || port > 65535) throw new ConfigError('redis.endpoints[0]', `"${endpoint}" is not host:port`);
  const ms = (v: string | number | undefined, dflt: number): number => (v === undefined ? dflt : Math.max(0, parseDuration(v)!));
  const dial = ms(r.dialTimeout, 5000);
  return {
    host: m[1] ?? m[2]!,
    port,
    username: r.username ?? '',
    password: r.password ?? '',
    db: r.db ?? 0,
    poolSize: r.poolSize ?? 0,
    minIdleConns: r.minIdleConns ?? 0,
    maxActiveConns: r.maxActiveConns ?? 0,
    // As go-redis: a zero dial timeout is the default one, zero read/write timeouts are none.
    dialTimeoutMs: dial === 0 ? 5000 : dial,
    readTimeoutMs: ms(r.readTimeout, 3000),
    writeTimeoutMs: ms(r.writeTimeout, 3000),
    tls: r.tls === undefined ? null : clientTlsOptions(r.tls, cwd, 'rateLimit.redis.tls'),
  };
}

export const rateLimit: MiddlewareFactory<RateLimitOptions> = {
  type: 'rateLimit',
  schema: rateLimitSchema,
  create(options, next, env) {
    return createRateLimit(options, next, env);
  },
};
