/**
 * TCP routers: TLS passthrough routed by SNI (the backend's own certificate reaches the client),
 * a plain TCP echo on its own entrypoint with HostSNI(`*`), PROXY protocol v2 towards a server,
 * PROXY protocol accepted from a trusted peer on an entrypoint, and a bad HostSNI rule isolated.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import tls from 'node:tls';
import { startBackend, startGantry, tempDir, type Backend, type GantryProcess } from '../helpers/gantry.js';
import { makeCA } from '../fixtures/tls/make-certs.js';
import { httpsGet } from '../fixtures/tls/https-get.js';
import { buildProxyHeader, parseProxyHeader } from '../../src/tcp/proxy-protocol.js';

const tmp = tempDir('gantry-tcp-');
const ca = makeCA(path.join(tmp.dir, 'ca'));
const closers: Array<() => Promise<unknown>> = [];
const procs: GantryProcess[] = [];
after(async () => {
  await Promise.all(procs.map((g) => g.stop()));
  await Promise.all(closers.map((c) => c()));
  tmp.cleanup();
});

async function listen(server: net.Server): Promise<number> {
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  closers.push(() => new Promise((r) => server.close(r)));
  return (server.address() as net.AddressInfo).port;
}

/** A TLS server with its own certificate that answers `<name>` and closes. */
async function tlsBackend(name: string, host: string): Promise<number> {
  const c = ca.leaf(name, [host]);
  const s = tls.createServer({ cert: fs.readFileSync(c.cert), key: fs.readFileSync(c.key) }, (sock) => sock.end(`hello from ${name}\n`));
  return listen(s);
}

/** tlsTalk connects with SNI, verifies against the test CA and returns what the server said. */
function tlsTalk(port: number, servername: string): Promise<{ text: string; cn: string }> {
  return new Promise((resolve, reject) => {
    const s = tls.connect({ host: '127.0.0.1', port, servername, ca: ca.caPem }, () => {
      const cn = String(s.getPeerCertificate().subject.CN);
      let text = '';
      s.setEncoding('utf8').on('data', (d: string) => (text += d));
      s.on('end', () => resolve({ text, cn }));
    });
    s.on('error', reject);
  });
}

function tcpTalk(port: number, send: Buffer | string, until: (got: string) => boolean): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = net.connect({ host: '127.0.0.1', port }, () => s.write(send));
    let got = '';
    s.setEncoding('utf8').on('data', (d: string) => {
      got += d;
      if (until(got)) {
        s.end();
        resolve(got);
      }
    });
    s.on('error', reject);
    s.on('close', () => resolve(got));
  });
}

