/**
 * redirectScheme redirects to the same URL with another scheme and optionally another port
 * (Traefik `pkg/middlewares/redirect/redirect_scheme.go`). The port is dropped when it is the
 * scheme's default. A request already at the target scheme and port goes on unchanged.
 */
import * as z from '../../config/zod.js';
import { ConfigError } from '../../errors.js';
import type { MiddlewareFactory } from '../types.js';
import { requestHost, schemeOf, sendRedirect } from '../redirectRegex/redirect.js';
import { withFastStep } from '../fast-step.js';
import type { RequestContext } from '../../proxy/context.js';

export const redirectSchemeSchema = z.strictObject({
  scheme: z.string(),
  /** A string in Traefik; a number is accepted too (labels, YAML without quotes). */
  port: z.union([z.string(), z.number().int()]).optional(),
  permanent: z.boolean().optional(),
});

export type RedirectSchemeOptions = z.infer<typeof redirectSchemeSchema>;

/** splitHostPort splits a Host header into host and ':port' ('' when absent); IPv6 keeps its brackets. */
function splitHostPort(h: string): [string, string] {
  const close = h.lastIndexOf(']');
  const colon = h.lastIndexOf(':');
  if (colon > close && colon >= 0 && (close >= 0 || h.indexOf(':') === colon)) return [h.slice(0, colon), h.slice(colon)];
  return [h, ''];
}

export const redirectScheme: MiddlewareFactory<RedirectSchemeOptions> = {
  type: 'redirectScheme',
  schema: redirectSchemeSchema,
  create(options, next) {
    const scheme = options.scheme.trim();
    if (scheme === '') throw new ConfigError('redirectScheme.scheme', 'you must provide a target scheme');
    if (!/^[A-Za-z][A-Za-z0-9+.-]*$/.test(scheme)) throw new ConfigError('redirectScheme.scheme', `invalid scheme ${JSON.stringify(scheme)}`);
    const portText = options.port === undefined ? '' : String(options.port).trim();
    if (portText !== '' && !/^\d{1,5}$/.test(portText)) throw new ConfigError('redirectScheme.port', `invalid port ${JSON.stringify(portText)}`);
    const defaultPort = (scheme === 'http' && portText === '80') || (scheme === 'https' && portText === '443');
    const portSuffix = portText !== '' && !defaultPort ? ':' + portText : '';
    const prefix = scheme + '://';
    const permanent = options.permanent === true;
    /** redirectTo is the URL to send the client to, or null when it is there already. */
    const redirectTo = (hostHeader: string, ctx: RequestContext): string | null => {
      const current = schemeOf(ctx);
      const [host, rawPort] = splitHostPort(hostHeader);
      const port = (current === 'http' && rawPort === ':80') || (current === 'https' && rawPort === ':443') ? '' : rawPort;
      const target = ctx.target();
      const newURL = prefix + host + portSuffix + target;
      return newURL === `${current}://${host}${port}${target}` ? null : newURL;
    };
    return withFastStep(
      (req, res, ctx) => {
        const to = redirectTo(requestHost(req, ctx), ctx);
        if (to === null) next(req, res, ctx);
        else sendRedirect(req, res, ctx, to, permanent);
      },
      // The fast lane's head always has a Host; a redirect is the handler's to send.
      (req, ctx) => redirectTo(req.host !== '' ? req.host : ctx.host, ctx) === null,
    );
  },
};
