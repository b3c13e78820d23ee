/**
 * addPrefix puts a prefix in front of the path before forwarding (Traefik
 * `pkg/middlewares/addprefix`); the query string is kept.
 */
import * as z from '../../config/zod.js';
import { ConfigError } from '../../errors.js';
import type { MiddlewareFactory } from '../types.js';
import { withFastStep } from '../fast-step.js';

export const addPrefixSchema = z.strictObject({
  prefix: z.string(),
});

export type AddPrefixOptions = z.infer<typeof addPrefixSchema>;

export const addPrefix: MiddlewareFactory<AddPrefixOptions> = {
  type: 'addPrefix',
  schema: addPrefixSchema,
  create(options, next) {
    const prefix = options.prefix;
    if (prefix === '') throw new ConfigError('addPrefix.prefix', 'prefix cannot be empty');
    if (/[\x00-\x20\x7f?#]/.test(prefix)) throw new ConfigError('addPrefix.prefix', `prefix ${JSON.stringify(prefix)} has characters not allowed in a path`);
    // Like Traefik, the prefix is joined as is (`/api/` + `/x` gives `/api//x`), with a leading slash ensured.
    const lead = prefix.charCodeAt(0) === 47 ? prefix : '/' + prefix;
    return withFastStep(
      (req, res, ctx) => {
        ctx.path = lead + ctx.path;
        next(req, res, ctx);
      },
      (_req, ctx) => {
        ctx.path = lead + ctx.path;
        return true;
      },
    );
  },
};
