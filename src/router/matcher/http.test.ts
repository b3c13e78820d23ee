/**
 * Conformance with Traefik v3's matchers: cases ported from pkg/muxer/http/matcher_test.go and
 * mux_test.go (Test_addRoute, rewritten in v3 syntax). `expected` maps a URL to whether it matches.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { RuleSyntaxError } from '../../errors.js';
import { performance } from 'node:perf_hooks';
import { compileHttpRule, defaultHttpPriority, requiredPathPrefixes } from './http.js';
import { parseRule } from '../rule/parser.js';
import { requestFromURL, type RequestOverrides } from './testing.js';

interface Case {
  desc: string;
  rule: string;
  expectedError?: boolean;
  /** URL → matches? */
  expected?: Record<string, boolean>;
  /** Per-request overrides for every URL of the case. */
  with?: RequestOverrides;
}

function run(cases: Case[]): void {
  for (const c of cases) {
    it(c.desc, () => {
      if (c.expectedError) {
        assert.throws(() => compileHttpRule(c.rule), RuleSyntaxError);
        return;
      }
      const compiled = compileHttpRule(c.rule);
      const got: Record<string, boolean> = {};
      for (const url of Object.keys(c.expected ?? {})) got[url] = compiled.match(requestFromURL(url, c.with));
      assert.deepEqual(got, c.expected);
      for (const url of Object.keys(c.expected ?? {})) {
        const req = requestFromURL(url, c.with);
        assert.equal(compiled.explain(req) === null, compiled.match(req), `explain agrees with match for ${url}`);
      }
    });
  }
}

describe('ClientIP', () => {
  const ip = (clientIP: string, rule: string, expected: boolean): Case => ({ desc: `${rule} with client ${clientIP || '(empty)'}`, rule, with: { clientIP }, expected: { 'https://example.com': expected } });
  run([
    { desc: 'invalid ClientIP matcher', rule: 'ClientIP(`1`)', expectedError: true },
    { desc: 'invalid ClientIP matcher (no parameter)', rule: 'ClientIP()', expectedError: true },
    { desc: 'invalid ClientIP matcher (empty parameter)', rule: 'ClientIP(``)', expectedError: true },
    { desc: 'invalid ClientIP matcher (too many parameters)', rule: 'ClientIP(`127.0.0.1`, `192.168.1.0/24`)', expectedError: true },
    { desc: 'invalid ClientIP (word)', rule: 'ClientIP(`invalid`)', expectedError: true },
    { desc: 'invalid ClientIP (leading zero, as netip refuses)', rule: 'ClientIP(`10.0.0.01`)', expectedError: true },
    { desc: 'invalid ClientIP (prefix too long)', rule: 'ClientIP(`10.0.0.0/33`)', expectedError: true },
    ip('127.0.0.1', 'ClientIP(`127.0.0.1`)', true),
    ip('192.168.1.1', 'ClientIP(`127.0.0.1`)', false),
    ip('1', 'ClientIP(`127.0.0.1`)', false),
    ip('', 'ClientIP(`127.0.0.1`)', false),
    ip('192.168.1.1', 'ClientIP(`192.168.1.0/24`)', true),
    ip('192.168.1.100', 'ClientIP(`192.168.1.0/24`)', true),
    ip('192.168.2.1', 'ClientIP(`192.168.1.0/24`)', false),
    ip('192.168.1.77', 'ClientIP(`192.168.1.5/24`)', true),
    ip('10.0.0.0', 'ClientIP(`10.10.1.1`)', false),
    ip('::1', 'ClientIP(`10::10`)', false),
    ip('10::10', 'ClientIP(`10::10`)', true),
    ip('10::10%eth0', 'ClientIP(`10::10`)', true),
    ip('2001:db8::42', 'ClientIP(`2001:db8::/32`)', true),
    ip('2001:db9::42', 'ClientIP(`2001:db8::/32`)', false),
    ip('::ffff:10.1.2.3', 'ClientIP(`10.0.0.0/8`)', true),
    ip('10.1.2.3', 'ClientIP(`::ffff:10.0.0.0/104`)', true),
    ip('10.1.2.3', 'ClientIP(`::/0`)', false),
    ip('10.1.2.3', 'ClientIP(`0.0.0.0/0`)', true),
    ip('::1', 'ClientIP(`0.0.0.0/0`)', false),
  ]);
});

describe('Method', () => {
  const m = (method: string, rule: string, expected: boolean): Case => ({ desc: `${rule} with ${method}`, rule, with: { method }, expected: { 'https://example.com': expected } });
  run([
    { desc: 'invalid Method matcher (no parameter)', rule: 'Method()', expectedError: true },
    { desc: 'invalid Method matcher (empty parameter)', rule: 'Method(``)', expectedError: true },
    { desc: 'invalid Method matcher (too many parameters)', rule: 'Method(`GET`, `POST`)', expectedError: true },
    m('GET', 'Method(`GET`)', true),
    m('POST', 'Method(`GET`)', false),
    m('get', 'Method(`GET`)', false),
    m('GET', 'Method(`get`)', true),
    m('get', 'Method(`get`)', false),
  ]);
});

