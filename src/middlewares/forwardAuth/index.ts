/**
 * forwardAuth delegates authentication to an external server, as Traefik's forwardAuth middleware
 * (pkg/middlewares/auth/forward.go): a GET carrying the request's headers and X-Forwarded-Method,
 * -Proto, -Host, -Uri and -For goes to `address`. A 2xx lets the request through, with the headers
 * named by `authResponseHeaders` / `authResponseHeadersRegex` copied from the auth response into
 * the request; any other answer (status, headers, body) is what the client gets. An unreachable
 * auth server is a 500, as in Traefik. Redirects of the auth server are not followed: they go to
 * the client, with a relative Location resolved against `address`.
 *
 * Changed request headers are written to `req.headers`, which the forwarder forwards.
 *
 * Traefik v3.7's other options: `tls` (CA, client certificate, insecureSkipVerify towards the auth
 * server), `forwardBody` (the request body goes to the auth server too, read whole up to
 * `maxBodySize`: larger is a 401, as Traefik; the request then goes on with the same body),
 * `headerField` (the auth answer's header naming the user, for the access log's ClientUsername)
 * and `authSigninURL` (a 401 of the auth server becomes a 302 to that URL).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Agent, Dispatcher } from 'undici';
import { undici } from '../../upstreams/undici.js';
import * as z from '../../config/zod.js';
import { ConfigError } from '../../errors.js';
import type { Logger } from '../../observability/logger.js';
import { compileConfigRegexp, type GoRegexp } from '../../regexp/index.js';
import type { Handler, RequestContext, ResponseHeaders, ResponseModifier } from '../../proxy/context.js';
import type { MiddlewareFactory } from '../types.js';
import { sendText, writeHead } from '../../proxy/respond.js';
import { holdRequest, replayOf, type HeldRequest } from '../../proxy/reattempt.js';
import { clientTlsOptions, clientTlsSchema } from '../../tls/client-options.js';

export const forwardAuthSchema = z.strictObject({
  address: z.string().min(1, 'address is empty'),
  trustForwardHeader: z.boolean().optional(),
  authResponseHeaders: z.array(z.string()).optional(),
  authResponseHeadersRegex: z.string().optional(),
  authRequestHeaders: z.array(z.string()).optional(),
  addAuthCookiesToResponse: z.array(z.string()).optional(),
  preserveLocationHeader: z.boolean().optional(),
  preserveRequestMethod: z.boolean().optional(),
  maxResponseBodySize: z.number().int().optional(),
  tls: clientTlsSchema
    .extend({
      // Traefik deprecated it: client authentication is the server's choice. Refused rather than ignored.
      caOptional: z.never({ error: 'not supported (deprecated by Traefik, and meaningless for a client: remove it)' }).optional(),
    })
    .optional(),
  headerField: z.string().optional(),
  forwardBody: z.boolean().optional(),
  maxBodySize: z.number().int().optional(),
  authSigninURL: z.string().optional(),
});

export type ForwardAuthOptions = z.infer<typeof forwardAuthSchema>;

/** Traefik's auth client times out after 30 s. */
export const AUTH_TIMEOUT_MS = 30_000;

/**
 * The auth server's answer is read into memory, so its size is bounded. Traefik leaves
 * `maxResponseBodySize` unlimited when unset (and warns that this invites memory exhaustion);
 * Gantry bounds it by default. A negative value means no limit, as in Traefik.
 */
export const DEFAULT_MAX_AUTH_RESPONSE_BODY = 1 << 20;

/**
 * With `forwardBody`, the request body is read whole before the auth server is asked. Traefik
 * leaves `maxBodySize` unlimited when unset (with a warning about DoS); Gantry bounds it by
 * default, and a negative value means no limit, as in Traefik.
 */
export const DEFAULT_MAX_FORWARDED_BODY = 1 << 20;

/**
 * Headers never sent to the auth server: hop-by-hop ones (RFC 9110 §7.6.1), the body framing (the
 * auth request has no body), Host (the auth request is addressed to the auth server) and Expect.
 * Proxy-Authorization is kept: it is meant for the proxy, and the auth server decides for it
 * (RFC 9110 §11.7.2; Traefik forwards it too).
 */
const SKIP_REQUEST = new Set([
  'connection', 'keep-alive', 'proxy-connection', 'te', 'trailer', 'transfer-encoding', 'upgrade',
  'content-length', 'host', 'expect',
]);
/** Headers of the auth answer not passed on to the client. */
const SKIP_RESPONSE = new Set([
  'connection', 'keep-alive', 'proxy-connection', 'te', 'trailer', 'transfer-encoding', 'upgrade',
  'proxy-authenticate', 'content-length',
]);

