/**
 * retry grants the forwarder extra attempts, as Traefik's retry middleware
 * (pkg/middlewares/retry/retry.go): `attempts` counts every try including the first, and the
 * wait between tries grows exponentially from `initialInterval` (Traefik's backoff). Retrying a
 * failed connection lives in the forwarder, which alone knows whether a request failed before any
 * response byte and whether its body was already streamed (ctx.bodyStarted).
 *
 * Traefik v3.7's other options:
 * - `status`: an answer with one of these statuses is retried too (kept from the client, the
 *   request sent again whole). POST, PATCH and LOCK only with `retryNonIdempotentMethod`. The body
 *   is held up to `maxRequestBodyBytes` (2 MiB by default, -1 no limit); a larger one is sent
 *   once, without status retries, as Traefik does.
 * - `timeout`: no new attempt starts once this long has passed since the first.
 * - `disableRetryOnNetworkError`: failed connections get no extra attempts (`status` is then
 *   required, as in Traefik). Gantry's own single retry of a connection that could not be made
 *   stays (DESIGN.md: safe for any method).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import * as z from '../../config/zod.js';
import { parseDuration } from '../../config/duration.js';
import { durationSchema } from '../../config/dynamic/schema.js';
import { ConfigError } from '../../errors.js';
import type { Handler, RequestContext } from '../../proxy/context.js';
import { holdRequest, replayOf, StatusCatch, type HeldRequest, type HoldListener } from '../../proxy/reattempt.js';
import { StatusRanges } from '../errors/index.js';
import type { MiddlewareFactory } from '../types.js';

export const retrySchema = z.strictObject({
  attempts: z.number().int().min(1, 'attempts must be at least 1'),
  initialInterval: durationSchema.optional(),
  timeout: durationSchema.optional(),
  status: z.array(z.union([z.string(), z.number()]).transform(String)).optional(),
  maxRequestBodyBytes: z.number().int().optional(),
  disableRetryOnNetworkError: z.boolean().optional(),
  retryNonIdempotentMethod: z.boolean().optional(),
});

export type RetryOptions = z.infer<typeof retrySchema>;

/** Traefik's default initialInterval. */
const DEFAULT_INITIAL_INTERVAL_MS = 100;
/** Traefik's RetryDefaultMaxRequestBodyBytes. */
export const DEFAULT_RETRY_MAX_BODY = 2 * 1024 * 1024;
/** Methods whose answers are retried on status only with retryNonIdempotentMethod (Traefik's list). */
const NON_IDEMPOTENT = new Set(['POST', 'PATCH', 'LOCK']);

class Settings {
  readonly attempts: number;
  readonly intervalMs: number;
  readonly timeoutMs: number;
  readonly statuses: StatusRanges | null;
  readonly maxBody: number;
  readonly network: boolean;
  readonly nonIdempotent: boolean;
  readonly next: Handler;

  constructor(o: RetryOptions, next: Handler) {
    this.attempts = o.attempts;
    this.intervalMs = o.initialInterval === undefined ? DEFAULT_INITIAL_INTERVAL_MS : parseDuration(o.initialInterval)!;
    this.timeoutMs = o.timeout === undefined ? 0 : parseDuration(o.timeout)!;
    this.statuses = o.status !== undefined && o.status.length > 0 ? new StatusRanges(o.status, 'retry.status') : null;
    this.maxBody = o.maxRequestBodyBytes ?? DEFAULT_RETRY_MAX_BODY;
    this.network = o.disableRetryOnNetworkError !== true;
    this.nonIdempotent = o.retryNonIdempotentMethod === true;
    this.next = next;
    if (!this.network && this.statuses === null) {
      throw new ConfigError('retry.disableRetryOnNetworkError', 'retry needs status codes to retry on when network errors are not retried (set status)');
    }
  }

  /** grant sets what the forwarder may retry on its own: `left` more attempts, until the deadline. */
  grant(ctx: RequestContext, left: number): void {
    // The innermost retry middleware of a chain wins, as the last one to set the fields.
    ctx.retryAttempts = this.network ? Math.max(0, left) : 0;
    ctx.retryInitialIntervalMs = this.intervalMs;
  }
}

/** Run is one request with status retries: hold the body, try, catch a listed status, try again. */
class Run implements HoldListener {
  readonly s: Settings;
  readonly req: IncomingMessage;
  readonly res: ServerResponse;
  readonly ctx: RequestContext;
  held_: HeldRequest | null = null;
  /** Attempts used so far, the forwarder's own retries included. */
  used = 0;
  retriesBefore = 0;

  constructor(s: Settings, req: IncomingMessage, res: ServerResponse, ctx: RequestContext) {
    this.s = s;
    this.req = req;
    this.res = res;
    this.ctx = ctx;
  }

  held(h: HeldRequest): void {
    this.held_ = h;
    if (!h.complete) {
      // Too large to send twice: one attempt with the bytes read and the rest of the stream.
      this.s.grant(this.ctx, this.s.attempts - 1);
      this.s.next(replayOf(this.req, h), this.res, this.ctx);
      return;
    }
    this.attempt();
  }

  failed(): void {
    this.ctx.status = 499;
    this.ctx.errorText = 'client closed request';
    if (!this.res.destroyed) this.res.destroy();
  }

  attempt(): void {
    const { s, ctx } = this;
    const left = s.attempts - this.used;
    s.grant(ctx, left - 1);
    this.retriesBefore = ctx.retries;
    if (left > 1 && !this.timedOut()) new StatusCatch(this.res, s.statuses!, this.#armed, this.#caught);
    ctx.bodyStarted = false;
    s.next(replayOf(this.req, this.held_!), this.res, ctx);
  }

  timedOut(): boolean {
    return this.ctx.retryDeadline !== 0 && performance.now() >= this.ctx.retryDeadline;
  }

  #armed = (): boolean => !this.timedOut();

  #caught = (): void => {
    if (this.res.destroyed) return;
    this.used += 1 + (this.ctx.retries - this.retriesBefore);
    this.ctx.retries++;
    const n = this.used;
    const delay = this.s.intervalMs === 0 ? 0 : this.s.intervalMs * 2 ** (n - 1);
    if (delay === 0) this.attempt();
    else setTimeout(runAttempt, delay, this).unref();
  };
}

function runAttempt(run: Run): void {
  if (run.res.destroyed) return;
  run.attempt();
}

export const retry: MiddlewareFactory<RetryOptions> = {
  type: 'retry',
  schema: retrySchema,
  create(options: RetryOptions, next: Handler): Handler {
    const s = new Settings(options, next);
    return function retryHandler(req: IncomingMessage, res: ServerResponse, ctx: RequestContext): void {
      s.grant(ctx, s.attempts - 1);
      if (s.timeoutMs > 0) ctx.retryDeadline = performance.now() + s.timeoutMs;
      const byStatus = s.statuses !== null && s.attempts > 1 && ctx.upgradeSocket === null && (s.nonIdempotent || !NON_IDEMPOTENT.has(req.method ?? ''));
      if (!byStatus) {
        next(req, res, ctx);
        return;
      }
      holdRequest(req, s.maxBody, new Run(s, req, res, ctx));
    };
  },
};
