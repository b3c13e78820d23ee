import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { build, createError, request, startMiddlewareServer } from '../testutil.js';
import { replacePathRegex } from './index.js';
import { compileGoRegexp, GoReplacer } from './goregexp.js';

describe('replacePathRegex', () => {
  const cases: Array<{ desc: string; regex: string; replacement: string; target: string; status?: number; path?: string; query?: string; header?: string }> = [
    { desc: 'simple regex', regex: '^/(.*)', replacement: '/who-am-i/$1', target: '/whoami/and/whoami', path: '/who-am-i/whoami/and/whoami', header: '/whoami/and/whoami' },
    { desc: 'every match is replaced', regex: 'whoami', replacement: 'who-am-i', target: '/whoami/and/whoami', path: '/who-am-i/and/who-am-i', header: '/whoami/and/whoami' },
    { desc: 'no match passes unchanged', regex: '^/api/(.*)', replacement: '/$1', target: '/other', path: '/other' },
    { desc: 'empty replacement does nothing', regex: '^/api', replacement: '', target: '/api/x', path: '/api/x' },
    { desc: 'keeps the query string', regex: '^/api/v1/(.*)', replacement: '/v2/$1', target: '/api/v1/items?id=3', path: '/v2/items', query: 'id=3', header: '/api/v1/items' },
    { desc: 'braced group before text', regex: '^/(\\w+)/(\\d+)', replacement: '/${1}x/$2', target: '/user/42', path: '/userx/42', header: '/user/42' },
    { desc: '$1x names group "1x" (Go), which is empty', regex: '^/(\\w+)', replacement: '/$1x', target: '/abc', path: '/', header: '/abc' },
    { desc: 'named group', regex: '^/(?P<first>[a-z]+)/(?P<second>[a-z]+)', replacement: '/$second/${first}', target: '/aa/bb', path: '/bb/aa', header: '/aa/bb' },
    { desc: 'matches against the escaped path', regex: '%20', replacement: '-', target: '/a%20b', path: '/a-b', header: '/a%20b' },
    { desc: 'replacement may introduce escapes', regex: '^/foo/(.*)', replacement: '/foo%2F$1', target: '/foo/bar', path: '/foo%2Fbar', header: '/foo/bar' },
    { desc: 'invalid escape produced gives 500', regex: '^/(.*)', replacement: '/%zz/$1', target: '/x', status: 500 },
  ];
  for (const c of cases) {
    it(c.desc, async () => {
      const srv = await startMiddlewareServer(build(replacePathRegex, { regex: c.regex, replacement: c.replacement }));
      try {
        const r = await request(srv.url, c.target);
        assert.equal(r.status, c.status ?? 200);
        const seen = srv.lastSeen();
        if (c.status !== undefined) return assert.equal(seen, null);
        assert.equal(seen?.path, c.path);
        assert.equal(seen?.query, c.query ?? '');
        assert.equal(seen?.headers['x-replaced-path'], c.header);
      } finally {
        await srv.close();
      }
    });
  }
  const invalid = [
    { desc: 'bad regexp', options: { regex: '(', replacement: '/' }, re: /replacePathRegex\.regex/ },
    { desc: 'ungreedy flag', options: { regex: '(?U)a+', replacement: '/' }, re: /ungreedy/ },
    { desc: 'missing replacement', options: { regex: 'a' }, re: /./ },
  ];
  for (const c of invalid) it(`rejects ${c.desc}`, () => assert.match(createError(replacePathRegex, c.options) ?? '', c.re));
});

describe('Go regexp and templates', () => {
  const cases = [
    { desc: '$$ is a dollar', re: 'a(b)', tpl: '$$1', input: 'ab', want: '$1' },
    { desc: '${0} is the whole match', re: 'b+', tpl: '[${0}]', input: 'abbc', want: 'a[bb]c' },
    { desc: 'missing group expands to nothing', re: 'a', tpl: 'x$3y', input: 'a', want: 'x' },
    { desc: 'unmatched optional group is empty', re: 'a(z)?', tpl: '<$1>', input: 'a', want: '<>' },
    { desc: 'malformed ${ keeps the dollar', re: 'a', tpl: '${', input: 'a', want: '${' },
    { desc: 'dollar before punctuation is literal', re: 'a', tpl: '$/', input: 'a', want: '$/' },
    { desc: 'POSIX class', re: '[[:digit:]]+', tpl: 'N', input: 'a12b3', want: 'aNbN' },
    { desc: '\\pL short Unicode class', re: '\\pL+', tpl: 'W', input: 'été 1', want: 'W 1' },
    { desc: '\\z end of text', re: 'a\\z', tpl: 'E', input: 'aa', want: 'aE' },
    { desc: 'literal ] first in a class', re: '[]a]+', tpl: '-', input: 'x]a]y', want: 'x-y' },
    { desc: 'flag s makes . match newlines', re: '(?s)a.b', tpl: 'X', input: 'a\nb', want: 'X' },
  ];
  for (const c of cases) {
    it(c.desc, () => {
      const r = new GoReplacer(compileGoRegexp(c.re, 'test', true), c.tpl);
      assert.equal(r.replaceAll(c.input), c.want);
    });
  }
});
