/**
 * headers sets request and response headers, answers CORS preflights and adds security headers
 * (Traefik `pkg/middlewares/headers`, whose security part is unrolled/secure). Order, as in
 * Traefik: a CORS preflight is answered first; then custom request headers are applied; then the
 * allowed-hosts check; the response head (upstream's or an error page) gets the security headers,
 * then the custom response headers, then the CORS headers.
 */
import type { IncomingMessage } from 'node:http';
import * as z from '../../config/zod.js';
import type { Handler, RequestContext, ResponseHeaders, ResponseModifier } from '../../proxy/context.js';
import { sendText, writeHead } from '../../proxy/respond.js';
import { ConfigError } from '../../errors.js';
import type { MiddlewareFactory } from '../types.js';
import { compileConfigRegexp } from '../../regexp/index.js';
import { FRAMING_REQUEST_HEADERS, FRAMING_RESPONSE_HEADERS, withFastStep } from '../fast-step.js';

const headerValue = z.union([z.string(), z.number(), z.boolean()]);
const headerMap = z.record(z.string(), headerValue);

export const headersSchema = z.strictObject({
  customRequestHeaders: headerMap.optional(),
  customResponseHeaders: headerMap.optional(),
  accessControlAllowCredentials: z.boolean().optional(),
  accessControlAllowHeaders: z.array(z.string()).optional(),
  accessControlAllowMethods: z.array(z.string()).optional(),
  accessControlAllowOriginList: z.array(z.string()).optional(),
  accessControlAllowOriginListRegex: z.array(z.string()).optional(),
  accessControlExposeHeaders: z.array(z.string()).optional(),
  accessControlMaxAge: z.number().int().optional(),
  addVaryHeader: z.boolean().optional(),
  allowedHosts: z.array(z.string()).optional(),
  hostsProxyHeaders: z.array(z.string()).optional(),
  sslProxyHeaders: headerMap.optional(),
  stsSeconds: z.number().int().min(0).optional(),
  stsIncludeSubdomains: z.boolean().optional(),
  stsPreload: z.boolean().optional(),
  forceSTSHeader: z.boolean().optional(),
  frameDeny: z.boolean().optional(),
  customFrameOptionsValue: z.string().optional(),
  contentTypeNosniff: z.boolean().optional(),
  browserXssFilter: z.boolean().optional(),
  customBrowserXSSValue: z.string().optional(),
  contentSecurityPolicy: z.string().optional(),
  contentSecurityPolicyReportOnly: z.string().optional(),
  publicKey: z.string().optional(),
  referrerPolicy: z.string().optional(),
  permissionsPolicy: z.string().optional(),
  isDevelopment: z.boolean().optional(),
  // Deprecated in Traefik v2 and removed in v3; accepted so old files load, see create().
  featurePolicy: z.string().optional(),
  sslRedirect: z.boolean().optional(),
  sslTemporaryRedirect: z.boolean().optional(),
  sslHost: z.string().optional(),
  sslForceHost: z.boolean().optional(),
});

export type HeadersOptions = z.infer<typeof headersSchema>;

const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
// What node:http's setHeader accepts (RFC 9110 field-value: HTAB, SP, visible ASCII, obs-text), so a
// value works on both lanes — the fast lane writes field lines as Latin-1 text — or is refused here.
const BAD_VALUE = /[^\t\x20-\x7e\x80-\xff]/;

type Entry = readonly [name: string, value: string];

function entries(map: Record<string, string | number | boolean> | undefined, where: string): Entry[] {
  const out: Entry[] = [];
  for (const [name, raw] of Object.entries(map ?? {})) {
    if (!TOKEN.test(name)) throw new ConfigError(`${where}.${name}`, 'invalid header name');
    const value = String(raw);
    if (BAD_VALUE.test(value)) throw new ConfigError(`${where}.${name}`, 'header value contains CR, LF, NUL, another control character or a character beyond Latin-1');
    out.push([name.toLowerCase(), value]);
  }
  return out;
}

function checkValue(v: string | undefined, where: string): string {
  if (v === undefined) return '';
  if (BAD_VALUE.test(v)) throw new ConfigError(where, 'header value contains CR, LF, NUL, another control character or a character beyond Latin-1');
  return v;
}

