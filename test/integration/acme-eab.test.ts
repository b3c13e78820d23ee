/**
 * ACME options against the test bed's second Pebble, which requires External Account Binding and
 * offers an alternate chain (up.sh pebble-eab): `eab` (refused without it, with the option named;
 * issued with it), `keyType` (the certificate's key), `preferredChain` (the chain served) and
 * `httpChallenge.entryPoint` (challenges answered there only). Pebble-eab validates on
 * 127.0.0.1:19880 / :19881, so Gantry listens there and one test at a time uses it.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import https from 'node:https';
import path from 'node:path';
import tls from 'node:tls';
import crypto, { randomBytes } from 'node:crypto';
import { startBackend, startGantry, tempDir, type Backend, type GantryProcess } from '../helpers/gantry.js';
import { get } from '../helpers/http.js';
import { loadTestbed, requireComponent } from '../helpers/testbed.js';
import { httpsGet } from '../fixtures/tls/https-get.js';
import acme from 'acme-client';

const skip = requireComponent('pebbleEab');
const tb = loadTestbed();
const tmp = tempDir('gantry-acme-eab-');
const suffix = randomBytes(3).toString('hex');
let backend: Backend;
/** Pebble-eab's roots and intermediates (new on every Pebble start): [0] the default chain, [1] the alternate. */
let roots: string[] = [];
let intermediates: string[] = [];

function mgmt(p: string): Promise<string> {
  const e = tb.pebbleEab!;
  return new Promise((resolve, reject) => {
    https.get(`${e.mgmtUrl}${p}`, { ca: fs.readFileSync(e.listenerCa) }, (res) => {
      let b = '';
      res.setEncoding('utf8').on('data', (d: string) => (b += d));
      res.on('end', () => (res.statusCode === 200 ? resolve(b) : reject(new Error(`${p}: ${res.statusCode}`))));
    }).on('error', reject);
  });
}

before(async () => {
  backend = await startBackend('eab-app');
  if (skip !== undefined) return;
  roots = [await mgmt('/roots/0'), await mgmt('/roots/1')];
  intermediates = [await mgmt('/intermediates/0'), await mgmt('/intermediates/1')];
});

after(async () => {
  await backend?.close();
  tmp.cleanup();
});

/** routers: one router per host, each with its resolver, all to the backend on every entrypoint. */
function dynamic(routes: Array<{ host: string; resolver: string }>): string {
  return `http:
  routers:
${routes.map((r, i) => `    r${i}:\n      rule: Host(\`${r.host}\`)\n      service: app\n      tls: { certResolver: ${r.resolver} }\n`).join('')}    wellknown:
      rule: PathPrefix(\`/.well-known/\`)
      service: app
  services:
    app:
      loadBalancer:
        servers: [{ url: "${backend.url}" }]
`;
}

/** resolver flags for `name` against pebble-eab, with or without the binding. */
function resolver(name: string, o: { eab: boolean; extra?: string[] }): string[] {
  const e = tb.pebbleEab!;
  const r = `--certificatesResolvers.${name}.acme`;
  return [
    `${r}.caServer=${e.url}`, `${r}.storage=${path.join(tmp.dir, `${name}-${suffix}.json`)}`, `${r}.httpChallenge.entryPoint=web`,
    ...(o.eab ? [`${r}.eab.kid=${e.kid}`, `${r}.eab.hmacEncoded=${e.hmac}`] : []),
    ...(o.extra ?? []),
  ];
}

async function start(file: string, flags: string[]): Promise<GantryProcess> {
  const e = tb.pebbleEab!;
  return startGantry(
    [
      `--entrypoints.web.address=127.0.0.1:${e.httpPort}`, `--entrypoints.websecure.address=127.0.0.1:${e.tlsPort}`,
      '--entrypoints.other.address=127.0.0.1:0', '--api.address=127.0.0.1:0', `--providers.file.filename=${file}`, ...flags,
    ],
    { entrypoints: ['web', 'websecure', 'other'], env: { NODE_EXTRA_CA_CERTS: e.listenerCa } },
  );
}

/** chainOf connects with SNI `host` and returns the certificates served, leaf first. */
function chainOf(port: number, host: string): Promise<tls.DetailedPeerCertificate[]> {
  return new Promise((resolve, reject) => {
    const s = tls.connect({ host: '127.0.0.1', port, servername: host, rejectUnauthorized: false }, () => {
      const out: tls.DetailedPeerCertificate[] = [];
      let c: tls.DetailedPeerCertificate | undefined = s.getPeerCertificate(true);
      while (c && c.raw && !out.some((x) => x.fingerprint256 === c!.fingerprint256)) {
        out.push(c);
        c = c.issuerCertificate;
      }
      s.end();
      resolve(out);
    });
    s.on('error', reject);
  });
}

/** withCa runs an acme-client call trusting pebble-eab's listener CA (this process's own HTTPS client). */
async function withCa<T>(fn: () => Promise<T>): Promise<T> {
  const prev = acme.axios.defaults.httpsAgent;
  acme.axios.defaults.httpsAgent = new https.Agent({ ca: fs.readFileSync(tb.pebbleEab!.listenerCa) });
  try {
    return await fn();
  } finally {
    acme.axios.defaults.httpsAgent = prev;
  }
}

const obtained = (g: GantryProcess, host: string) => g.waitForLog((l) => l.msg === 'acme: certificate obtained' && String(l['domains']) === host, 30_000);

