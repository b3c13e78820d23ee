import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { IncomingHttpHeaders } from 'node:http';
import { performance } from 'node:perf_hooks';
import { build, createError, request, startMiddlewareServer, type MiddlewareServerOptions } from '../testutil.js';
import { headers } from './index.js';
import { sendText } from '../../proxy/respond.js';

interface Case {
  desc: string;
  options: Record<string, unknown>;
  method?: string;
  reqHeaders?: Record<string, string>;
  server?: MiddlewareServerOptions;
  status?: number;
  /** Whether the request must reach next (default: true when status is 200). */
  reached?: boolean;
  /** Response headers expected (undefined value: must be absent). */
  res?: Record<string, string | undefined>;
  /** Request headers next must have seen (undefined value: must be absent). */
  seen?: Record<string, string | undefined>;
}

async function run(c: Case): Promise<void> {
  const srv = await startMiddlewareServer(build(headers, c.options), c.server);
  try {
    const r = await request(srv.url, '/foo', { method: c.method, headers: c.reqHeaders });
    const status = c.status ?? 200;
    assert.equal(r.status, status);
    const seen = srv.lastSeen();
    const reached = c.reached ?? status === 200;
    assert.equal(seen !== null, reached, reached ? 'request should reach next' : 'request should not reach next');
    for (const [k, v] of Object.entries(c.res ?? {})) assert.equal(r.headers[k], v, `response header ${k}`);
    for (const [k, v] of Object.entries(c.seen ?? {})) assert.equal((seen?.headers as IncomingHttpHeaders)[k], v, `request header ${k}`);
  } finally {
    await srv.close();
  }
}

describe('headers: custom request headers', () => {
  const cases: Case[] = [
    { desc: 'adds a header', options: { customRequestHeaders: { 'X-Custom-Request-Header': 'test_request' } }, seen: { 'x-custom-request-header': 'test_request', foo: 'bar' } },
    { desc: 'empty value deletes a header', options: { customRequestHeaders: { Foo: '', 'X-Absent': '' } }, seen: { foo: undefined } },
    { desc: 'overrides a header', options: { customRequestHeaders: { Foo: 'test' } }, seen: { foo: 'test' } },
    { desc: 'sets the Host header', options: { customRequestHeaders: { Host: 'example.com' } }, seen: { host: 'example.com' } },
    { desc: 'numbers are accepted as values', options: { customRequestHeaders: { 'X-N': 5 } }, seen: { 'x-n': '5' } },
  ];
  for (const c of cases) it(c.desc, () => run({ reqHeaders: { foo: 'bar' }, ...c }));
});

describe('headers: custom response headers', () => {
  const server = { upstreamHeaders: { foo: 'bar' } };
  const cases: Case[] = [
    { desc: 'adds headers', options: { customResponseHeaders: { Testing: 'foo', Testing2: 'bar' } }, server, res: { foo: 'bar', testing: 'foo', testing2: 'bar' } },
    { desc: 'empty value removes an upstream header', options: { customResponseHeaders: { Testing: 'foo', Foo: '' } }, server, res: { foo: undefined, testing: 'foo' } },
    { desc: 'overrides an upstream header', options: { customResponseHeaders: { Foo: 'baz' } }, server, res: { foo: 'baz' } },
  ];
  for (const c of cases) it(c.desc, () => run(c));

  it('also applies to a Gantry-made answer of an inner middleware', async () => {
    // The inner handler answers itself instead of calling next, as an error page would.
    const srv = await startMiddlewareServer(() => build(headers, { customResponseHeaders: { 'X-Frame': 'yes' } })((_req, res, ctx) => sendText(res, ctx, 503, 'down')));
    try {
      const r = await request(srv.url, '/');
      assert.equal(r.status, 503);
      assert.equal(r.headers['x-frame'], 'yes');
    } finally {
      await srv.close();
    }
  });
});