describe('Host', () => {
  run([
    { desc: 'invalid Host matcher (no parameter)', rule: 'Host()', expectedError: true },
    { desc: 'invalid Host matcher (empty parameter)', rule: 'Host(``)', expectedError: true },
    { desc: 'invalid Host matcher (non-ASCII)', rule: 'Host(`🦭.com`)', expectedError: true },
    { desc: 'invalid Host matcher (non-ASCII letter)', rule: 'Host(`locàlhost`)', expectedError: true },
    { desc: 'invalid Host matcher (too many parameters)', rule: 'Host(`example.com`, `example.org`)', expectedError: true },
    {
      desc: 'valid Host matcher',
      rule: 'Host(`example.com`)',
      expected: { 'https://example.com': true, 'https://example.com:8080': true, 'https://example.com/path': true, 'https://EXAMPLE.COM/path': true, 'https://example.org': false, 'https://example.org/path': false },
    },
    {
      desc: 'valid Host matcher - matcher ending with a dot',
      rule: 'Host(`example.com.`)',
      expected: { 'https://example.com': true, 'https://example.com/path': true, 'https://example.org': false, 'https://example.com.': true, 'https://example.com./path': true, 'https://example.org.': false },
    },
    { desc: 'valid Host matcher - URL ending with a dot', rule: 'Host(`example.com`)', expected: { 'https://example.com.': true, 'https://example.com./path': true, 'https://example.org.': false } },
    { desc: 'valid Host matcher - matcher with UPPER case', rule: 'Host(`EXAMPLE.COM`)', expected: { 'https://example.com': true, 'https://example.org': false } },
    { desc: 'valid Host matcher - puny-coded emoji', rule: 'Host(`xn--9t9h.com`)', expected: { 'https://xn--9t9h.com': true, 'https://example.com': false, 'https://🦭.com': false } },
    { desc: 'Host IPv4', rule: 'Host(`127.0.0.1`)', expected: { 'http://127.0.0.1/foo': true, 'http://127.0.0.1:8080/foo': true } },
    { desc: 'Host IPv6', rule: 'Host(`10::10`)', expected: { 'http://10::10/foo': true, 'http://[10::10]:80/foo': true, 'http://[10::10]/foo': true } },
    { desc: 'wildcard: one label', rule: 'Host(`*.example.com`)', expected: { 'http://foo.example.com': true, 'http://FOO.example.com': true, 'http://bar.foo.example.com': false, 'http://example.com': false, 'http://fooexample.com': false } },
    { desc: 'double wildcard: any depth', rule: 'Host(`**.example.com`)', expected: { 'http://foo.example.com': true, 'http://bar.foo.example.com': true, 'http://example.com': false, 'http://.example.com': false, 'http://xexample.com': false } },
    { desc: 'wildcard with trailing dot in rule', rule: 'Host(`*.example.com.`)', expected: { 'http://foo.example.com': true, 'http://foo.example.com.': true } },
    { desc: 'a lone star matches single-label hosts only', rule: 'Host(`*`)', expected: { 'http://localhost': true, 'http://a.b': false } },
  ]);
});

describe('HostRegexp', () => {
  run([
    { desc: 'invalid HostRegexp matcher (no parameter)', rule: 'HostRegexp()', expectedError: true },
    { desc: 'invalid HostRegexp matcher (empty parameter)', rule: 'HostRegexp(``)', expectedError: true },
    { desc: 'invalid HostRegexp matcher (non-ASCII)', rule: 'HostRegexp(`🦭.com`)', expectedError: true },
    { desc: 'invalid HostRegexp matcher (invalid regexp)', rule: 'HostRegexp(`(example.com`)', expectedError: true },
    { desc: 'invalid HostRegexp matcher (too many parameters)', rule: 'HostRegexp(`example.com`, `example.org`)', expectedError: true },
    {
      desc: 'valid HostRegexp matcher',
      rule: 'HostRegexp(`^[a-zA-Z-]+\\.com$`)',
      expected: { 'https://example.com': true, 'https://example.com:8080': true, 'https://example.com/path': true, 'https://example.org': false, 'https://example.org/path': false },
    },
    {
      desc: 'valid HostRegexp matcher with case sensitive regexp (hosts are lower-cased first)',
      rule: 'HostRegexp(`^[A-Z]+\\.com$`)',
      expected: { 'https://example.com': false, 'https://EXAMPLE.com': false, 'https://example.org': false },
    },
    { desc: 'valid HostRegexp matcher with Traefik v2 syntax (braces are literals)', rule: 'HostRegexp(`{domain:[a-zA-Z-]+\\.com}`)', expected: { 'https://example.com': false, 'https://example.org': false } },
    { desc: 'HostRegexp is unanchored', rule: 'HostRegexp(`example`)', expected: { 'https://www.example.com': true, 'https://exampl.com': false } },
    { desc: 'HostRegexp with capturing group', rule: 'HostRegexp(`^(foo\\.)?bar\\.com$`)', expected: { 'http://foo.bar.com': true, 'http://bar.com': true, 'http://fooubar.com': false, 'http://barucom': false } },
    { desc: 'HostRegexp with named group (Go syntax)', rule: 'HostRegexp(`^(?P<sub>[a-z]+)\\.bar\\.com$`)', expected: { 'http://foo.bar.com': true, 'http://bar.com': false } },
    { desc: 'HostRegexp (?i) flag', rule: 'HostRegexp(`(?i)^FOO\\.com$`)', expected: { 'http://foo.com': true } },
    // Traefik also tests the pattern against the CNAME-flattened host, "" when flattening is off.
    { desc: 'a HostRegexp that matches "" matches every host', rule: 'HostRegexp(`^[a-z]*$`)', expected: { 'http://a.b.c': true, 'http://abc': true } },
  ]);
});

