import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { build, createError, request, startMiddlewareServer } from '../testutil.js';
import { retry } from './index.js';

describe('retry', () => {
  const cases: Array<{ desc: string; options: unknown; attempts?: number; interval?: number; deadline?: boolean; error?: RegExp }> = [
    { desc: 'attempts 3 grants 2 extra attempts, default interval 100ms', options: { attempts: 3 }, attempts: 2, interval: 100 },
    { desc: 'attempts 1 grants none', options: { attempts: 1 }, attempts: 0, interval: 100 },
    { desc: 'initialInterval as a duration', options: { attempts: 4, initialInterval: '250ms' }, attempts: 3, interval: 250 },
    { desc: 'initialInterval in seconds', options: { attempts: 2, initialInterval: 1 }, attempts: 1, interval: 1000 },
    { desc: 'attempts 0 is refused', options: { attempts: 0 }, error: /attempts/ },
    { desc: 'missing attempts is refused', options: {}, error: /attempts/ },
    { desc: 'bad interval is refused', options: { attempts: 2, initialInterval: 'x' }, error: /duration/ },
    { desc: 'timeout sets a deadline for new attempts', options: { attempts: 3, timeout: '5s' }, attempts: 2, interval: 100, deadline: true },
    { desc: 'no timeout, no deadline', options: { attempts: 3 }, attempts: 2, interval: 100, deadline: false },
    { desc: 'disableRetryOnNetworkError grants the forwarder nothing', options: { attempts: 3, status: ['503'], disableRetryOnNetworkError: true }, attempts: 0, interval: 100 },
    { desc: 'disableRetryOnNetworkError needs status', options: { attempts: 3, disableRetryOnNetworkError: true }, error: /needs status codes/ },
    { desc: 'a bad status range is refused', options: { attempts: 3, status: ['5xx'] }, error: /"5xx" is not a status code or range/ },
    { desc: 'an unknown option is refused', options: { attempts: 3, statuses: ['500'] }, error: /statuses/ },
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
        if (c.deadline !== undefined) assert.equal(seen.ctx.retryDeadline > 0, c.deadline);
      } finally {
        await srv.close();
      }
    });
  }
});