type AuthHeaders = Record<string, string | string[] | undefined>;

/** AuthCookies adds the auth server's chosen cookies to the response, replacing same-named ones. */
class AuthCookies implements ResponseModifier {
  readonly #cookies: string[];
  readonly #names: Set<string>;
  constructor(cookies: string[], names: Set<string>) {
    this.#cookies = cookies;
    this.#names = names;
  }
  modifyResponse(status: number, headers: ResponseHeaders): number {
    const existing = headers['set-cookie'];
    const kept: string[] = [];
    if (existing !== undefined) {
      for (const c of Array.isArray(existing) ? existing : [String(existing)]) if (!this.#names.has(cookieName(c))) kept.push(c);
    }
    headers['set-cookie'] = kept.concat(this.#cookies);
    return status;
  }
}

function cookieName(setCookie: string): string {
  const eq = setCookie.indexOf('=');
  return (eq < 0 ? setCookie : setCookie.slice(0, eq)).trim();
}

/** canonicalName spells a header as Go does (x-auth-user → X-Auth-User), so Traefik's regexes match. */
function canonicalName(name: string): string {
  let out = '';
  let upper = true;
  for (let i = 0; i < name.length; i++) {
    const ch = name[i]!;
    out += upper ? ch.toUpperCase() : ch.toLowerCase();
    upper = ch === '-';
  }
  return out;
}

class ForwardAuth {
  readonly #address: string;
  readonly #trust: boolean;
  readonly #preserveLocation: boolean;
  readonly #preserveMethod: boolean;
  readonly #responseHeaders: string[];
  readonly #responseRegex: GoRegexp | null;
  readonly #requestHeaders: Set<string> | null;
  readonly #cookieNames: Set<string> | null;
  readonly #next: Handler;
  readonly #logger: Logger;
  readonly #name: string;
  readonly #maxBody: number;
  readonly #dispatcher: Dispatcher | undefined;
  readonly #headerField: string | null;
  readonly #forwardBody: boolean;
  readonly #maxForwardedBody: number;
  readonly #signin: string | null;

  constructor(o: ForwardAuthOptions, next: Handler, logger: Logger, name: string, cwd: string, retain: (r: { stop(): void }) => void) {
    let url: URL;
    try {
      url = new URL(o.address);
    } catch {
      throw new ConfigError('address', `not a URL: "${o.address}"`);
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new ConfigError('address', `not an http:// or https:// URL: "${o.address}"`);
    this.#address = o.address;
    this.#trust = o.trustForwardHeader ?? false;
    this.#preserveLocation = o.preserveLocationHeader ?? false;
    this.#preserveMethod = o.preserveRequestMethod ?? false;
    this.#responseHeaders = (o.authResponseHeaders ?? []).map((h) => h.toLowerCase());
    this.#responseRegex = o.authResponseHeadersRegex ? compileConfigRegexp(o.authResponseHeadersRegex, 'authResponseHeadersRegex') : null;
    this.#requestHeaders = o.authRequestHeaders && o.authRequestHeaders.length > 0 ? new Set(o.authRequestHeaders.map((h) => h.toLowerCase())) : null;
    this.#cookieNames = o.addAuthCookiesToResponse && o.addAuthCookiesToResponse.length > 0 ? new Set(o.addAuthCookiesToResponse) : null;
    this.#next = next;
    this.#logger = logger;
    this.#name = name;
    this.#maxBody = o.maxResponseBodySize ?? DEFAULT_MAX_AUTH_RESPONSE_BODY;
    this.#dispatcher = undefined;
    if (o.tls !== undefined) {
      const { caOptional: _ignored, ...tls } = o.tls;
      const agent = new (undici().Agent)({ connect: clientTlsOptions(tls, cwd, 'forwardAuth.tls') });
      this.#dispatcher = agent;
      retain({ stop: () => void agent.close() });
    }
    const field = o.headerField?.trim() ?? '';
    this.#headerField = field === '' ? null : field.toLowerCase();
    this.#forwardBody = o.forwardBody === true;
    this.#maxForwardedBody = o.maxBodySize ?? DEFAULT_MAX_FORWARDED_BODY;
    let signin: string | null = null;
    if (o.authSigninURL !== undefined && o.authSigninURL !== '') {
      try {
        signin = new URL(o.authSigninURL).href;
      } catch {
        throw new ConfigError('authSigninURL', `not a URL: "${o.authSigninURL}"`);
      }
    }
    this.#signin = signin;
  }

  /** handle asks the auth server, with the request body first read when forwardBody asks for it. */
  handle(req: IncomingMessage, res: ServerResponse, ctx: RequestContext): Promise<void> {
    // A CONNECT body of unknown length is tunnel data, not a body (as Traefik).
    if (!this.#forwardBody || ctx.upgradeSocket !== null || (req.method === 'CONNECT' && req.headers['content-length'] === undefined)) return this.check(req, res, ctx, null);
    return new Promise<HeldRequest | null>((resolve) => holdRequest(req, this.#maxForwardedBody, { held: resolve, failed: () => resolve(null) })).then((held) => {
      if (held === null) {
        ctx.status = 499;
        if (!res.destroyed) res.destroy();
        return;
      }
      if (!held.complete) {
        ctx.errorText = `forward auth: request body larger than maxBodySize (${this.#maxForwardedBody} bytes)`;
        sendText(res, ctx, 401, 'Unauthorized');
        return;
      }
      return this.check(req, res, ctx, held);
    });
  }

  /** authHeaders builds the auth request's headers (Traefik's writeHeader). */
  authHeaders(req: IncomingMessage, ctx: RequestContext): Record<string, string> {
    const out: Record<string, string> = {};
    const h = req.headers;
    const allowed = this.#requestHeaders;
    const connectionListed = listedInConnection(h.connection);
    for (const name in h) {
      if (name.charCodeAt(0) === 58 /* : HTTP/2 pseudo-header */ || SKIP_REQUEST.has(name) || (allowed !== null && !allowed.has(name))) continue;
      if (connectionListed !== null && connectionListed.has(name)) continue;
      const v = h[name];
      if (v !== undefined) out[name] = Array.isArray(v) ? v.join(', ') : v;
    }
    const trust = this.#trust;
    const prior = h['x-forwarded-for'];
    out['x-forwarded-for'] = trust && prior ? `${Array.isArray(prior) ? prior.join(', ') : prior}, ${ctx.remoteAddr}` : ctx.remoteAddr;
    out['x-forwarded-method'] = pick(trust, h['x-forwarded-method'], req.method ?? 'GET');
    out['x-forwarded-proto'] = pick(trust, h['x-forwarded-proto'], ctx.scheme);
    const port = h['x-forwarded-port'];
    if (trust && typeof port === 'string' && port !== '') out['x-forwarded-port'] = port;
    else delete out['x-forwarded-port'];
    const host = pick(trust, h['x-forwarded-host'], h.host ?? '');
    if (host !== '') out['x-forwarded-host'] = host;
    else delete out['x-forwarded-host'];
    out['x-forwarded-uri'] = pick(trust, h['x-forwarded-uri'], ctx.target());
    return out;
  }

  async check(req: IncomingMessage, res: ServerResponse, ctx: RequestContext, held: HeldRequest | null): Promise<void> {
    let status: number;
    let headers: AuthHeaders;
    let body: Buffer;
    try {
      const r = await undici().request(this.#address, {
        method: this.#preserveMethod ? ((req.method ?? 'GET') as 'GET') : 'GET',
        headers: this.authHeaders(req, ctx),
        body: held !== null && held.chunks.length > 0 ? Buffer.concat(held.chunks) : undefined,
        headersTimeout: AUTH_TIMEOUT_MS,
        bodyTimeout: AUTH_TIMEOUT_MS,
        dispatcher: this.#dispatcher,
      });
      status = r.statusCode;
      headers = r.headers as AuthHeaders;
      const read = await readAtMost(r.body, this.#maxBody);
      if (read === null) {
        // As Traefik: an auth answer too large to judge is a refusal.
        ctx.errorText = `forward auth: response body larger than maxResponseBodySize (${this.#maxBody} bytes)`;
        if (!res.headersSent && !res.destroyed) sendText(res, ctx, 401, 'Unauthorized');
        return;
      }
      body = read;
    } catch (err) {
      this.#logger.error('forward auth server unreachable', { middleware: this.#name, address: this.#address, err });
      ctx.errorText = `forward auth: ${(err as Error).message}`;
      if (!res.headersSent && !res.destroyed) sendText(res, ctx, 500, 'Internal Server Error');
      return;
    }
    if (res.destroyed) return;
    if (this.#headerField !== null) {
      const user = headers[this.#headerField];
      if (user !== undefined) ctx.user = Array.isArray(user) ? user[0]! : user;
    }
    if (status === 401 && this.#signin !== null) {
      ctx.errorText = 'forward auth: 401, redirected to authSigninURL';
      sendText(res, ctx, 302, `302 Found: ${this.#signin}`, { location: this.#signin });
      return;
    }
    if (status < 200 || status >= 300) return this.#deny(res, ctx, status, headers, body);
    // The body was read for the auth server: the request goes on with the same bytes.
    if (held !== null) req = replayOf(req, held);
    this.#copyHeaders(req, headers);
    if (this.#cookieNames !== null) {
      const cookies = this.#authCookies(headers['set-cookie']);
      if (cookies !== null) ctx.addResponseModifier(new AuthCookies(cookies, this.#cookieNames));
    }
    this.#next(req, res, ctx);
  }

  #deny(res: ServerResponse, ctx: RequestContext, status: number, headers: AuthHeaders, body: Buffer): void {
    const out: ResponseHeaders = {};
    const connectionListed = listedInConnection(headers.connection);
    for (const name in headers) {
      const v = headers[name];
      if (v === undefined || SKIP_RESPONSE.has(name) || (connectionListed !== null && connectionListed.has(name))) continue;
      out[name] = v;
    }
    const location = headers.location;
    if (typeof location === 'string' && location !== '' && !this.#preserveLocation) {
      try {
        out.location = new URL(location, this.#address).href;
      } catch {
        // Go's Response.Location fails on an unparsable Location and Traefik answers 500.
        sendText(res, ctx, 500, 'Internal Server Error');
        return;
      }
    }
    out['content-length'] = body.length;
    writeHead(res, ctx, status, out);
    res.end(body);
  }

  /** #copyHeaders moves the chosen auth response headers into the request, replacing any the client sent. */
  #copyHeaders(req: IncomingMessage, headers: AuthHeaders): void {
    const h = req.headers;
    for (const name of this.#responseHeaders) {
      // Deleting first keeps a client from smuggling an identity the auth server did not give.
      delete h[name];
      const v = headers[name];
      if (v !== undefined) (h as AuthHeaders)[name] = asRequestHeader(name, v);
    }
    const re = this.#responseRegex;
    if (re !== null) {
      for (const name in h) if (re.test(canonicalName(name))) delete h[name];
      for (const name in headers) {
        const v = headers[name];
        if (v !== undefined && re.test(canonicalName(name))) (h as AuthHeaders)[name] = asRequestHeader(name, v);
      }
    }
  }

  #authCookies(setCookie: string | string[] | undefined): string[] | null {
    if (setCookie === undefined) return null;
    const names = this.#cookieNames!;
    const out: string[] = [];
    for (const c of Array.isArray(setCookie) ? setCookie : [setCookie]) if (names.has(cookieName(c))) out.push(c);
    return out.length > 0 ? out : null;
  }
}

/** readAtMost reads a body whole if it has at most `max` bytes (max < 0: any size); else null, and the rest is not read. */
async function readAtMost(body: AsyncIterable<Buffer> & { destroy(): void }, max: number): Promise<Buffer | null> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of body) {
    size += chunk.length;
    if (max >= 0 && size > max) {
      body.destroy();
      return null;
    }
    chunks.push(chunk);
  }
  return Buffer.concat(chunks, size);
}

/** asRequestHeader stores a value the way Node's req.headers does: repeated values joined, except Set-Cookie. */
function asRequestHeader(name: string, v: string | string[]): string | string[] {
  return Array.isArray(v) && name !== 'set-cookie' ? v.join(', ') : v;
}

function pick(trust: boolean, forwarded: string | string[] | undefined, own: string): string {
  if (trust && forwarded !== undefined && forwarded !== '') return Array.isArray(forwarded) ? forwarded[0]! : forwarded;
  return own;
}

/** listedInConnection returns the header names a Connection header declares hop-by-hop. */
function listedInConnection(v: string | string[] | undefined): Set<string> | null {
  if (v === undefined || v === '') return null;
  const out = new Set<string>();
  for (const part of (Array.isArray(v) ? v.join(',') : v).split(',')) {
    const name = part.trim().toLowerCase();
    if (name !== '' && name !== 'close' && name !== 'keep-alive') out.add(name);
  }
  return out.size > 0 ? out : null;
}

export const forwardAuth: MiddlewareFactory<ForwardAuthOptions> = {
  type: 'forwardAuth',
  schema: forwardAuthSchema,
  create(options, next, env) {
    const fa = new ForwardAuth(options, next, env.logger, env.name, env.cwd, (r) => env.retain(r));
    return function forwardAuthHandler(req: IncomingMessage, res: ServerResponse, ctx: RequestContext): void {
      fa.handle(req, res, ctx).catch(onUnexpected);
    };
    function onUnexpected(err: unknown): void {
      // A throw from the rest of the chain after the auth answer: log it rather than crash.
      env.logger.error('forwardAuth: handler failed', { middleware: env.name, err });
    }
  },
};
