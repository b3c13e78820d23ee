import { test } from 'node:test';
import assert from 'node:assert/strict';
import { P2cBalancer } from './p2c.js';
import { countPicks, ctx, fakeReq, fakeRes, runBalancerSuite, servers } from './common.case.js';

runBalancerSuite('p2c', (s) => new P2cBalancer(s));

/** seq returns a random source that yields the given values in turn. */
function seq(...values: number[]): () => number {
  let i = 0;
  return () => values[i++ % values.length]!;
}

test('p2c picks the less loaded of the two draws', () => {
  const cases = [
    { desc: 'second draw less loaded', inFlight: [5, 1, 0], draws: [0, 0], want: 1 },
    { desc: 'first draw less loaded', inFlight: [1, 5, 0], draws: [0, 0], want: 0 },
    // Draws 0.9 and 0.9 → n1 = 2, n2 = 1 (below n1, kept).
    { desc: 'other pair', inFlight: [0, 3, 2], draws: [0.9, 0.9], want: 2 },
  ];
  for (const c of cases) {
    const s = servers(1, 1, 1);
    c.inFlight.forEach((n, i) => (s[i]!.server.inFlight = n));
    const b = new P2cBalancer(s, seq(...c.draws));
    const req = fakeReq();
    assert.equal(b.pick(req, fakeRes(req), ctx(), null), s[c.want]!.server, c.desc);
  }
});

test('p2c breaks an in-flight tie by weight', () => {
  const s = servers(1, 3);
  const b = new P2cBalancer(s, seq(0, 0));
  const req = fakeReq();
  assert.equal(b.pick(req, fakeRes(req), ctx(), null), s[1]!.server);
});

test('p2c with real randomness prefers the less loaded server', () => {
  const s = servers(1, 1, 1);
  s[0]!.server.inFlight = 10;
  s[1]!.server.inFlight = 10;
  const counts = countPicks(new P2cBalancer(s), 300);
  // The idle server wins whenever it is drawn: 2 pairs out of 3.
  assert.ok((counts.get(s[2]!.server.url) ?? 0) > 150, JSON.stringify([...counts]));
});
