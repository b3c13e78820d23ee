/**
 * Forwarding headers from a client that is not a trusted proxy never reach a server or a
 * middleware, whichever path serves the request: the fast lane (plain GET), node:http (a POST),
 * an upgrade request, and forwardAuth with trustForwardHeader deciding on X-Forwarded-Uri/-Method.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { startBackend, startWithFile, type Backend, type GantryProcess } from '../helpers/gantry.js';
import { rawRequest, statusOf } from '../helpers/raw.js';

/** Traefik's forwardedheaders list, each with a forged value. */
const FORGED = [
  'X-Forwarded-For',
  'X-Forwarded-Host',
  'X-Forwarded-Proto',
  'X-Forwarded-Port',
  'X-Forwarded-Server',
  'X-Forwarded-Prefix',
  'X-Forwarded-Uri',
  'X-Forwarded-Method',
  'X-Forwarded-Tls-Client-Cert',
  'X-Forwarded-Tls-Client-Cert-Info',
  'X-Real-Ip',
];
const forgedLines = FORGED.map((h) => `${h}: forged-${h.toLowerCase()}\r\n`).join('');

function forgedValues(headers: Record<string, string | string[] | undefined>): string[] {
  return Object.entries(headers)
    .filter(([, v]) => String(v).includes('forged'))
    .map(([k, v]) => `${k}: ${String(v)}`);
}

describe('forwarding headers from untrusted clients', { timeout: 20000 }, () => {
  let g: GantryProcess;
  let cleanup: () => Promise<void>;
  let app: Backend;
  let auth: Backend;

  before(async () => {
    app = await startBackend('app');
    auth = await startBackend('auth', (_req, res) => {
      res.writeHead(200);
      res.end();
    });
    const yaml = `http:
  routers:
    app:
      rule: Host(\`f.test\`)
      service: app
    guarded:
      rule: Host(\`f.test\`) && PathPrefix(\`/guarded\`)
      service: app
      middlewares: [auth]
  middlewares:
    auth:
      forwardAuth: { address: "${auth.url}/check", trustForwardHeader: true }
  services:
    app: { loadBalancer: { servers: [{ url: "${app.url}" }] } }
`;
    ({ g, cleanup } = await startWithFile(yaml));
  });
  after(async () => {
    await cleanup?.();
    await app?.close();
    await auth?.close();
  });

  const cases = [
    { desc: 'a plain GET (fast lane)', req: `GET /fast HTTP/1.1\r\nHost: f.test\r\n${forgedLines}Connection: close\r\n\r\n`, path: '/fast' },
    { desc: 'a POST (node:http)', req: `POST /slow HTTP/1.1\r\nHost: f.test\r\n${forgedLines}Content-Length: 2\r\nConnection: close\r\n\r\nhi`, path: '/slow' },
    { desc: 'an upgrade request', req: `GET /up HTTP/1.1\r\nHost: f.test\r\n${forgedLines}Connection: Upgrade\r\nUpgrade: websocket\r\n\r\n`, path: '/up' },
  ];
  for (const c of cases) {
    it(`removes every forged forwarding header of ${c.desc}`, async () => {
      const raw = await rawRequest(g.port(), c.req);
      assert.equal(statusOf(raw), 200, raw);
      const seen = app.seen.find((s) => s.url === c.path);
      assert.ok(seen !== undefined, `the server did not see ${c.path}`);
      assert.deepEqual(forgedValues(seen.headers), []);
      assert.equal(seen.headers['x-forwarded-for'], '127.0.0.1');
      assert.equal(seen.headers['x-real-ip'], '127.0.0.1');
    });
  }

  it('gives forwardAuth (trustForwardHeader) the real URI and method, not forged ones', async () => {
    const raw = await rawRequest(g.port(), `DELETE /guarded/item?id=7 HTTP/1.1\r\nHost: f.test\r\n${forgedLines}Connection: close\r\n\r\n`);
    assert.equal(statusOf(raw), 200, raw);
    const check = auth.seen.at(-1)!;
    assert.deepEqual(forgedValues(check.headers), []);
    assert.equal(check.headers['x-forwarded-uri'], '/guarded/item?id=7');
    assert.equal(check.headers['x-forwarded-method'], 'DELETE');
    assert.equal(check.headers['x-forwarded-proto'], 'http');
    const seen = app.seen.at(-1)!;
    assert.equal(seen.url, '/guarded/item?id=7');
    assert.deepEqual(forgedValues(seen.headers), []);
  });
});
