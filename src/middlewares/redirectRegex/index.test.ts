import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { performance } from 'node:perf_hooks';
import { build, createError, request, startMiddlewareServer } from '../testutil.js';
import { redirectRegex } from './index.js';

describe('redirectRegex', () => {
  const cases: Array<{
    desc: string;
    options: { regex: string; replacement: string; permanent?: boolean };
    host: string;
    target: string;
    method?: string;
    scheme?: string;
    status: number;
    location?: string;
  }> = [
    { desc: 'simple redirect', options: { regex: '^(?:http://)?foo(/.*)', replacement: 'https://bar$1' }, host: 'foo', target: '/x', status: 302, location: 'https://bar/x' },
    { desc: 'permanent GET is 301', options: { regex: '^http://foo/(.*)', replacement: 'https://bar/${1}', permanent: true }, host: 'foo', target: '/x', status: 301, location: 'https://bar/x' },
    { desc: 'POST is 307', options: { regex: '^http://foo/(.*)', replacement: 'https://bar/${1}' }, host: 'foo', target: '/x', method: 'POST', status: 307, location: 'https://bar/x' },
    { desc: 'permanent POST is 308', options: { regex: '^http://foo/(.*)', replacement: 'https://bar/${1}', permanent: true }, host: 'foo', target: '/x', method: 'POST', status: 308, location: 'https://bar/x' },
    { desc: 'full URL includes the port given in Host', options: { regex: '^http://foo:8080/(.*)', replacement: 'http://foo:9090/$1' }, host: 'foo:8080', target: '/a', status: 302, location: 'http://foo:9090/a' },
    { desc: 'query string is part of the URL', options: { regex: '^http://foo/search\\?q=(.*)', replacement: 'http://foo/find/$1' }, host: 'foo', target: '/search?q=abc', status: 302, location: 'http://foo/find/abc' },
    { desc: 'no match passes', options: { regex: '^http://bar/', replacement: 'http://baz/' }, host: 'foo', target: '/', status: 200 },
    { desc: 'unchanged URL passes (no loop)', options: { regex: '^(https?)://foo/(.*)', replacement: 'https://foo/$2' }, host: 'foo', target: '/a', scheme: 'https', status: 200 },
    { desc: 'https scheme seen from the context', options: { regex: '^https://foo/(.*)', replacement: 'https://www.foo/$1' }, host: 'foo', target: '/a', scheme: 'https', status: 302, location: 'https://www.foo/a' },
    { desc: 'www redirect with named group', options: { regex: '^http://(?P<host>[^/]+)/(.*)', replacement: 'http://www.${host}/$2' }, host: 'example.com', target: '/p?x=1', status: 302, location: 'http://www.example.com/p?x=1' },
    { desc: 'replacement yielding spaces is a 500', options: { regex: '^http://foo/(.*)', replacement: 'http://foo/ $1' }, host: 'foo', target: '/a', status: 500 },
  ];
  for (const c of cases) {
    it(c.desc, async () => {
      const srv = await startMiddlewareServer(build(redirectRegex, c.options), { scheme: c.scheme ?? 'http' });
      try {
        const r = await request(srv.url, c.target, { method: c.method, headers: { host: c.host } });
        assert.equal(r.status, c.status);
        assert.equal(r.headers.location, c.location);
        if (c.status === 200) assert.ok(srv.lastSeen());
        else assert.equal(srv.lastSeen(), null);
        if (c.location !== undefined && c.method !== 'HEAD') assert.match(r.body, new RegExp(`^${c.status} `));
      } finally {
        await srv.close();
      }
    });
  }
  const invalid = [
    { desc: 'bad regexp', options: { regex: '[', replacement: 'x' }, re: /redirectRegex\.regex/ },
    { desc: 'missing replacement', options: { regex: 'x' }, re: /./ },
    { desc: 'permanent not a boolean', options: { regex: 'x', replacement: 'y', permanent: 'yes' }, re: /./ },
  ];
  for (const c of invalid) it(`rejects ${c.desc}`, () => assert.match(createError(redirectRegex, c.options) ?? '', c.re));
});

describe('redirectRegex in linear time', () => {
  it('answers a 10,000-character URL against ^http://foo/(a+)+$ quickly', { timeout: 20_000 }, async () => {
    const srv = await startMiddlewareServer(build(redirectRegex, { regex: '^http://foo/(a+)+$', replacement: 'http://bar/$1' }));
    try {
      const target = '/' + 'a'.repeat(10_000) + '!';
      const t0 = performance.now();
      const r = await request(srv.url, target, { headers: { host: 'foo' } });
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
