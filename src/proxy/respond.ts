/**
 * Writing response heads and Gantry-made answers. Every head goes through writeHead() here so the
 * response modifiers that middlewares registered (headers, CORS …) apply to upstream answers and
 * to Gantry's own error pages alike.
 */
import type { ServerResponse } from 'node:http';
import type { RequestContext, ResponseHeaders } from './context.js';
import { RequestErrors, type RequestErrorKind } from '../errors.js';

/** writeHead applies the request's response modifiers, then writes the head. */
export function writeHead(res: ServerResponse, ctx: RequestContext, status: number, headers: ResponseHeaders): void {
  const mods = ctx.responseModifiers;
  if (mods !== null) {
    for (let i = mods.length - 1; i >= 0; i--) status = mods[i]!.modifyResponse(status, headers, ctx);
  }
  ctx.status = status;
  // A sticky balancer may have set its cookie already: upstream cookies are added, not swapped in.
  const own = res.getHeader('set-cookie');
  const theirs = headers['set-cookie'];
  if (own !== undefined && theirs !== undefined) {
    headers['set-cookie'] = [...toList(own), ...toList(theirs)];
  }
  res.writeHead(status, headers);
}

/**
 * sendText answers with a short plain-text body. It is safe to call when the head was already sent
 * (it then just ends or destroys the response, since a second head cannot be written).
 */
export function sendText(res: ServerResponse, ctx: RequestContext, status: number, text: string, extra?: ResponseHeaders): void {
  if (res.headersSent) {
    ctx.status ||= status;
    res.destroy();
    return;
  }
  const body = text.endsWith('\n') ? text : text + '\n';
  const headers: ResponseHeaders = {
    'content-type': 'text/plain; charset=utf-8',
    'content-length': Buffer.byteLength(body),
    'x-content-type-options': 'nosniff',
    ...extra,
  };
  writeHead(res, ctx, status, headers);
  res.end(ctx.upgradeSocket === null && isHead(res) ? undefined : body);
}

function isHead(res: ServerResponse): boolean {
  return res.req?.method === 'HEAD';
}

/** sendError answers with one of the request error kinds (404, 502, 504 …) and a cause. */
export function sendError(res: ServerResponse, ctx: RequestContext, kind: RequestErrorKind, detail?: string): void {
  const status = recordError(ctx, kind, detail);
  sendText(res, ctx, status, `${status} ${ctx.errorText}`);
}

/** recordError sets the request's error text for `kind` (and its cause) and returns the status to answer. */
export function recordError(ctx: RequestContext, kind: RequestErrorKind, detail?: string): number {
  const e = RequestErrors[kind];
  ctx.errorText = detail === undefined ? e.text : `${e.text}: ${detail}`;
  return e.status;
}

function toList(v: string | string[] | number): string[] {
  return Array.isArray(v) ? v : [String(v)];
}
