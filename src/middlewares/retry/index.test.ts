import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { build, createError, request, startMiddlewareServer } from '../testutil.js';
import { retry } from './index.js';

describe('retry', () => {
  const cases: Array<{ desc: string; options: unknown; attempts?: number; interval?: number; error?: RegExp }> = [
    { desc: 'attempts 3 grants 2 extra attempts, default interval 100ms', options: { attempts: 3 }, attempts: 2, interval: 100 },
    { desc: 'attempts 1 grants none', options: { attempts: 1 }, attempts: 0, interval: 100 },
    { desc: 'initialInterval as a duration', options: { attempts: 4, initialInterval: '250ms' }, attempts: 3, interval: 250 },
    { desc: 'initialInterval in seconds', options: { attempts: 2, initialInterval: 1 }, attempts: 1, interval: 1000 },
    { desc: 'attempts 0 is refused', options: { attempts: 0 }, error: /attempts/ },
    { desc: 'missing attempts is refused', options: {}, error: /attempts/ },
    { desc: 'bad interval is refused', options: { attempts: 2, initialInterval: 'x' }, error: /duration/ },
  ];
  for (const c of cases) {
    it(c.desc, async () => {
      if (c.error) {
        const err = createError(retry, c.options);
        assert.ok(err !== null);
        assert.match(err, c.error);
        return;
      }
      const srv = await startMiddlewareServer(build(retry, c.options));
      try {
        const r = await request(srv.url, '/x');
        assert.equal(r.status, 200);
        const seen = srv.lastSeen();
        assert.ok(seen);
        assert.equal(seen.ctx.retryAttempts, c.attempts);
        assert.equal(seen.ctx.retryInitialIntervalMs, c.interval);
      } finally {
        await srv.close();
      }
    });
  }
});