describe('Path, PathPrefix, PathRegexp', () => {
  run([
    { desc: 'invalid Path matcher (no parameter)', rule: 'Path()', expectedError: true },
    { desc: 'invalid Path matcher (empty parameter)', rule: 'Path(``)', expectedError: true },
    { desc: 'invalid Path matcher (no leading /)', rule: 'Path(`css`)', expectedError: true },
    { desc: 'invalid Path matcher (too many parameters)', rule: 'Path(`/css`, `/js`)', expectedError: true },
    {
      desc: 'valid Path matcher',
      rule: 'Path(`/css`)',
      expected: { 'https://example.com': false, 'https://example.com/html': false, 'https://example.org/css': true, 'https://example.com/css': true, 'https://example.com/css/': false, 'https://example.com/css/main.css': false },
    },
    { desc: 'Path with an encoded unreserved character', rule: 'Path(`/foo bar`)', expected: { 'https://example.com/foo%20bar': true } },
    { desc: 'Path keeps reserved characters encoded', rule: 'Path(`/a/b`)', expected: { 'https://example.com/a%2Fb': false, 'https://example.com/a/b': true } },
    { desc: 'Path matches the encoded reserved character', rule: 'Path(`/a%2Fb`)', expected: { 'https://example.com/a%2Fb': true } },
    { desc: 'invalid PathRegexp matcher (no parameter)', rule: 'PathRegexp()', expectedError: true },
    { desc: 'invalid PathRegexp matcher (empty parameter)', rule: 'PathRegexp(``)', expectedError: true },
    { desc: 'invalid PathRegexp matcher (invalid regexp)', rule: 'PathRegexp(`/(css`)', expectedError: true },
    { desc: 'invalid PathRegexp matcher (too many parameters)', rule: 'PathRegexp(`/css`, `/js`)', expectedError: true },
    { desc: 'invalid PathRegexp matcher (lookahead, not RE2)', rule: 'PathRegexp(`^/(?!admin)`)', expectedError: true },
    { desc: 'invalid PathRegexp matcher (backreference, not RE2)', rule: 'PathRegexp(`^/(a)\\1`)', expectedError: true },
    {
      desc: 'valid PathRegexp matcher',
      rule: 'PathRegexp(`^/(css|js)`)',
      expected: {
        'https://example.com': false,
        'https://example.com/html': false,
        'https://example.org/css': true,
        'https://example.com/CSS': false,
        'https://example.com/css': true,
        'https://example.com/css/': true,
        'https://example.com/css/main.css': true,
        'https://example.com/js': true,
        'https://example.com/js/main.js': true,
      },
    },
    {
      desc: 'valid PathRegexp matcher with Traefik v2 syntax',
      rule: 'PathRegexp("/{path:(css|js)}")',
      expected: {
        'https://example.com': false,
        'https://example.com/html': false,
        'https://example.org/css': false,
        'https://example.com/{path:css}': true,
        'https://example.com/{path:css}/': true,
        'https://example.com/%7Bpath:css%7D': true,
        'https://example.com/%7Bpath:js%7D/': true,
      },
    },
    { desc: 'invalid PathPrefix matcher (no parameter)', rule: 'PathPrefix()', expectedError: true },
    { desc: 'invalid PathPrefix matcher (empty parameter)', rule: 'PathPrefix(``)', expectedError: true },
    { desc: 'invalid PathPrefix matcher (no leading /)', rule: 'PathPrefix(`css`)', expectedError: true },
    { desc: 'invalid PathPrefix matcher (too many parameters)', rule: 'PathPrefix(`/css`, `/js`)', expectedError: true },
    {
      desc: 'valid PathPrefix matcher',
      rule: 'PathPrefix("/css")',
      expected: { 'https://example.com': false, 'https://example.com/html': false, 'https://example.org/css': true, 'https://example.com/css': true, 'https://example.com/css/': true, 'https://example.com/css/main.css': true },
    },
    { desc: 'PathPrefix is a plain string prefix, not a segment prefix', rule: 'PathPrefix(`/api`)', expected: { 'https://example.com/api': true, 'https://example.com/apis': true, 'https://example.com/ap': false } },
  ]);
});

