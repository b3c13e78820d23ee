/**
 * circuitBreaker stops sending requests to a failing service, as Traefik's circuitBreaker
 * middleware (pkg/middlewares/circuitbreaker, on vulcand/oxy cbreaker):
 *
 * - closed (oxy's standby): requests go through; every `checkPeriod` after a response, the
 *   expression is evaluated on the last ten seconds of responses and, when true, the breaker opens;
 * - open (tripped): for `fallbackDuration` every request gets `responseCode` (503) at once;
 * - recovering: for `recoveryDuration` a growing share of requests goes through (linearly from 0
 *   to 100%), then the breaker closes. Recovery does not re-check the expression, as in oxy: if the
 *   service still fails it trips again at the next check once closed.
 *
 * Status and latency are read when the response is closed, through one listener per middleware
 * (no per-request closure); the time source is injectable for tests.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import * as z from '../../config/zod.js';
import { parseDuration } from '../../config/duration.js';
import { durationSchema } from '../../config/dynamic/schema.js';
import { ConfigError } from '../../errors.js';
import type { Logger } from '../../observability/logger.js';
import type { Handler, RequestContext } from '../../proxy/context.js';
import type { MiddlewareEnv, MiddlewareFactory } from '../types.js';
import { sendText } from '../../proxy/respond.js';
import { parseExpression, type Predicate } from './expression.js';
import { RollingMetrics } from './metrics.js';

export { parseExpression } from './expression.js';

export const circuitBreakerSchema = z.strictObject({
  expression: z.string().min(1, 'expression is empty'),
  checkPeriod: durationSchema.optional(),
  fallbackDuration: durationSchema.optional(),
  recoveryDuration: durationSchema.optional(),
  responseCode: z.number().int().min(100).max(599).optional(),
});

export type CircuitBreakerOptions = z.infer<typeof circuitBreakerSchema>;

export type BreakerState = 'closed' | 'open' | 'recovering';

const STATUS_TEXT: Record<number, string> = { 503: 'Service Unavailable', 502: 'Bad Gateway', 500: 'Internal Server Error', 429: 'Too Many Requests' };

/** CircuitBreaker is the state machine of one circuitBreaker middleware. */
export class CircuitBreaker {
  readonly metrics: RollingMetrics;
  readonly #condition: Predicate;
  readonly #checkMs: number;
  readonly #fallbackMs: number;
  readonly #recoveryMs: number;
  readonly #now: () => number;
  readonly #logger: Logger;
  readonly #name: string;
  #state: BreakerState = 'closed';
  /** End of the open or recovering period. */
  #until = 0;
  /** Next time the expression may be evaluated. */
  #nextCheck = 0;
  /** Recovery ratio controller: when recovery started, how many let through and refused. */
  #recoveryStart = 0;
  #allowed = 0;
  #denied = 0;

  constructor(condition: Predicate, checkMs: number, fallbackMs: number, recoveryMs: number, now: () => number, logger: Logger, name: string) {
    this.metrics = new RollingMetrics(now);
    this.#condition = condition;
    this.#checkMs = checkMs;
    this.#fallbackMs = fallbackMs;
    this.#recoveryMs = recoveryMs;
    this.#now = now;
    this.#logger = logger;
    this.#name = name;
  }

  get state(): BreakerState {
    return this.#state;
  }

  /** refuse tells whether this request gets the fallback answer instead of going through. */
  refuse(): boolean {
    if (this.#state === 'closed') return false;
    const now = this.#now();
    if (this.#state === 'open') {
      if (now < this.#until) return true;
      this.#setState('recovering', now + this.#recoveryMs);
      this.#recoveryStart = now;
      this.#allowed = 0;
      this.#denied = 0;
    }
    if (now > this.#until) {
      this.#setState('closed', now);
      return false;
    }
    // oxy's ratioController: let through while the share let through is below the elapsed share of recovery.
    const target = this.#recoveryMs <= 0 ? 1 : (now - this.#recoveryStart) / this.#recoveryMs;
    const sent = this.#allowed + this.#denied;
    const ratio = sent === 0 ? 0 : this.#allowed / sent;
    if (target >= 1 || ratio < target) {
      this.#allowed++;
      return false;
    }
    this.#denied++;
    return true;
  }

  /** record accounts one finished response and, at most every checkPeriod, evaluates the expression. */
  record(status: number, latencyMs: number): void {
    this.metrics.record(status, latencyMs);
    if (this.#state !== 'closed') return;
    const now = this.#now();
    if (now < this.#nextCheck) return;
    this.#nextCheck = now + this.#checkMs;
    if (this.#condition(this.metrics)) {
      this.#setState('open', now + this.#fallbackMs);
      this.metrics.reset();
    }
  }

  #setState(state: BreakerState, until: number): void {
    this.#state = state;
    this.#until = until;
    const level = state === 'open' ? 'warn' : 'info';
    if (this.#logger.enabled(level)) this.#logger[level](`circuit breaker ${state}`, { middleware: this.#name, state });
  }
}

/** createCircuitBreaker builds the handler and exposes the breaker; `now` is injectable for tests. */
export function createCircuitBreaker(
  options: CircuitBreakerOptions,
  next: Handler,
  env: MiddlewareEnv,
  now: () => number = performance.now.bind(performance),
): { handler: Handler; breaker: CircuitBreaker } {
  const condition = parseExpression(options.expression);
  const ms = (v: string | number | undefined, def: number, field: string): number => {
    if (v === undefined) return def;
    const d = parseDuration(v)!;
    if (d < 0) throw new ConfigError(field, 'must not be negative');
    return d;
  };
  const checkMs = ms(options.checkPeriod, 100, 'checkPeriod');
  const fallbackMs = ms(options.fallbackDuration, 10_000, 'fallbackDuration');
  const recoveryMs = ms(options.recoveryDuration, 10_000, 'recoveryDuration');
  const code = options.responseCode ?? 503;
  const text = STATUS_TEXT[code] ?? 'Service Unavailable';
  const breaker = new CircuitBreaker(condition, checkMs, fallbackMs, recoveryMs, now, env.logger, env.name);
  // One symbol-keyed start time and one listener per middleware instance, none per request.
  const kStart = Symbol('gantry.circuitBreaker.start');
  type Tracked = ServerResponse & { [kStart]: number };
  const onClose = function (this: Tracked): void {
    // A response closed before its head was sent (client gone) counts as 499, not as a failure.
    breaker.record(this.headersSent ? this.statusCode : 499, now() - this[kStart]);
  };
  const handler: Handler = function circuitBreakerHandler(req: IncomingMessage, res: ServerResponse, ctx: RequestContext): void {
    if (breaker.refuse()) {
      sendText(res, ctx, code, text);
      return;
    }
    (res as Tracked)[kStart] = now();
    res.on('close', onClose);
    next(req, res, ctx);
  };
  return { handler, breaker };
}

export const circuitBreaker: MiddlewareFactory<CircuitBreakerOptions> = {
  type: 'circuitBreaker',
  schema: circuitBreakerSchema,
  create(options, next, env) {
    return createCircuitBreaker(options, next, env).handler;
  },
};
