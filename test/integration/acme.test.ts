/**
 * ACME against Pebble (the test bed): HTTP-01 on the web entrypoint and TLS-ALPN-01 on the TLS
 * one (Pebble's validator connects to 127.0.0.1:18880 / :18443, so Gantry listens there and only
 * one ACME test process may run at a time), persistence across restarts, renewal without a
 * restart, an unreachable CA, and two replicas sharing etcd storage.
 */
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import https from 'node:https';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { freePort, startBackend, startGantry, tempDir, waitFor, writeAtomic, type Backend, type GantryProcess } from '../helpers/gantry.js';
import { loadTestbed, requireComponent } from '../helpers/testbed.js';
import { httpsGet } from '../fixtures/tls/https-get.js';

const skip = requireComponent('pebble');
const tb = loadTestbed();
const tmp = tempDir('gantry-acme-');
const procs: GantryProcess[] = [];
let backend: Backend;
/** Pebble's issuing root and intermediate: new on every Pebble start, so fetched now. */
let trust: string[] = [];

before(async () => {
  backend = await startBackend('acme-app');
  if (skip !== undefined) return;
  const listenerCa = fs.readFileSync(tb.pebble!.listenerCa, 'utf8');
  const get = (p: string) =>
    new Promise<string>((resolve, reject) => {
      https.get(`${tb.pebble!.mgmtUrl}${p}`, { ca: listenerCa }, (res) => {
        let b = '';
        res.setEncoding('utf8').on('data', (d: string) => (b += d));
        res.on('end', () => (res.statusCode === 200 ? resolve(b) : reject(new Error(`${p}: ${res.statusCode}`))));
      }).on('error', reject);
    });
  trust = [await get('/roots/0'), await get('/intermediates/0')];
});

after(async () => {
  await Promise.all(procs.map((g) => g.stop()));
  await backend?.close();
  tmp.cleanup();
});

function routers(names: Array<{ router: string; host: string; resolver: string }>): string {
  return `http:
  routers:
${names.map((n) => `    ${n.router}:\n      rule: Host(\`${n.host}\`)\n      service: app\n      tls: { certResolver: ${n.resolver} }\n`).join('')}  services:
    app:
      loadBalancer:
        servers: [{ url: "${backend.url}" }]
