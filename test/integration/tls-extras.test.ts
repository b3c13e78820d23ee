/**
 * TLS beyond certificates and options: the passTLSClientCert middleware (Traefik's headers, pem and
 * info, behind mTLS; made-up headers from clients removed), tls.options.disableSessionTickets,
 * tls.stores.default.defaultCertificate, a TCP router's own tls.options (mTLS on a terminated TCP
 * route), and tcp.serversTransports: TLS to a server marked `tls` (CA, client certificate, server
 * name) and the PROXY protocol the transport asks for.
 */
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import fs from 'node:fs';
import https from 'node:https';
import net from 'node:net';
import path from 'node:path';
import tls from 'node:tls';
import { startBackend, startGantry, tempDir, waitFor, writeAtomic, type Backend, type GantryProcess } from '../helpers/gantry.js';
import { makeCA, type TestCA } from '../fixtures/tls/make-certs.js';
import { httpsGet } from '../fixtures/tls/https-get.js';

const tmp = tempDir('gantry-tls-extras-');
let ca: TestCA;
let clientCA: TestCA;
let client: { cert: string; key: string };
let backend: Backend;
let g: GantryProcess;
let file: string;
let yaml: string;
const closers: Array<() => void> = [];
let storeCert: { cert: string; key: string };
let rich: { cert: string; key: string };
let ppSeen = '';

async function listen(server: net.Server): Promise<number> {
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  closers.push(() => server.close());
  return (server.address() as net.AddressInfo).port;
}

before(async () => {
  ca = makeCA(path.join(tmp.dir, 'ca'));
  clientCA = makeCA(path.join(tmp.dir, 'client-ca'), 'Gantry Client CA');
  client = clientCA.leaf('client', ['client.example'], 2, 'clientAuth', ['email:ops@client.example', 'URI:spiffe://client/ops']);
  // A CA and a client certificate with every distinguished-name attribute passTLSClientCert can report.
  const richDir = path.join(tmp.dir, 'rich');
  fs.mkdirSync(richDir);
  const ossl = (args: string[]) => execFileSync('openssl', args, { cwd: richDir, stdio: ['ignore', 'ignore', 'pipe'] });
  ossl(['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', 'ca.key', '-out', 'ca.crt', '-days', '2', '-subj', '/DC=org/DC=cheese/C=FR/ST=Occitanie/L=Toulouse/O=Cheese/serialNumber=99/CN=Rich CA']);
  ossl(['req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', 'client.key', '-out', 'client.csr', '-subj', '/DC=org/DC=cheese/C=FR/ST=Occitanie/L=Toulouse/O=Cheese/OU=Ops/OU=Dev/serialNumber=7/CN=rich.client']);
  fs.writeFileSync(path.join(richDir, 'client.ext'), 'extendedKeyUsage=clientAuth\n');
  ossl(['x509', '-req', '-in', 'client.csr', '-CA', 'ca.crt', '-CAkey', 'ca.key', '-set_serial', '5', '-days', '2', '-extfile', 'client.ext', '-out', 'client.crt']);
  rich = { cert: path.join(richDir, 'client.crt'), key: path.join(richDir, 'client.key') };
  const leaf = ca.leaf('server', ['rich.test', 'pass.test', 'tickets.test', 'plain.test', 'db.test', 'upstream.internal']);
  storeCert = ca.leaf('store-default', ['fallback.example']);
  backend = await startBackend('app');
  // A TLS server that wants Gantry's client certificate and answers `tls:<what it got>`.
  const tlsServer = tls.createServer({ cert: fs.readFileSync(leaf.cert), key: fs.readFileSync(leaf.key), requestCert: true, rejectUnauthorized: true, ca: fs.readFileSync(clientCA.caCert) }, (s) => {
    s.once('data', (d: Buffer) => s.end(`tls:${d.toString()}`));
  });
  const tlsPort = await listen(tlsServer);
  // A plain server that reports the PROXY header it received, then echoes.
  const pp = net.createServer((s) => {
    s.once('data', (d: Buffer) => {
      ppSeen = d.toString('latin1').split('\r\n')[0]!;
      s.end('pp-ok');
    });
  });
  const ppPort = await listen(pp);
  file = path.join(tmp.dir, 'dyn.yaml');
  yaml = `http:
  routers:
    pass:
      rule: Host(\`pass.test\`)
      service: app
      middlewares: [certs]
      tls: { options: optionalmtls }
    rich:
      rule: Host(\`rich.test\`)
      service: app
      middlewares: [allinfo]
      tls: { options: richmtls }
    tickets:
      rule: Host(\`tickets.test\`)
      service: app
      tls: { options: notickets }
    plain:
      rule: Host(\`plain.test\`)
      service: app
      tls: {}
  middlewares:
    certs:
      passTLSClientCert:
        pem: true
        info:
          notAfter: true
          notBefore: true
          sans: true
          serialNumber: true
          subject: { commonName: true, country: true, organization: true }
          issuer: { commonName: true }
    allinfo:
      passTLSClientCert:
        info:
          subject: { country: true, province: true, locality: true, organization: true, organizationalUnit: true, commonName: true, serialNumber: true, domainComponent: true }
          issuer: { country: true, province: true, locality: true, organization: true, commonName: true, serialNumber: true, domainComponent: true }
  services:
    app:
      loadBalancer:
        servers: [{ url: "${backend.url}" }]
tcp:
  routers:
    db:
      rule: HostSNI(\`db.test\`)
      entryPoints: [websecure]
      service: upstream
      tls: { options: tcpmtls }
    pp:
      rule: HostSNI(\`*\`)
      entryPoints: [raw]
      service: pp
  services:
    upstream:
      loadBalancer:
        serversTransport: tlsup
        servers: [{ address: "127.0.0.1:${tlsPort}", tls: true }]
    pp:
      loadBalancer:
        serversTransport: proxied
        servers: [{ address: "127.0.0.1:${ppPort}" }]
  serversTransports:
    tlsup:
      dialTimeout: 5s
      dialKeepAlive: 10s
      terminationDelay: 200ms
      tls:
        serverName: upstream.internal
        rootCAs: [${ca.caCert}]
        certificates: [{ certFile: ${client.cert}, keyFile: ${client.key} }]
    proxied:
      proxyProtocol: { version: 1 }
tls:
  certificates:
    - { certFile: ${leaf.cert}, keyFile: ${leaf.key} }
  stores:
    default:
      defaultCertificate: { certFile: ${storeCert.cert}, keyFile: ${storeCert.key} }
  options:
    optionalmtls:
      clientAuth: { caFiles: [${clientCA.caCert}], clientAuthType: VerifyClientCertIfGiven }
    richmtls:
      clientAuth: { caFiles: [${path.join(richDir, 'ca.crt')}], clientAuthType: RequireAndVerifyClientCert }
    notickets:
      disableSessionTickets: true
    tcpmtls:
      clientAuth: { caFiles: [${clientCA.caCert}], clientAuthType: RequireAndVerifyClientCert }
`;
  fs.writeFileSync(file, yaml);
  g = await startGantry(['--entrypoints.websecure.address=127.0.0.1:0', '--entrypoints.raw.address=127.0.0.1:0', '--api.address=127.0.0.1:0', `--providers.file.filename=${file}`], { entrypoints: ['websecure', 'raw'] });
});

