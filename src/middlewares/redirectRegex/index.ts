/**
 * redirectRegex redirects when a Go regular expression matches the full request URL
 * `scheme://host[:port]/path?query` (Traefik `pkg/middlewares/redirect/redirect_regex.go`). The
 * URL is rewritten with the replacement (`${1}` …); when the rewrite changes nothing the request
 * goes on, which keeps a rule like `^http://(.*)` → `https://${1}` from looping.
 */
import * as z from '../../config/zod.js';
import type { MiddlewareFactory } from '../types.js';
import { compileConfigRegexp } from '../../regexp/index.js';
import { requestHost, schemeOf, sendRedirect } from './redirect.js';

export const redirectRegexSchema = z.strictObject({
  regex: z.string(),
  replacement: z.string(),
  permanent: z.boolean().optional(),
});

export type RedirectRegexOptions = z.infer<typeof redirectRegexSchema>;

export const redirectRegex: MiddlewareFactory<RedirectRegexOptions> = {
  type: 'redirectRegex',
  schema: redirectRegexSchema,
  create(options, next) {
    const re = compileConfigRegexp(options.regex, 'redirectRegex.regex');
    const replacer = re.replacer(options.replacement);
    const permanent = options.permanent === true;
    return (req, res, ctx) => {
      // The scheme is the one the client used (TLS, or X-Forwarded-Proto from a trusted proxy).
      const oldURL = `${schemeOf(ctx)}://${requestHost(req, ctx)}${ctx.target()}`;
      if (!re.test(oldURL)) {
        next(req, res, ctx);
        return;
      }
      const newURL = replacer.replaceAll(oldURL);
      if (newURL === oldURL) {
        next(req, res, ctx);
        return;
      }
      sendRedirect(req, res, ctx, newURL, permanent);
    };
  },
};
