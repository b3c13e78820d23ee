import { test } from 'node:test';
import assert from 'node:assert/strict';
import { translateV2Rule } from './v2.js';
import { compileHttpRule } from '../matcher/http.js';
import { requestFromURL } from '../matcher/testing.js';
import { RuleSyntaxError } from '../../errors.js';

test('translateV2Rule rewrites Traefik v2 rules into v3', () => {
  const cases: { desc: string; v2: string; v3: string; kind?: 'http' | 'tcp' }[] = [
    { desc: 'several hosts', v2: 'Host(`a.com`, `b.com`)', v3: 'Host(`a.com`) || Host(`b.com`)' },
    { desc: 'HostHeader', v2: 'HostHeader(`a.com`)', v3: 'Host(`a.com`)' },
    { desc: 'host template', v2: 'HostRegexp(`{sub:[a-z]+}.example.com`)', v3: 'HostRegexp(`(?i)^(?:[a-z]+)\\.example\\.com$`)' },
    { desc: 'host template, default pattern', v2: 'HostRegexp(`{sub}.example.com`)', v3: 'HostRegexp(`(?i)^(?:[^.]+)\\.example\\.com$`)' },
    { desc: 'plain path', v2: 'Path(`/a`, `/b`)', v3: 'Path(`/a`) || Path(`/b`)' },
    { desc: 'path template', v2: 'Path(`/products/{id:[0-9]+}`)', v3: 'PathRegexp(`^/products/(?:[0-9]+)$`)' },
    { desc: 'prefix template', v2: 'PathPrefix(`/api/{version}`)', v3: 'PathRegexp(`^/api/(?:[^/]+)`)' },
    { desc: 'nested braces in a pattern', v2: 'Path(`/x/{n:[0-9]{2}}`)', v3: 'PathRegexp(`^/x/(?:[0-9]{2})$`)' },
    { desc: 'methods', v2: 'Method(`get`, `POST`)', v3: 'Method(`GET`) || Method(`POST`)' },
    { desc: 'headers pairs', v2: 'Headers(`X-A`, `1`, `X-B`, `2`)', v3: 'Header(`X-A`, `1`) && Header(`X-B`, `2`)' },
    { desc: 'header presence', v2: 'Headers(`X-A`, ``)', v3: 'HeaderRegexp(`X-A`, `^`)' },
    { desc: 'headers regexp', v2: 'HeadersRegexp(`X-A`, `^v[0-9]$`)', v3: 'HeaderRegexp(`X-A`, `^v[0-9]$`)' },
    { desc: 'query pairs', v2: 'Query(`a=1`, `b={n:[0-9]+}`)', v3: 'Query(`a`, `1`) && QueryRegexp(`b`, `^(?:[0-9]+)$`)' },
    { desc: 'query key only', v2: 'Query(`a=`)', v3: 'Query(`a`)' },
    { desc: 'client IPs', v2: 'ClientIP(`10.0.0.0/8`, `::1`)', v3: 'ClientIP(`10.0.0.0/8`) || ClientIP(`::1`)' },
    { desc: 'operators keep their meaning', v2: 'Host(`a`, `b`) && !PathPrefix(`/x`, `/y`)', v3: '(Host(`a`) || Host(`b`)) && !(PathPrefix(`/x`) || PathPrefix(`/y`))' },
    { desc: 'lower-case names, as Traefik', v2: 'host(`a`) && pathprefix(`/p`)', v3: 'Host(`a`) && PathPrefix(`/p`)' },
    { desc: 'TCP SNI list', v2: 'HostSNI(`a.com`, `b.com`)', v3: 'HostSNI(`a.com`) || HostSNI(`b.com`)', kind: 'tcp' },
    { desc: 'TCP SNI catch-all', v2: 'HostSNI(`*`)', v3: 'HostSNI(`*`)', kind: 'tcp' },
    { desc: 'TCP SNI template', v2: 'HostSNIRegexp(`{sub}.example.com`)', v3: 'HostSNIRegexp(`(?i)^(?:[^.]+)\\.example\\.com$`)', kind: 'tcp' },
  ];
  for (const c of cases) assert.equal(translateV2Rule(c.v2, c.kind ?? 'http'), c.v3, c.desc);
});

test('translateV2Rule refuses what Traefik v2 refuses, with a position', () => {
  const cases: { desc: string; v2: string; re: RegExp }[] = [
    { desc: 'a v3-only matcher', v2: 'PathRegexp(`^/a`)', re: /unknown v2 matcher "PathRegexp"/ },
    { desc: 'odd header arguments', v2: 'Headers(`X-A`)', re: /key\/value pairs, got 1 value/ },
    { desc: 'query without "="', v2: 'Query(`a`)', re: /key\/value pairs/ },
    { desc: 'unbalanced braces', v2: 'Path(`/a/{id`)', re: /unbalanced braces/ },
    { desc: 'empty template name', v2: 'Path(`/a/{:[0-9]+}`)', re: /missing name or pattern/ },
    { desc: 'syntax error', v2: 'Host(`a`) &&', re: /expected a matcher/ },
  ];
  for (const c of cases) {
    assert.throws(() => translateV2Rule(c.v2, 'http'), (e: unknown) => e instanceof RuleSyntaxError && c.re.test(e.message), c.desc);
  }
});

test('translated v2 rules match what v2 matched', () => {
  const cases: { v2: string; url: string; headers?: Record<string, string>; want: boolean }[] = [
    { v2: 'HostRegexp(`{sub:[a-z]+}.example.com`)', url: 'http://api.example.com/', want: true },
    { v2: 'HostRegexp(`{sub:[a-z]+}.example.com`)', url: 'http://a.b.example.com/', want: false },
    { v2: 'HostRegexp(`{sub:[a-z]+}.example.com`)', url: 'http://API.Example.com/', want: true },
    { v2: 'HostRegexp(`{sub:[a-z]+}.example.com`)', url: 'http://api.exampleXcom/', want: false },
    { v2: 'Path(`/products/{id:[0-9]+}`)', url: 'http://h/products/42', want: true },
    { v2: 'Path(`/products/{id:[0-9]+}`)', url: 'http://h/products/42/x', want: false },
    { v2: 'PathPrefix(`/api/{v}`)', url: 'http://h/api/v1/users', want: true },
    { v2: 'PathPrefix(`/api/{v}`)', url: 'http://h/api/', want: false },
    { v2: 'Query(`id={n:[0-9]+}`)', url: 'http://h/?id=12', want: true },
    { v2: 'Query(`id={n:[0-9]+}`)', url: 'http://h/?id=x1', want: false },
    { v2: 'Headers(`X-Env`, `prod`)', url: 'http://h/', headers: { 'x-env': 'prod' }, want: true },
    { v2: 'Headers(`X-Env`, ``)', url: 'http://h/', headers: { 'x-env': 'anything' }, want: true },
    { v2: 'Headers(`X-Env`, ``)', url: 'http://h/', want: false },
  ];
  for (const c of cases) {
    const rule = compileHttpRule(translateV2Rule(c.v2, 'http'));
    assert.equal(rule.match(requestFromURL(c.url, { headers: c.headers })), c.want, `${c.v2} on ${c.url}`);
  }
});