describe('Header, HeaderRegexp', () => {
  const h = (headers: Record<string, string | string[]>, rule: string, expected: boolean): Case => ({ desc: `${rule} with ${JSON.stringify(headers)}`, rule, with: { headers }, expected: { 'https://example.com': expected } });
  run([
    { desc: 'invalid Header matcher (no parameter)', rule: 'Header()', expectedError: true },
    { desc: 'invalid Header matcher (missing value parameter)', rule: 'Header(`X-Forwarded-Host`)', expectedError: true },
    { desc: 'invalid Header matcher (empty value parameter)', rule: 'Header(`X-Forwarded-Host`, ``)', expectedError: true },
    { desc: 'invalid Header matcher (missing key parameter)', rule: 'Header(``, `example.com`)', expectedError: true },
    { desc: 'invalid Header matcher (too many parameters)', rule: 'Header(`X-Forwarded-Host`, `example.com`, `example.org`)', expectedError: true },
    h({ 'x-forwarded-proto': 'https' }, 'Header(`X-Forwarded-Proto`, `https`)', true),
    h({ 'x-forwarded-proto': ['http', 'https'] }, 'Header(`X-Forwarded-Proto`, `https`)', true),
    h({ 'x-forwarded-proto': ['https', 'http'] }, 'Header(`X-Forwarded-Proto`, `https`)', true),
    h({ 'x-forwarded-host': 'example.com' }, 'Header(`X-Forwarded-Proto`, `https`)', false),
    h({ 'x-forwarded-proto': 'https' }, 'Header(`x-forwarded-proto`, `https`)', true),
    h({ 'x-forwarded-proto': 'HTTPS' }, 'Header(`X-Forwarded-Proto`, `https`)', false),
    h({ 'x-forwarded-proto': 'http, https' }, 'Header(`X-Forwarded-Proto`, `https`)', false),
    h({ host: 'example.com' }, 'Header(`Host`, `example.com`)', false),
    h({ 'transfer-encoding': 'chunked' }, 'Header(`Transfer-Encoding`, `chunked`)', false),
    { desc: 'invalid HeaderRegexp matcher (no parameter)', rule: 'HeaderRegexp()', expectedError: true },
    { desc: 'invalid HeaderRegexp matcher (missing value parameter)', rule: 'HeaderRegexp(`X-Forwarded-Host`)', expectedError: true },
    { desc: 'invalid HeaderRegexp matcher (empty value parameter)', rule: 'HeaderRegexp(`X-Forwarded-Host`, ``)', expectedError: true },
    { desc: 'invalid HeaderRegexp matcher (missing key parameter)', rule: 'HeaderRegexp(``, `example.com`)', expectedError: true },
    { desc: 'invalid HeaderRegexp matcher (invalid regexp)', rule: 'HeaderRegexp(`X-Forwarded-Host`,`(example.com`)', expectedError: true },
    { desc: 'invalid HeaderRegexp matcher (too many parameters)', rule: 'HeaderRegexp(`X-Forwarded-Host`, `example.com`, `example.org`)', expectedError: true },
    h({ 'x-forwarded-proto': 'http' }, 'HeaderRegexp(`X-Forwarded-Proto`, `^https?$`)', true),
    h({ 'x-forwarded-proto': 'https' }, 'HeaderRegexp(`X-Forwarded-Proto`, `^https?$`)', true),
    h({ 'x-forwarded-proto': 'HTTPS' }, 'HeaderRegexp(`X-Forwarded-Proto`, `^https?$`)', false),
    h({ 'x-forwarded-proto': ['ws', 'https'] }, 'HeaderRegexp(`X-Forwarded-Proto`, `^https?$`)', true),
    h({ 'x-forwarded-host': 'example.com' }, 'HeaderRegexp(`X-Forwarded-Proto`, `^https?$`)', false),
    h({ 'x-forwarded-proto': 'http' }, 'HeaderRegexp(`x-forwarded-proto`, `^https?$`)', true),
    h({ 'x-forwarded-proto': 'http' }, 'HeaderRegexp(`X-Forwarded-Proto`, `http{secure:s?}`)', false),
    h({ 'x-forwarded-proto': 'http{secure:}' }, 'HeaderRegexp(`X-Forwarded-Proto`, `http{secure:s?}`)', true),
    h({ 'x-forwarded-proto': 'HTTP{secure:}' }, 'HeaderRegexp(`X-Forwarded-Proto`, `http{secure:s?}`)', false),
    h({ 'x-forwarded-proto': 'http{secure:s}' }, 'HeaderRegexp(`X-Forwarded-Proto`, `http{secure:s?}`)', true),
    h({ 'x-forwarded-proto': 'http{secure:S}' }, 'HeaderRegexp(`X-Forwarded-Proto`, `http{secure:s?}`)', false),
    h({ 'content-type': 'application/json' }, 'HeaderRegexp(`Content-Type`, `application/(text|json)`)', true),
    h({ 'content-type': 'application/foo' }, 'HeaderRegexp(`Content-Type`, `application/(text|json)`)', false),
  ]);
});

