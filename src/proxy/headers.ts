/**
 * Request and response header hygiene for forwarding: hop-by-hop headers (RFC 9110 §7.6.1) and
 * every name listed in `Connection` are removed FIRST, and only then are X-Forwarded-* added, so a
 * client cannot make Gantry drop its own forwarding headers (Traefik CVE-2024-45410).
 */
import type { IncomingHttpHeaders, IncomingMessage } from 'node:http';
import type { RequestContext, ResponseHeaders } from './context.js';

/** Hop-by-hop request headers, plus `host` and `expect` which the forwarder sets or handles itself. */
export const REQUEST_DROP: ReadonlySet<string> = new Set([
  'connection',
  'proxy-connection',
  'keep-alive',
  'proxy-authenticate',
  'proxy-authorization',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
  'host',
  'expect',
  'http2-settings',
]);

/**
 * FORWARDED_HEADERS are the headers by which a proxy tells a server about the client: accepted
 * only from trusted proxies (`forwardedHeaders.trustedIPs`) and removed from every other client's
 * request before routing, whichever path serves it (fast lane, node:http, upgrades) — so neither
 * middlewares (ipAllowList, forwardAuth with trustForwardHeader) nor servers can be fed forged
 * values. The same list as Traefik's forwardedheaders middleware.
 */
export const FORWARDED_HEADERS: ReadonlySet<string> = new Set([
  'x-forwarded-for',
  'x-forwarded-host',
  'x-forwarded-proto',
  'x-forwarded-port',
  'x-forwarded-server',
  'x-forwarded-prefix',
  'x-forwarded-uri',
  'x-forwarded-method',
  'x-forwarded-tls-client-cert',
  'x-forwarded-tls-client-cert-info',
  'x-real-ip',
]);

const RESPONSE_DROP = new Set([
  'connection',
  'proxy-connection',
  'keep-alive',
  'proxy-authenticate',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
]);

/** connectionTokens returns the lower-case names listed in a Connection header, or null. */
export function connectionTokens(value: string | string[] | undefined): Set<string> | null {
  if (value === undefined) return null;
  // The common values list no header: answered without splitting.
  if (value === 'keep-alive' || value === 'close' || value === 'Keep-Alive' || value === 'Close') return null;
  const text = Array.isArray(value) ? value.join(',') : value;
  let set: Set<string> | null = null;
  for (const part of text.split(',')) {
    const t = part.trim().toLowerCase();
    if (t === '' || t === 'close' || t === 'keep-alive') continue;
    (set ??= new Set()).add(t);
  }
  return set;
}

export interface ForwardingOptions {
  /** Host header to send: the client's (passHostHeader) or the server's. */
  host: string;
  /** Upgrade protocol to keep (websocket …), or null for ordinary requests. */
  upgrade: string | null;
  /** Hostname of this Gantry, for X-Forwarded-Server. */
  serverName: string;
}

/**
 * stripUntrustedForwarded removes X-Forwarded-* and X-Real-IP sent by a peer that is not a trusted
 * proxy. The entrypoint calls it before any middleware runs, so ipAllowList, rateLimit and
 * redirects never see spoofed values; what a middleware sets afterwards is kept.
 */
export function stripUntrustedForwarded(req: IncomingMessage): void {
  const h = req.headers;
  for (const name of FORWARDED_HEADERS) if (h[name] !== undefined) delete h[name];
}

/**
 * upstreamRequestHeaders builds the header object sent to the server. It reads `req.headers`, which
 * middlewares may have changed (untrusted forwarding headers were already removed at the
 * entrypoint), and never mutates it (a retry builds the same headers again).
 */
export function upstreamRequestHeaders(req: IncomingMessage, ctx: RequestContext, opts: ForwardingOptions): Record<string, string | string[]> {
  const src: IncomingHttpHeaders = req.headers;
  const listed = connectionTokens(src.connection);
  const out: Record<string, string | string[]> = {};
  for (const name in src) {
    // HTTP/2 pseudo-headers (:method, :path, :authority, :scheme) are the request line, not fields.
    if (name.charCodeAt(0) === 58 /* : */ || REQUEST_DROP.has(name)) continue;
    if (listed !== null && listed.has(name)) continue;
    const v = src[name];
    if (v !== undefined) out[name] = v;
  }
  // X-Forwarded-* are added after all removals (CVE-2024-45410).
  const xff = out['x-forwarded-for'];
  out['x-forwarded-for'] = xff === undefined ? ctx.remoteAddr : `${Array.isArray(xff) ? xff.join(', ') : xff}, ${ctx.remoteAddr}`;
  if (out['x-forwarded-proto'] === undefined) {
    const ws = opts.upgrade !== null && opts.upgrade.toLowerCase() === 'websocket';
    out['x-forwarded-proto'] = ws ? (ctx.scheme === 'https' ? 'wss' : 'ws') : ctx.scheme;
  }
  if (out['x-forwarded-host'] === undefined) out['x-forwarded-host'] = requestHostHeader(req, ctx);
  if (out['x-forwarded-port'] === undefined) out['x-forwarded-port'] = ctx.port;
  if (out['x-forwarded-server'] === undefined) out['x-forwarded-server'] = opts.serverName;
  if (out['x-real-ip'] === undefined) out['x-real-ip'] = ctx.remoteAddr;
  if (ctx.strippedPrefix !== '' && out['x-forwarded-prefix'] === undefined) out['x-forwarded-prefix'] = ctx.strippedPrefix;
  out['host'] = opts.host;
  if (opts.upgrade !== null) {
    out['connection'] = 'upgrade';
    out['upgrade'] = opts.upgrade;
  }
  return out;
}

/** requestHostHeader is the host the client addressed, with its port when it gave one. */
export function requestHostHeader(req: IncomingMessage, ctx: RequestContext): string {
  const h = req.headers.host;
  return h !== undefined && h !== '' ? h : ctx.host;
}

/** cleanResponseHeaders removes hop-by-hop headers from an upstream response head, in place. */
export function cleanResponseHeaders(headers: ResponseHeaders): ResponseHeaders {
  const c = headers['connection'];
  const listed = typeof c === 'number' ? null : connectionTokens(c);
  for (const name in headers) {
    if (RESPONSE_DROP.has(name) || (listed !== null && listed.has(name))) delete headers[name];
  }
  return headers;
}

/** hasRequestBody tells whether the client sends a body (RFC 9112 §6.3). */
export function hasRequestBody(req: IncomingMessage): boolean {
  // HTTP/2 frames bodies itself: a stream whose HEADERS did not end it carries one, with or without Content-Length.
  if (req.httpVersionMajor === 2) return (req as IncomingMessage & { stream?: { endAfterHeaders?: boolean } }).stream?.endAfterHeaders === false;
  const te = req.headers['transfer-encoding'];
  if (te !== undefined) return true;
  const cl = req.headers['content-length'];
  return cl !== undefined && cl !== '0';
}
