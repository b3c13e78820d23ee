/**
 * stripPrefix removes the first matching prefix from the path before forwarding (Traefik
 * `pkg/middlewares/stripprefix`). Prefixes are plain string prefixes, not path segments: `/stat`
 * turns `/status` into `/us`, and `/api/` leaves `/api` alone. The removed prefix is sent in
 * X-Forwarded-Prefix; the query string is untouched.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import * as z from '../../config/zod.js';
import type { Handler, RequestContext } from '../../proxy/context.js';
import { sendText } from '../../proxy/respond.js';
import type { MiddlewareFactory } from '../types.js';
import { withFastStep } from '../fast-step.js';

export const stripPrefixSchema = z.strictObject({
  prefixes: z.array(z.string()),
  /** Deprecated in Traefik v3 and without effect here: the forwarded path always starts with '/'. */
  forceSlash: z.boolean().optional(),
});

export type StripPrefixOptions = z.infer<typeof stripPrefixSchema>;

/** appendRequestHeader adds a value to a request header as Go's Header.Add does (a second line). */
export function appendRequestHeader(req: IncomingMessage, name: string, value: string): void {
  const cur = req.headers[name];
  if (cur === undefined) req.headers[name] = value;
  else if (Array.isArray(cur)) cur.push(value);
  else req.headers[name] = [cur, value];
}

/**
 * applyStrip forwards `rest` (the path after the prefix) with X-Forwarded-Prefix set. A stripped
 * path whose first segment is empty, `.` or `..` (`/api./x` stripped of `/api` is `/./x`) would
 * name a different resource than the one routed, so it is refused with 400, as Traefik does since
 * its stripped-path normalisation check (traefik/traefik#13215).
 */
export function applyStrip(req: IncomingMessage, res: ServerResponse, ctx: RequestContext, next: Handler, prefix: string, rest: string): void {
  const path = strippedPath(rest);
  if (!cleanHead(path)) {
    ctx.errorText = `stripped path ${path} is not normalised`;
    sendText(res, ctx, 400, `400 bad request: the path left after removing the prefix ${JSON.stringify(prefix)} is not normalised`);
    return;
  }
  ctx.path = path;
  appendRequestHeader(req, 'x-forwarded-prefix', prefix);
  ctx.strippedPrefix = joinPrefix(ctx.strippedPrefix, prefix);
  next(req, res, ctx);
}

/** strippedPath is what is left of a path after its prefix, led by '/'. */
function strippedPath(rest: string): string {
  return rest === '' ? '/' : rest.charCodeAt(0) === 47 ? rest : '/' + rest;
}

/** cleanHead tells whether the first segment of a '/'-led path is a normal one (the rest was normalised on arrival). */
function cleanHead(path: string): boolean {
  if (path.length === 1) return true;
  let end = path.indexOf('/', 1);
  if (end < 0) end = path.length;
  const len = end - 1;
  if (len === 0) return false; // '//'
  if (len <= 2 && path.charCodeAt(1) === 46 && (len === 1 || path.charCodeAt(2) === 46)) return false;
  return true;
}

function joinPrefix(done: string, prefix: string): string {
  if (done === '') return prefix;
  if (done.endsWith('/') && prefix.startsWith('/')) return done + prefix.slice(1);
  return done + prefix;
}

export const stripPrefix: MiddlewareFactory<StripPrefixOptions> = {
  type: 'stripPrefix',
  schema: stripPrefixSchema,
  create(options, next, env) {
    if (options.forceSlash !== undefined) {
      env.logger.warn('stripPrefix: forceSlash is deprecated (Traefik v3) and has no effect', { middleware: env.name });
    }
    const prefixes: string[] = [];
    for (const p of options.prefixes) {
      const t = p.trim();
      if (t === '') env.logger.warn('stripPrefix: empty prefix ignored', { middleware: env.name });
      else prefixes.push(t);
    }
    const count = prefixes.length;
    const handler: Handler = (req, res, ctx) => {
      const path = ctx.path;
      for (let i = 0; i < count; i++) {
        const prefix = prefixes[i]!;
        if (path.startsWith(prefix)) {
          applyStrip(req, res, ctx, next, prefix, path.slice(prefix.length));
          return;
        }
      }
      next(req, res, ctx);
    };
    return withFastStep(handler, (req, ctx) => {
      const path = ctx.path;
      for (let i = 0; i < count; i++) {
        const prefix = prefixes[i]!;
        if (!path.startsWith(prefix)) continue;
        const rest = strippedPath(path.slice(prefix.length));
        if (!cleanHead(rest)) return false; // the handler's 400
        ctx.path = rest;
        req.appendHeader('x-forwarded-prefix', prefix);
        ctx.strippedPrefix = joinPrefix(ctx.strippedPrefix, prefix);
        return true;
      }
      return true;
    });
  },
};
