/** Conformance with Traefik v3's TCP matchers (pkg/muxer/tcp/matcher_test.go, mux.go). */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { performance } from 'node:perf_hooks';
import { RuleSyntaxError } from '../../errors.js';
import { compileTcpRule, defaultTcpPriority } from './tcp.js';
import type { MatchTcpRequest } from './request.js';

const conn = (o: Partial<MatchTcpRequest>): MatchTcpRequest => ({ sni: '', clientIP: '', alpn: [], ...o });

interface Case {
  desc: string;
  rule: string;
  buildErr?: boolean;
  /** Each request → matches? */
  expected?: Array<[Partial<MatchTcpRequest>, boolean]>;
}

function run(cases: Case[]): void {
  for (const c of cases) {
    it(c.desc, () => {
      if (c.buildErr) {
        assert.throws(() => compileTcpRule(c.rule), RuleSyntaxError);
        return;
      }
      const r = compileTcpRule(c.rule);
      for (const [req, want] of c.expected ?? []) {
        assert.equal(r.match(conn(req)), want, JSON.stringify(req));
        assert.equal(r.explain(conn(req)) === null, want);
      }
    });
  }
}

describe('HostSNI', () => {
  run([
    { desc: 'Empty', rule: '', buildErr: true },
    { desc: 'Invalid HostSNI matcher (empty host)', rule: 'HostSNI(``)', buildErr: true },
    { desc: 'Invalid HostSNI matcher (too many parameters)', rule: 'HostSNI(`example.com`, `example.org`)', buildErr: true },
    { desc: 'Invalid HostSNI matcher (globing sub domain)', rule: 'HostSNI(`*.com`)', buildErr: true },
    { desc: 'Invalid HostSNI matcher (non ASCII host)', rule: 'HostSNI(`🦭.com`)', buildErr: true },
    { desc: 'Valid HostSNI matcher - puny-coded emoji', rule: 'HostSNI(`xn--9t9h.com`)', expected: [[{ sni: 'xn--9t9h.com' }, true], [{ sni: '🦭.com' }, false]] },
    { desc: 'Matching hosts', rule: 'HostSNI(`example.com`)', expected: [[{ sni: 'example.com' }, true], [{ sni: 'example.org' }, false], [{ sni: '' }, false]] },
    { desc: 'Matching globing host `*`', rule: 'HostSNI(`*`)', expected: [[{ sni: 'example.com' }, true], [{ sni: '' }, true]] },
    { desc: 'Matching host with trailing dot', rule: 'HostSNI(`example.com.`)', expected: [[{ sni: 'example.com.' }, true], [{ sni: 'example.com' }, true]] },
    { desc: 'Matching hosts with subdomains', rule: 'HostSNI(`foo.example.com`)', expected: [[{ sni: 'foo.example.com' }, true]] },
    { desc: 'rule host is lower-cased', rule: 'HostSNI(`Example.COM`)', expected: [[{ sni: 'example.com' }, true]] },
  ]);
});

describe('HostSNIRegexp', () => {
  run([
    { desc: 'Invalid HostSNIRegexp matcher (empty host)', rule: 'HostSNIRegexp(``)', buildErr: true },
    { desc: 'Invalid HostSNIRegexp matcher (non ASCII host)', rule: 'HostSNIRegexp(`🦭.com`)', buildErr: true },
    { desc: 'Invalid HostSNIRegexp matcher (invalid regexp)', rule: 'HostSNIRegexp(`(example.com`)', buildErr: true },
    { desc: 'Invalid HostSNIRegexp matcher (too many parameters)', rule: 'HostSNIRegexp(`example.com`, `example.org`)', buildErr: true },
    {
      desc: 'valid HostSNIRegexp matcher',
      rule: 'HostSNIRegexp(`^example\\.(com|org)$`)',
      expected: [[{ sni: 'example.com' }, true], [{ sni: 'example.com.' }, false], [{ sni: 'EXAMPLE.com' }, false], [{ sni: 'example.org' }, true], [{ sni: 'exampleuorg' }, false], [{ sni: '' }, false]],
    },
    { desc: 'valid HostSNIRegexp matcher with Traefik v2 syntax', rule: 'HostSNIRegexp(`example.{tld:(com|org)}`)', expected: [[{ sni: 'example.com' }, false], [{ sni: 'example.org' }, false]] },
  ]);

  it('runs in linear time on a pathological SNI', { timeout: 20_000 }, () => {
    const rule = compileTcpRule('HostSNIRegexp(`^(a+)+$`)');
    const t0 = performance.now();
    assert.equal(rule.match({ sni: 'a'.repeat(10_000) + '-', clientIP: '', alpn: [] }), false);
    const ms = performance.now() - t0;
    // Measured here: 0.1–6 ms (a backtracking engine: hours).
    assert.ok(ms < 100, `took ${ms.toFixed(1)} ms`);
  });
});

