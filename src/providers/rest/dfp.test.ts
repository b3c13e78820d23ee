import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { performance } from 'node:perf_hooks';
import { buildDfpConfig, DfpParamError, parseDfpParams } from './dfp.js';
import { build, request, startMiddlewareServer } from '../../middlewares/testutil.js';
import { replacePathRegex } from '../../middlewares/replacePathRegex/index.js';

function params(q: Record<string, string>): URLSearchParams {
  return new URLSearchParams({ serviceName: 'app', servicePath: '/', port: '8080', ...q });
}

describe('DFP reqPathSearch', () => {
  const valid: Array<{ desc: string; search: string }> = [
    { desc: 'plain Go regexp', search: '^/api/(.*)' },
    { desc: 'Go named group', search: '^/(?P<rest>.*)' },
    { desc: 'Go flags mid-pattern', search: '^/a(?i)b' },
  ];
  for (const c of valid) {
    it(`accepts ${c.desc}`, () => {
      const p = parseDfpParams(params({ reqPathSearch: c.search, reqPathReplace: '/$1' }));
      assert.equal(p.reqPathSearch, c.search);
    });
  }

  const invalid: Array<{ desc: string; search: string; message: RegExp }> = [
    { desc: 'unbalanced parenthesis', search: '^/(a', message: /^reqPathSearch parameter: not a regular expression: missing closing \)/ },
    { desc: 'lookahead, which replacePathRegex could not compile', search: '^/(?!admin)', message: /lookahead and lookbehind assertions are not supported/ },
    { desc: 'backreference', search: '(a)\\1', message: /backreferences are not supported/ },
  ];
  for (const c of invalid) {
    it(`refuses ${c.desc}`, () =>
      assert.throws(
        () => parseDfpParams(params({ reqPathSearch: c.search, reqPathReplace: '/' })),
        (err: unknown) => err instanceof DfpParamError && err.param === 'reqPathSearch' && err.status === 400 && c.message.test(err.message),
      ));
  }

  it('a pathological reqPathSearch becomes a replacePathRegex that answers quickly', { timeout: 20_000 }, async () => {
    const p = parseDfpParams(params({ reqPathSearch: '^/(a+)+$', reqPathReplace: '/x' }));
    const cfg = buildDfpConfig({ app: { ...p, users: [] } }, []) as { http: { middlewares: Record<string, { replacePathRegex?: unknown }> } };
    const options = cfg.http.middlewares['app-req-path']?.replacePathRegex;
    assert.deepEqual(options, { regex: '^/(a+)+$', replacement: '/x' });
    const srv = await startMiddlewareServer(build(replacePathRegex, options));
    try {
      const target = '/' + 'a'.repeat(10_000) + '!';
      const t0 = performance.now();
      const r = await request(srv.url, target);
      const ms = performance.now() - t0;
      assert.equal(r.status, 200);
      assert.equal(srv.lastSeen()?.path, target);
      // Measured here: 5–15 ms for the whole request (a backtracking engine: hours).
      assert.ok(ms < 250, `took ${ms.toFixed(1)} ms`);
    } finally {
      await srv.close();
    }
  });
});