`;
}

interface Opts {
  file: string;
  storage: string;
  web?: string;
  websecure?: string;
  caServer?: string;
  extra?: string[];
}

async function start(o: Opts): Promise<GantryProcess> {
  const p = tb.pebble!;
  const g = await startGantry(
    [
      '--workers=1',
      `--entrypoints.web.address=${o.web ?? `127.0.0.1:${p.httpPort}`}`,
      `--entrypoints.websecure.address=${o.websecure ?? `127.0.0.1:${p.tlsPort}`}`,
      '--api.address=127.0.0.1:0',
      `--providers.file.filename=${o.file}`,
      `--certificatesResolvers.le.acme.caServer=${o.caServer ?? p.url}`,
      '--certificatesResolvers.le.acme.email=test@example.com',
      `--certificatesResolvers.le.acme.storage=${o.storage}`,
      '--certificatesResolvers.le.acme.httpChallenge.entryPoint=web',
      `--certificatesResolvers.alpn.acme.caServer=${o.caServer ?? p.url}`,
      `--certificatesResolvers.alpn.acme.storage=${o.storage}`,
      '--certificatesResolvers.alpn.acme.tlsChallenge=true',
      ...(o.extra ?? []),
    ],
    { entrypoints: ['web', 'websecure'], env: { NODE_EXTRA_CA_CERTS: p.listenerCa } },
  );
  procs.push(g);
  return g;
}

async function stop(g: GantryProcess): Promise<void> {
  await g.stop();
  procs.splice(procs.indexOf(g), 1);
}

const orders = (g: GantryProcess) => g.logs.filter((l) => l.msg === 'acme: ordering certificate');

test('HTTP-01 and TLS-ALPN-01 certificates, kept across a restart, renewed without one', { skip }, async () => {
  const file = path.join(tmp.dir, 'dyn.yaml');
  const storage = path.join(tmp.dir, 'acme.json');
  const suffix = randomBytes(3).toString('hex');
  const httpHost = `app-${suffix}.test`;
  const alpnHost = `alpn-${suffix}.test`;
  fs.writeFileSync(file, routers([{ router: 'app', host: httpHost, resolver: 'le' }, { router: 'second', host: alpnHost, resolver: 'alpn' }]));

  let g = await start({ file, storage });
  const port = g.port('websecure');
  await g.waitForLog((l) => l.msg === 'acme: certificate obtained' && String(l['domains']) === httpHost, 30_000);
  await g.waitForLog((l) => l.msg === 'acme: certificate obtained' && String(l['domains']) === alpnHost, 30_000);
  const challenges = orders(g).map((l) => l['challenge']).sort();
  assert.deepEqual(challenges, ['http-01', 'tls-alpn-01']);
  // Verified against Pebble's root: the certificate is really issued by the CA.
  const a = await httpsGet(port, httpHost, '/x', trust);
  assert.equal(a.status, 200);
  assert.equal(JSON.parse(a.body).backend, 'acme-app');
  assert.equal(a.cert.subjectaltname, `DNS:${httpHost}`);
  const b = await httpsGet(port, alpnHost, '/', trust);
  assert.equal(b.status, 200);
  assert.equal(fs.statSync(storage).mode & 0o777, 0o600, 'acme.json is private');
  const stored = JSON.parse(fs.readFileSync(storage, 'utf8')) as Record<string, { Certificates: unknown[]; Account: { Registration: { uri: string } } }>;
  assert.equal(stored['le']!.Certificates.length, 1);
  assert.match(stored['le']!.Account.Registration.uri, /^https:\/\/127\.0\.0\.1:14000\//);

  // Restart: loaded from storage, no new order.
  await stop(g);
  g = await start({ file, storage });
  await g.waitForLog((l) => l.msg === 'acme: certificate loaded from storage' && String(l['domains']) === httpHost);
  const a2 = await httpsGet(g.port('websecure'), httpHost, '/', trust);
  assert.equal(a2.cert.fingerprint256, a.cert.fingerprint256);
  assert.equal((await httpsGet(g.port('websecure'), alpnHost, '/', trust)).cert.fingerprint256, b.cert.fingerprint256);
  assert.deepEqual(orders(g), [], 'no order after a restart');

  // A renewal window longer than Pebble's 5-year certificates: renewed, served without a restart.
  await stop(g);
  g = await start({ file, storage, extra: ['--certificatesResolvers.le.acme.renewBefore=50000h', '--certificatesResolvers.le.acme.renewCheckInterval=1s'] });
  await g.waitForLog((l) => l.msg === 'acme: certificate renewed' && String(l['domains']) === httpHost, 30_000);
  await waitFor(async () => (await httpsGet(g.port('websecure'), httpHost, '/', trust)).cert.fingerprint256 !== a.cert.fingerprint256, 5000);
  assert.equal(g.exitCode, null);
  await stop(g);
});

test('Pebble unreachable: HTTPS keeps serving, the failure is logged with its cause, retries back off', async () => {
  const file = path.join(tmp.dir, 'down.yaml');
  fs.writeFileSync(file, routers([{ router: 'down', host: 'down.test', resolver: 'le' }]));
  const dead = await freePort();
  const g = await startGantry(
    [
      '--workers=1',
      '--entrypoints.web.address=127.0.0.1:0',
      '--entrypoints.websecure.address=127.0.0.1:0',
      '--api.address=127.0.0.1:0',
      `--providers.file.filename=${file}`,
      `--certificatesResolvers.le.acme.caServer=https://127.0.0.1:${dead}/dir`,
      `--certificatesResolvers.le.acme.storage=${path.join(tmp.dir, 'down.json')}`,
      '--certificatesResolvers.le.acme.httpChallenge.entryPoint=web',
    ],
    { entrypoints: ['web', 'websecure'] },
  );
  procs.push(g);
  const first = await g.waitForLog((l) => l.msg === 'acme: certificate order failed', 10_000);
  assert.match(String(first['error']), /ECONNREFUSED/);
  const r = await httpsGet(g.port('websecure'), 'down.test', '/');
  assert.equal(r.status, 200, 'the route is served with the default certificate meanwhile');
  assert.equal(r.cert.subject.CN, 'GANTRY DEFAULT CERT');
  const second = await g.waitForLog((l) => l.msg === 'acme: certificate order failed' && l['attempt'] === 2, 10_000);
  assert.ok(Number(second['retryInMs']) > Number(first['retryInMs']), `back-off grows: ${String(first['retryInMs'])} then ${String(second['retryInMs'])}`);
  // No busy loop: two failures, not hundreds, within that time.
  assert.ok(g.logs.filter((l) => l.msg === 'acme: certificate order failed').length <= 3);
  await stop(g);
});

test('two Gantry processes sharing etcd storage: one order, both serve the certificate', { skip: skip ?? requireComponent('etcd') }, async () => {
  const etcd = tb.etcd!.endpoint;
  const rootKey = `gantry-acme-test-${randomBytes(4).toString('hex')}`;
  const host = `shared-${randomBytes(3).toString('hex')}.test`;
  const fileA = path.join(tmp.dir, 'a.yaml');
  const fileB = path.join(tmp.dir, 'b.yaml');
  fs.writeFileSync(fileA, 'http: {}\n');
  fs.writeFileSync(fileB, 'http: {}\n');
  const shared = ['--certificatesResolvers.alpn.acme.storage=etcd', `--providers.etcd.endpoints=${etcd}`, `--providers.etcd.rootKey=${rootKey}`];
  // B listens where Pebble validates; A does not, so if A holds the lock, B answers from etcd.
  const b = await start({ file: fileB, storage: 'etcd', extra: shared });
  const a = await start({ file: fileA, storage: 'etcd', web: '127.0.0.1:0', websecure: '127.0.0.1:0', extra: shared });
  const yaml = routers([{ router: 'shared', host, resolver: 'le' }]);
  writeAtomic(fileA, yaml);
  writeAtomic(fileB, yaml);
  await waitFor(async () => {
    const ra = await httpsGet(a.port('websecure'), host, '/', trust).catch(() => null);
    const rb = await httpsGet(b.port('websecure'), host, '/', trust).catch(() => null);
    return ra?.status === 200 && rb?.status === 200;
  }, 30_000, () => `A:\n${a.logText()}\nB:\n${b.logText()}`);
  assert.equal(orders(a).length + orders(b).length, 1, 'exactly one order between the two replicas');
  const ca = await httpsGet(a.port('websecure'), host, '/', trust);
  const cb = await httpsGet(b.port('websecure'), host, '/', trust);
  assert.equal(ca.cert.fingerprint256, cb.cert.fingerprint256);
  await stop(a);
  await stop(b);
});
