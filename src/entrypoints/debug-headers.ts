/**
 * debugHeaders (--api.debugHeaders) names the router, service and server that answered in
 * response headers. One shared modifier object: nothing is allocated per request beyond the
 * header values themselves, and only when the option is on.
 */
import type { RequestContext, ResponseHeaders, ResponseModifier } from '../proxy/context.js';

export const debugHeaders: ResponseModifier = {
  modifyResponse(status: number, headers: ResponseHeaders, ctx: RequestContext): number {
    headers['x-gantry-router'] = ctx.router ?? '-';
    if (ctx.service !== null) headers['x-gantry-service'] = ctx.service;
    if (ctx.server !== null) headers['x-gantry-server'] = ctx.server;
    return status;
  },
};
