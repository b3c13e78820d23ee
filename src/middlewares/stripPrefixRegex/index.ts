/**
 * stripPrefixRegex removes the leftmost match of the first matching expression when that match
 * is at the start of the path (Traefik `pkg/middlewares/stripprefixregex`). Expressions are Go
 * syntax and are not anchored: `/foo/[a-z]+/` strips `/foo/abc/` from `/foo/abc/bar`.
 */
import { z } from 'zod';
import type { MiddlewareFactory } from '../types.js';
import { compileGoRegexp } from '../replacePathRegex/goregexp.js';
import { applyStrip } from '../stripPrefix/index.js';

export const stripPrefixRegexSchema = z.strictObject({
  regex: z.array(z.string()),
});

export type StripPrefixRegexOptions = z.infer<typeof stripPrefixRegexSchema>;

export const stripPrefixRegex: MiddlewareFactory<StripPrefixRegexOptions> = {
  type: 'stripPrefixRegex',
  schema: stripPrefixRegexSchema,
  create(options, next) {
    const expressions = options.regex.map((r, i) => compileGoRegexp(r.trim(), `stripPrefixRegex.regex[${i}]`));
    const count = expressions.length;
    return (req, res, ctx) => {
      const path = ctx.path;
      for (let i = 0; i < count; i++) {
        const m = expressions[i]!.exec(path);
        if (m === null || m.index !== 0 || m[0] === '') continue;
        applyStrip(req, res, ctx, next, m[0], path.slice(m[0].length));
        return;
      }
      next(req, res, ctx);
    };
  },
};