describe('ClientIP and ALPN', () => {
  run([
    { desc: 'Invalid ClientIP matcher (empty host)', rule: 'ClientIP(``)', buildErr: true },
    { desc: 'Invalid ClientIP matcher (non ASCII host)', rule: 'ClientIP(`🦭/32`)', buildErr: true },
    { desc: 'Invalid ClientIP matcher (too many parameters)', rule: 'ClientIP(`127.0.0.1`, `127.0.0.2`)', buildErr: true },
    { desc: 'valid ClientIP matcher', rule: 'ClientIP(`20.20.20.20`)', expected: [[{ clientIP: '20.20.20.20' }, true], [{ clientIP: '10.10.10.10' }, false], [{ clientIP: '' }, false]] },
    { desc: 'valid ClientIP matcher with CIDR', rule: 'ClientIP(`20.20.20.20/24`)', expected: [[{ clientIP: '20.20.20.20' }, true], [{ clientIP: '20.20.20.40' }, true], [{ clientIP: '10.10.10.10' }, false]] },
    { desc: 'Invalid ALPN matcher (TLS proto)', rule: 'ALPN(`acme-tls/1`)', buildErr: true },
    { desc: 'Invalid ALPN matcher (empty parameters)', rule: 'ALPN(``)', buildErr: true },
    { desc: 'Invalid ALPN matcher (too many parameters)', rule: 'ALPN(`h2`, `mqtt`)', buildErr: true },
    { desc: 'Valid ALPN matcher', rule: 'ALPN(`h2`)', expected: [[{ alpn: ['h2'] }, true], [{ alpn: ['mqtt'] }, false], [{ alpn: [] }, false], [{ alpn: ['http/1.1', 'h2'] }, true]] },
    { desc: 'combined', rule: 'HostSNI(`db.test`) && !ClientIP(`10.0.0.0/8`)', expected: [[{ sni: 'db.test', clientIP: '192.0.2.1' }, true], [{ sni: 'db.test', clientIP: '10.1.1.1' }, false]] },
  ]);
});

describe('TCP hosts and priority', () => {
  it('hosts lists exact SNIs', () => {
    assert.deepEqual(compileTcpRule('HostSNI(`A.test`) || HostSNI(`b.test`)').hosts, ['a.test', 'b.test']);
    assert.equal(compileTcpRule('HostSNI(`*`)').hosts, null);
    assert.equal(compileTcpRule('HostSNIRegexp(`^a`)').hosts, null);
    assert.equal(compileTcpRule('!HostSNI(`a.test`)').hosts, null);
  });
  it('catch-all gets -1, other rules their length', () => {
    assert.equal(defaultTcpPriority('HostSNI(`*`)'), -1);
    assert.equal(defaultTcpPriority('hostsni(`*`)'), -1);
    assert.equal(defaultTcpPriority('HostSNI(`*`) && ClientIP(`1.2.3.4`)'), 35);
    assert.equal(defaultTcpPriority('HostSNI(`a.test`)'), 17);
  });
});
