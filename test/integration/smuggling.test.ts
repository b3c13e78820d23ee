/**
 * Request smuggling, ambiguous hosts and path tricks, on raw sockets: each gets the stated answer
 * and never reaches the upstream in a form that differs from what was routed.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { startBackend, startWithFile, type Backend, type GantryProcess } from '../helpers/gantry.js';
import { rawRequest, statusOf } from '../helpers/raw.js';

describe('smuggling, Host and path normalisation', () => {
  let g: GantryProcess;
  let cleanup: () => Promise<void>;
  let pub: Backend;
  let admin: Backend;
  let other: Backend;

  before(async () => {
    pub = await startBackend('public');
    admin = await startBackend('admin');
    other = await startBackend('other');
    const yaml = `http:
  routers:
    public:
      rule: Host(\`s.test\`) && PathPrefix(\`/public\`)
      service: public
    admin:
      rule: Host(\`s.test\`) && PathPrefix(\`/admin\`)
      service: admin
    other:
      rule: Host(\`other.test\`)
      service: other
  services:
    public: { loadBalancer: { servers: [{ url: "${pub.url}" }] } }
    admin: { loadBalancer: { servers: [{ url: "${admin.url}" }] } }
    other: { loadBalancer: { servers: [{ url: "${other.url}" }] } }
`;
    ({ g, cleanup } = await startWithFile(yaml, ['--entrypoints.web.transport.respondingTimeouts.readTimeout=2s']));
  });
  after(async () => {
    await cleanup?.();
    for (const b of [pub, admin, other]) await b?.close();
  });

  const total = () => pub.seen.length + admin.seen.length + other.seen.length;

  const rejected = [
    { desc: 'Content-Length with Transfer-Encoding', req: 'POST /public HTTP/1.1\r\nHost: s.test\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\nGET /admin HTTP/1.1\r\nHost: s.test\r\n\r\n', status: 400 },
    { desc: 'two differing Content-Length', req: 'POST /public HTTP/1.1\r\nHost: s.test\r\nContent-Length: 4\r\nContent-Length: 40\r\n\r\nabcd', status: 400 },
    { desc: 'malformed chunk size', req: 'POST /public HTTP/1.1\r\nHost: s.test\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nabc\r\n0\r\n\r\n', status: 400 },
    { desc: 'Transfer-Encoding not ending in chunked', req: 'POST /public HTTP/1.1\r\nHost: s.test\r\nTransfer-Encoding: chunked, identity\r\n\r\n0\r\n\r\n', status: 400 },
    { desc: 'obfuscated Transfer-Encoding', req: 'POST /public HTTP/1.1\r\nHost: s.test\r\nTransfer-Encoding: xchunked\r\n\r\n0\r\n\r\n', status: 400 },
    { desc: 'two Host headers', req: 'GET /public HTTP/1.1\r\nHost: s.test\r\nHost: other.test\r\n\r\n', status: 400 },
    { desc: 'encoded slash', req: 'GET /public%2F..%2Fadmin HTTP/1.1\r\nHost: s.test\r\n\r\n', status: 400 },
    { desc: 'encoded backslash', req: 'GET /public/..%5Cadmin HTTP/1.1\r\nHost: s.test\r\n\r\n', status: 400 },
    { desc: 'encoded NUL', req: 'GET /public/%00 HTTP/1.1\r\nHost: s.test\r\n\r\n', status: 400 },
    { desc: 'bad percent-encoding', req: 'GET /public/%zz HTTP/1.1\r\nHost: s.test\r\n\r\n', status: 400 },
    // Found by the differential oracle (test/reliability/oracle.test.ts): nginx and HAProxy refuse these.
    { desc: 'a transfer coding before chunked', req: 'POST /public HTTP/1.1\r\nHost: s.test\r\nTransfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n', status: 501 },
    { desc: 'Transfer-Encoding lines deflate and chunked', req: 'POST /public HTTP/1.1\r\nHost: s.test\r\nTransfer-Encoding: deflate\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nWorld\r\n0\r\n\r\n', status: 501 },
    { desc: 'absolute-form with two Host headers', req: 'GET http://s.test/public HTTP/1.1\r\nHost: s.test\r\nHost: other.test\r\n\r\n', status: 400 },
    { desc: 'SOURCE with the ICE protocol', req: 'SOURCE /public ICE/1.0\r\nHost: s.test\r\n\r\n', status: 501 },
    { desc: 'chunk data without its CRLF, in the read that brought the head', req: 'POST /public HTTP/1.1\r\nHost: s.test\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nABCDE0\r\n\r\n', status: 400 },
    { desc: 'a chunked body without its last chunk, then a request', req: 'PUT /public HTTP/1.1\r\nHost: s.test\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nfoo\r\n\r\nGET /admin HTTP/1.1\r\nHost: s.test\r\n\r\n', status: 400 },
    { desc: 'oversized head', req: `GET /public HTTP/1.1\r\nHost: s.test\r\nX-Big: ${'a'.repeat(20_000)}\r\n\r\n`, status: 431 },
  ];
  for (const c of rejected) {
    it(`refuses ${c.desc} with ${c.status}`, async () => {
      const before = total();
      const raw = await rawRequest(g.port(), c.req);
      assert.equal(statusOf(raw), c.status, raw.slice(0, 300));
      assert.match(raw, /\r\n\r\n\d{3} /, 'a short plain-text body names the cause');
      assert.equal(total(), before, 'nothing reached an upstream');
    });
  }

  const normalised = [
    { desc: 'dot segments', path: '/public/../admin/x', backend: 'admin', seen: '/admin/x' },
    { desc: 'encoded dot segments', path: '/public/%2e%2e/admin/x', backend: 'admin', seen: '/admin/x' },
    { desc: 'mixed-case encoded dots', path: '/public/%2E./admin', backend: 'admin', seen: '/admin' },
    { desc: 'double slashes', path: '//public//a', backend: 'public', seen: '/public/a' },
    { desc: 'encoded unreserved characters', path: '/public/%7euser/%41', backend: 'public', seen: '/public/~user/A' },
    { desc: 'percent-escape case', path: '/public/caf%c3%a9?q=%2f', backend: 'public', seen: '/public/caf%C3%A9?q=%2f' },
    { desc: 'dot segment cannot climb above root', path: '/../../public', backend: 'public', seen: '/public' },
  ];
  for (const c of normalised) {
    it(`routes and forwards the normalised path: ${c.desc}`, async () => {
      const raw = await rawRequest(g.port(), `GET ${c.path} HTTP/1.1\r\nHost: s.test\r\nConnection: close\r\n\r\n`);
      assert.equal(statusOf(raw), 200, raw.slice(0, 300));
      const b = c.backend === 'admin' ? admin : pub;
      assert.equal(b.seen.at(-1)!.url, c.seen);
    });
  }

  // Found by the differential oracle: nginx and HAProxy answer the request and ignore the rest.
  for (const [desc, first] of [
    ['Connection: close', 'GET /public/c HTTP/1.1\r\nHost: s.test\r\nConnection: close\r\n\r\n'],
    ['HTTP/1.0', 'POST /public/c HTTP/1.0\r\nHost: s.test\r\nContent-Length: 2\r\n\r\nab\r\n'],
  ] as const) {
    it(`answers a request with ${desc} and ignores the bytes after it`, async () => {
      const before = admin.seen.length;
      const t0 = Date.now();
      const raw = await rawRequest(g.port(), `${first}GET /admin HTTP/1.1\r\nHost: s.test\r\n\r\n`);
      assert.equal(statusOf(raw), 200, raw);
      assert.equal(raw.match(/HTTP\/1\.1 \d{3}/g)?.length, 1, raw);
      assert.equal(pub.seen.at(-1)!.url, '/public/c');
      assert.equal(admin.seen.length, before, 'the bytes after it were not a request');
      assert.ok(Date.now() - t0 < 4000, 'the connection closed after the answer');
    });
  }

  it('lets an absolute-form target win over Host', async () => {
    const raw = await rawRequest(g.port(), 'GET http://other.test/abs?x=1 HTTP/1.1\r\nHost: s.test\r\nConnection: close\r\n\r\n');
    assert.equal(statusOf(raw), 200, raw);
    const seen = other.seen.at(-1)!;
    assert.equal(seen.url, '/abs?x=1');
    assert.equal(seen.headers.host, 'other.test');
  });

  it('refuses an h2c upgrade (served as HTTP/1.1, upgrade not forwarded)', async () => {
    const raw = await rawRequest(g.port(), 'GET /public/h2c HTTP/1.1\r\nHost: s.test\r\nConnection: Upgrade, HTTP2-Settings\r\nUpgrade: h2c\r\nHTTP2-Settings: AAMAAABkAARAAAAAAAIAAAAA\r\n\r\n');
    assert.equal(statusOf(raw), 200, raw);
    const seen = pub.seen.at(-1)!;
    assert.equal(seen.url, '/public/h2c');
    assert.equal(seen.headers.upgrade, undefined);
    assert.equal(seen.headers['http2-settings'], undefined);
  });

  it('times out a slow request head (slowloris) with 408', async () => {
    const t0 = Date.now();
    const raw = await rawRequest(g.port(), 'GET /public HTTP/1.1\r\nHost: s.test\r\nX-Slow: ', 8000);
    const ms = Date.now() - t0;
    assert.equal(statusOf(raw), 408, raw);
    assert.ok(ms < 6000, `took ${ms} ms`);
  });

  it('closes a connection that sends nothing once the header timeout (2 s here) has passed, but not one idle after a request', async () => {
    // Both wait on the fast lane's idle reaper (src/entrypoints/fast/idle-reaper.ts), not node:http.
    const open = (first: string): { socket: net.Socket; got: () => string; closed: Promise<number> } => {
      const t0 = Date.now();
      const socket = net.connect(g.port(), '127.0.0.1');
      let got = '';
      socket.on('connect', () => socket.write(first));
      socket.on('data', (d) => (got += d.toString('latin1')));
      socket.on('error', () => undefined);
      return { socket, got: () => got, closed: new Promise((resolve) => socket.on('close', () => resolve(Date.now() - t0))) };
    };
    const served = open('GET /public HTTP/1.1\r\nHost: s.test\r\n\r\n');
    const silent = open('');
    try {
      const ms = await Promise.race([silent.closed, new Promise<number>((r) => setTimeout(() => r(-1), 8000))]);
      assert.ok(ms >= 1900 && ms < 5000, `the silent connection closed after ${ms} ms (-1: still open after 8 s)`);
      assert.equal(silent.got(), '', 'nothing is written to a connection that never sent a request');
      await new Promise((r) => setTimeout(r, 500));
      assert.equal(statusOf(served.got()), 200, served.got());
      // Its wait is the keep-alive idle timeout (180 s by default), not the header timeout.
      assert.equal(served.socket.destroyed, false, 'the served connection was closed like a silent one');
    } finally {
      served.socket.destroy();
      silent.socket.destroy();
    }
  });
});
