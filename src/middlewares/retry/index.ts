/**
 * retry grants the forwarder extra attempts, as Traefik's retry middleware
 * (pkg/middlewares/retry/retry.go): `attempts` counts every try including the first, and the
 * wait between tries grows exponentially from `initialInterval` (Traefik's backoff). The retrying
 * itself lives in the forwarder, which alone knows whether a request failed before any response
 * byte and whether its body was already streamed (ctx.bodyStarted).
 */
import { z } from 'zod';
import { parseDuration } from '../../config/duration.js';
import { durationSchema } from '../../config/dynamic/schema.js';
import type { Handler, RequestContext } from '../../proxy/context.js';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { MiddlewareFactory } from '../types.js';

export const retrySchema = z.strictObject({
  attempts: z.number().int().min(1, 'attempts must be at least 1'),
  initialInterval: durationSchema.optional(),
});

export type RetryOptions = z.infer<typeof retrySchema>;

/** Traefik's default initialInterval. */
const DEFAULT_INITIAL_INTERVAL_MS = 100;

export const retry: MiddlewareFactory<RetryOptions> = {
  type: 'retry',
  schema: retrySchema,
  create(options: RetryOptions, next: Handler): Handler {
    const extra = options.attempts - 1;
    const interval = options.initialInterval === undefined ? DEFAULT_INITIAL_INTERVAL_MS : parseDuration(options.initialInterval)!;
    return function retryHandler(req: IncomingMessage, res: ServerResponse, ctx: RequestContext): void {
      // The innermost retry middleware of a chain wins, as the last one to set the fields.
      ctx.retryAttempts = extra;
      ctx.retryInitialIntervalMs = interval;
      next(req, res, ctx);
    };
  },
};
