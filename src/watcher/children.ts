/**
 * Multi-layer routing (Traefik v3.7 `parentRefs`): a parent router has no service; once it
 * matched and its middlewares ran, its child routers are matched against the request as those
 * middlewares left it (a header forwardAuth added, a path stripPrefix shortened), longest rule
 * first as at the top level, and the one that matches handles it. No child matching is a 404.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Handler, RequestContext } from '../proxy/context.js';
import { sendError } from '../proxy/respond.js';
import type { RouteTable } from '../router/index.js';

export interface ChildRoute {
  /** Qualified router name, shown as the request's router in logs. */
  readonly name: string;
  readonly handler: Handler;
}

/** childDispatcher returns the handler that routes among a parent's children. */
export function childDispatcher(table: RouteTable<ChildRoute>, parent: string): Handler {
  return function childRouting(req: IncomingMessage, res: ServerResponse, ctx: RequestContext): void {
    // req.headers, not headersDistinct: Node caches the latter, and the parent's middlewares
    // may have changed the headers since the entrypoint routed.
    const host = ctx.host.charCodeAt(0) === 91 ? ctx.host.slice(1, -1) : ctx.host;
    const hit = table.match({ host, path: ctx.path, method: req.method ?? 'GET', headers: req.headers, query: ctx.query, clientIP: ctx.clientIP });
    if (hit === null) return sendError(res, ctx, 'noRoute', `no child router of ${parent} matches ${ctx.host}${ctx.path}`);
    ctx.router = hit.value.name;
    hit.value.handler(req, res, ctx);
  };
}
