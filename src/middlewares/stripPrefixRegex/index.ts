/**
 * stripPrefixRegex removes the leftmost match of the first matching expression when the path
 * starts with it (Traefik `pkg/middlewares/stripprefixregex`). Expressions are Go
 * syntax and are not anchored: `/foo/[a-z]+/` strips `/foo/abc/` from `/foo/abc/bar`.
 */
import * as z from '../../config/zod.js';
import type { MiddlewareFactory } from '../types.js';
import { compileConfigRegexp } from '../../regexp/index.js';
import { applyStrip } from '../stripPrefix/index.js';

export const stripPrefixRegexSchema = z.strictObject({
  regex: z.array(z.string()),
});

export type StripPrefixRegexOptions = z.infer<typeof stripPrefixRegexSchema>;

export const stripPrefixRegex: MiddlewareFactory<StripPrefixRegexOptions> = {
  type: 'stripPrefixRegex',
  schema: stripPrefixRegexSchema,
  create(options, next) {
    const expressions = options.regex.map((r, i) => compileConfigRegexp(r.trim(), `stripPrefixRegex.regex[${i}]`));
    const count = expressions.length;
    return (req, res, ctx) => {
      const path = ctx.path;
      for (let i = 0; i < count; i++) {
        // As Traefik: the leftmost match's text, when non-empty and the path starts with it (it
        // usually matched there, but `/a$` on /a/b/a strips the leading /a all the same).
        const m = expressions[i]!.findIndex(path);
        if (m === null || m[1] === m[0]) continue;
        const prefix = path.slice(m[0], m[1]);
        if (m[0] !== 0 && !path.startsWith(prefix)) continue;
        applyStrip(req, res, ctx, next, prefix, path.slice(prefix.length));
        return;
      }
      next(req, res, ctx);
    };
  },
};
