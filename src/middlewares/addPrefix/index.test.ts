import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { build, createError, request, startMiddlewareServer } from '../testutil.js';
import { addPrefix } from './index.js';

describe('addPrefix', () => {
  const cases = [
    { desc: 'adds to a path', prefix: '/api', target: '/users', path: '/api/users', query: '' },
    { desc: 'adds to root', prefix: '/api', target: '/', path: '/api/', query: '' },
    { desc: 'keeps the query string', prefix: '/api', target: '/u?id=3', path: '/api/u', query: 'id=3' },
    { desc: 'prefix without leading slash gets one', prefix: 'api', target: '/u', path: '/api/u', query: '' },
    { desc: 'trailing slash joined as is, like Traefik', prefix: '/api/', target: '/u', path: '/api//u', query: '' },
    { desc: 'encoded path stays encoded', prefix: '/p', target: '/a%20b', path: '/p/a%20b', query: '' },
  ];
  for (const c of cases) {
    it(c.desc, async () => {
      const srv = await startMiddlewareServer(build(addPrefix, { prefix: c.prefix }));
      try {
        const r = await request(srv.url, c.target);
        assert.equal(r.status, 200);
        assert.equal(srv.lastSeen()?.path, c.path);
        assert.equal(srv.lastSeen()?.query, c.query);
      } finally {
        await srv.close();
      }
    });
  }
  const invalid = [
    { desc: 'empty prefix', options: { prefix: '' }, re: /prefix cannot be empty/ },
    { desc: 'space in prefix', options: { prefix: '/a b' }, re: /not allowed/ },
    { desc: 'missing prefix', options: {}, re: /./ },
  ];
  for (const c of invalid) it(`rejects ${c.desc}`, () => assert.match(createError(addPrefix, c.options) ?? '', c.re));
});
