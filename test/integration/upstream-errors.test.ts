/**
 * Upstream failures: refused → 502 (after one retry elsewhere), never answering → 504 after the
 * configured timeout, each with a plain-text body naming the cause; a connect failure on one
 * server is retried on another one transparently.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { freePort, serviceYaml, startBackend, startWithFile, type Backend, type GantryProcess } from '../helpers/gantry.js';
import { get } from '../helpers/http.js';

describe('upstream errors', () => {
  let g: GantryProcess;
  let cleanup: () => Promise<void>;
  let good: Backend;
  let silent: net.Server;
  const silentSockets = new Set<net.Socket>();

  before(async () => {
    good = await startBackend('good');
    const refused = await freePort();
    const refused2 = await freePort();
    silent = net.createServer((s) => {
      silentSockets.add(s);
      s.on('close', () => silentSockets.delete(s));
      s.on('error', () => {});
    });
    await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r));
    const silentPort = (silent.address() as net.AddressInfo).port;
    const yaml = `http:
  routers:
    refused:
      rule: Host(\`refused.test\`)
      service: refused
    slow:
      rule: Host(\`slow.test\`)
      service: slow
    mixed:
      rule: Host(\`mixed.test\`)
      service: mixed
  services:
    refused:
      loadBalancer:
        servers:
          - url: http://127.0.0.1:${refused}
          - url: http://127.0.0.1:${refused2}
    slow:
      loadBalancer:
        servers:
          - url: http://127.0.0.1:${silentPort}
    mixed:
      loadBalancer:
        servers:
          - url: http://127.0.0.1:${refused}
          - url: ${good.url}
`;
    ({ g, cleanup } = await startWithFile(yaml, ['--serversTransport.forwardingTimeouts.responseHeaderTimeout=500ms']));
  });
  after(async () => {
    await cleanup?.();
    await good?.close();
    for (const s of silentSockets) s.destroy();
    silent?.close();
  });

  it('answers 502 naming the cause when every server refuses', async () => {
    const r = await get(g.url('/'), { host: 'refused.test' });
    assert.equal(r.status, 502);
    assert.match(r.body, /refused/);
    assert.match(String(r.headers['content-type']), /text\/plain/);
  });

  it('answers 504 after responseHeaderTimeout when the server never answers', async () => {
    const t0 = Date.now();
    const r = await get(g.url('/'), { host: 'slow.test' });
    const ms = Date.now() - t0;
    assert.equal(r.status, 504);
    assert.match(r.body, /timeout/);
    assert.ok(ms >= 450 && ms < 5000, `took ${ms} ms`);
  });

  it('retries a refused connection once on another server, for any method', async () => {
    for (let i = 0; i < 6; i++) {
      const r = await get(g.url('/'), { host: 'mixed.test', 'content-type': 'text/plain' }, 'POST', 'hello');
      assert.equal(r.status, 200, r.body);
      assert.equal(r.headers['x-backend'], 'good');
    }
    const posts = good.seen.filter((s) => s.method === 'POST');
    assert.equal(posts.length, 6);
  });
});
