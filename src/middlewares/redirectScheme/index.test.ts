import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { build, createError, request, startMiddlewareServer } from '../testutil.js';
import { redirectScheme } from './index.js';

describe('redirectScheme', () => {
  const cases: Array<{
    desc: string;
    options: { scheme: string; port?: string | number; permanent?: boolean };
    target: string;
    host: string;
    method?: string;
    scheme?: string;
    headers?: Record<string, string>;
    status: number;
    location?: string;
  }> = [
    { desc: 'http to https, GET, temporary', options: { scheme: 'https' }, host: 'foo', target: '/', status: 302, location: 'https://foo/' },
    { desc: 'http to https, GET, permanent', options: { scheme: 'https', permanent: true }, host: 'foo', target: '/', status: 301, location: 'https://foo/' },
    { desc: 'POST temporary keeps the method: 307', options: { scheme: 'https' }, host: 'foo', target: '/', method: 'POST', status: 307, location: 'https://foo/' },
    { desc: 'POST permanent keeps the method: 308', options: { scheme: 'https', permanent: true }, host: 'foo', target: '/', method: 'POST', status: 308, location: 'https://foo/' },
    { desc: 'HEAD is not GET: 307', options: { scheme: 'https' }, host: 'foo', target: '/', method: 'HEAD', status: 307, location: 'https://foo/' },
    { desc: 'keeps path and query', options: { scheme: 'https' }, host: 'foo', target: '/a/b?c=d&e', status: 302, location: 'https://foo/a/b?c=d&e' },
    { desc: 'drops the client port', options: { scheme: 'https' }, host: 'foo:8080', target: '/x', status: 302, location: 'https://foo/x' },
    { desc: 'sets a port', options: { scheme: 'https', port: '8443' }, host: 'foo:8080', target: '/x', status: 302, location: 'https://foo:8443/x' },
    { desc: 'numeric port accepted', options: { scheme: 'https', port: 8443 }, host: 'foo', target: '/', status: 302, location: 'https://foo:8443/' },
    { desc: 'default https port omitted', options: { scheme: 'https', port: '443' }, host: 'foo:80', target: '/', status: 302, location: 'https://foo/' },
    { desc: 'IPv6 host keeps brackets', options: { scheme: 'https' }, host: '[::1]:8000', target: '/', status: 302, location: 'https://[::1]/' },
    { desc: 'already https: passes', options: { scheme: 'https' }, host: 'foo', target: '/', scheme: 'https', status: 200 },
    { desc: 'already https on 443: passes', options: { scheme: 'https' }, host: 'foo:443', target: '/', scheme: 'https', status: 200 },
    { desc: 'https on another port than wanted: redirects', options: { scheme: 'https', port: '8443' }, host: 'foo:443', target: '/', scheme: 'https', status: 302, location: 'https://foo:8443/' },
    { desc: 'already at scheme and port: passes', options: { scheme: 'https', port: '8443' }, host: 'foo:8443', target: '/', scheme: 'https', status: 200 },
    { desc: 'https to http', options: { scheme: 'http' }, host: 'foo', target: '/', scheme: 'https', status: 302, location: 'http://foo/' },
    { desc: 'http to http on port 80: passes', options: { scheme: 'http', port: '80' }, host: 'foo:80', target: '/', status: 200 },
    { desc: 'to wss with a port', options: { scheme: 'wss', port: '9443' }, host: 'foo', target: '/', status: 302, location: 'wss://foo:9443/' },
    { desc: 'https on port 80 is not the default port', options: { scheme: 'https' }, host: 'foo:80', target: '/', scheme: 'https', status: 302, location: 'https://foo/' },
    { desc: 'IPv6 on port 80 to https with a port', options: { scheme: 'https', port: '8443' }, host: '[::1]:80', target: '/', status: 302, location: 'https://[::1]:8443/' },
    { desc: 'http port redirection', options: { scheme: 'http', port: '8181' }, host: 'foo:8080', target: '/', status: 302, location: 'http://foo:8181/' },
    { desc: 'wss context counts as https', options: { scheme: 'https' }, host: 'foo', target: '/', scheme: 'wss', status: 200 },
  ];
  for (const c of cases) {
    it(c.desc, async () => {
      const srv = await startMiddlewareServer(build(redirectScheme, c.options), { scheme: c.scheme ?? 'http' });
      try {
        const r = await request(srv.url, c.target, { method: c.method, headers: { host: c.host, ...c.headers } });
        assert.equal(r.status, c.status);
        assert.equal(r.headers.location, c.location);
        if (c.status === 200) assert.ok(srv.lastSeen());
        else assert.equal(srv.lastSeen(), null);
      } finally {
        await srv.close();
      }
    });
  }
  const invalid = [
    { desc: 'empty scheme', options: { scheme: '' }, re: /target scheme/ },
    { desc: 'bad port', options: { scheme: 'https', port: 'x' }, re: /invalid port/ },
    { desc: 'missing scheme', options: {}, re: /./ },
  ];
  for (const c of invalid) it(`rejects ${c.desc}`, () => assert.match(createError(redirectScheme, c.options) ?? '', c.re));
});