/** Plan is everything precomputed from the options that the response modifier needs. */
interface Plan {
  /** Security headers for plain-HTTP and for HTTPS requests (STS and Public-Key-Pins only on HTTPS). */
  secureHttp: Entry[];
  secureHttps: Entry[];
  customResponse: Entry[];
  cors: boolean;
  allowCredentials: boolean;
  exposeHeaders: string;
  addVary: boolean;
}

/**
 * HeadersModifier is the response side. One instance exists per (scheme, allowed origin) known
 * when the middleware is built; only an origin accepted by a regular expression needs a new one.
 */
class HeadersModifier implements ResponseModifier {
  readonly #plan: Plan;
  readonly #secure: Entry[];
  readonly #origin: string | null;
  /** modifyResponse's change as field edits, for the fast lane (without CORS it is just these). */
  readonly fastEdits: readonly Entry[] | undefined;

  constructor(plan: Plan, ssl: boolean, origin: string | null) {
    this.#plan = plan;
    this.#secure = ssl ? plan.secureHttps : plan.secureHttp;
    this.#origin = origin;
    this.fastEdits = plan.cors ? undefined : [...this.#secure, ...plan.customResponse];
  }

  modifyResponse(status: number, headers: ResponseHeaders, _ctx: RequestContext): number {
    const plan = this.#plan;
    const secure = this.#secure;
    for (let i = 0; i < secure.length; i++) headers[secure[i]![0]] = secure[i]![1];
    const custom = plan.customResponse;
    for (let i = 0; i < custom.length; i++) {
      const [name, value] = custom[i]!;
      if (value === '') delete headers[name];
      else headers[name] = value;
    }
    if (!plan.cors) return status;
    if (this.#origin !== null) headers['access-control-allow-origin'] = this.#origin;
    if (plan.allowCredentials) headers['access-control-allow-credentials'] = 'true';
    if (plan.exposeHeaders !== '') headers['access-control-expose-headers'] = plan.exposeHeaders;
    if (plan.addVary) {
      const cur = headers['vary'];
      const vary = cur === undefined ? '' : Array.isArray(cur) ? cur.join(',') : String(cur);
      if (vary !== 'Origin') headers['vary'] = vary === '' ? 'Origin' : `${vary},Origin`;
    }
    return status;
  }
}

type Pair = readonly [http: HeadersModifier, https: HeadersModifier];

export const headers: MiddlewareFactory<HeadersOptions> = {
  type: 'headers',
  schema: headersSchema,
  create(o, next, env) {
    for (const k of ['sslRedirect', 'sslTemporaryRedirect', 'sslHost', 'sslForceHost'] as const) {
      if (o[k] !== undefined) env.logger.warn(`headers: ${k} was removed in Traefik v3 and is ignored; use the redirectScheme middleware`, { middleware: env.name });
    }
    const customRequest = entries(o.customRequestHeaders, 'headers.customRequestHeaders');
    const customResponse = entries(o.customResponseHeaders, 'headers.customResponseHeaders');
    const sslProxy = entries(o.sslProxyHeaders, 'headers.sslProxyHeaders');
    const originList = o.accessControlAllowOriginList ?? [];
    const originRegexes = (o.accessControlAllowOriginListRegex ?? []).map((r, i) => compileConfigRegexp(r, `headers.accessControlAllowOriginListRegex[${i}]`));
    const allowHeaders = (o.accessControlAllowHeaders ?? []).join(',');
    const allowMethods = (o.accessControlAllowMethods ?? []).join(',');
    const exposeHeaders = (o.accessControlExposeHeaders ?? []).join(',');
    for (const [k, v] of [['accessControlAllowHeaders', allowHeaders], ['accessControlAllowMethods', allowMethods], ['accessControlExposeHeaders', exposeHeaders]] as const) {
      checkValue(v, `headers.${k}`);
    }
    const maxAge = String(o.accessControlMaxAge ?? 0);
    const allowCredentials = o.accessControlAllowCredentials === true;
    const addVary = o.addVaryHeader === true;

    const hasCustom = customRequest.length > 0 || customResponse.length > 0;
    const hasCors =
      allowCredentials || allowHeaders !== '' || allowMethods !== '' || originList.length > 0 || originRegexes.length > 0 || exposeHeaders !== '' || (o.accessControlMaxAge ?? 0) !== 0 || addVary;
    const dev = o.isDevelopment === true;

    // Security headers, in unrolled/secure's order.
    const secure: Entry[] = [];
    const stsSeconds = o.stsSeconds ?? 0;
    const frame = checkValue(o.customFrameOptionsValue, 'headers.customFrameOptionsValue') || (o.frameDeny === true ? 'DENY' : '');
    if (frame !== '') secure.push(['x-frame-options', frame]);
    if (o.contentTypeNosniff === true) secure.push(['x-content-type-options', 'nosniff']);
    const xss = checkValue(o.customBrowserXSSValue, 'headers.customBrowserXSSValue') || (o.browserXssFilter === true ? '1; mode=block' : '');
    if (xss !== '') secure.push(['x-xss-protection', xss]);
    const csp = checkValue(o.contentSecurityPolicy, 'headers.contentSecurityPolicy');
    if (csp !== '') secure.push(['content-security-policy', csp]);
    const cspRO = checkValue(o.contentSecurityPolicyReportOnly, 'headers.contentSecurityPolicyReportOnly');
    if (cspRO !== '') secure.push(['content-security-policy-report-only', cspRO]);
    const referrer = checkValue(o.referrerPolicy, 'headers.referrerPolicy');
    if (referrer !== '') secure.push(['referrer-policy', referrer]);
    const feature = checkValue(o.featurePolicy, 'headers.featurePolicy');
    if (feature !== '') secure.push(['feature-policy', feature]);
    const permissions = checkValue(o.permissionsPolicy, 'headers.permissionsPolicy');
    if (permissions !== '') secure.push(['permissions-policy', permissions]);

    const sts = stsSeconds !== 0 && !dev ? `max-age=${stsSeconds}${o.stsIncludeSubdomains === true ? '; includeSubDomains' : ''}${o.stsPreload === true ? '; preload' : ''}` : '';
    const publicKey = dev ? '' : checkValue(o.publicKey, 'headers.publicKey');
    const secureHttps: Entry[] = [...secure];
    const secureHttp: Entry[] = [...secure];
    if (sts !== '') {
      secureHttps.unshift(['strict-transport-security', sts]);
      // RFC 6797 §7.2: STS belongs on secure responses only; forceSTSHeader also sends it over HTTP (TLS ended in front of Gantry).
      if (o.forceSTSHeader === true) secureHttp.unshift(['strict-transport-security', sts]);
    }
    if (publicKey !== '') secureHttps.push(['public-key-pins', publicKey]);

    const allowedHosts = dev ? [] : (o.allowedHosts ?? []).map((h) => h.toLowerCase());
    const hostsProxy = (o.hostsProxyHeaders ?? []).map((h) => h.toLowerCase());
    const hasSecure =
      secure.length > 0 || sts !== '' || stsSeconds !== 0 || o.publicKey !== undefined || (o.allowedHosts ?? []).length > 0 || hostsProxy.length > 0 || sslProxy.length > 0 || o.forceSTSHeader === true || dev;
    if (!hasSecure && !hasCustom && !hasCors) throw new ConfigError('headers', 'headers configuration not valid: no header to set');

    const plan: Plan = { secureHttp, secureHttps, customResponse, cors: hasCors, allowCredentials, exposeHeaders, addVary };
    const pair = (origin: string | null): Pair => [new HeadersModifier(plan, false, origin), new HeadersModifier(plan, true, origin)];
    const none = pair(null);
    const exact = new Map<string, Pair>();
    let star: Pair | null = null;
    for (const item of originList) {
      if (item === '*') {
        star = pair('*');
        break; // Traefik takes the first entry that matches; nothing after '*' can.
      }
      if (!exact.has(item)) exact.set(item, pair(item));
    }
    const needsModifier = secure.length > 0 || sts !== '' || publicKey !== '' || hasCustom || hasCors;

    const isSSL = (req: IncomingMessage, ctx: RequestContext): boolean => {
      if (ctx.scheme === 'https') return true;
      for (let i = 0; i < sslProxy.length; i++) if (req.headers[sslProxy[i]![0]] === sslProxy[i]![1]) return true;
      return false;
    };

    const preflight = (allowed: string | null): ResponseHeaders => {
      const h: ResponseHeaders = {};
      if (allowCredentials) h['access-control-allow-credentials'] = 'true';
      if (allowHeaders !== '') h['access-control-allow-headers'] = allowHeaders;
      if (allowMethods !== '') h['access-control-allow-methods'] = allowMethods;
      if (allowed !== null) h['access-control-allow-origin'] = allowed;
      h['access-control-max-age'] = maxAge;
      h['content-length'] = 0;
      return h;
    };

    const regexAllows = (origin: string): boolean => {
      if (origin === '') return false;
      for (let i = 0; i < originRegexes.length; i++) if (originRegexes[i]!.test(origin)) return true;
      return false;
    };
    const allowedOrigin = (origin: string): string | null => {
      if (exact.has(origin)) return origin;
      if (star !== null) return '*';
      return regexAllows(origin) ? origin : null;
    };

    const handler: Handler = (req, res, ctx) => {
      const originHeader = req.headers.origin;
      const origin = originHeader === undefined ? '' : originHeader;
      if (hasCors && req.method === 'OPTIONS' && origin !== '') {
        const acrm = req.headers['access-control-request-method'];
        if (acrm !== undefined && acrm !== '') {
          // A CORS preflight is answered here (https://fetch.spec.whatwg.org/#cors-preflight-fetch).
          writeHead(res, ctx, 200, preflight(allowedOrigin(origin)));
          res.end();
          return;
        }
      }
      for (let i = 0; i < customRequest.length; i++) {
        const [name, value] = customRequest[i]!;
        if (value === '') delete req.headers[name];
        else req.headers[name] = value;
      }
      if (allowedHosts.length > 0) {
        let host = req.headers.host ?? '';
        for (const h of hostsProxy) {
          const v = req.headers[h];
          if (typeof v === 'string' && v !== '') {
            host = v;
            break;
          }
        }
        if (!allowedHosts.includes(host.toLowerCase())) {
          ctx.errorText = `headers: host ${host} is not in allowedHosts`;
          // unrolled/secure's default bad-host answer is 500 "Bad Host"; Traefik keeps it.
          sendText(res, ctx, 500, '500 Bad Host: the request host is not in allowedHosts');
          return;
        }
      }
      if (needsModifier) {
        const ssl = isSSL(req, ctx) ? 1 : 0;
        let mod: HeadersModifier;
        if (!hasCors) mod = none[ssl];
        else {
          const e = exact.get(origin);
          if (e !== undefined) mod = e[ssl];
          else if (star !== null) mod = star[ssl];
          else if (regexAllows(origin)) mod = new HeadersModifier(plan, ssl === 1, origin);
          else mod = none[ssl];
        }
        ctx.addResponseModifier(mod);
      }
      next(req, res, ctx);
    };

    // The fast lane takes this middleware unless it has CORS to answer or touches what that lane
    // frames itself (Host, Content-Length, Connection …).
    const fastOk =
      !hasCors && customRequest.every(([n]) => !FRAMING_REQUEST_HEADERS.has(n)) && customResponse.every(([n]) => !FRAMING_RESPONSE_HEADERS.has(n));
    if (!fastOk) return handler;
    return withFastStep(handler, (req, ctx) => {
      for (let i = 0; i < customRequest.length; i++) {
        const [name, value] = customRequest[i]!;
        if (value === '') req.removeHeader(name);
        else req.setHeader(name, value);
      }
      if (allowedHosts.length > 0) {
        let host = req.host;
        for (const h of hostsProxy) {
          const v = req.header(h);
          if (v !== undefined && v !== '') {
            host = v;
            break;
          }
        }
        if (!allowedHosts.includes(host.toLowerCase())) return false; // the handler's 500
      }
      if (needsModifier) {
        let ssl = ctx.scheme === 'https';
        for (let i = 0; !ssl && i < sslProxy.length; i++) ssl = req.header(sslProxy[i]![0]) === sslProxy[i]![1];
        ctx.addResponseModifier(none[ssl ? 1 : 0]);
      }
      return true;
    });
  },
};
