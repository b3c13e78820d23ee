import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DEFAULT_PASSIVE_POLICY, recordFailure, recordResponse, recordSuccess } from './passive.js';
import { UpstreamServer } from '../upstreams/server.js';
import { serverStatus } from './status.js';

test('passive: ejection after consecutive failures, growing back-off, recovery', () => {
  const s = new UpstreamServer('http://127.0.0.1:9001');
  let now = 10_000;
  // Two failures: still in rotation.
  assert.equal(recordFailure(s, now), false);
  assert.equal(recordFailure(s, now), false);
  assert.equal(s.available(now), true);
  // The third ejects for 1 s.
  assert.equal(recordFailure(s, now), true);
  assert.equal(s.available(now), false);
  assert.equal(serverStatus(s, now), 'DOWN');
  assert.equal(s.ejections, 1);
  // Failures of requests that were in flight change nothing while ejected.
  assert.equal(recordFailure(s, now + 500), false);
  assert.equal(s.ejectedUntil, now + 1000);
  now += 1000;
  assert.equal(s.available(now), true);
  // On probation: one failure ejects again, for 2 s.
  assert.equal(recordFailure(s, now), true);
  assert.equal(s.ejectedUntil, now + 2000);
  now += 2000;
  assert.equal(recordFailure(s, now), true);
  assert.equal(s.ejectedUntil, now + 4000);
  now += 4000;
  // A success makes it fully healthy: three failures are needed again.
  recordSuccess(s);
  assert.equal(s.ejections, 0);
  assert.equal(recordFailure(s, now), false);
  assert.equal(recordFailure(s, now), false);
  assert.equal(recordFailure(s, now), true);
  assert.equal(s.ejectedUntil, now + 1000);
});

test('passive: back-off is capped', () => {
  const s = new UpstreamServer('http://127.0.0.1:9001');
  let now = 0;
  const backoffs: number[] = [];
  for (let i = 0; i < 8; i++) {
    while (!recordFailure(s, now));
    backoffs.push(s.ejectedUntil - now);
    now = s.ejectedUntil;
  }
  assert.deepEqual(backoffs, [1000, 2000, 4000, 8000, 16000, 30000, 30000, 30000]);
});

test('passive: a success between failures resets the count', () => {
  const s = new UpstreamServer('http://127.0.0.1:9001');
  for (let i = 0; i < 10; i++) {
    recordFailure(s, 0);
    recordFailure(s, 0);
    recordSuccess(s);
  }
  assert.equal(s.available(0), true);
});

test('passive: recordResponse classifies statuses', () => {
  const cases = [
    { desc: '200 is a success', statuses: [200, 200, 200], ejected: false },
    { desc: '404 is a success', statuses: [404, 404, 404], ejected: false },
    { desc: '500s eject', statuses: [500, 502, 503], ejected: true },
    { desc: 'a 2xx between resets', statuses: [500, 502, 200, 503], ejected: false },
  ];
  for (const c of cases) {
    const s = new UpstreamServer('http://127.0.0.1:9001');
    for (const st of c.statuses) recordResponse(s, st, 0);
    assert.equal(!s.available(0), c.ejected, c.desc);
  }
});

test('passive: custom policy', () => {
  const s = new UpstreamServer('http://127.0.0.1:9001');
  const policy = { ...DEFAULT_PASSIVE_POLICY, maxFailures: 1, baseBackoffMs: 50 };
  assert.equal(recordFailure(s, 0, policy), true);
  assert.equal(s.ejectedUntil, 50);
});
