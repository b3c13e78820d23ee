/**
 * The rate limiter shared by every Gantry (and Traefik) replica through Redis
 * (`rateLimit.redis`). Each source's token bucket is a Redis hash under
 * `rate:<middleware>:<source>` (Traefik's key), updated by one Lua script, so taking a token is
 * atomic whatever the number of replicas. The script reads Redis's own clock (TIME), so replicas
 * whose clocks disagree still share one bucket fairly. A bucket expires once it would be full again.
 *
 * When Redis cannot answer (down, unreachable, too slow, refusing our password) the requests are
 * limited by this process's own in-memory buckets instead — the same rate, per replica — and a
 * warning is logged; Redis is tried again after a back-off (1 s, doubling to 30 s). A client is
 * thus never let through unlimited, and an outage of Redis is not an outage of the routes.
 * (Traefik answers 500 then; Gantry prefers to keep serving within the limit.)
 */
import { createHash } from 'node:crypto';
import type { Logger } from '../../../observability/logger.js';
import type { RateLimiter } from '../index.js';
import { RedisClient, RedisUnavailable, type RedisClientOptions } from './client.js';
import { RespError } from './resp.js';

/**
 * TOKEN_BUCKET: KEYS[1] the bucket; ARGV: tokens per microsecond, burst, longest wait absorbed by
 * delaying (µs), expiry (s). Returns {taken (1/0), wait in µs as text}: the caller goes at once
 * (wait 0), after the wait, or is refused (taken 0) with the wait it would have had.
 */
export const TOKEN_BUCKET = `
local rate = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local max_wait = tonumber(ARGV[3])
local ttl = tonumber(ARGV[4])
local clock = redis.call('TIME')
local now = tonumber(clock[1]) * 1000000 + tonumber(clock[2])
local state = redis.call('HMGET', KEYS[1], 'tokens', 'last')
local tokens = tonumber(state[1])
local last = tonumber(state[2])
if tokens == nil or last == nil then
  tokens = burst
  last = now
end
if now > last then
  tokens = math.min(burst, tokens + (now - last) * rate)
  last = now
end
local taken = 1
local wait = 0
if tokens < 1 then
  wait = (1 - tokens) / rate
  if wait > max_wait then taken = 0 end
end
if taken == 1 then tokens = tokens - 1 end
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'last', tostring(last))
redis.call('EXPIRE', KEYS[1], ttl)
return {taken, tostring(wait)}
`;

const SCRIPT_SHA = createHash('sha1').update(TOKEN_BUCKET).digest('hex');
const MIN_BACKOFF_MS = 1000;
const MAX_BACKOFF_MS = 30_000;

/** Clients are shared by every middleware (and snapshot) with the same connection options. */
const clients = new Map<string, { client: RedisClient; refs: number }>();

/** acquireClient returns the shared client for these options; releaseClient gives it back. */
export function acquireClient(o: RedisClientOptions): { client: RedisClient; release(): void } {
  const key = JSON.stringify(o);
  let entry = clients.get(key);
  if (entry === undefined) clients.set(key, (entry = { client: new RedisClient(o), refs: 0 }));
  entry.refs++;
  const e = entry;
  let released = false;
  return {
    client: e.client,
    release() {
      if (released) return;
      released = true;
      if (--e.refs === 0) {
        clients.delete(key);
        e.client.stop();
      }
    },
  };
}

export interface SharedLimits {
  /** Tokens per second. */
  readonly ratePerSecond: number;
  readonly burst: number;
  /** The longest wait absorbed by delaying a request (ms). */
  readonly maxDelayMs: number;
}

/** RedisRateLimiter takes tokens in Redis, or from `local` while Redis is unavailable. */
export class RedisRateLimiter {
  readonly #client: RedisClient;
  readonly #prefix: string;
  readonly #args: [number, number, number, number];
  readonly #local: RateLimiter;
  readonly #logger: Logger;
  #downUntil = 0;
  #backoff = MIN_BACKOFF_MS;

  constructor(client: RedisClient, middleware: string, limits: SharedLimits, local: RateLimiter, logger: Logger) {
    this.#client = client;
    this.#prefix = `rate:${middleware}:`;
    const ttl = Math.ceil(limits.burst / limits.ratePerSecond) + 1;
    this.#args = [limits.ratePerSecond / 1e6, limits.burst, Math.round(limits.maxDelayMs * 1000), ttl];
    this.#local = local;
    this.#logger = logger;
  }

  /** usingRedis tells whether the last answer came from Redis (for tests and logs). */
  get usingRedis(): boolean {
    return this.#downUntil === 0;
  }

  /** reserve answers as RateLimiter.reserve does: 0 go, +ms wait then go, -ms refused. */
  async reserve(source: string): Promise<number> {
    if (this.#downUntil !== 0 && Date.now() < this.#downUntil) return this.#local.reserve(source);
    try {
      const wait = await this.#eval(this.#prefix + source);
      if (this.#downUntil !== 0) this.#logger.info('rate limit: redis answers again; limits are shared across replicas', { redis: this.#where() });
      this.#downUntil = 0;
      this.#backoff = MIN_BACKOFF_MS;
      return wait;
    } catch (err) {
      if (this.#downUntil === 0 || this.#backoff >= MAX_BACKOFF_MS) {
        this.#logger.warn('rate limit: redis unavailable; limiting per replica until it answers', { redis: this.#where(), error: (err as Error).message, retryInMs: this.#backoff });
      }
      this.#downUntil = Date.now() + this.#backoff;
      this.#backoff = Math.min(this.#backoff * 2, MAX_BACKOFF_MS);
      return this.#local.reserve(source);
    }
  }

  async #eval(key: string): Promise<number> {
    let r = await this.#client.command(['EVALSHA', SCRIPT_SHA, 1, key, ...this.#args]);
    // The first call on a server (or after SCRIPT FLUSH) loads the script.
    if (r instanceof RespError && r.code === 'NOSCRIPT') r = await this.#client.command(['EVAL', TOKEN_BUCKET, 1, key, ...this.#args]);
    if (r instanceof RespError) throw new RedisUnavailable(`redis: ${r.message}`);
    if (!Array.isArray(r) || r.length !== 2) throw new RedisUnavailable('redis: unexpected reply to the rate-limit script');
    const waitMs = Number(r[1]) / 1000;
    if (!Number.isFinite(waitMs)) throw new RedisUnavailable('redis: unexpected reply to the rate-limit script');
    if (r[0] === 0) return -Math.max(waitMs, 1e-3);
    return waitMs;
  }

  #where(): string {
    return `${this.#client.options.host}:${this.#client.options.port}`;
  }
}
