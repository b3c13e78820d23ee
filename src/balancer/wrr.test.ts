import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SmoothWeighted, WrrBalancer } from './wrr.js';
import { countPicks, ctx, fakeReq, fakeRes, runBalancerSuite, servers } from './common.case.js';

runBalancerSuite('wrr', (s) => new WrrBalancer(s));

test('wrr splits exactly by weight', () => {
  const cases = [
    { desc: 'weights 1/1/2 over 1000 picks', weights: [1, 1, 2], n: 1000, want: [250, 250, 500] },
    { desc: 'weights 5/1/1 over 700 picks', weights: [5, 1, 1], n: 700, want: [500, 100, 100] },
    { desc: 'equal weights', weights: [1, 1, 1, 1], n: 400, want: [100, 100, 100, 100] },
    { desc: 'weight 0 gets nothing', weights: [3, 0, 1], n: 400, want: [300, 0, 100] },
  ];
  for (const c of cases) {
    const s = servers(...c.weights);
    const counts = countPicks(new WrrBalancer(s), c.n);
    assert.deepEqual(
      s.map((x) => counts.get(x.server.url) ?? 0),
      c.want,
      c.desc,
    );
  }
});

test('wrr sequence is smooth (nginx: 5/1/1 → a a b a c a a)', () => {
  const w = new SmoothWeighted([5, 1, 1]);
  const all = new Uint8Array([1, 1, 1]);
  const seq = Array.from({ length: 7 }, () => 'abc'[w.next(all)]).join(' ');
  assert.equal(seq, 'a a b a c a a');
});

test('wrr keeps the split among the rest while a server is unavailable, and resumes it after', () => {
  const s = servers(1, 1, 2);
  const b = new WrrBalancer(s);
  s[2]!.server.activeHealthy = false;
  const down = countPicks(b, 100);
  assert.deepEqual([down.get(s[0]!.server.url), down.get(s[1]!.server.url), down.get(s[2]!.server.url)], [50, 50, undefined]);
  s[2]!.server.activeHealthy = true;
  const up = countPicks(b, 1000);
  assert.deepEqual(
    s.map((x) => up.get(x.server.url)),
    [250, 250, 500],
  );
});

test('wrr ejection expires with the injected clock', () => {
  let now = 1_000;
  const s = servers(1, 1);
  const b = new WrrBalancer(s, () => now);
  s[0]!.server.ejectedUntil = 2_000;
  const c = ctx();
  const req = fakeReq();
  assert.equal(b.pick(req, fakeRes(req), c, null), s[1]!.server);
  assert.equal(b.pick(req, fakeRes(req), c, null), s[1]!.server);
  now = 2_000;
  const after = new Set([b.pick(req, fakeRes(req), c, null), b.pick(req, fakeRes(req), c, null)]);
  assert.equal(after.size, 2);
});
