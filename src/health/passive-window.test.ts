import { test } from 'node:test';
import assert from 'node:assert/strict';
import { WindowedPassiveHealth } from './passive-window.js';
import { UpstreamServer } from '../upstreams/server.js';
import { silentLogger } from '../observability/logger.js';

test('passiveHealthCheck: max failures within the window take a server out for the window', () => {
  const cases = [
    { desc: 'one failure, max 1', max: 1, failures: [0], ejectedUntil: 10_000 },
    { desc: 'two failures, max 3', max: 3, failures: [0, 100], ejectedUntil: 0 },
    { desc: 'three failures within the window, max 3', max: 3, failures: [0, 100, 200], ejectedUntil: 10_200 },
    { desc: 'failures spread wider than the window', max: 2, failures: [0, 10_500], ejectedUntil: 0 },
  ];
  for (const c of cases) {
    let now = 0;
    const h = new WindowedPassiveHealth(c.max, 10_000, silentLogger, () => now);
    const s = new UpstreamServer('http://10.0.0.1');
    for (const t of c.failures) {
      now = t;
      h.failure(s);
    }
    assert.equal(s.ejectedUntil, c.ejectedUntil, c.desc);
  }
});

test('passiveHealthCheck: a success forgets the failures', () => {
  let now = 0;
  const h = new WindowedPassiveHealth(2, 10_000, silentLogger, () => now);
  const s = new UpstreamServer('http://10.0.0.1');
  h.failure(s);
  h.success(s);
  now = 100;
  h.failure(s);
  assert.equal(s.ejectedUntil, 0);
  h.failure(s);
  assert.equal(s.ejectedUntil, 10_100);
});
