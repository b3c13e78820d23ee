import { test } from 'node:test';
import assert from 'node:assert/strict';
import { HrwBalancer, keyHash, score } from './hrw.js';
import { ctx, fakeReq, fakeRes, runBalancerSuite, servers } from './common.case.js';

runBalancerSuite('hrw', (s) => new HrwBalancer(s));

/** pickFor picks once for a client IP. */
function pickFor(b: HrwBalancer, ip: string): string | null {
  const c = ctx();
  c.clientIP = ip;
  const req = fakeReq();
  return b.pick(req, fakeRes(req), c, null)?.url ?? null;
}

test('hrw: a client keeps its server; only the clients of a removed server move', () => {
  const s = servers(1, 1, 1, 1);
  const b = new HrwBalancer(s);
  const ips = Array.from({ length: 400 }, (_, i) => `10.2.${i >> 8}.${i & 255}`);
  const owner = new Map(ips.map((ip) => [ip, pickFor(b, ip)]));
  for (const ip of ips) assert.equal(pickFor(b, ip), owner.get(ip), `client ${ip} moved`);
  // Each of four servers gets a fair share (expected 100; the bound is loose on purpose).
  for (const x of s) {
    const n = [...owner.values()].filter((u) => u === x.server.url).length;
    assert.ok(n > 60 && n < 140, `${x.server.url}: ${n} of 400`);
  }
  s[1]!.server.activeHealthy = false;
  for (const ip of ips) {
    const now = pickFor(b, ip);
    if (owner.get(ip) === s[1]!.server.url) assert.notEqual(now, s[1]!.server.url);
    else assert.equal(now, owner.get(ip), `client ${ip} moved though its server is up`);
  }
});

test('hrw: weight 2 gets about twice the clients of weight 1', () => {
  const s = servers(2, 1);
  const b = new HrwBalancer(s);
  let heavy = 0;
  for (let i = 0; i < 900; i++) if (pickFor(b, `10.3.${i >> 8}.${i & 255}`) === s[0]!.server.url) heavy++;
  // Expected 600 of 900 (weighted rendezvous: w1 / (w1 + w2)).
  assert.ok(heavy > 520 && heavy < 680, `weight 2 got ${heavy} of 900`);
});

test('hrw score: deterministic and positive', () => {
  const k = keyHash('192.0.2.1');
  assert.equal(score(k, 'a', 1), score(keyHash('192.0.2.1'), 'a', 1));
  assert.ok(score(k, 'a', 1) > 0 && Number.isFinite(score(k, 'a', 1)));
  assert.equal(score(k, 'a', 2), 2 * score(k, 'a', 1));
});