describe('Query, QueryRegexp', () => {
  run([
    { desc: 'invalid Query matcher (no parameter)', rule: 'Query()', expectedError: true },
    { desc: 'invalid Query matcher (empty key, one parameter)', rule: 'Query(``)', expectedError: true },
    { desc: 'invalid Query matcher (empty key)', rule: 'Query(``, `traefik`)', expectedError: true },
    { desc: 'invalid Query matcher (empty value)', rule: 'Query(`q`, ``)', expectedError: true },
    { desc: 'invalid Query matcher (too many parameters)', rule: 'Query(`q`, `traefik`, `proxy`)', expectedError: true },
    {
      desc: 'valid Query matcher',
      rule: 'Query(`q`, `traefik`)',
      expected: {
        'https://example.com': false,
        'https://example.com?q=traefik': true,
        'https://example.com?rel=ddg&q=traefik': true,
        'https://example.com?q=traefik&q=proxy': true,
        'https://example.com?q=awesome&q=traefik': true,
        'https://example.com?q=nginx': false,
        'https://example.com?rel=ddg': false,
        'https://example.com?q=TRAEFIK': false,
        'https://example.com?Q=traefik': false,
        'https://example.com?rel=traefik': false,
      },
    },
    { desc: 'valid Query matcher with empty value', rule: 'Query(`mobile`)', expected: { 'https://example.com': false, 'https://example.com?mobile': true, 'https://example.com?mobile=': true, 'https://example.com?mobile=true': false } },
    { desc: 'Query values are decoded as Go does', rule: 'Query(`q`, `a b/c`)', expected: { 'https://example.com?q=a+b%2Fc': true, 'https://example.com?q=a%20b/c': true, 'https://example.com?q=a%2x': false } },
    { desc: 'Query keys are decoded too', rule: 'Query(`a b`, `1`)', expected: { 'https://example.com?a+b=1': true, 'https://example.com?a%20b=1': true } },
    { desc: 'pairs with a semicolon are dropped (Go 1.17+)', rule: 'Query(`q`, `1`)', expected: { 'https://example.com?q=1;x=2': false, 'https://example.com?x=2;y&q=1': true } },
    { desc: 'a bad escape drops only its pair', rule: 'Query(`q`, `1`)', expected: { 'https://example.com?q=%zz&q=1': true, 'https://example.com?q=1%': false } },
    { desc: 'multiple equals signs', rule: 'Query(`foo`, `b=ar`)', expected: { 'https://example.com?foo=b=ar': true, 'https://example.com?foo=bar': false } },
    { desc: 'invalid QueryRegexp matcher (no parameter)', rule: 'QueryRegexp()', expectedError: true },
    { desc: 'invalid QueryRegexp matcher (empty parameter)', rule: 'QueryRegexp(``)', expectedError: true },
    { desc: 'invalid QueryRegexp matcher (invalid regexp)', rule: 'QueryRegexp(`q`, `(traefik`)', expectedError: true },
    { desc: 'invalid QueryRegexp matcher (too many parameters)', rule: 'QueryRegexp(`q`, `traefik`, `proxy`)', expectedError: true },
    {
      desc: 'valid QueryRegexp matcher',
      rule: 'QueryRegexp(`q`, `^(traefik|nginx)$`)',
      expected: {
        'https://example.com': false,
        'https://example.com?q=traefik': true,
        'https://example.com?rel=ddg&q=traefik': true,
        'https://example.com?q=traefik&q=proxy': true,
        'https://example.com?q=TRAEFIK': false,
        'https://example.com?Q=traefik': false,
        'https://example.com?rel=traefik': false,
        'https://example.com?q=nginx': true,
        'https://example.com?q=awesome&q=nginx': true,
        'https://example.com?q=haproxy': false,
      },
    },
    {
      desc: 'valid QueryRegexp matcher matching anything',
      rule: 'QueryRegexp(`q`, `^.*$`)',
      expected: { 'https://example.com': false, 'https://example.com?q=TRAEFIK': true, 'https://example.com?Q=traefik': false, 'https://example.com?q=haproxy': true, 'https://example.com?rel=ddg': false },
    },
    { desc: 'valid QueryRegexp matcher with Traefik v2 syntax', rule: 'QueryRegexp(`q`, `{value:(traefik|nginx)}`)', expected: { 'https://example.com?q=traefik': false, 'https://example.com?q={value:traefik}': true } },
    { desc: 'QueryRegexp with one argument is Query', rule: 'QueryRegexp(`mobile`)', expected: { 'https://example.com?mobile': true, 'https://example.com?mobile=1': false } },
  ]);
});

