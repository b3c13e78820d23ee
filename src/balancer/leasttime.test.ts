import { test } from 'node:test';
import assert from 'node:assert/strict';
import { LeastTimeBalancer } from './leasttime.js';
import { countPicks, ctx, fakeReq, fakeRes, runBalancerSuite, servers } from './common.case.js';
import { RESPONSE_SAMPLES } from '../upstreams/server.js';

runBalancerSuite('leasttime', (s) => new LeastTimeBalancer(s));

test('leasttime: lowest average time × (1 + in flight) / weight wins', () => {
  const cases = [
    { desc: 'faster server', times: [50, 10], inFlight: [0, 0], weights: [1, 1], want: 1 },
    { desc: 'faster but busy', times: [30, 10], inFlight: [0, 4], weights: [1, 1], want: 0 },
    { desc: 'weight divides the score', times: [20, 15], inFlight: [0, 0], weights: [2, 1], want: 0 },
    { desc: 'unmeasured server first', times: [10, -1], inFlight: [0, 0], weights: [1, 1], want: 1 },
  ];
  for (const c of cases) {
    const s = servers(...c.weights);
    c.times.forEach((t, i) => t >= 0 && s[i]!.server.recordResponseTime(t));
    c.inFlight.forEach((n, i) => (s[i]!.server.inFlight = n));
    const req = fakeReq();
    assert.equal(new LeastTimeBalancer(s).pick(req, fakeRes(req), ctx(), null), s[c.want]!.server, c.desc);
  }
});

test('leasttime: ties are split by smooth weighted round-robin', () => {
  const s = servers(3, 1);
  for (const x of s) x.server.recordResponseTime(10);
  const counts = countPicks(new LeastTimeBalancer(s), 400);
  // Equal time and no in-flight: scores 10/3 and 10 are not tied, the weight-3 server always wins.
  assert.equal(counts.get(s[0]!.server.url), 400);
  const t = servers(3, 1);
  const even = countPicks(new LeastTimeBalancer(t), 400);
  assert.deepEqual([even.get(t[0]!.server.url), even.get(t[1]!.server.url)], [300, 100]);
});

test('the response-time average covers the last samples only', () => {
  const [x] = servers(1);
  for (let i = 0; i < RESPONSE_SAMPLES; i++) x!.server.recordResponseTime(100);
  for (let i = 0; i < RESPONSE_SAMPLES; i++) x!.server.recordResponseTime(10);
  assert.equal(x!.server.averageResponseTime(), 10);
});
