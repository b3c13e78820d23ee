/**
 * ACME options against Pebble (the test bed; Pebble validates on 127.0.0.1:18880, so Gantry listens
 * there and this file runs alone like acme.test.ts): `keyType` (an RSA key for the certificate),
 * `preferredChain` (no alternate chain
 * of that name: the default one is kept), and `tls.stores.default.defaultGeneratedCert` (the
 * resolver obtains the default certificate, served for names no other covers), and a TCP router's
 * `tls.certResolver` (its HostSNI name gets a certificate, the TCP route terminates TLS with it),
 * an entrypoint's `http.tls.certResolver` for routers with `tls: {}`, and routers' `tls.domains`.
 */
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import https from 'node:https';
import net from 'node:net';
import tls from 'node:tls';
import path from 'node:path';
import { startBackend, startGantry, tempDir, waitFor, type Backend, type GantryProcess } from '../helpers/gantry.js';
import { loadTestbed, requireComponent } from '../helpers/testbed.js';
import { httpsGet } from '../fixtures/tls/https-get.js';

const skip = requireComponent('pebble');
const tb = loadTestbed();
const tmp = tempDir('gantry-acme-options-');
let backend: Backend;
let g: GantryProcess | null = null;
let trust: string[] = [];
let echo: net.Server | null = null;

before(async () => {
  backend = await startBackend('acme-options');
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
  echo?.close();
  await g?.stop();
  await backend?.close();
  tmp.cleanup();
});

test('keyType, preferredChain, tls.stores.default.defaultGeneratedCert, a TCP router certResolver, entrypoint certResolver, tls.domains', { skip }, async () => {
  const sfx = randomBytes(3).toString('hex');
  const tcpHost = `tcp-${sfx}.test`;
  echo = net.createServer((sock) => sock.once('data', (d: Buffer) => sock.end(`echo:${d.toString()}`)));
  await new Promise<void>((r) => echo!.listen(0, '127.0.0.1', r));
  const echoPort = (echo!.address() as net.AddressInfo).port;
  const appHost = `app-${sfx}.test`;
  const defaultHost = `default-${sfx}.test`;
  const file = path.join(tmp.dir, 'dyn.yaml');
  fs.writeFileSync(
    file,
    `http:
  routers:
    app:
      rule: Host(\`${appHost}\`)
      service: app
      tls: { certResolver: le }
    byentrypoint:
      rule: Host(\`ep-${sfx}.test\`)
      service: app
      tls: {}
    named:
      rule: Host(\`named-${sfx}.test\`) || Host(\`www-${sfx}.test\`)
      service: app
      tls: { certResolver: le, domains: [{ main: named-${sfx}.test, sans: [www-${sfx}.test] }] }
  services:
    app: { loadBalancer: { servers: [{ url: "${backend.url}" }] } }
tcp:
  routers:
    echo:
      rule: HostSNI(\`${tcpHost}\`)
      entryPoints: [websecure]
      service: echo
      tls: { certResolver: le }
    named:
      rule: HostSNI(\`${tcpHost.replace('tcp-', 'tcpd-')}\`)
      entryPoints: [websecure]
      service: echo
      tls: { certResolver: le, domains: [{ main: ${tcpHost.replace('tcp-', 'tcpd-')}, sans: [${tcpHost.replace('tcp-', 'tcps-')}] }] }
  services:
    echo: { loadBalancer: { servers: [{ address: "127.0.0.1:${echoPort}" }] } }
tls:
  stores:
    default:
      defaultGeneratedCert:
        resolver: le
        domain: { main: ${defaultHost}, sans: [alt-${defaultHost}] }
`,
  );
  const p = tb.pebble!;
  g = await startGantry(
    [
      '--workers=1',
      `--entrypoints.web.address=127.0.0.1:${p.httpPort}`,
      `--entrypoints.websecure.address=127.0.0.1:${p.tlsPort}`,
      '--api.address=127.0.0.1:0',
      `--providers.file.filename=${file}`,
      `--certificatesResolvers.le.acme.caServer=${p.url}`,
      `--certificatesResolvers.le.acme.storage=${path.join(tmp.dir, 'acme.json')}`,
      '--certificatesResolvers.le.acme.httpChallenge.entryPoint=web',
      '--certificatesResolvers.le.acme.keyType=RSA2048',
      '--certificatesResolvers.le.acme.preferredChain=No Such Root',
      '--entrypoints.websecure.http.tls.certResolver=le',
    ],
    { entrypoints: ['web', 'websecure'], env: { NODE_EXTRA_CA_CERTS: p.listenerCa } },
  );
  const port = g.port('websecure');
  await g.waitForLog((l) => l.msg === 'acme: certificate obtained' && String(l['domains']) === appHost, 30_000);
  const app = await httpsGet(port, appHost, '/', trust);
  assert.equal(app.status, 200);
  // An RSA key: the certificate has a modulus (an EC one has a curve instead).
  assert.equal(typeof (app.cert as { modulus?: string }).modulus, 'string');
  assert.equal((app.cert as { bits?: number }).bits, 2048);
  // preferredChain names no alternate Pebble offers: the default chain verifies against Pebble's root.
  // defaultGeneratedCert: names no certificate covers get the resolver's certificate for the domain.
  await g.waitForLog((l) => l.msg === 'acme: certificate obtained' && String(l['domains']) === `${defaultHost},alt-${defaultHost}`, 30_000);
  await waitFor(async () => (await httpsGet(port, `unknown-${sfx}.test`, '/', undefined)).cert.subjectaltname === `DNS:${defaultHost}, DNS:alt-${defaultHost}`, 5000);
  // A router with `tls: {}` uses its entrypoint's certResolver; tls.domains order those names in one certificate.
  await g.waitForLog((l) => l.msg === 'acme: certificate obtained' && String(l['domains']) === `ep-${sfx}.test`, 30_000);
  await g.waitForLog((l) => l.msg === 'acme: certificate obtained' && String(l['domains']) === `named-${sfx}.test,www-${sfx}.test`, 30_000);
  assert.equal((await httpsGet(port, `www-${sfx}.test`, '/', trust)).status, 200);
  // The TCP router's name was ordered too; its TLS is terminated with that certificate.
  await g.waitForLog((l) => l.msg === 'acme: certificate obtained' && String(l['domains']) === tcpHost, 30_000);
  // With tls.domains, those names are ordered rather than the HostSNI one.
  await g.waitForLog((l) => l.msg === 'acme: certificate obtained' && String(l['domains']) === `${tcpHost.replace('tcp-', 'tcpd-')},${tcpHost.replace('tcp-', 'tcps-')}`, 30_000);
  await waitFor(async () => {
    const got = await new Promise<string>((resolve, reject) => {
      const s = tls.connect({ host: '127.0.0.1', port, servername: tcpHost, ca: trust }, () => s.write('ping'));
      let b = '';
      s.setEncoding('utf8').on('data', (d: string) => (b += d));
      s.on('end', () => resolve(b));
      s.on('error', reject);
    });
    return got === 'echo:ping';
  }, 5000);
});
