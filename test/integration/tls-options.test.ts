/**
 * `tls.options` (Traefik's model) on a TLS entrypoint: mTLS with a CA (no certificate or one from
 * another CA is refused, a valid one gets 200), minVersion TLS 1.3 refuses a TLS 1.2-only client,
 * Go cipher-suite names select the OpenSSL suite, sniStrict in `default` refuses unknown names,
 * and bad options (an unreadable CA file, an unknown cipher) are errors naming the option path
 * that refuse only the routes selecting them while the others keep serving.
 */
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import https from 'node:https';
import path from 'node:path';
import type { TLSSocket } from 'node:tls';
import { getJSON, get as httpGet } from '../helpers/http.js';
import { startBackend, startGantry, tempDir, type Backend, type GantryProcess } from '../helpers/gantry.js';
import { makeCA, type TestCA } from '../fixtures/tls/make-certs.js';

const tmp = tempDir('gantry-tls-options-');
let backend: Backend;
let g: GantryProcess;
let serverCA: TestCA;
let clientCA: TestCA;
let client: { cert: string; key: string };
let stranger: { cert: string; key: string };

interface Answer {
  status: number;
  protocol: string | null;
  cipher: string;
}

/** get makes one request on a new connection with the given SNI and client TLS settings. */
function get(servername: string, opts: https.RequestOptions = {}): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = https.request(
      { host: '127.0.0.1', port: g.port('websecure'), path: '/', servername, headers: { host: servername }, ca: serverCA.caPem, agent: false, ...opts },
      (res) => {
        const s = res.socket as TLSSocket;
        const answer = { status: res.statusCode ?? 0, protocol: s.getProtocol(), cipher: s.getCipher().name };
        res.resume();
        res.on('end', () => resolve(answer));
      },
    );
    req.on('error', reject);
    req.end();
  });
}

before(async () => {
  backend = await startBackend('opts-app');
  serverCA = makeCA(path.join(tmp.dir, 'server-ca'));
  clientCA = makeCA(path.join(tmp.dir, 'client-ca'), 'Gantry Client CA');
  const other = makeCA(path.join(tmp.dir, 'other-ca'), 'Someone Else');
  client = clientCA.leaf('client', ['client.example'], 2, 'clientAuth');
  stranger = other.leaf('stranger', ['client.example'], 2, 'clientAuth');
  const names = ['mtls.test', 'modern.test', 'plain.test', 'broken.test', 'cipher.test', 'suite.test', 'optional.test'];
  const leaf = serverCA.leaf('server', names);
  const file = path.join(tmp.dir, 'dyn.yaml');
  const router = (n: string, opts?: string) => `    ${n}:\n      rule: Host(\`${n}.test\`)\n      service: app\n      tls: ${opts === undefined ? '{}' : `{ options: ${opts} }`}\n`;
  fs.writeFileSync(
    file,
    `http:
  routers:
${router('mtls', 'mtls')}${router('optional', 'optional')}${router('modern', 'modern')}${router('plain')}${router('broken', 'badca')}${router('cipher', 'badcipher')}${router('suite', 'tls12suite')}  services:
    app:
      loadBalancer:
        servers: [{ url: "${backend.url}" }]
tls:
  certificates:
    - { certFile: ${leaf.cert}, keyFile: ${leaf.key} }
  options:
    default:
      minVersion: VersionTLS12
      sniStrict: true
    mtls:
      clientAuth: { caFiles: [${clientCA.caCert}], clientAuthType: RequireAndVerifyClientCert }
    optional:
      clientAuth: { caFiles: [${clientCA.caCert}], clientAuthType: VerifyClientCertIfGiven }
    modern:
      minVersion: VersionTLS13
    badca:
      clientAuth: { caFiles: [${path.join(tmp.dir, 'no-such-ca.pem')}], clientAuthType: RequireAndVerifyClientCert }
    badcipher:
      cipherSuites: [TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256, TLS_NO_SUCH_SUITE]
    tls12suite:
      maxVersion: VersionTLS12
      cipherSuites: [TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384]
`,
  );
  g = await startGantry(['--entrypoints.websecure.address=127.0.0.1:0', '--api.address=127.0.0.1:0', '--metrics.prometheus', `--providers.file.filename=${file}`], { entrypoints: ['websecure'] });
});

after(async () => {
  await g?.stop();
  await backend?.close();
  tmp.cleanup();
});