describe('ACME options against a CA that requires External Account Binding', { skip }, () => {
  test('without eab the account is refused and the error names acme.eab; HTTPS keeps serving', async () => {
    const file = path.join(tmp.dir, 'no-eab.yaml');
    const host = `noeab-${suffix}.test`;
    fs.writeFileSync(file, dynamic([{ host, resolver: 'le' }]));
    const g = await start(file, resolver('le', { eab: false }));
    try {
      const failed = await g.waitForLog((l) => l.msg === 'acme: certificate order failed', 20_000);
      assert.match(String(failed['error']), /^certificatesResolvers\.le\.acme\.eab: the CA requires External Account Binding \(.*externalAccountBinding.*\); set certificatesResolvers\.le\.acme\.eab\.kid and certificatesResolvers\.le\.acme\.eab\.hmacEncoded/);
      const r = await httpsGet(g.port('websecure'), host, '/');
      assert.equal(r.status, 200);
      assert.equal(r.cert.subject.CN, 'GANTRY DEFAULT CERT');
    } finally {
      await g.stop();
    }
  });

  test('a wrong MAC key is refused with the options named', async () => {
    const file = path.join(tmp.dir, 'bad-eab.yaml');
    const host = `badeab-${suffix}.test`;
    fs.writeFileSync(file, dynamic([{ host, resolver: 'le' }]));
    const wrong = Buffer.alloc(32, 7).toString('base64url');
    const flags = resolver('le', { eab: false, extra: [`--certificatesResolvers.le.acme.eab.kid=${tb.pebbleEab!.kid}`, `--certificatesResolvers.le.acme.eab.hmacEncoded=${wrong}`] });
    const g = await start(file, flags);
    try {
      const failed = await g.waitForLog((l) => l.msg === 'acme: certificate order failed', 20_000);
      assert.match(String(failed['error']), /^certificatesResolvers\.le\.acme\.eab: the CA refused the External Account Binding \(.*\); check certificatesResolvers\.le\.acme\.eab\.kid and certificatesResolvers\.le\.acme\.eab\.hmacEncoded$/);
    } finally {
      await g.stop();
    }
  });

  test('with eab: issued; the email is the account contact; keyType picks the key; preferredChain picks the chain; challenges only on httpChallenge.entryPoint', async () => {
    const file = path.join(tmp.dir, 'eab.yaml');
    const rsaHost = `rsa-${suffix}.test`;
    const ecHost = `ec-${suffix}.test`;
    fs.writeFileSync(file, dynamic([{ host: rsaHost, resolver: 'rsa' }, { host: ecHost, resolver: 'ec' }]));
    const alternateRoot = new crypto.X509Certificate(roots[1]!).subject.replace(/^CN=/, '');
    const g = await start(file, [
      ...resolver('rsa', { eab: true, extra: ['--certificatesResolvers.rsa.acme.keyType=RSA2048', '--certificatesResolvers.rsa.acme.email=eab-test@example.com'] }),
      ...resolver('ec', { eab: true, extra: ['--certificatesResolvers.ec.acme.keyType=EC384', `--certificatesResolvers.ec.acme.preferredChain=${alternateRoot}`] }),
    ]);
    try {
      await obtained(g, rsaHost);
      await obtained(g, ecHost);
      const port = g.port('websecure');
      // Verified against Pebble's own roots: really issued, by the chain asked for.
      const rsa = await httpsGet(port, rsaHost, '/', [roots[0]!, intermediates[0]!]);
      assert.equal(rsa.status, 200);
      assert.equal(rsa.cert.bits, 2048, 'keyType RSA2048');
      assert.ok(rsa.cert.modulus, 'an RSA key');
      const ec = await httpsGet(port, ecHost, '/', [roots[1]!, intermediates[1]!]);
      assert.equal(ec.cert.asn1Curve, 'secp384r1', 'keyType EC384');

      const chain = async (host: string) => (await chainOf(port, host)).map((c) => c.issuer.CN);
      const rootCn = (i: number) => new crypto.X509Certificate(roots[i]!).subject.replace(/^CN=/, '');
      assert.equal((await chain(rsaHost)).at(-1), rootCn(0), 'no preferredChain: the CA\'s default chain');
      assert.equal((await chain(ecHost)).at(-1), rootCn(1), 'preferredChain: the chain up to that root');

      // The account the CA holds has the email as its contact.
      const stored = JSON.parse(fs.readFileSync(path.join(tmp.dir, `rsa-${suffix}.json`), 'utf8')) as { rsa: { Account: { PrivateKey: string; Registration: { uri: string } } } };
      const account = new acme.Client({ directoryUrl: tb.pebbleEab!.url, accountKey: Buffer.from(stored.rsa.Account.PrivateKey, 'base64').toString(), accountUrl: stored.rsa.Account.Registration.uri });
      const seenByCa = await withCa(() => account.updateAccount({}));
      assert.deepEqual(seenByCa.contact, ['mailto:eab-test@example.com']);

      // /.well-known/acme-challenge/ is Gantry's on web (httpChallenge.entryPoint) only.
      const onWeb = await get(`http://127.0.0.1:${g.port('web')}/.well-known/acme-challenge/unknown-token`);
      assert.equal(onWeb.status, 404);
      assert.match(onWeb.body, /no such ACME challenge/);
      const onOther = await get(`http://127.0.0.1:${g.port('other')}/.well-known/acme-challenge/unknown-token`);
      assert.equal(onOther.status, 200, 'another entrypoint routes the path');
      assert.equal(JSON.parse(onOther.body).backend, 'eab-app');
    } finally {
      await g.stop();
    }
  });
});
