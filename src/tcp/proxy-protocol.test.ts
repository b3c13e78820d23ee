import { test } from 'node:test';
import assert from 'node:assert/strict';
import { buildProxyHeader, parseProxyHeader } from './proxy-protocol.js';

const cases = [
  { desc: 'v1 IPv4', version: 1 as const, a: { srcAddr: '203.0.113.7', srcPort: 4242, dstAddr: '10.0.0.1', dstPort: 443 } },
  { desc: 'v2 IPv4', version: 2 as const, a: { srcAddr: '203.0.113.7', srcPort: 4242, dstAddr: '10.0.0.1', dstPort: 443 } },
  { desc: 'v1 IPv6', version: 1 as const, a: { srcAddr: '2001:db8::1', srcPort: 1, dstAddr: '2001:db8::2', dstPort: 2 } },
  { desc: 'v2 IPv6', version: 2 as const, a: { srcAddr: '2001:db8::1', srcPort: 1, dstAddr: '2001:db8::2', dstPort: 2 } },
];

for (const c of cases) {
  test(`PROXY ${c.desc}: build then parse gives the addresses back, incomplete prefixes wait`, () => {
    const h = buildProxyHeader(c.version, c.a);
    const withData = Buffer.concat([h, Buffer.from('GET /')]);
    assert.deepEqual(parseProxyHeader(withData), { kind: 'header', length: h.length, addresses: c.a });
    for (let n = 1; n < h.length; n++) assert.equal(parseProxyHeader(h.subarray(0, n)).kind, 'incomplete', `prefix ${n}`);
  });
}

test('PROXY: no header, a bad v1 line, v2 LOCAL', () => {
  assert.equal(parseProxyHeader(Buffer.from('GET / HTTP/1.1\r\n')).kind, 'none');
  assert.equal(parseProxyHeader(Buffer.from('PROXY TCP4 999.1.1.1 1.1.1.1 1 2\r\n')).kind, 'invalid');
  const local = buildProxyHeader(2, { srcAddr: '1.2.3.4', srcPort: 1, dstAddr: '1.2.3.4', dstPort: 2 });
  local[12] = 0x20;
  assert.deepEqual(parseProxyHeader(local), { kind: 'header', length: local.length, addresses: null });
});
