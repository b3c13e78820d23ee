import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { IncomingMessage } from 'node:http';
import { RequestContext } from '../proxy/context.js';
import { formatIP, IPMatcher, IPStrategy, parseIP, splitHost } from './ip.js';

function ctxWith(clientIP: string): RequestContext {
  const ctx = new RequestContext('web', 'http', '10.9.9.9', 'example.com', '80', '/', '', 0);
  ctx.clientIP = clientIP;
  return ctx;
}

function reqWith(xff?: string | string[]): IncomingMessage {
  return { headers: xff === undefined ? {} : { 'x-forwarded-for': xff } } as unknown as IncomingMessage;
}

describe('parseIP / formatIP', () => {
  const cases: Array<{ desc: string; in: string; out: string | null }> = [
    { desc: 'IPv4', in: '192.168.1.20', out: '192.168.1.20' },
    { desc: 'IPv4 zero', in: '0.0.0.0', out: '0.0.0.0' },
    { desc: 'IPv4 leading zero refused (Go)', in: '010.1.1.1', out: null },
    { desc: 'IPv4 octet too big', in: '256.1.1.1', out: null },
    { desc: 'IPv4 too few parts', in: '1.2.3', out: null },
    { desc: 'IPv4 trailing dot', in: '1.2.3.4.', out: null },
    { desc: 'IPv6 full', in: '2001:0db8:0000:0000:0000:0000:0000:0001', out: '2001:db8::1' },
    { desc: 'IPv6 loopback', in: '::1', out: '::1' },
    { desc: 'IPv6 unspecified', in: '::', out: '::' },
    { desc: 'IPv6 trailing gap', in: 'fe80::', out: 'fe80::' },
    { desc: 'IPv6 upper case', in: 'FE80::ABCD', out: 'fe80::abcd' },
    { desc: 'IPv6 longest zero run compressed', in: '1:0:0:2:0:0:0:3', out: '1:0:0:2::3' },
    { desc: 'IPv6 single zero not compressed', in: '1:0:2:3:4:5:6:7', out: '1:0:2:3:4:5:6:7' },
    { desc: 'IPv4-mapped', in: '::ffff:1.2.3.4', out: '::ffff:1.2.3.4' },
    { desc: 'IPv6 with zone', in: 'fe80::1%eth0', out: 'fe80::1' },
    { desc: 'IPv6 two gaps', in: '1::2::3', out: null },
    { desc: 'IPv6 too many groups', in: '1:2:3:4:5:6:7:8:9', out: null },
    { desc: 'IPv6 group too long', in: '12345::1', out: null },
    { desc: 'IPv6 leading single colon', in: ':1:2:3:4:5:6:7', out: null },
    { desc: 'garbage', in: 'foo', out: null },
    { desc: 'empty', in: '', out: null },
  ];
  for (const c of cases) {
    it(c.desc, () => {
      const w = parseIP(c.in);
      if (c.out === null) assert.equal(w, null);
      else {
        assert.ok(w);
        assert.equal(formatIP(w, c.in.indexOf(':') < 0), c.out);
      }
    });
  }
});

describe('splitHost', () => {
  const cases = [
    { desc: 'v4 with port', in: '1.2.3.4:80', out: '1.2.3.4' },
    { desc: 'v4 without port', in: '1.2.3.4', out: '1.2.3.4' },
    { desc: 'bracketed v6 with port', in: '[::1]:80', out: '::1' },
    { desc: 'bare v6', in: '2001:db8::1', out: '2001:db8::1' },
  ];
  for (const c of cases) it(c.desc, () => assert.equal(splitHost(c.in), c.out));
});

describe('IPMatcher', () => {
  const cases: Array<{ desc: string; ranges: string[]; ip: string; want: boolean }> = [
    { desc: 'exact IPv4', ranges: ['10.10.10.10'], ip: '10.10.10.10', want: true },
    { desc: 'other IPv4', ranges: ['10.10.10.10'], ip: '10.10.10.11', want: false },
    { desc: 'IPv4 CIDR inside', ranges: ['10.0.0.0/8'], ip: '10.200.3.4', want: true },
    { desc: 'IPv4 CIDR outside', ranges: ['10.0.0.0/8'], ip: '11.0.0.1', want: false },
    { desc: 'CIDR with host bits set', ranges: ['192.168.1.77/24'], ip: '192.168.1.1', want: true },
    { desc: '/32', ranges: ['1.2.3.4/32'], ip: '1.2.3.5', want: false },
    { desc: '/0 matches every IPv4', ranges: ['0.0.0.0/0'], ip: '8.8.8.8', want: true },
    { desc: 'IPv4 /0 does not match IPv6', ranges: ['0.0.0.0/0'], ip: '2001:db8::1', want: false },
    { desc: 'IPv4-mapped IPv6 in IPv4 CIDR', ranges: ['10.0.0.0/8'], ip: '::ffff:10.1.2.3', want: true },
    { desc: 'IPv6 CIDR inside', ranges: ['2001:db8::/32'], ip: '2001:db8:1234::1', want: true },
    { desc: 'IPv6 CIDR outside', ranges: ['2001:db8::/32'], ip: '2001:db9::1', want: false },
    { desc: 'IPv6 exact', ranges: ['::1'], ip: '::1', want: true },
    { desc: 'IPv6 /127 boundary', ranges: ['fe80::/127'], ip: 'fe80::1', want: true },
    { desc: 'IPv6 /127 boundary outside', ranges: ['fe80::/127'], ip: 'fe80::2', want: false },
    { desc: 'second entry matches', ranges: ['1.1.1.1', '2.2.2.0/24'], ip: '2.2.2.9', want: true },
    { desc: 'unparseable address', ranges: ['0.0.0.0/0'], ip: 'nope', want: false },
    { desc: 'empty address', ranges: ['0.0.0.0/0'], ip: '', want: false },
  ];
  for (const c of cases) it(c.desc, () => assert.equal(new IPMatcher(c.ranges).contains(c.ip), c.want));

  const bad = [
    { desc: 'not an IP', ranges: ['foo'] },
    { desc: 'IPv4 prefix too long', ranges: ['10.0.0.0/33'] },
    { desc: 'IPv6 prefix too long', ranges: ['::/129'] },
    { desc: 'empty prefix', ranges: ['10.0.0.0/'] },
    { desc: 'zone in range', ranges: ['fe80::1%eth0'] },
  ];
  for (const c of bad) {
    it(`rejects ${c.desc}`, () => assert.throws(() => new IPMatcher(c.ranges, 'sourceRange'), /sourceRange\[0\]/));
  }
});

