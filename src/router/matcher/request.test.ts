import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { canonicalHost, queryUnescape, routingPath } from './request.js';
import { IPChecker, parseAddr } from './ip.js';

describe('routingPath (Traefik withRoutingPath)', () => {
  const cases: Array<{ desc: string; raw: string; expected: string | null }> = [
    { desc: 'plain path', raw: '/a/b', expected: '/a/b' },
    { desc: 'unreserved escapes are decoded', raw: '/foo%20bar/%7Ex', expected: '/foo bar/~x' },
    { desc: 'reserved escapes stay encoded', raw: '/a%2Fb%3F%25', expected: '/a%2Fb%3F%25' },
    { desc: 'only upper-case reserved spellings are kept, as in Traefik', raw: '/a%2fb', expected: '/a/b' },
    { desc: 'UTF-8 sequences are decoded', raw: '/caf%C3%A9', expected: '/café' },
    { desc: 'invalid escape', raw: '/a%zz', expected: null },
    { desc: 'truncated escape', raw: '/a%2', expected: null },
    { desc: 'a raw path Go would re-escape decodes reserved escapes (EscapedPath fallback)', raw: '/a"b%2Fc', expected: '/a"b/c' },
  ];
  for (const c of cases) it(c.desc, () => assert.equal(routingPath(c.raw), c.expected));
});

describe('canonicalHost (Traefik request decorator)', () => {
  const cases: Array<[string | undefined, string]> = [
    ['Example.COM', 'example.com'],
    ['example.com:8080', 'example.com'],
    ['[::1]:8080', '::1'],
    ['[::1]', '::1'],
    ['10::10', '10::10'],
    ['example.com.', 'example.com.'],
    ['', ''],
    [undefined, ''],
  ];
  for (const [input, want] of cases) it(`${String(input)} → ${want || '(empty)'}`, () => assert.equal(canonicalHost(input), want));
});

describe('queryUnescape (Go url.QueryUnescape)', () => {
  it('decodes + and escapes', () => assert.equal(queryUnescape('a+b%2Fc%C3%A9'), 'a b/cé'));
  it('refuses bad escapes', () => {
    assert.equal(queryUnescape('a%2'), null);
    assert.equal(queryUnescape('a%zz'), null);
  });
});

describe('IP parsing (net/netip)', () => {
  const cases: Array<[string, boolean]> = [
    ['1.2.3.4', true],
    ['01.2.3.4', false],
    ['1.2.3', false],
    ['256.1.1.1', false],
    ['::', true],
    ['::1', true],
    ['fe80::1%eth0', true],
    ['fe80::1%', false],
    ['1:2:3:4:5:6:7:8', true],
    ['1:2:3:4:5:6:7:8:9', false],
    ['1::2::3', false],
    ['::ffff:1.2.3.4', true],
    ['1.2.3.4%eth0', false],
    ['', false],
  ];
  for (const [s, ok] of cases) it(`${s || '(empty)'} ${ok ? 'parses' : 'is refused'}`, () => assert.equal(parseAddr(s) !== null, ok));

  it('IPv4-mapped addresses equal their IPv4 form', () => {
    assert.deepEqual(parseAddr('::ffff:1.2.3.4'), parseAddr('1.2.3.4'));
  });

  it('checker ranges', () => {
    const c = new IPChecker(['10.0.0.0/8', '2001:db8::/32', '192.0.2.7']);
    const has = (s: string): boolean => c.containsAddr(parseAddr(s)!);
    assert.ok(has('10.255.255.255'));
    assert.ok(!has('11.0.0.0'));
    assert.ok(has('2001:db8:ffff::1'));
    assert.ok(!has('2001:db9::'));
    assert.ok(has('192.0.2.7'));
    assert.ok(has('::ffff:192.0.2.7'));
    assert.throws(() => new IPChecker(['10.0.0.0/8/1']));
    assert.throws(() => new IPChecker(['fe80::/10%eth0']));
  });
});
