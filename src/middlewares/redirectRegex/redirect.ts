/**
 * The redirect answer shared by redirectRegex and redirectScheme (Traefik
 * `pkg/middlewares/redirect/redirect.go`): 302/307, or 301/308 when permanent, where GET keeps
 * the historical codes and every other method gets the codes that preserve method and body.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { RequestContext } from '../../proxy/context.js';
import { sendText } from '../../proxy/respond.js';

/** redirectStatus returns the status Traefik sends for this method. */
export function redirectStatus(method: string | undefined, permanent: boolean): number {
  const get = method === 'GET';
  if (permanent) return get ? 301 : 308;
  return get ? 302 : 307;
}

const STATUS_TEXT: Record<number, string> = { 301: 'Moved Permanently', 302: 'Found', 307: 'Temporary Redirect', 308: 'Permanent Redirect' };

// Control characters and spaces cannot appear in a Location value.
const INVALID_LOCATION = /[\x00-\x20\x7f]/;

/** sendRedirect answers with a redirect to `location`, or 500 when the rewritten URL is not usable. */
export function sendRedirect(req: IncomingMessage, res: ServerResponse, ctx: RequestContext, location: string, permanent: boolean): void {
  if (location === '' || INVALID_LOCATION.test(location)) {
    ctx.errorText = 'redirect: rewritten URL is not valid';
    sendText(res, ctx, 500, `500 redirect target is not a valid URL: ${JSON.stringify(location)}`);
    return;
  }
  const status = redirectStatus(req.method, permanent);
  sendText(res, ctx, status, `${status} ${STATUS_TEXT[status]}: ${location}`, { location });
}

/**
 * requestHost returns the Host header as the client sent it (with its port, if any), or the
 * context's host when there is none (HTTP/1.0).
 */
export function requestHost(req: IncomingMessage, ctx: RequestContext): string {
  const h = req.headers.host;
  return h !== undefined && h !== '' ? h : ctx.host;
}

/** schemeOf maps the context scheme to http/https (a WebSocket request is still HTTP here). */
export function schemeOf(ctx: RequestContext): string {
  const s = ctx.scheme.toLowerCase();
  return s === 'https' || s === 'wss' ? 'https' : 'http';
}
