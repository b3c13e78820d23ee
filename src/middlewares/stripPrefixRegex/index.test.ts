import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { performance } from 'node:perf_hooks';
import { build, createError, request, startMiddlewareServer } from '../testutil.js';
import { stripPrefixRegex } from './index.js';

describe('stripPrefixRegex', () => {
  const cases: Array<{ desc: string; regex: string[]; target: string; status?: number; path?: string; query?: string; header?: string }> = [
    { desc: 'no match passes unchanged', regex: ['/a/api/'], target: '/b/api/x', path: '/b/api/x' },
    { desc: 'literal prefix', regex: ['/a/api/'], target: '/a/api/x', path: '/x', header: '/a/api/' },
    { desc: 'character class', regex: ['/a/[a-z]+/'], target: '/a/users/42', path: '/42', header: '/a/users/' },
    { desc: 'keeps the query string', regex: ['/v[0-9]+'], target: '/v2/items?x=1', path: '/items', query: 'x=1', header: '/v2' },
    { desc: 'match not at the start is ignored', regex: ['/api'], target: '/x/api/y', path: '/x/api/y' },
    { desc: 'empty match is ignored', regex: ['z*'], target: '/x', path: '/x' },
    { desc: 'second expression used when first misses', regex: ['/nope/', '/b/[0-9]+'], target: '/b/12/c', path: '/c', header: '/b/12' },
    { desc: 'Go named group syntax', regex: ['/(?P<ver>v[0-9])/'], target: '/v1/z', path: '/z', header: '/v1/' },
    { desc: 'Go case-insensitive flag', regex: ['(?i)/API'], target: '/api/z', path: '/z', header: '/api' },
    { desc: 'whole path stripped gives /', regex: ['/a/.*'], target: '/a/b/c', path: '/', header: '/a/b/c' },
    { desc: 'dot segment after stripping refused', regex: ['/api'], target: '/api../x', status: 400 },
    { desc: 'Go flags mid-pattern', regex: ['/a(?i)b'], target: '/aB/x', path: '/x', header: '/aB' },
    { desc: 'as Traefik, the match text is stripped when the path starts with it', regex: ['/a$'], target: '/a/b/a', path: '/b/a', header: '/a' },
    { desc: 'a leftmost match elsewhere is not stripped', regex: ['/b'], target: '/a/b', path: '/a/b' },
  ];
  for (const c of cases) {
    it(c.desc, async () => {
      const srv = await startMiddlewareServer(build(stripPrefixRegex, { regex: c.regex }));
      try {
        const r = await request(srv.url, c.target.startsWith('/') ? c.target : '/' + c.target);
        assert.equal(r.status, c.status ?? 200);
        const seen = srv.lastSeen();
        if (c.status !== undefined) return assert.equal(seen, null);
        assert.equal(seen?.path, c.path);
        assert.equal(seen?.query, c.query ?? '');
        assert.equal(seen?.headers['x-forwarded-prefix'], c.header);
      } finally {
        await srv.close();
      }
    });
  }

  const invalid = [
    { desc: 'bad regexp', options: { regex: ['a(b'] }, re: /regex\[0\]/ },
    { desc: 'regex not a list', options: { regex: '/a' }, re: /./ },
    { desc: 'backreference (not Go syntax)', options: { regex: ['/(a)\\1'] }, re: /stripPrefixRegex\.regex\[0\]: .*backreferences are not supported/ },
  ];
  for (const c of invalid) it(`rejects ${c.desc}`, () => assert.match(createError(stripPrefixRegex, c.options) ?? '', c.re));
});

describe('stripPrefixRegex in linear time', () => {
  it('answers a 10,000-character path against /(a+)+x quickly', { timeout: 20_000 }, async () => {
    const srv = await startMiddlewareServer(build(stripPrefixRegex, { regex: ['/(a+)+x'] }));
    try {
      const target = '/' + 'a'.repeat(10_000) + '!';
      const t0 = performance.now();
      const r = await request(srv.url, target);
      const ms = performance.now() - t0;
      assert.equal(r.status, 200);
      assert.equal(srv.lastSeen()?.path, target);
      // Measured here: 20–60 ms (the leftmost-match search runs re2js's NFA); backtracking: hours.
      assert.ok(ms < 500, `took ${ms.toFixed(1)} ms`);
    } finally {
      await srv.close();
    }
  });
});
