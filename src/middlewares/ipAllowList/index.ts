/**
 * ipAllowList accepts requests whose client IP is in `sourceRange` (IPs and CIDRs, v4 and v6) and
 * answers the others with `rejectStatusCode` (403 by default), as Traefik
 * `pkg/middlewares/ipallowlist` does. Which address is "the client" is chosen by `ipStrategy`
 * (see ../ip.ts); an address the strategy cannot find is rejected.
 */
import { STATUS_CODES } from '../../node-http.js';
import * as z from '../../config/zod.js';
import { sendText } from '../../proxy/respond.js';
import { ConfigError } from '../../errors.js';
import type { MiddlewareFactory } from '../types.js';
import { IPMatcher, IPStrategy, ipStrategySchema, splitHost } from '../ip.js';
import { withFastStep } from '../fast-step.js';

export const ipAllowListSchema = z.strictObject({
  sourceRange: z.array(z.string()),
  ipStrategy: ipStrategySchema.optional(),
  rejectStatusCode: z.number().int().optional(),
});

export type IPAllowListOptions = z.infer<typeof ipAllowListSchema>;

export const ipAllowList: MiddlewareFactory<IPAllowListOptions> = {
  type: 'ipAllowList',
  schema: ipAllowListSchema,
  create(options, next) {
    if (options.sourceRange.length === 0) throw new ConfigError('ipAllowList.sourceRange', 'sourceRange is empty');
    const code = options.rejectStatusCode ?? 0;
    const status = code === 0 ? 403 : code;
    if (STATUS_CODES[status] === undefined || status < 100 || status > 599) {
      throw new ConfigError('ipAllowList.rejectStatusCode', `invalid HTTP status code ${code}`);
    }
    const matcher = new IPMatcher(options.sourceRange, 'ipAllowList.sourceRange');
    const strategy = new IPStrategy(options.ipStrategy, 'ipAllowList.ipStrategy');
    const body = `${status} ${STATUS_CODES[status]}: client IP not allowed`;
    return withFastStep(
      (req, res, ctx) => {
        const ip = strategy.clientIP(req, ctx);
        if (ip !== '' && matcher.contains(splitHost(ip))) {
          next(req, res, ctx);
          return;
        }
        ctx.errorText = `ipAllowList: rejected client IP ${JSON.stringify(ip)}`;
        sendText(res, ctx, status, body);
      },
      (req, ctx) => {
        const ip = strategy.clientIP(req, ctx);
        return ip !== '' && matcher.contains(splitHost(ip));
      },
    );
  },
};

/**
 * ipWhiteList is Traefik v2's name of ipAllowList, still accepted by Traefik v3 (deprecated) for
 * migration: the same matching, without `rejectStatusCode`, which v2 never had.
 */
export const ipWhiteListSchema = ipAllowListSchema.omit({ rejectStatusCode: true });

export const ipWhiteList: MiddlewareFactory<z.infer<typeof ipWhiteListSchema>> = {
  type: 'ipWhiteList',
  schema: ipWhiteListSchema,
  create: (options, next, env) => ipAllowList.create(options, next, env),
};