describe('headers: CORS preflight', () => {
  const preflight = { 'access-control-request-headers': 'origin', 'access-control-request-method': 'GET', origin: 'https://foo.bar.org' };
  const cases: Case[] = [
    {
      desc: 'simple preflight',
      options: { accessControlAllowMethods: ['GET', 'OPTIONS', 'PUT'], accessControlAllowOriginList: ['https://foo.bar.org'], accessControlMaxAge: 600 },
      res: { 'access-control-allow-origin': 'https://foo.bar.org', 'access-control-max-age': '600', 'access-control-allow-methods': 'GET,OPTIONS,PUT', 'content-length': '0' },
    },
    {
      desc: 'wildcard origin',
      options: { accessControlAllowMethods: ['GET'], accessControlAllowOriginList: ['*'], accessControlMaxAge: 600 },
      res: { 'access-control-allow-origin': '*', 'access-control-max-age': '600', 'access-control-allow-methods': 'GET' },
    },
    {
      desc: 'credentials and allowed headers',
      options: { accessControlAllowOriginList: ['*'], accessControlAllowCredentials: true, accessControlAllowHeaders: ['origin', 'X-Forwarded-For'] },
      res: { 'access-control-allow-credentials': 'true', 'access-control-allow-headers': 'origin,X-Forwarded-For', 'access-control-max-age': '0' },
    },
    {
      desc: 'origin not allowed: no allow-origin, still answered',
      options: { accessControlAllowOriginList: ['https://other.org'], accessControlAllowMethods: ['GET'] },
      res: { 'access-control-allow-origin': undefined, 'access-control-allow-methods': 'GET' },
    },
    {
      desc: 'origin allowed by regex',
      options: { accessControlAllowOriginListRegex: ['^https://([a-z]+)\\.bar\\.org$'] },
      res: { 'access-control-allow-origin': 'https://foo.bar.org' },
    },
    {
      desc: 'security and custom response headers are not added to a preflight',
      options: { accessControlAllowOriginList: ['*'], frameDeny: true, customResponseHeaders: { 'X-A': 'b' } },
      res: { 'x-frame-options': undefined, 'x-a': undefined },
    },
  ];
  for (const c of cases) it(c.desc, () => run({ method: 'OPTIONS', reqHeaders: preflight, reached: false, ...c }));

  const passes: Case[] = [
    { desc: 'OPTIONS without Access-Control-Request-Method goes to the backend', options: { accessControlAllowOriginList: ['*'] }, method: 'OPTIONS', reqHeaders: { origin: 'https://a' } },
    { desc: 'OPTIONS without Origin goes to the backend', options: { accessControlAllowOriginList: ['*'] }, method: 'OPTIONS', reqHeaders: { 'access-control-request-method': 'GET' } },
    { desc: 'preflight without CORS options goes to the backend', options: { customRequestHeaders: { foo: 'bar' } }, method: 'OPTIONS', reqHeaders: preflight, res: { 'access-control-allow-origin': undefined } },
  ];
  for (const c of passes) it(c.desc, () => run(c));
});

describe('headers: CORS responses', () => {
  const origin = { origin: 'https://foo.bar.org' };
  const cases: Case[] = [
    { desc: 'exact origin', options: { accessControlAllowOriginList: ['https://foo.bar.org'] }, reqHeaders: origin, res: { 'access-control-allow-origin': 'https://foo.bar.org' } },
    { desc: 'wildcard origin', options: { accessControlAllowOriginList: ['*'] }, reqHeaders: origin, res: { 'access-control-allow-origin': '*' } },
    { desc: 'exact entry before wildcard wins', options: { accessControlAllowOriginList: ['https://foo.bar.org', '*'] }, reqHeaders: origin, res: { 'access-control-allow-origin': 'https://foo.bar.org' } },
    { desc: 'regex origin', options: { accessControlAllowOriginListRegex: ['^https?://([a-z]+)\\.bar\\.org$'] }, reqHeaders: origin, res: { 'access-control-allow-origin': 'https://foo.bar.org' } },
    { desc: 'partial regex match is enough', options: { accessControlAllowOriginListRegex: ['([a-z]+)\\.bar'] }, reqHeaders: origin, res: { 'access-control-allow-origin': 'https://foo.bar.org' } },
    { desc: 'regex without match', options: { accessControlAllowOriginListRegex: ['([a-z]+)\\.bar\\.org'] }, reqHeaders: { origin: 'https://bar.org' }, res: { 'access-control-allow-origin': undefined } },
    { desc: 'no Origin header', options: { accessControlAllowOriginList: ['https://foo.bar.org'] }, res: { 'access-control-allow-origin': undefined } },
    { desc: 'allow credentials', options: { accessControlAllowOriginList: ['*'], accessControlAllowCredentials: true }, reqHeaders: origin, res: { 'access-control-allow-credentials': 'true' } },
    { desc: 'expose headers', options: { accessControlAllowOriginList: ['*'], accessControlExposeHeaders: ['origin', 'X-Forwarded-For'] }, reqHeaders: origin, res: { 'access-control-expose-headers': 'origin,X-Forwarded-For' } },
    { desc: 'Vary: Origin added', options: { accessControlAllowOriginList: ['https://foo.bar.org'], addVaryHeader: true }, reqHeaders: origin, res: { vary: 'Origin' } },
    { desc: 'Vary appended to the upstream one', options: { accessControlAllowOriginList: ['https://foo.bar.org'], addVaryHeader: true }, server: { upstreamHeaders: { vary: 'Testing' } }, reqHeaders: origin, res: { vary: 'Testing,Origin' } },
    { desc: 'existing Vary: Origin kept once', options: { accessControlAllowOriginList: ['https://foo.bar.org'], addVaryHeader: true }, server: { upstreamHeaders: { vary: 'Origin' } }, reqHeaders: origin, res: { vary: 'Origin' } },
    { desc: 'upstream allow-origin overwritten', options: { accessControlAllowOriginList: ['*'] }, server: { upstreamHeaders: { 'access-control-allow-origin': 'http://foo.bar.org' } }, reqHeaders: origin, res: { 'access-control-allow-origin': '*' } },
  ];
  for (const c of cases) it(c.desc, () => run(c));
});