describe('operators (Traefik Test_addRoute in v3 syntax)', () => {
  run([
    { desc: 'Rule with no matcher', rule: 'rulewithnotmatcher', expectedError: true },
    { desc: 'Host and PathPrefix', rule: 'Host(`localhost`) && PathPrefix(`/foo`)', expected: { 'http://localhost/foo': true } },
    { desc: 'Host and PathPrefix wrong PathPrefix', rule: 'Host(`localhost`) && PathPrefix(`/bar`)', expected: { 'http://localhost/foo': false } },
    { desc: 'Host and PathPrefix wrong Host', rule: 'Host(`nope`) && PathPrefix(`/foo`)', expected: { 'http://localhost/foo': false } },
    { desc: 'Rule with Path AND Host', rule: 'Path("/a") && Host("plop")', expected: { 'http://plop/a': true, 'http://plopi/a': false } },
    { desc: 'Rule with Host OR Host', rule: 'Host("tchouk") || Host("pouet")', expected: { 'http://tchouk/toto': true, 'http://pouet/a': true, 'http://plopi/a': false } },
    {
      desc: 'Rule with host OR (host AND path)',
      rule: 'Host("tchouk") || (Host("pouet") && Path("/powpow"))',
      expected: { 'http://tchouk/toto': true, 'http://tchouk/powpow': true, 'http://pouet/powpow': true, 'http://pouet/toto': false, 'http://plopi/a': false },
    },
    {
      desc: 'Rule with host OR host AND path',
      rule: 'Host("tchouk") || Host("pouet") && Path("/powpow")',
      expected: { 'http://tchouk/toto': true, 'http://tchouk/powpow': true, 'http://pouet/powpow': true, 'http://pouet/toto': false, 'http://plopi/a': false },
    },
    {
      desc: 'Rule with (host OR host) AND path',
      rule: '(Host("tchouk") || Host("pouet")) && Path("/powpow")',
      expected: { 'http://tchouk/toto': false, 'http://tchouk/powpow': true, 'http://pouet/powpow': true, 'http://pouet/toto': false, 'http://plopi/a': false },
    },
    {
      desc: 'Rule with (host AND path) OR (host AND path)',
      rule: '(Host("tchouk") && Path("/titi")) || ((Host("pouet")) && Path("/powpow"))',
      expected: { 'http://tchouk/titi': true, 'http://tchouk/powpow': false, 'http://pouet/powpow': true, 'http://pouet/toto': false, 'http://plopi/a': false },
    },
    { desc: 'Rule case UPPER', rule: '(HOST("tchouk") && PATHPREFIX("/titi"))', expected: { 'http://tchouk/titi': true, 'http://tchouk/powpow': false } },
    { desc: 'Rule case lower', rule: '(host("tchouk") && pathprefix("/titi"))', expected: { 'http://tchouk/titi': true, 'http://tchouk/powpow': false } },
    { desc: 'Rule case Title', rule: '(Host("tchouk") && Pathprefix("/titi"))', expected: { 'http://tchouk/titi': true, 'http://tchouk/powpow': false } },
    { desc: 'Rule with Path without args', rule: 'Host("tchouk") && Path()', expectedError: true },
    { desc: 'Rule with an empty path', rule: 'Host("tchouk") && Path("")', expectedError: true },
    { desc: 'Rule with not', rule: '!Host("tchouk")', expected: { 'http://tchouk/titi': false, 'http://test/powpow': true } },
    { desc: 'Rule with not on Path', rule: '!Path("/titi")', expected: { 'http://tchouk/titi': false, 'http://tchouk/powpow': true } },
    { desc: 'Rule with not on multiple route with or', rule: '!(Host("tchouk") || Host("toto"))', expected: { 'http://tchouk/titi': false, 'http://toto/powpow': false, 'http://test/powpow': true } },
    { desc: 'Rule with not on multiple route with and', rule: '!(Host("tchouk") && Path("/titi"))', expected: { 'http://tchouk/titi': false, 'http://tchouk/toto': true, 'http://test/titi': true } },
    { desc: 'Rule with not on multiple route with and another not', rule: '!(Host("tchouk") && !Path("/titi"))', expected: { 'http://tchouk/titi': true, 'http://toto/titi': true, 'http://tchouk/toto': false } },
    { desc: 'Rule with not on two rule', rule: '!Host("tchouk") || !Path("/titi")', expected: { 'http://tchouk/titi': false, 'http://tchouk/toto': true, 'http://test/titi': true } },
    { desc: 'Rule case with double not', rule: '!(!(Host("tchouk") && Pathprefix("/titi")))', expected: { 'http://tchouk/titi': true, 'http://tchouk/powpow': false, 'http://test/titi': false } },
    { desc: 'Rule case with not domain', rule: '!Host("tchouk") && Pathprefix("/titi")', expected: { 'http://tchouk/titi': false, 'http://tchouk/powpow': false, 'http://toto/powpow': false, 'http://toto/titi': true } },
  ]);
});

