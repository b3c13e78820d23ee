/**
 * TLS entrypoints: certificates from files chosen by SNI (exact, wildcard, generated default),
 * swapped live, bad files isolated with an error naming them; the HTTP → HTTPS redirect.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { startBackend, startGantry, tempDir, waitFor, writeAtomic, type Backend, type GantryProcess } from '../helpers/gantry.js';
import { makeCA } from '../fixtures/tls/make-certs.js';
import { httpsGet } from '../fixtures/tls/https-get.js';

function plainRequest(port: number, method: string, p: string, host: string): Promise<{ status: number; headers: http.IncomingHttpHeaders }> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, method, path: p, headers: { host }, agent: false }, (res) => {
      res.resume();
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers }));
    });
    req.on('error', reject);
    req.end(method === 'POST' ? 'x' : undefined);
  });
}

const tmp = tempDir('gantry-tls-');
const ca = makeCA(path.join(tmp.dir, 'ca'));
const backends: Backend[] = [];
const procs: GantryProcess[] = [];
after(async () => {
  await Promise.all(procs.map((g) => g.stop()));
  await Promise.all(backends.map((b) => b.close()));
  tmp.cleanup();
});

function yaml(backend: string, certs: Array<{ cert: string; key: string }>): string {
  return `http:
  routers:
    app:
      rule: Host(\`app.test\`) || Host(\`a.wild.test\`) || Host(\`exact.wild.test\`) || Host(\`other.test\`)
      service: app
      tls: {}
  services:
    app:
      loadBalancer:
        servers: [{ url: "${backend}" }]
tls:
  certificates:
${certs.map((c) => `    - { certFile: "${c.cert}", keyFile: "${c.key}" }\n`).join('')}`;
}

async function start(file: string, extra: string[] = []): Promise<GantryProcess> {
  const g = await startGantry(
    ['--workers=1', '--entrypoints.web.address=127.0.0.1:0', '--entrypoints.websecure.address=127.0.0.1:0', '--api.address=127.0.0.1:0', `--providers.file.filename=${file}`, ...extra],
    { entrypoints: ['web', 'websecure'] },
  );
  procs.push(g);
  return g;
}

test('certificates are chosen by SNI: exact, then wildcard, then the generated default', async () => {
  const b = await startBackend('tls-app');
  backends.push(b);
  const app = ca.leaf('app', ['app.test']);
  const wild = ca.leaf('wild', ['*.wild.test']);
  const exact = ca.leaf('exact', ['exact.wild.test']);
  const file = path.join(tmp.dir, 'sni.yaml');
  fs.writeFileSync(file, yaml(b.url, [app, wild, exact]));
  const g = await start(file);
  const port = g.port('websecure');
  await waitFor(async () => (await httpsGet(port, 'app.test', '/', ca.caPem)).status === 200, 5000);

  const r1 = await httpsGet(port, 'app.test', '/hello', ca.caPem);
  assert.equal(r1.status, 200);
  assert.equal(JSON.parse(r1.body).backend, 'tls-app');
  assert.equal(r1.cert.subject.CN, 'app.test');
  // The request reached the backend as https: X-Forwarded-Proto says so.
  assert.equal(JSON.parse(r1.body).headers['x-forwarded-proto'], 'https');

  const r2 = await httpsGet(port, 'a.wild.test', '/', ca.caPem);
  assert.equal(r2.status, 200);
  assert.equal(r2.cert.subjectaltname, 'DNS:*.wild.test');

  const r3 = await httpsGet(port, 'exact.wild.test', '/', ca.caPem);
  assert.equal(r3.cert.subjectaltname, 'DNS:exact.wild.test', 'an exact certificate beats the wildcard');

  // No certificate for the name: the generated default (unverifiable), and the route still answers.
  const r4 = await httpsGet(port, 'other.test', '/');
  assert.equal(r4.status, 200);
  assert.equal(r4.cert.subject.CN, 'GANTRY DEFAULT CERT');
  await assert.rejects(httpsGet(port, 'other.test', '/', ca.caPem), /self[- ]signed|unable to verify/i);

  // A router without tls is not served on the TLS entrypoint, nor a tls router on the plain one.
  const plain = await plainRequest(g.port('web'), 'GET', '/', 'app.test');
  assert.equal(plain.status, 404);
});

test('a router-less TLS entrypoint serves the generated default certificate', async () => {
  const file = path.join(tmp.dir, 'empty.yaml');
  fs.writeFileSync(file, 'http: {}\n');
  const g = await start(file);
  const r = await httpsGet(g.port('websecure'), 'nothing.test', '/');
  assert.equal(r.status, 404);
  assert.equal(r.cert.subject.CN, 'GANTRY DEFAULT CERT');
  // Plain HTTP sent to the TLS port gets a clear 400, not a hang.
  const res = await new Promise<number>((resolve, reject) => {
    http.get({ host: '127.0.0.1', port: g.port('websecure'), path: '/', agent: false }, (r2) => {
      r2.resume();
      resolve(r2.statusCode ?? 0);
    }).on('error', reject);
  });
  assert.equal(res, 400);
});

test('a bad certificate file or a mismatched key is reported by file; the others keep serving; swaps are live', async () => {
  const b = await startBackend('tls-bad');
  backends.push(b);
  const good = ca.leaf('good', ['app.test']);
  const other = ca.leaf('other', ['other.test']);
  const missing = path.join(tmp.dir, 'does-not-exist.crt');
  const file = path.join(tmp.dir, 'bad.yaml');
  // other.test's certificate with app.test's key: the key does not match.
  fs.writeFileSync(file, yaml(b.url, [good, { cert: missing, key: good.key }, { cert: other.cert, key: good.key }]));
  const g = await start(file);
  const port = g.port('websecure');
  const unreadable = await g.waitForLog((l) => l.msg === 'tls certificate rejected' && String(l['error']).includes('does-not-exist.crt'));
  assert.match(String(unreadable['error']), /cannot read certificate: ENOENT/);
  const mismatch = await g.waitForLog((l) => l.msg === 'tls certificate rejected' && String(l['certFile']) === other.cert);
  assert.match(String(mismatch['error']), /good\.key: private key does not match the certificate .*other\.crt/);
  const r = await httpsGet(port, 'app.test', '/', ca.caPem);
  assert.equal(r.status, 200);
  assert.equal(r.cert.subject.CN, 'app.test');
  const before = r.cert.fingerprint256;

  // A renewed certificate for the same name: new connections get it, without a restart.
  const renewed = ca.leaf('good2', ['app.test']);
  writeAtomic(file, yaml(b.url, [renewed, { cert: other.cert, key: other.key }]));
  await waitFor(async () => (await httpsGet(port, 'app.test', '/', ca.caPem)).cert.fingerprint256 !== before, 5000);
  const r2 = await httpsGet(port, 'other.test', '/', ca.caPem);
  assert.equal(r2.cert.subject.CN, 'other.test', 'the fixed pair serves now');
  assert.equal(g.exitCode, null);
});

test('an entrypoint redirect sends HTTP to the HTTPS entrypoint, keeping host, path and query', async () => {
  const b = await startBackend('tls-redirect');
  backends.push(b);
  const app = ca.leaf('redir', ['app.test']);
  const file = path.join(tmp.dir, 'redirect.yaml');
  fs.writeFileSync(file, yaml(b.url, [app]));
  const g = await start(file, ['--entrypoints.web.http.redirections.entrypoint.to=websecure']);
  const res = await plainRequest(g.port('web'), 'GET', '/some/path?x=1', 'app.test');
  assert.equal(res.status, 301);
  assert.equal(res.headers.location, `https://app.test:${g.port('websecure')}/some/path?x=1`);
  const post = await plainRequest(g.port('web'), 'POST', '/form', 'app.test');
  assert.equal(post.status, 308, 'a POST keeps its method');
  const ok = await httpsGet(g.port('websecure'), 'app.test', '/some/path', ca.caPem);
  assert.equal(ok.status, 200);
  assert.equal(JSON.parse(ok.body).url, '/some/path');
});