after(async () => {
  await g?.stop();
  await backend?.close();
  for (const c of closers) c();
  tmp.cleanup();
});

interface Echo {
  headers: Record<string, string>;
}

function get(servername: string, opts: https.RequestOptions = {}): Promise<{ status: number; json: Echo; reused: boolean; session: Buffer | null }> {
  return new Promise((resolve, reject) => {
    const req = https.request({ host: '127.0.0.1', port: g.port('websecure'), path: '/', servername, headers: { host: servername }, ca: ca.caPem, agent: false, ...opts }, (res) => {
      const s = res.socket as tls.TLSSocket;
      let body = '';
      res.setEncoding('utf8').on('data', (d: string) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, json: JSON.parse(body) as Echo, reused: s.isSessionReused(), session: s.getSession() ?? null }));
    });
    req.on('error', reject);
    req.end();
  });
}

const withCert = () => ({ cert: fs.readFileSync(client.cert), key: fs.readFileSync(client.key) });

test('passTLSClientCert: pem and info in Traefik formats; headers a client made up are removed', async () => {
  const r = await get('pass.test', { ...withCert(), headers: { host: 'pass.test', 'x-forwarded-tls-client-cert': 'forged', 'x-forwarded-tls-client-cert-info': 'forged' } });
  assert.equal(r.status, 200);
  const x = new X509Certificate(fs.readFileSync(client.cert));
  assert.equal(r.json.headers['x-forwarded-tls-client-cert'], x.raw.toString('base64'));
  const info = decodeURIComponent(r.json.headers['x-forwarded-tls-client-cert-info']!.replace(/\+/g, ' '));
  const nb = Math.floor(new Date(x.validFrom).getTime() / 1000);
  const na = Math.floor(new Date(x.validTo).getTime() / 1000);
  const serial = BigInt(`0x${x.serialNumber}`).toString();
  assert.equal(info, `Subject="CN=client.example";Issuer="CN=Gantry Client CA";SerialNumber="${serial}";NB="${nb}";NA="${na}";SAN="client.example,ops@client.example,spiffe://client/ops"`);
  // No certificate: nothing is passed, and the forged values do not reach the server.
  const none = await get('pass.test', { headers: { host: 'pass.test', 'x-forwarded-tls-client-cert': 'forged', 'x-forwarded-tls-client-cert-info': 'forged' } });
  assert.equal(none.status, 200);
  assert.equal(none.json.headers['x-forwarded-tls-client-cert'], undefined);
  assert.equal(none.json.headers['x-forwarded-tls-client-cert-info'], undefined);
});