test('mTLS: no client certificate or one from another CA is refused, a valid one gets 200', async () => {
  await assert.rejects(get('mtls.test'), 'no client certificate');
  await assert.rejects(get('mtls.test', { cert: fs.readFileSync(stranger.cert), key: fs.readFileSync(stranger.key) }), 'a certificate from another CA');
  const ok = await get('mtls.test', { cert: fs.readFileSync(client.cert), key: fs.readFileSync(client.key) });
  assert.equal(ok.status, 200);
  // VerifyClientCertIfGiven: none is fine, a valid one is fine, an untrusted one is refused.
  assert.equal((await get('optional.test')).status, 200);
  assert.equal((await get('optional.test', { cert: fs.readFileSync(client.cert), key: fs.readFileSync(client.key) })).status, 200);
  await assert.rejects(get('optional.test', { cert: fs.readFileSync(stranger.cert), key: fs.readFileSync(stranger.key) }));
  // Routes without client auth do not ask for a certificate.
  assert.equal((await get('plain.test')).status, 200);
});

test('minVersion VersionTLS13 refuses a TLS 1.2-only client; the default options accept it', async () => {
  await assert.rejects(get('modern.test', { maxVersion: 'TLSv1.2' }));
  const modern = await get('modern.test');
  assert.equal(modern.status, 200);
  assert.equal(modern.protocol, 'TLSv1.3');
  const plain = await get('plain.test', { maxVersion: 'TLSv1.2' });
  assert.equal(plain.status, 200);
  assert.equal(plain.protocol, 'TLSv1.2');
});

test('cipherSuites by Go name select the OpenSSL suite', async () => {
  const r = await get('suite.test');
  assert.equal(r.status, 200);
  assert.equal(r.protocol, 'TLSv1.2');
  assert.equal(r.cipher, 'ECDHE-ECDSA-AES256-GCM-SHA384');
  await assert.rejects(get('suite.test', { ciphers: 'ECDHE-ECDSA-AES128-GCM-SHA256' }), 'a client without the listed suite');
});

test('sniStrict in default refuses names no certificate covers, and connections without SNI', async () => {
  await assert.rejects(get('unknown.test', { rejectUnauthorized: false }));
  await assert.rejects(
    new Promise((resolve, reject) => {
      const req = https.request({ host: '127.0.0.1', port: g.port('websecure'), path: '/', rejectUnauthorized: false, agent: false }, resolve);
      req.on('error', reject);
      req.end();
    }),
  );
  assert.equal((await get('plain.test')).status, 200);
});

test('bad options: errors name the option path; only the routes selecting them are refused', async () => {
  const ca = await g.waitForLog((l) => l.msg === 'tls options rejected; connections that use them are refused' && String(l['error']).startsWith('tls.options.badca@file.clientAuth.caFiles[0]: '));
  assert.match(String(ca['error']), /no-such-ca\.pem: ENOENT/);
  const cipher = await g.waitForLog((l) => l.msg === 'provider error' && l['path'] === 'tls.options.badcipher');
  assert.match(String(cipher['error']), /tls\.options\.badcipher\.cipherSuites\[1\]: unknown cipher suite/);
  await assert.rejects(get('broken.test'), 'options with an unreadable CA file never serve without mTLS');
  await assert.rejects(get('cipher.test'));
  for (const host of ['plain.test', 'modern.test', 'suite.test']) assert.equal((await get(host)).status, 200, host);
});

test('the API lists the certificates with expiry and source; /metrics has their expiry', async () => {
  const res = await getJSON<Array<{ domains: { main: string; sans: string[] }; notAfter: string; issuer: string; source: string; certFile?: string }>>(g.api('/api/tls/certificates'));
  assert.equal(res.status, 200);
  const list = res.json;
  const file = list.find((c) => c.source === 'file');
  assert.ok(file !== undefined, JSON.stringify(list));
  assert.equal(file.domains.main, 'mtls.test');
  assert.ok(file.domains.sans.includes('plain.test'));
  assert.equal(file.issuer, 'Gantry Test CA');
  assert.ok(Date.parse(file.notAfter) > Date.now());
  assert.ok(list.some((c) => c.source === 'default' && c.issuer === 'GANTRY DEFAULT CERT'));
  const metrics = await httpGet(g.api('/metrics'));
  const line = metrics.body.split('\n').find((l) => l.startsWith('gantry_tls_certs_not_after_timestamp_seconds{') && l.includes('cn="mtls.test"'));
  assert.ok(line !== undefined, metrics.body);
  assert.equal(Number(line.split(' ').pop()), Math.floor(Date.parse(file.notAfter) / 1000));
});
