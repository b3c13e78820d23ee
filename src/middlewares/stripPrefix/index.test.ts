import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { build, createError, request, startMiddlewareServer, type MiddlewareServer } from '../testutil.js';
import { stripPrefix } from './index.js';

describe('stripPrefix', () => {
  const cases: Array<{
    desc: string;
    prefixes: string[];
    target: string;
    status?: number;
    path?: string;
    query?: string;
    header?: string | string[];
  }> = [
    { desc: 'no prefixes configured', prefixes: [], target: '/noprefixes', path: '/noprefixes' },
    { desc: 'root prefix on root', prefixes: ['/'], target: '/', path: '/', header: '/' },
    { desc: '/api on /api', prefixes: ['/api'], target: '/api', path: '/', header: '/api' },
    { desc: '/api on /api/', prefixes: ['/api'], target: '/api/', path: '/', header: '/api' },
    { desc: '/api on /api/users', prefixes: ['/api'], target: '/api/users', path: '/users', header: '/api' },
    { desc: '/api on /apix strips within the segment, as Traefik', prefixes: ['/api'], target: '/apix', path: '/x', header: '/api' },
    { desc: '/api/ on /api/ ', prefixes: ['/api/'], target: '/api/', path: '/', header: '/api/' },
    { desc: '/api/ on /api/users', prefixes: ['/api/'], target: '/api/users', path: '/users', header: '/api/' },
    { desc: '/api/ does not match /api', prefixes: ['/api/'], target: '/api', path: '/api' },
    { desc: '/api/ does not match /apix', prefixes: ['/api/'], target: '/apix', path: '/apix' },
    { desc: 'keeps the query string', prefixes: ['/api'], target: '/api/items?id=1&x=%20y', path: '/items', query: 'id=1&x=%20y', header: '/api' },
    { desc: 'keeps the query string on the bare prefix', prefixes: ['/api'], target: '/api?a=b', path: '/', query: 'a=b', header: '/api' },
    { desc: 'first matching prefix wins', prefixes: ['/stat', '/stat/us'], target: '/stat/us', path: '/us', header: '/stat' },
    { desc: 'later prefix matches', prefixes: ['/mismatch', '/stat'], target: '/stat', path: '/', header: '/stat' },
    { desc: 'encoded characters stay encoded', prefixes: ['/api'], target: '/api/a%20b', path: '/a%20b', header: '/api' },
    { desc: 'prefix is matched after normalisation', prefixes: ['/api/'], target: '/ap%69/x', path: '/x', header: '/api/' },
    { desc: 'a dot segment left after stripping is refused', prefixes: ['/api'], target: '/api./foo', status: 400 },
    { desc: 'a dot-dot segment left after stripping is refused', prefixes: ['/api'], target: '/api../foo', status: 400 },
    { desc: 'a bare dot-dot left after stripping is refused', prefixes: ['/api'], target: '/api..', status: 400 },
    { desc: 'dots inside a segment are fine', prefixes: ['/api'], target: '/api.v2/foo', path: '/.v2/foo', header: '/api' },
  ];

  for (const c of cases) {
    it(c.desc, async () => {
      const srv = await startMiddlewareServer(build(stripPrefix, { prefixes: c.prefixes }));
      try {
        const r = await request(srv.url, c.target);
        assert.equal(r.status, c.status ?? 200);
        const seen = srv.lastSeen();
        if ((c.status ?? 200) !== 200) {
          assert.equal(seen, null);
          assert.match(r.body, /^400 /);
          return;
        }
        assert.ok(seen);
        assert.equal(seen.path, c.path);
        assert.equal(seen.query, c.query ?? '');
        assert.equal(seen.headers['x-forwarded-prefix'], c.header);
        assert.equal(seen.ctx.strippedPrefix, c.header ?? '');
      } finally {
        await srv.close();
      }
    });
  }

  describe('with a client-sent X-Forwarded-Prefix', () => {
    let srv: MiddlewareServer;
    before(async () => {
      srv = await startMiddlewareServer(build(stripPrefix, { prefixes: ['/api'] }));
    });
    after(() => srv.close());
    it('adds a value, as Header.Add does', async () => {
      await request(srv.url, '/api/x', { headers: { 'x-forwarded-prefix': '/outer' } });
      assert.deepEqual(srv.lastSeen()?.headers['x-forwarded-prefix'], ['/outer', '/api']);
    });
  });

  it('chained strips accumulate ctx.strippedPrefix', async () => {
    const srv = await startMiddlewareServer((next) => build(stripPrefix, { prefixes: ['/a'] })(build(stripPrefix, { prefixes: ['/b'] })(next)));
    try {
      await request(srv.url, '/a/b/c?q=1');
      const seen = srv.lastSeen();
      assert.equal(seen?.path, '/c');
      assert.equal(seen?.target, '/c?q=1');
      assert.equal(seen?.ctx.strippedPrefix, '/a/b');
    } finally {
      await srv.close();
    }
  });

  const invalid = [
    { desc: 'prefixes missing', options: {} },
    { desc: 'prefixes not a list', options: { prefixes: '/api' } },
    { desc: 'unknown option', options: { prefixes: ['/a'], prefix: '/b' } },
  ];
  for (const c of invalid) it(`rejects ${c.desc}`, () => assert.notEqual(createError(stripPrefix, c.options), null));
  it('accepts the deprecated forceSlash', () => assert.equal(createError(stripPrefix, { prefixes: ['/a'], forceSlash: true }), null));
});