describe('headers: security headers', () => {
  const cases: Case[] = [
    { desc: 'frameDeny', options: { frameDeny: true }, res: { 'x-frame-options': 'DENY' } },
    { desc: 'customFrameOptionsValue wins over frameDeny', options: { frameDeny: true, customFrameOptionsValue: 'SAMEORIGIN' }, res: { 'x-frame-options': 'SAMEORIGIN' } },
    { desc: 'contentTypeNosniff', options: { contentTypeNosniff: true }, res: { 'x-content-type-options': 'nosniff' } },
    { desc: 'browserXssFilter', options: { browserXssFilter: true }, res: { 'x-xss-protection': '1; mode=block' } },
    { desc: 'customBrowserXSSValue', options: { browserXssFilter: true, customBrowserXSSValue: '0' }, res: { 'x-xss-protection': '0' } },
    { desc: 'contentSecurityPolicy', options: { contentSecurityPolicy: "default-src 'self'" }, res: { 'content-security-policy': "default-src 'self'" } },
    { desc: 'contentSecurityPolicyReportOnly', options: { contentSecurityPolicyReportOnly: "default-src 'none'" }, res: { 'content-security-policy-report-only': "default-src 'none'" } },
    { desc: 'referrerPolicy', options: { referrerPolicy: 'no-referrer' }, res: { 'referrer-policy': 'no-referrer' } },
    { desc: 'permissionsPolicy', options: { permissionsPolicy: 'camera=()' }, res: { 'permissions-policy': 'camera=()' } },
    { desc: 'featurePolicy (deprecated name, still sent)', options: { featurePolicy: "camera 'none'" }, res: { 'feature-policy': "camera 'none'" } },
    { desc: 'security header overrides upstream', options: { frameDeny: true }, server: { upstreamHeaders: { 'x-frame-options': 'ALLOW' } }, res: { 'x-frame-options': 'DENY' } },
    { desc: 'custom response header overrides a security header', options: { frameDeny: true, customResponseHeaders: { 'X-Frame-Options': 'SAMEORIGIN' } }, res: { 'x-frame-options': 'SAMEORIGIN' } },
    { desc: 'STS not sent over plain HTTP', options: { stsSeconds: 315360000 }, res: { 'strict-transport-security': undefined } },
    { desc: 'STS sent over HTTPS', options: { stsSeconds: 315360000, stsIncludeSubdomains: true, stsPreload: true }, server: { scheme: 'https' }, res: { 'strict-transport-security': 'max-age=315360000; includeSubDomains; preload' } },
    { desc: 'STS forced over HTTP', options: { stsSeconds: 60, forceSTSHeader: true }, res: { 'strict-transport-security': 'max-age=60' } },
    { desc: 'STS when an sslProxyHeaders header matches', options: { stsSeconds: 60, sslProxyHeaders: { 'X-Forwarded-Proto': 'https' } }, reqHeaders: { 'x-forwarded-proto': 'https' }, res: { 'strict-transport-security': 'max-age=60' } },
    { desc: 'no STS when the sslProxyHeaders value differs', options: { stsSeconds: 60, sslProxyHeaders: { 'X-Forwarded-Proto': 'https' } }, reqHeaders: { 'x-forwarded-proto': 'http' }, res: { 'strict-transport-security': undefined } },
    { desc: 'isDevelopment disables STS', options: { stsSeconds: 60, forceSTSHeader: true, isDevelopment: true }, server: { scheme: 'https' }, res: { 'strict-transport-security': undefined } },
    { desc: 'publicKey only over HTTPS', options: { publicKey: 'pin-sha256="x"' }, res: { 'public-key-pins': undefined } },
    { desc: 'publicKey over HTTPS', options: { publicKey: 'pin-sha256="x"' }, server: { scheme: 'https' }, res: { 'public-key-pins': 'pin-sha256="x"' } },
  ];
  for (const c of cases) it(c.desc, () => run(c));
});