test('passTLSClientCert: every subject and issuer attribute, in Traefik order', async () => {
  const r = await get('rich.test', { cert: fs.readFileSync(rich.cert), key: fs.readFileSync(rich.key), ca: ca.caPem });
  assert.equal(r.status, 200);
  const info = decodeURIComponent(r.json.headers['x-forwarded-tls-client-cert-info']!.replace(/\+/g, ' '));
  assert.equal(info, 'Subject="DC=org,DC=cheese,C=FR,ST=Occitanie,L=Toulouse,O=Cheese,OU=Ops,OU=Dev,SN=7,CN=rich.client";Issuer="DC=org,DC=cheese,C=FR,ST=Occitanie,L=Toulouse,O=Cheese,SN=99,CN=Rich CA"');
  assert.equal(r.json.headers['x-forwarded-tls-client-cert'], undefined, 'pem not asked');
});

test('tls.options.disableSessionTickets: a session is not resumed; with the default options it is', async () => {
  const first = await get('plain.test');
  const again = await get('plain.test', { session: first.session! } as https.RequestOptions);
  assert.equal(again.reused, true, 'the default options resume sessions');
  const t1 = await get('tickets.test');
  const t2 = await get('tickets.test', { session: t1.session ?? undefined } as https.RequestOptions);
  assert.equal(t2.status, 200);
  assert.equal(t2.reused, false);
});

test('tls.stores.default.defaultCertificate is served for names no certificate covers; a bad one falls back to the generated certificate', async () => {
  const r = await httpsGet(g.port('websecure'), 'unknown.example', '/', undefined);
  assert.equal(r.cert.subject.CN, 'fallback.example');
  const known = await httpsGet(g.port('websecure'), 'plain.test', '/', ca.caPem);
  assert.equal(known.status, 200);
  writeAtomic(file, yaml.replace(`certFile: ${storeCert.cert}`, `certFile: ${path.join(tmp.dir, 'nope.crt')}`));
  await waitFor(async () => (await httpsGet(g.port('websecure'), 'unknown.example', '/', undefined)).cert.subject.CN === 'GANTRY DEFAULT CERT', 5000);
  const logged = await g.waitForLog((l) => l.msg === 'tls default certificate rejected; the generated one serves');
  assert.match(String(logged['error']), /tls\.stores\.default\.defaultCertificate: .*nope\.crt.*ENOENT/);
  writeAtomic(file, yaml);
  await waitFor(async () => (await httpsGet(g.port('websecure'), 'unknown.example', '/', undefined)).cert.subject.CN === 'fallback.example', 5000);
});

/** tcpTls talks to the TCP router: TLS to Gantry with SNI db.test, then one message. */
function tcpTls(opts: tls.ConnectionOptions): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = tls.connect({ host: '127.0.0.1', port: g.port('websecure'), servername: 'db.test', ca: ca.caPem, ...opts }, () => s.write('ping'));
    let got = '';
    s.setEncoding('utf8').on('data', (d: string) => (got += d));
    s.on('end', () => resolve(got));
    s.on('error', reject);
  });
}

test("a TCP router's own tls.options (mTLS) and TLS to its server through tcp.serversTransports", async () => {
  await assert.rejects(tcpTls({}), 'no client certificate: refused by the router options');
  // Gantry presents its own client certificate to the server, which checks it, and checks the server's as upstream.internal.
  assert.equal(await tcpTls(withCert()), 'tls:ping');
  // The HTTP routers of the same entrypoint keep their own options: no client certificate asked.
  assert.equal((await get('plain.test')).status, 200);
});

test('tcp.serversTransports.proxyProtocol: the server gets a PROXY v1 header', async () => {
  const got = await new Promise<string>((resolve, reject) => {
    const s = net.connect({ host: '127.0.0.1', port: g.port('raw') }, () => s.write('hello'));
    let b = '';
    s.setEncoding('utf8').on('data', (d: string) => (b += d));
    s.on('end', () => resolve(b));
    s.on('error', reject);
  });
  assert.equal(got, 'pp-ok');
  assert.match(ppSeen, /^PROXY TCP4 127\.0\.0\.1 127\.0\.0\.1 \d+ \d+$/);
});
