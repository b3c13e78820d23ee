/** SIGTERM during a slow request: the request completes, then the process exits 0. */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { serviceYaml, startBackend, startWithFile, waitFor } from '../helpers/gantry.js';
import { get } from '../helpers/http.js';

describe('graceful shutdown', () => {
  it('finishes the in-flight request, then exits 0', async () => {
    const slow = await startBackend('slow', (_req, res) => {
      setTimeout(() => {
        res.writeHead(200, { 'content-type': 'text/plain' });
        res.end('finished');
      }, 1000);
    });
    const { g, cleanup } = await startWithFile(serviceYaml('slow', 'slow.test', [slow.url]));
    try {
      const pending = get(g.url('/'), { host: 'slow.test' });
      await waitFor(() => slow.seen.length === 1, 3000);
      g.proc.kill('SIGTERM');
      const r = await pending;
      assert.equal(r.status, 200);
      assert.equal(r.body, 'finished');
      const code = await g.exited;
      assert.equal(code, 0);
      // New connections are refused once it stopped.
      await assert.rejects(get(g.url('/'), { host: 'slow.test' }));
    } finally {
      await cleanup();
      await slow.close();
    }
  });

  it('does not wait out the grace period after requests with bodies (in-flight accounting)', async () => {
    const b = await startBackend('b');
    const { g, cleanup } = await startWithFile(serviceYaml('b', 'b.test', [b.url]), ['--lifecycle.graceTimeout=10s', '--accessLog', '--accessLog.format=json']);
    try {
      for (let i = 0; i < 3; i++) {
        const r = await get(g.url('/'), { host: 'b.test', 'content-type': 'text/plain' }, 'POST', 'payload');
        assert.equal(r.status, 200);
      }
      // Every POST is logged: each request was seen to finish.
      await waitFor(() => g.stdout.filter((l) => l.includes('"POST"')).length === 3, 3000);
      const t0 = Date.now();
      assert.equal(await g.stop('SIGTERM'), 0);
      const ms = Date.now() - t0;
      assert.ok(ms < 5000, `stop took ${ms} ms: something still counted as in flight`);
    } finally {
      await cleanup();
      await b.close();
    }
  });
});