describe('IPStrategy', () => {
  const cases: Array<{ desc: string; opts: ConstructorParameters<typeof IPStrategy>[0]; xff?: string | string[]; clientIP?: string; want: string }> = [
    { desc: 'default: resolved client IP', opts: undefined, xff: '1.1.1.1', clientIP: '10.0.0.1', want: '10.0.0.1' },
    { desc: 'depth 1 is the right-most entry', opts: { depth: 1 }, xff: '10.0.0.1, 11.0.0.1, 12.0.0.1, 13.0.0.1', want: '13.0.0.1' },
    { desc: 'depth 2', opts: { depth: 2 }, xff: '10.0.0.1,11.0.0.1,12.0.0.1,13.0.0.1', want: '12.0.0.1' },
    { desc: 'depth equal to the count', opts: { depth: 4 }, xff: '10.0.0.1,11.0.0.1,12.0.0.1,13.0.0.1', want: '10.0.0.1' },
    { desc: 'depth larger than the count gives nothing', opts: { depth: 5 }, xff: '10.0.0.1,11.0.0.1,12.0.0.1,13.0.0.1', want: '' },
    { desc: 'depth without header gives nothing', opts: { depth: 1 }, want: '' },
    { desc: 'depth over several header lines', opts: { depth: 2 }, xff: ['1.1.1.1, 2.2.2.2', '3.3.3.3'], want: '2.2.2.2' },
    { desc: 'depth wins over excludedIPs', opts: { depth: 1, excludedIPs: ['13.0.0.1'] }, xff: '12.0.0.1,13.0.0.1', want: '13.0.0.1' },
    { desc: 'excludedIPs: right-most not excluded', opts: { excludedIPs: ['12.0.0.1', '13.0.0.0/24'] }, xff: '10.0.0.1,11.0.0.1,12.0.0.1,13.0.0.5', want: '11.0.0.1' },
    { desc: 'excludedIPs: all excluded', opts: { excludedIPs: ['10.0.0.0/8'] }, xff: '10.0.0.1,10.0.0.2', want: '' },
    { desc: 'excludedIPs: empty items skipped', opts: { excludedIPs: ['10.0.0.2'] }, xff: ',1.2.3.4,,10.0.0.2,', want: '1.2.3.4' },
    { desc: 'excludedIPs: leading comma only', opts: { excludedIPs: ['10.0.0.2'] }, xff: ',', want: '' },
    { desc: 'ipv6Subnet on resolved IPv6', opts: { ipv6Subnet: 64 }, clientIP: '2001:db8:1:2:3:4:5:6', want: '2001:db8:1:2::' },
    { desc: 'ipv6Subnet leaves IPv4 alone', opts: { ipv6Subnet: 64 }, clientIP: '10.1.2.3', want: '10.1.2.3' },
    { desc: 'ipv6Subnet with depth', opts: { depth: 1, ipv6Subnet: 48 }, xff: '2001:db8:aa:bb::1', want: '2001:db8:aa::' },
  ];
  for (const c of cases) {
    it(c.desc, () => {
      const s = new IPStrategy(c.opts);
      assert.equal(s.clientIP(reqWith(c.xff), ctxWith(c.clientIP ?? '10.9.9.9')), c.want);
    });
  }

  const bad = [
    { desc: 'ipv6Subnet 0', opts: { ipv6Subnet: 0 }, re: /ipStrategy\.ipv6Subnet/ },
    { desc: 'ipv6Subnet 129', opts: { depth: 1, ipv6Subnet: 129 }, re: /ipStrategy\.ipv6Subnet/ },
    { desc: 'bad excluded IP', opts: { excludedIPs: ['x'] }, re: /ipStrategy\.excludedIPs\[0\]/ },
    { desc: 'negative depth', opts: { depth: -1 }, re: /ipStrategy\.depth/ },
  ];
  for (const c of bad) it(`rejects ${c.desc}`, () => assert.throws(() => new IPStrategy(c.opts), c.re));
});