describe('headers: allowedHosts', () => {
  const cases: Case[] = [
    { desc: 'allowed host passes', options: { allowedHosts: ['example.com'] }, reqHeaders: { host: 'Example.com' } },
    { desc: 'other host gets 500 Bad Host', options: { allowedHosts: ['example.com'] }, reqHeaders: { host: 'evil.com' }, status: 500 },
    { desc: 'host includes its port', options: { allowedHosts: ['example.com'] }, reqHeaders: { host: 'example.com:8080' }, status: 500 },
    { desc: 'hostsProxyHeaders checked first', options: { allowedHosts: ['example.com'], hostsProxyHeaders: ['X-Forwarded-Host'] }, reqHeaders: { host: 'internal', 'x-forwarded-host': 'example.com' } },
    { desc: 'isDevelopment disables the check', options: { allowedHosts: ['example.com'], isDevelopment: true }, reqHeaders: { host: 'evil.com' } },
  ];
  for (const c of cases) it(c.desc, () => run(c));
});

describe('headers: configuration errors', () => {
  const cases = [
    { desc: 'nothing configured', options: {}, re: /headers configuration not valid/ },
    { desc: 'bad origin regex', options: { accessControlAllowOriginListRegex: ['a(b'] }, re: /accessControlAllowOriginListRegex\[0\]/ },
    { desc: 'bad header name', options: { customRequestHeaders: { 'Bad Name': 'x' } }, re: /invalid header name/ },
    { desc: 'CRLF in a value', options: { customResponseHeaders: { 'X-A': 'a\r\nSet-Cookie: x' } }, re: /CR, LF/ },
    { desc: 'a control character in a value', options: { customResponseHeaders: { 'X-A': 'a\x01b' } }, re: /customResponseHeaders\.X-A: .*control character/ },
    { desc: 'a character beyond Latin-1 in a value', options: { customRequestHeaders: { 'X-A': 'a→b' } }, re: /customRequestHeaders\.X-A: .*beyond Latin-1/ },
    { desc: 'a control character in a security header', options: { contentSecurityPolicy: "default-src 'self'\x7f" }, re: /contentSecurityPolicy/ },
    { desc: 'unknown option', options: { frameDenied: true }, re: /./ },
  ];
  for (const c of cases) it(c.desc, () => assert.match(createError(headers, c.options) ?? '', c.re));
  it('accepts removed v2 options with a warning', () => assert.equal(createError(headers, { sslRedirect: true, frameDeny: true }), null));
});

describe('headers: allow-origin regexps in linear time', () => {
  it('answers a pathological Origin quickly', { timeout: 20_000 }, async () => {
    const origin = 'https://' + 'a'.repeat(10_000) + '!';
    const t0 = performance.now();
    await run({
      desc: 'pathological origin',
      options: { accessControlAllowOriginListRegex: ['^https://(a+)+$'] },
      reqHeaders: { origin },
      res: { 'access-control-allow-origin': undefined },
    });
    const ms = performance.now() - t0;
    // Measured here: 5–15 ms for the whole request, server start included (backtracking: hours).
    assert.ok(ms < 250, `took ${ms.toFixed(1)} ms`);
  });
  it('is Go syntax: (?i) and named groups', () =>
    run({
      desc: 'go syntax',
      options: { accessControlAllowOriginListRegex: ['(?i)^https://(?P<sub>[a-z]+)\\.BAR\\.org$'] },
      reqHeaders: { origin: 'https://foo.bar.org' },
      res: { 'access-control-allow-origin': 'https://foo.bar.org' },
    }));
});