describe('hosts', () => {
  const cases: Array<{ desc: string; rule: string; hosts: string[] | null }> = [
    { desc: 'single host', rule: 'Host(`A.test`)', hosts: ['a.test'] },
    { desc: 'host and path', rule: 'Host(`a`) && PathPrefix(`/v1`)', hosts: ['a'] },
    { desc: 'path and host', rule: 'PathPrefix(`/v1`) && Host(`a`)', hosts: ['a'] },
    { desc: 'or of hosts', rule: 'Host(`a`) || Host(`b`)', hosts: ['a', 'b'] },
    { desc: 'or of host-bound branches', rule: '(Host(`a`) && Path(`/x`)) || (Host(`b`) && Path(`/y`))', hosts: ['a', 'b'] },
    { desc: 'or with a host-free branch', rule: 'Host(`a`) || Path(`/x`)', hosts: null },
    { desc: 'path only', rule: 'Path(`/x`)', hosts: null },
    { desc: 'HostRegexp only', rule: 'HostRegexp(`^a\\.test$`)', hosts: null },
    { desc: 'negated host', rule: '!Host(`a`)', hosts: null },
    { desc: 'double negation', rule: '!!Host(`a`)', hosts: ['a'] },
    { desc: 'De Morgan: not of an or of negations', rule: '!(!Host(`a`) || !Path(`/x`))', hosts: ['a'] },
    { desc: 'De Morgan: not of an and of negations', rule: '!(!Host(`a`) && !Host(`b`))', hosts: ['a', 'b'] },
    { desc: 'wildcard host', rule: 'Host(`*.a.test`)', hosts: null },
    { desc: 'and of two host sets keeps the smaller', rule: '(Host(`a`) || Host(`b`)) && Host(`a`)', hosts: ['a'] },
  ];
  for (const c of cases) it(c.desc, () => assert.deepEqual(compileHttpRule(c.rule).hosts, c.hosts));
});

describe('explain', () => {
  const cases: Array<{ desc: string; rule: string; url: string; with?: RequestOverrides; reason: string | null }> = [
    { desc: 'match', rule: 'Host(`a.test`)', url: 'http://a.test/', reason: null },
    { desc: 'host', rule: 'Host(`a.test`)', url: 'http://b.test/', reason: 'host b.test did not match Host(`a.test`)' },
    { desc: 'path prefix', rule: 'Host(`a.test`) && PathPrefix(`/v1`)', url: 'http://a.test/v2', reason: 'path /v2 did not match PathPrefix(`/v1`)' },
    { desc: 'method', rule: 'Method(`POST`)', url: 'http://a/', reason: 'method GET did not match Method(`POST`)' },
    { desc: 'header absent', rule: 'Header(`X-Env`, `prod`)', url: 'http://a/', reason: 'header X-Env absent did not match Header(`X-Env`, `prod`)' },
    { desc: 'header value', rule: 'Header(`X-Env`, `prod`)', url: 'http://a/', with: { headers: { 'x-env': 'dev' } }, reason: 'header X-Env "dev" did not match Header(`X-Env`, `prod`)' },
    { desc: 'negation', rule: '!PathPrefix(`/admin`)', url: 'http://a/admin/x', reason: 'PathPrefix(`/admin`) matched, and the rule negates it' },
    { desc: 'or', rule: 'Path(`/a`) || Path(`/b`)', url: 'http://a/c', reason: 'path /c did not match Path(`/a`), and path /c did not match Path(`/b`)' },
    { desc: 'client IP', rule: 'ClientIP(`10.0.0.0/8`)', url: 'http://a/', with: { clientIP: '192.0.2.1' }, reason: 'client IP 192.0.2.1 did not match ClientIP(`10.0.0.0/8`)' },
    { desc: 'query', rule: 'Query(`q`, `1`)', url: 'http://a/?q=2', reason: 'query "q=2" did not match Query(`q`, `1`)' },
  ];
  for (const c of cases) it(c.desc, () => assert.equal(compileHttpRule(c.rule).explain(requestFromURL(c.url, c.with)), c.reason));
});

