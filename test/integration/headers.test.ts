/**
 * Header hygiene: hop-by-hop headers and names listed in Connection are not forwarded (either
 * way); X-Forwarded-* are set by Gantry, overwritten for untrusted peers and extended for trusted
 * ones; a Connection header cannot make Gantry drop its own X-Forwarded-* (CVE-2024-45410).
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { serviceYaml, startBackend, startWithFile, type Backend, type GantryProcess } from '../helpers/gantry.js';
import { rawRequest, statusOf } from '../helpers/raw.js';

function lastSeen(b: Backend) {
  return b.seen.at(-1)!.headers;
}

describe('header hygiene', () => {
  let g: GantryProcess;
  let trusting: GantryProcess;
  let cleanups: Array<() => Promise<void>> = [];
  let b: Backend;

  before(async () => {
    b = await startBackend('h', (_req, res) => {
      res.writeHead(200, { connection: 'x-resp-hop', 'x-resp-hop': 'secret', 'keep-alive': 'timeout=5', 'x-kept': 'yes', 'content-length': '2' });
      res.end('ok');
    });
    const yaml = serviceYaml('h', 'h.test', [b.url]) + `    nohost:
      loadBalancer:
        passHostHeader: false
        servers:
          - url: ${b.url}
`;
    const withRouter = yaml.replace('  services:\n', '    nohost:\n      rule: Host(`nohost.test`)\n      service: nohost\n  services:\n');
    let r = await startWithFile(withRouter);
    g = r.g;
    cleanups.push(r.cleanup);
    r = await startWithFile(withRouter, ['--entrypoints.web.forwardedHeaders.trustedIPs=127.0.0.1/32']);
    trusting = r.g;
    cleanups.push(r.cleanup);
  });
  after(async () => {
    for (const c of cleanups) await c();
    await b?.close();
  });

  it('drops hop-by-hop and Connection-listed request headers, keeps the rest', async () => {
    const raw = await rawRequest(
      g.port(),
      'GET /x HTTP/1.1\r\nHost: h.test\r\nConnection: close, X-Hop, X-Forwarded-Host\r\nX-Hop: 1\r\nKeep-Alive: timeout=9\r\nTE: trailers\r\nProxy-Authorization: Basic Zm9v\r\nX-Keep: 2\r\n\r\n',
    );
    assert.equal(statusOf(raw), 200, raw);
    const h = lastSeen(b);
    assert.equal(h['x-hop'], undefined);
    assert.equal(h['keep-alive'], undefined);
    assert.equal(h['te'], undefined);
    assert.equal(h['proxy-authorization'], undefined);
    assert.equal(h['x-keep'], '2');
    // Listing X-Forwarded-Host in Connection must not remove the one Gantry sets.
    assert.equal(h['x-forwarded-host'], 'h.test');
    assert.equal(h['host'], 'h.test');
  });

  it('drops hop-by-hop response headers', async () => {
    const raw = await rawRequest(g.port(), 'GET / HTTP/1.1\r\nHost: h.test\r\nConnection: close\r\n\r\n');
    assert.equal(statusOf(raw), 200);
    assert.doesNotMatch(raw, /x-resp-hop/i);
    assert.doesNotMatch(raw, /keep-alive: timeout=5/i);
    assert.match(raw, /x-kept: yes/i);
  });

  it('sets X-Forwarded-* and overwrites those of an untrusted client', async () => {
    await rawRequest(
      g.port(),
      'GET /p HTTP/1.1\r\nHost: h.test:8081\r\nX-Forwarded-For: 6.6.6.6\r\nX-Forwarded-Proto: https\r\nX-Forwarded-Host: evil.test\r\nX-Real-IP: 6.6.6.6\r\nConnection: close\r\n\r\n',
    );
    const h = lastSeen(b);
    assert.equal(h['x-forwarded-for'], '127.0.0.1');
    assert.equal(h['x-forwarded-proto'], 'http');
    assert.equal(h['x-forwarded-host'], 'h.test:8081');
    assert.equal(h['x-forwarded-port'], '8081');
    assert.equal(h['x-real-ip'], '127.0.0.1');
  });

  it('extends X-Forwarded-For from a trusted peer', async () => {
    await rawRequest(trusting.port(), 'GET /p HTTP/1.1\r\nHost: h.test\r\nX-Forwarded-For: 203.0.113.9\r\nX-Forwarded-Proto: https\r\nConnection: close\r\n\r\n');
    const h = lastSeen(b);
    assert.equal(h['x-forwarded-for'], '203.0.113.9, 127.0.0.1');
    assert.equal(h['x-forwarded-proto'], 'https');
  });

  it('sends the server host when passHostHeader is false', async () => {
    await rawRequest(g.port(), 'GET / HTTP/1.1\r\nHost: nohost.test\r\nConnection: close\r\n\r\n');
    const h = lastSeen(b);
    assert.equal(h['host'], `127.0.0.1:${b.port}`);
    assert.equal(h['x-forwarded-host'], 'nohost.test');
  });
});