test('TCP routers: SNI passthrough, a plain echo entrypoint, PROXY v2 to a server, a bad rule isolated', async () => {
  const alphaPort = await tlsBackend('alpha', 'alpha.test');
  const betaPort = await tlsBackend('beta', 'beta.test');
  const echo = net.createServer((s) => s.pipe(s));
  const echoPort = await listen(echo);
  // A server that asks for PROXY v2 and reports the client address it was given.
  const ppServer = net.createServer((s) => {
    let buf = Buffer.alloc(0);
    let answered = false;
    s.on('data', (d: Buffer) => {
      if (answered) return;
      buf = Buffer.concat([buf, d]);
      const r = parseProxyHeader(buf);
      if (r.kind === 'incomplete') return;
      answered = true;
      s.end(r.kind === 'header' ? `proxied ${r.addresses?.srcAddr}:${r.addresses?.srcPort} -> ${r.addresses?.dstAddr}:${r.addresses?.dstPort} v2=${buf[12] === 0x21}\n` : `no header (${r.kind})\n`);
    });
  });
  const ppPort = await listen(ppServer);
  const b: Backend = await startBackend('tcp-http');
  closers.push(() => b.close());
  const httpCert = ca.leaf('web', ['web.test']);

  const file = path.join(tmp.dir, 'tcp.yaml');
  fs.writeFileSync(
    file,
    `tcp:
  routers:
    alpha: { rule: "HostSNI(\`alpha.test\`)", service: alpha, entryPoints: [websecure], tls: { passthrough: true } }
    beta: { rule: "HostSNI(\`beta.test\`)", service: beta, entryPoints: [websecure], tls: { passthrough: true } }
    echo: { rule: "HostSNI(\`*\`)", service: echo, entryPoints: [echo] }
    pp: { rule: "HostSNI(\`*\`)", service: pp, entryPoints: [pp] }
    broken: { rule: "HostSNI(\`not a host\`)", service: echo, entryPoints: [websecure], tls: { passthrough: true } }
  services:
    alpha: { loadBalancer: { servers: [{ address: "127.0.0.1:${alphaPort}" }] } }
    beta: { loadBalancer: { servers: [{ address: "127.0.0.1:${betaPort}" }] } }
    echo: { loadBalancer: { servers: [{ address: "127.0.0.1:${echoPort}" }] } }
    pp: { loadBalancer: { servers: [{ address: "127.0.0.1:${ppPort}" }], proxyProtocol: { version: 2 } } }
http:
  routers:
    web: { rule: "Host(\`web.test\`)", service: web, tls: {} }
  services:
    web: { loadBalancer: { servers: [{ url: "${b.url}" }] } }
tls:
  certificates: [{ certFile: "${httpCert.cert}", keyFile: "${httpCert.key}" }]
`,
  );
  const g = await startGantry(
    [
      '--workers=1',
      '--entrypoints.websecure.address=127.0.0.1:0',
      '--entrypoints.echo.address=127.0.0.1:0',
      '--entrypoints.pp.address=127.0.0.1:0',
      '--entrypoints.lb.address=127.0.0.1:0',
      '--entrypoints.lb.proxyProtocol.trustedIPs=127.0.0.1',
      '--entrypoints.lb.http.tls=true',
      '--api.address=127.0.0.1:0',
      `--providers.file.filename=${file}`,
    ],
    { entrypoints: ['websecure', 'echo', 'pp', 'lb'] },
  );
  procs.push(g);

  // Two TLS services on one port, routed by SNI; each backend's own certificate reaches the client.
  const a = await tlsTalk(g.port('websecure'), 'alpha.test');
  assert.deepEqual(a, { text: 'hello from alpha\n', cn: 'alpha.test' });
  const bb = await tlsTalk(g.port('websecure'), 'beta.test');
  assert.deepEqual(bb, { text: 'hello from beta\n', cn: 'beta.test' });
  // HTTP routers on the same port still get the names no TCP router takes.
  const h = await httpsGet(g.port('websecure'), 'web.test', '/p', ca.caPem);
  assert.equal(h.status, 200);
  assert.equal(JSON.parse(h.body).backend, 'tcp-http');

  // A plain TCP echo on its own entrypoint.
  assert.equal(await tcpTalk(g.port('echo'), 'ping\n', (s) => s.includes('\n')), 'ping\n');

  // PROXY v2 towards a server that asks for it: it sees the real client address.
  const said = await tcpTalk(g.port('pp'), 'x', (s) => s.includes('\n'));
  assert.match(said, new RegExp(`^proxied 127\\.0\\.0\\.1:\\d+ -> 127\\.0\\.0\\.1:${g.port('pp')} v2=true\\n$`));

  // The invalid HostSNI rule: a clear error naming the router; the others serve (above).
  const bad = await g.waitForLog((l) => l.msg === 'configuration element disabled' && l['element'] === 'broken@file');
  assert.match(String(bad['error']), /tcp\.routers\.broken\.rule: .*HostSNI: "not a host" is not a valid hostname/);

  // PROXY protocol accepted from a trusted peer on an entrypoint: the backend sees the client it names.
  const reqText = Buffer.concat([
    buildProxyHeader(2, { srcAddr: '203.0.113.7', srcPort: 4242, dstAddr: '127.0.0.1', dstPort: 443 }),
  ]);
  const seen = await new Promise<string>((resolve, reject) => {
    const raw = net.connect({ host: '127.0.0.1', port: g.port('lb') }, () => {
      raw.write(reqText);
      const s = tls.connect({ socket: raw, servername: 'web.test', ca: ca.caPem }, () => {
        s.write('GET /who HTTP/1.1\r\nhost: web.test\r\nconnection: close\r\n\r\n');
      });
      let text = '';
      s.setEncoding('utf8').on('data', (d: string) => (text += d));
      s.on('end', () => resolve(text));
      s.on('error', reject);
    });
    raw.on('error', reject);
  });
  assert.match(seen, /^HTTP\/1\.1 200/);
  // (The body is chunked; the backend echoes the headers it got as JSON.)
  assert.match(seen, /"x-forwarded-for":"203\.0\.113\.7"/);
});
