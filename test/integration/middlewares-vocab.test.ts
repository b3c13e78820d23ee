/**
 * Traefik v3.7's middleware options through the real bin/gantry: forwardAuth's tls, forwardBody,
 * maxBodySize, headerField and authSigninURL; digestAuth; ipWhiteList; retry's status,
 * retryNonIdempotentMethod, timeout and disableRetryOnNetworkError.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import https from 'node:https';
import path from 'node:path';
import type { IncomingMessage } from 'node:http';
import { startBackend, startWithFile, tempDir, waitFor, type Backend, type GantryProcess } from '../helpers/gantry.js';
import { get } from '../helpers/http.js';
import { makeCA } from '../fixtures/tls/make-certs.js';
import { md5, parseDigestParams } from '../../src/middlewares/digestAuth/digest.js';

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve) => {
    let s = '';
    req.setEncoding('utf8').on('data', (d: string) => (s += d));
    req.on('end', () => resolve(s));
  });
}

describe('forwardAuth options, digestAuth, ipWhiteList', () => {
  const tmp = tempDir('gantry-mw-vocab-');
  const ca = makeCA(path.join(tmp.dir, 'ca'));
  const serverCert = ca.leaf('auth', ['127.0.0.1']);
  const clientCert = ca.leaf('client', ['gantry-client'], 2, 'clientAuth');
  const log = path.join(tmp.dir, 'access.json');
  let g: GantryProcess;
  let cleanup: () => Promise<void>;
  let app: Backend;
  let plainAuth: Backend;
  let tlsAuth: https.Server;
  let tlsAuthUrl = '';
  const authSaw: Array<{ body: string; clientCert: boolean }> = [];

  before(async () => {
    app = await startBackend('app', async (req, res) => {
      const body = await readBody(req);
      res.writeHead(200, { 'x-backend': 'app', 'x-user': String(req.headers['x-webauth-user'] ?? '') }).end(`app got ${body}`);
    });
    // Plain auth server: reads the forwarded body, names the user in X-Auth-User.
    plainAuth = await startBackend('auth', async (req, res) => {
      const body = await readBody(req);
      authSaw.push({ body, clientCert: false });
      if (req.headers['x-forwarded-uri'] === '/signin-needed') return void res.writeHead(401).end();
      res.writeHead(body.includes('deny') ? 403 : 200, { 'x-auth-user': 'carol' }).end();
    });
    // TLS auth server that only talks to clients with a certificate from the test CA.
    tlsAuth = https.createServer({ cert: fs.readFileSync(serverCert.cert), key: fs.readFileSync(serverCert.key), ca: ca.caPem, requestCert: true, rejectUnauthorized: true }, (req, res) => {
      authSaw.push({ body: '', clientCert: (req.socket as import('node:tls').TLSSocket).getPeerCertificate().subject?.CN === 'gantry-client' });
      res.writeHead(200).end();
    });
    await new Promise<void>((r) => tlsAuth.listen(0, '127.0.0.1', r));
    tlsAuthUrl = `https://127.0.0.1:${(tlsAuth.address() as { port: number }).port}/check`;
    const route = (n: string, mw: string) => `    ${n}: { rule: Host(\`${n}.test\`), service: app, middlewares: [${mw}] }\n`;
    ({ g, cleanup } = await startWithFile(
      `http:
  routers:
${route('body', 'fa-body')}${route('tls', 'fa-tls')}${route('insecure', 'fa-insecure')}${route('signin', 'fa-signin')}${route('digest', 'digest')}${route('white', 'white')}
  middlewares:
    fa-body:
      forwardAuth: { address: "${plainAuth.url}/check", forwardBody: true, maxBodySize: 64, headerField: X-Auth-User }
    fa-tls:
      forwardAuth:
        address: "${tlsAuthUrl}"
        tls: { ca: "${ca.caCert}", cert: "${clientCert.cert}", key: "${clientCert.key}" }
    fa-insecure:
      forwardAuth: { address: "${tlsAuthUrl}", tls: { insecureSkipVerify: true } }
    fa-signin:
      forwardAuth: { address: "${plainAuth.url}/check", authSigninURL: "https://login.example.com/start" }
    digest:
      digestAuth: { users: ["test:traefik:a2688e031edb4be6a3797f3882655c05"], headerField: X-WebAuth-User }
    white:
      ipWhiteList: { sourceRange: ["10.0.0.0/8"] }
  services:
    app: { loadBalancer: { servers: [{ url: "${app.url}" }] } }
`,
      [`--accessLog.filePath=${log}`, '--accessLog.format=json'],
    ));
    await g.waitForLog((l) => l.msg === 'configuration applied' && Number(l['routers']) > 0);
  });

  after(async () => {
    await cleanup();
    await Promise.all([app.close(), plainAuth.close(), new Promise<void>((r) => tlsAuth.close(() => r()))]);
    tlsAuth.closeAllConnections();
    tmp.cleanup();
  });

  it('forwardBody: the auth server and then the service get the same body; maxBodySize bounds it', async () => {
    authSaw.length = 0;
    const ok = await get(g.url('/p'), { host: 'body.test' }, 'POST', 'hello=1');
    assert.equal(ok.status, 200);
    assert.equal(ok.body, 'app got hello=1');
    assert.equal(authSaw.at(-1)?.body, 'hello=1');
    assert.equal((await get(g.url('/p'), { host: 'body.test' }, 'POST', 'deny me')).status, 403);
    const before = authSaw.length;
    assert.equal((await get(g.url('/p'), { host: 'body.test' }, 'POST', 'x'.repeat(100))).status, 401);
    assert.equal(authSaw.length, before, 'an oversized body reached the auth server');
  });

  it('headerField names the user in the access log', async () => {
    assert.equal((await get(g.url('/who'), { host: 'body.test' })).status, 200);
    await waitFor(() => fs.existsSync(log) && fs.readFileSync(log, 'utf8').split('\n').some((l) => l.includes('"/who"') && l.includes('"ClientUsername":"carol"')));
  });

  it('tls: verifies the auth server with the CA and presents the client certificate', async () => {
    authSaw.length = 0;
    assert.equal((await get(g.url('/'), { host: 'tls.test' })).status, 200);
    assert.equal(authSaw.at(-1)?.clientCert, true);
    // Without a client certificate the auth server refuses the handshake: a 500, as Traefik.
    assert.equal((await get(g.url('/'), { host: 'insecure.test' })).status, 500);
  });

  it('authSigninURL turns the auth server 401 into a redirect', async () => {
    const r = await get(g.url('/signin-needed'), { host: 'signin.test' });
    assert.equal(r.status, 302);
    assert.equal(r.headers.location, 'https://login.example.com/start');
  });

  it('digestAuth challenges and lets the right answer through', async () => {
    const first = await get(g.url('/d'), { host: 'digest.test' });
    assert.equal(first.status, 401);
    const p = parseDigestParams(String(first.headers['www-authenticate']))!;
    const ha1 = md5('test:traefik:test');
    const response = md5([ha1, p.get('nonce'), '00000001', 'c0ffee', 'auth', md5('GET:/d')].join(':'));
    const auth = `Digest username="test", realm="traefik", nonce="${p.get('nonce')}", uri="/d", response="${response}", opaque="${p.get('opaque')}", qop=auth, nc=00000001, cnonce="c0ffee"`;
    const ok = await get(g.url('/d'), { host: 'digest.test', authorization: auth });
    assert.equal(ok.status, 200);
    assert.equal(ok.headers['x-user'], 'test');
  });

  it('ipWhiteList (the v2 name) allows only its ranges', async () => {
    assert.equal((await get(g.url('/'), { host: 'white.test' })).status, 403);
  });
});

describe('retry: status, retryNonIdempotentMethod, timeout, disableRetryOnNetworkError', () => {
  let g: GantryProcess;
  let cleanup: () => Promise<void>;
  let flaky: Backend;
  /**
   * Requests per path; each path answers 429 `fail` times, then 200. (Not a 5xx: passive health
   * would take the only server out after a few, and the retries would meet Gantry's own 503.)
   */
  const hits = new Map<string, number>();
  const bodies: string[] = [];

  before(async () => {
    flaky = await startBackend('flaky', async (req, res) => {
      const body = await readBody(req);
      bodies.push(body);
      const [p, q] = (req.url ?? '').split('?');
      const n = (hits.get(p!) ?? 0) + 1;
      hits.set(p!, n);
      const failures = Number(new URLSearchParams(q).get('fail') ?? '2');
      const delay = Number(new URLSearchParams(q).get('delay') ?? '0');
      setTimeout(() => res.writeHead(n <= failures ? 429 : 200, { 'x-try': String(n) }).end(`try ${n} ${body}`), delay);
    });
    const route = (n: string) => `    ${n}: { rule: Host(\`${n}.test\`), service: flaky, middlewares: [${n}] }\n`;
    ({ g, cleanup } = await startWithFile(
      `http:
  routers:
${route('status')}${route('post')}${route('timeout')}${route('nonet')}
  middlewares:
    status: { retry: { attempts: 3, status: ["420-429"] } }
    post: { retry: { attempts: 3, status: ["429"], retryNonIdempotentMethod: true, maxRequestBodyBytes: 16 } }
    timeout: { retry: { attempts: 10, initialInterval: 50ms, status: ["429"], timeout: 250ms } }
    nonet: { retry: { attempts: 3, status: ["429"], disableRetryOnNetworkError: true } }
  services:
    flaky: { loadBalancer: { servers: [{ url: "${flaky.url}" }] } }
`,
    ));
    await g.waitForLog((l) => l.msg === 'configuration applied' && Number(l['routers']) > 0);
  });

  after(async () => {
    await cleanup();
    await flaky.close();
  });

  it('retries an answer with a listed status until one is not, the client sees only that one', async () => {
    const r = await get(g.url('/a'), { host: 'status.test' });
    assert.equal(r.status, 200);
    assert.equal(r.headers['x-try'], '3');
    assert.equal(hits.get('/a'), 3);
    // Out of attempts: the last answer goes out as it is.
    const last = await get(g.url('/b?fail=5'), { host: 'status.test' });
    assert.equal(last.status, 429);
    assert.equal(hits.get('/b'), 3);
  });

  it('does not retry POST by status unless retryNonIdempotentMethod; the body is sent again whole', async () => {
    assert.equal((await get(g.url('/c'), { host: 'status.test' }, 'POST', 'once')).status, 429);
    assert.equal(hits.get('/c'), 1);
    bodies.length = 0;
    const r = await get(g.url('/d'), { host: 'post.test' }, 'POST', 'again');
    assert.equal(r.status, 200);
    assert.deepEqual(bodies, ['again', 'again', 'again']);
    // Larger than maxRequestBodyBytes: sent once, not retried.
    assert.equal((await get(g.url('/e'), { host: 'post.test' }, 'POST', 'x'.repeat(64))).status, 429);
    assert.equal(hits.get('/e'), 1);
  });

  it('once the timeout has passed, the next answer goes out whatever its status', async () => {
    const r = await get(g.url('/f?fail=100&delay=60'), { host: 'timeout.test' });
    assert.equal(r.status, 429);
    const n = hits.get('/f')!;
    // 60 ms per answer plus a growing wait: well under 10 attempts fit in 250 ms.
    assert.ok(n >= 2 && n < 10, `${n} attempts`);
  });

  it('disableRetryOnNetworkError still retries by status', async () => {
    const r = await get(g.url('/g'), { host: 'nonet.test' });
    assert.equal(r.status, 200);
    assert.equal(hits.get('/g'), 3);
  });
});
