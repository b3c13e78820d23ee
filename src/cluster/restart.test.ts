import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { RestartPolicy } from './restart.js';

describe('RestartPolicy', () => {
  it('backs off start failures and gives up after five in a row', () => {
    const p = new RestartPolicy();
    assert.deepEqual([1, 2, 3, 4].map(() => p.failed(false, 50)), [100, 200, 400, 800]);
    assert.equal(p.failed(false, 50), null);
  });
  it('replaces a worker that served for a while at once, and forgets earlier failures', () => {
    const p = new RestartPolicy();
    p.failed(false, 10);
    p.failed(false, 10);
    assert.equal(p.failed(true, 60_000), 0);
    assert.equal(p.consecutive, 0);
    assert.equal(p.failed(false, 10), 100);
  });
  it('counts a worker that died young as a failure even if it had listened', () => {
    const p = new RestartPolicy(3);
    assert.equal(p.failed(true, 500), 100);
    assert.equal(p.failed(true, 500), 200);
    assert.equal(p.failed(true, 500), null);
  });
});
