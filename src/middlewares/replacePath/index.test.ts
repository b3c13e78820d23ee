import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { build, createError, request, startMiddlewareServer } from '../testutil.js';
import { replacePath } from './index.js';

describe('replacePath', () => {
  const cases = [
    { desc: 'simple path', path: '/replacement-path', target: '/example', want: '/replacement-path', query: '', header: '/example' },
    { desc: 'long path', path: '/replacement-path', target: '/some/really/long/path', want: '/replacement-path', query: '', header: '/some/really/long/path' },
    { desc: 'keeps the query string', path: '/new', target: '/old?x=1&y=2', want: '/new', query: 'x=1&y=2', header: '/old?x=1&y=2' },
    { desc: 'escaped original is recorded escaped', path: '/r', target: '/foo%20bar', want: '/r', query: '', header: '/foo%20bar' },
    { desc: 'escaped replacement is forwarded escaped', path: '/foo%2Fbar', target: '/path', want: '/foo%2Fbar', query: '', header: '/path' },
    { desc: 'a ? in the replacement stays in the path', path: '/a?b', target: '/p', want: '/a%3Fb', query: '', header: '/p' },
  ];
  for (const c of cases) {
    it(c.desc, async () => {
      const srv = await startMiddlewareServer(build(replacePath, { path: c.path }));
      try {
        const r = await request(srv.url, c.target);
        assert.equal(r.status, 200);
        const seen = srv.lastSeen();
        assert.equal(seen?.path, c.want);
        assert.equal(seen?.query, c.query);
        assert.equal(seen?.headers['x-replaced-path'], c.header);
      } finally {
        await srv.close();
      }
    });
  }
  const invalid = [
    { desc: 'broken percent-encoding', options: { path: '/a%zz' }, re: /percent-encoding/ },
    { desc: 'control character', options: { path: '/a\nb' }, re: /not allowed/ },
    { desc: 'path missing', options: {}, re: /./ },
  ];
  for (const c of invalid) it(`rejects ${c.desc}`, () => assert.match(createError(replacePath, c.options) ?? '', c.re));
});
