/**
 * replacePathRegex rewrites the (percent-encoded) path with a Go regular expression and
 * replacement (Traefik `pkg/middlewares/replacepathregex`): every match is replaced, `$1`/`${1}`
 * and named groups expand, the query string is kept and the original path goes in
 * X-Replaced-Path. A request whose path does not match, or an empty replacement, passes unchanged.
 */
import * as z from '../../config/zod.js';
import { sendText } from '../../proxy/respond.js';
import type { MiddlewareFactory } from '../types.js';
import { compileConfigRegexp } from '../../regexp/index.js';
import { setReplacedPath } from '../replacePath/index.js';

export const replacePathRegexSchema = z.strictObject({
  regex: z.string(),
  replacement: z.string(),
});

export type ReplacePathRegexOptions = z.infer<typeof replacePathRegexSchema>;

const BAD_PATH = /[\x00-\x20\x7f#]|%(?![0-9A-Fa-f]{2})/;

export const replacePathRegex: MiddlewareFactory<ReplacePathRegexOptions> = {
  type: 'replacePathRegex',
  schema: replacePathRegexSchema,
  create(options, next) {
    const source = options.regex.trim();
    const re = compileConfigRegexp(source, 'replacePathRegex.regex');
    const replacement = options.replacement.trim();
    const replacer = replacement === '' ? null : re.replacer(replacement);
    return (req, res, ctx) => {
      const current = ctx.path;
      if (replacer === null || !re.test(current)) {
        next(req, res, ctx);
        return;
      }
      let path = replacer.replaceAll(current);
      if (BAD_PATH.test(path)) {
        // Traefik answers 500 when the rewritten path cannot be unescaped.
        ctx.errorText = `replacePathRegex produced an invalid path ${JSON.stringify(path)}`;
        sendText(res, ctx, 500, `500 ${ctx.errorText}`);
        return;
      }
      // A '?' produced by the replacement is part of the path, as in Traefik (it is escaped when sent).
      if (path.indexOf('?') >= 0) path = path.replaceAll('?', '%3F');
      if (path.charCodeAt(0) !== 47) path = '/' + path;
      setReplacedPath(req, current);
      ctx.path = path;
      next(req, res, ctx);
    };
  },
};