describe('defaultHttpPriority', () => {
  const cases: Array<{ desc: string; rule: string; priority: number }> = [
    { desc: 'length of the rule', rule: 'Host(`a.test`)', priority: 14 },
    { desc: 'length in bytes, as Go len()', rule: 'Path(`/é`)', priority: 11 },
    { desc: 'double wildcard host loses its stars', rule: 'Host(`**.a.test`)', priority: 15 },
    { desc: 'negated double wildcard keeps them', rule: '!Host(`**.a.test`)', priority: 18 },
    { desc: 'invalid rule: plain length', rule: 'Hots(`a`)', priority: 9 },
  ];
  for (const c of cases) it(c.desc, () => assert.equal(defaultHttpPriority(c.rule), c.priority));
});

describe('Go regexp syntax in rules', () => {
  run([
    { desc: 'flags mid-pattern (Go syntax, RE2)', rule: 'PathRegexp(`^/a(?i)b$`)', expected: { 'http://a/aB': true, 'http://a/AB': false } },
    { desc: 'ungreedy flag', rule: 'PathRegexp(`(?U)^/a+$`)', expected: { 'http://a/aaa': true } },
    { desc: 'HeaderRegexp with (?i)', rule: 'HeaderRegexp(`X-Proto`, `(?i)^HTTPS$`)', with: { headers: { 'x-proto': 'https' } }, expected: { 'http://a/': true } },
    { desc: 'QueryRegexp with a POSIX class', rule: 'QueryRegexp(`id`, `^[[:digit:]]+$`)', expected: { 'http://a/?id=42': true, 'http://a/?id=4x': false } },
  ]);

  const errors: Array<{ desc: string; rule: string; message: string }> = [
    { desc: 'unbalanced parenthesis', rule: 'PathRegexp(`/(css`)', message: 'PathRegexp: error parsing regexp: missing closing ): `/(css` at 12' },
    { desc: 'lookahead', rule: 'Host(`a`) && PathRegexp(`^/(?!admin)`)', message: 'PathRegexp: error parsing regexp: invalid or unsupported Perl syntax: `(?!` (lookahead and lookbehind assertions are not supported by Go regexps) at 25' },
    { desc: 'repeat count', rule: 'HostRegexp(`a{1001}`)', message: 'HostRegexp: error parsing regexp: invalid repeat count: `{1001}` at 12' },
  ];
  for (const e of errors) {
    it(`names the matcher and position: ${e.desc}`, () =>
      assert.throws(() => compileHttpRule(e.rule), (err: unknown) => err instanceof RuleSyntaxError && err.message === e.message));
  }
});

describe('regexp matchers run in linear time', () => {
  // Each would take hours with a backtracking engine; measured here: 0.1–6 ms each.
  const long = 'a'.repeat(10_000) + '!';
  const cases: Array<{ desc: string; rule: string; url: string; with?: RequestOverrides }> = [
    { desc: 'PathRegexp', rule: 'PathRegexp(`^/(a+)+$`)', url: `http://h/${long}` },
    { desc: 'HostRegexp', rule: 'HostRegexp(`^(a+)+$`)', url: `http://${long.slice(0, -1)}-/` },
    { desc: 'HeaderRegexp', rule: 'HeaderRegexp(`X-A`, `^(a+)+$`)', url: 'http://h/', with: { headers: { 'x-a': long } } },
    { desc: 'QueryRegexp', rule: 'QueryRegexp(`q`, `^(a+)+$`)', url: `http://h/?q=${long}` },
  ];
  for (const c of cases) {
    it(c.desc, { timeout: 20_000 }, () => {
      const rule = compileHttpRule(c.rule);
      const req = requestFromURL(c.url, c.with);
      const t0 = performance.now();
      assert.equal(rule.match(req), false);
      const ms = performance.now() - t0;
      assert.ok(ms < 100, `${c.rule} took ${ms.toFixed(1)} ms`);
    });
  }
});

describe('requiredPathPrefixes', () => {
  const cases: Array<{ desc: string; rule: string; prefixes: string[] | null }> = [
    { desc: 'PathPrefix', rule: 'PathPrefix(`/api`)', prefixes: ['/api'] },
    { desc: 'anchored PathRegexp gives its literal prefix', rule: 'PathRegexp(`^/api/v[0-9]+/`)', prefixes: ['/api/v'] },
    { desc: 'unanchored PathRegexp gives none', rule: 'PathRegexp(`/api/`)', prefixes: null },
    { desc: 'PathRegexp with a top-level alternation gives none', rule: 'PathRegexp(`^/api|^/web`)', prefixes: null },
    { desc: 'negated PathRegexp gives none', rule: '!PathRegexp(`^/api`)', prefixes: null },
    { desc: 'or of PathRegexp and PathPrefix', rule: 'PathRegexp(`^/a/`) || PathPrefix(`/b`)', prefixes: ['/a/', '/b'] },
    { desc: 'HeaderRegexp is not about paths', rule: 'HeaderRegexp(`X`, `^/api`)', prefixes: null },
  ];
  for (const c of cases) it(c.desc, () => assert.deepEqual(requiredPathPrefixes(parseRule(c.rule, 'http')), c.prefixes));
});
