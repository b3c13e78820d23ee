/**
 * Servers transports against real TLS servers signed by a private CA (openssl): the static
 * `serversTransport.rootCAs` trusts it for every service; `http.serversTransports.<name>` selected
 * by `loadBalancer.serversTransport` gives one service its own CAs, a client certificate for an
 * mTLS server, the server name to check, peerCertURI, versions and cipher suites, timeouts and
 * idle connections. Health checks go through the service's transport, follow redirects unless told
 * not to, and speak the gRPC health protocol with `mode: grpc`. The static insecureSkipVerify and
 * an unreadable CA file are checked on processes of their own.
 */
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import http2 from 'node:http2';
import https from 'node:https';
import path from 'node:path';
import type { AddressInfo, Socket } from 'node:net';
import type { TLSSocket } from 'node:tls';
import { get, getJSON } from '../helpers/http.js';
import { gantryBin, startGantry, startWithFile, tempDir, waitFor, type GantryProcess } from '../helpers/gantry.js';
import { makeCA, type TestCA } from '../fixtures/tls/make-certs.js';

const tmp = tempDir('gantry-transport-');
let ca: TestCA;
let clientCA: TestCA;
let other: TestCA;
let client: { cert: string; key: string };
const servers: Array<{ close(): void }> = [];
let g: GantryProcess;
let cleanup: (() => Promise<void>) | null = null;

interface TlsBackend {
  url: string;
  port: number;
  /** Per request: the cipher and protocol the connection uses, and whether a client certificate came. */
  seen: Array<{ cipher: string; protocol: string | null; clientCert: boolean; path: string }>;
  connections: number;
}

async function tlsBackend(name: string, opts: https.ServerOptions, handler?: (req: http.IncomingMessage, res: http.ServerResponse) => void): Promise<TlsBackend> {
  const b: TlsBackend = { url: '', port: 0, seen: [], connections: 0 };
  const server = https.createServer(opts, (req, res) => {
    const s = req.socket as TLSSocket;
    b.seen.push({ cipher: s.getCipher().name, protocol: s.getProtocol(), clientCert: Object.keys(s.getPeerCertificate()).length > 0, path: req.url ?? '' });
    if (handler) return handler(req, res);
    res.end(`${name} ${req.url}`);
  });
  server.on('secureConnection', () => b.connections++);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  b.port = (server.address() as AddressInfo).port;
  b.url = `https://localhost:${b.port}`;
  servers.push({ close: () => (server.closeAllConnections(), server.close()) });
  return b;
}

function pem(file: string): Buffer {
  return fs.readFileSync(file);
}

let trusted: TlsBackend;
let mtls: TlsBackend;
let stranger: TlsBackend;
let tls12: TlsBackend;
let slow: TlsBackend;
let spiffe: TlsBackend;
let redirecting: { url: string };
let grpcUrl: string;
let grpcStatus = 1;
let grpcChecks = 0;
let idleClosed = 0;
/** The HTTP version of each request the ALPN server got. */
const alpnSeen: string[] = [];

before(async () => {
  ca = makeCA(path.join(tmp.dir, 'ca'));
  clientCA = makeCA(path.join(tmp.dir, 'client-ca'), 'Client CA');
  other = makeCA(path.join(tmp.dir, 'other-ca'), 'Someone Else');
  client = clientCA.leaf('client', ['gantry.client'], 2, 'clientAuth');
  const leaf = ca.leaf('backend', ['localhost', 'backend.internal']);
  const spiffeLeaf = ca.leaf('spiffe', ['unrelated.example'], 2, 'serverAuth', ['URI:spiffe://gantry.test/backend']);
  const foreign = other.leaf('foreign', ['localhost']);
  const key = { cert: pem(leaf.cert), key: pem(leaf.key) };
  trusted = await tlsBackend('trusted', key);
  mtls = await tlsBackend('mtls', { ...key, requestCert: true, rejectUnauthorized: true, ca: pem(clientCA.caCert) });
  stranger = await tlsBackend('stranger', { cert: pem(foreign.cert), key: pem(foreign.key) });
  tls12 = await tlsBackend('tls12', { ...key, maxVersion: 'TLSv1.2' });
  slow = await tlsBackend('slow', key, (_req, res) => setTimeout(() => res.end('late'), 3000).unref());
  spiffe = await tlsBackend('spiffe', { cert: pem(spiffeLeaf.cert), key: pem(spiffeLeaf.key) });
  // idleConnTimeout: the server notes when Gantry closes a connection it kept idle.
  const idleServer = https.createServer(key, (_req, res) => res.end('idle'));
  idleServer.on('secureConnection', (s: Socket) => s.once('close', () => idleClosed++));
  await new Promise<void>((r) => idleServer.listen(0, '127.0.0.1', r));
  servers.push({ close: () => (idleServer.closeAllConnections(), idleServer.close()) });
  const idleUrl = `https://localhost:${(idleServer.address() as AddressInfo).port}`;
  // A server offering h2 and http/1.1 by ALPN: Gantry speaks HTTP/2 to it unless disableHTTP2.
  const alpn = http2.createSecureServer({ ...key, allowHTTP1: true }, (req, res) => {
    alpnSeen.push(req.httpVersion);
    res.end(`alpn ${req.httpVersion} ${req.url}`);
  });
  await new Promise<void>((r) => alpn.listen(0, '127.0.0.1', r));
  servers.push({ close: () => alpn.close() });
  const alpnUrl = `https://localhost:${(alpn.address() as AddressInfo).port}`;
  // A health endpoint that redirects to a failing one: healthy only when the redirect is not followed.
  const plain = http.createServer((req, res) => {
    if (req.url === '/health') {
      res.writeHead(302, { location: '/broken' });
      res.end();
    } else if (req.url === '/broken') {
      res.writeHead(500);
      res.end();
    } else res.end('redirecting');
  });
  await new Promise<void>((r) => plain.listen(0, '127.0.0.1', r));
  servers.push({ close: () => (plain.closeAllConnections(), plain.close()) });
  redirecting = { url: `http://127.0.0.1:${(plain.address() as AddressInfo).port}` };
  // A gRPC server over h2c that implements grpc.health.v1.Health/Check.
  const grpc = http2.createServer();
  grpc.on('stream', (stream, headers) => {
    if (headers[':path'] !== '/grpc.health.v1.Health/Check') {
      stream.respond({ ':status': 200, 'content-type': 'application/grpc' }, { waitForTrailers: true });
      stream.on('wantTrailers', () => stream.sendTrailers({ 'grpc-status': '12' }));
      stream.end();
      return;
    }
    grpcChecks++;
    stream.resume();
    stream.on('end', () => {
      stream.respond({ ':status': 200, 'content-type': 'application/grpc' }, { waitForTrailers: true });
      stream.on('wantTrailers', () => stream.sendTrailers({ 'grpc-status': '0' }));
      stream.end(Buffer.from([0, 0, 0, 0, 2, 0x08, grpcStatus]));
    });
  });
  await new Promise<void>((r) => grpc.listen(0, '127.0.0.1', r));
  servers.push({ close: () => grpc.close() });
  grpcUrl = `http://127.0.0.1:${(grpc.address() as AddressInfo).port}`;

  const svc = (name: string, url: string, extra = '') => `    ${name}:\n      loadBalancer:\n${extra}        servers: [{ url: "${url}" }]\n`;
  const route = (name: string) => `    ${name}:\n      rule: Host(\`${name}.test\`)\n      service: ${name}\n`;
  const names = ['trusted', 'plain', 'named', 'ipnoname', 'mtls', 'nocert', 'insecure', 'modern', 'suite', 'slow', 'spiffe', 'nouri', 'badca', 'missing', 'noreuse', 'reuse', 'idle', 'health', 'follow', 'stay', 'grpc', 'alpnh2', 'alpnh1'];
  const res = await startWithFile(
    `http:
  routers:
${names.map(route).join('')}  services:
${svc('trusted', trusted.url)}${svc('plain', trusted.url, '        serversTransport: nocas\n')}${svc('named', `https://127.0.0.1:${trusted.port}`, '        serversTransport: internal\n')}${svc('ipnoname', `https://127.0.0.1:${trusted.port}`)}${svc('mtls', mtls.url, '        serversTransport: mtls\n')}${svc('nocert', mtls.url)}${svc('insecure', stranger.url, '        serversTransport: insecure\n')}${svc('modern', tls12.url, '        serversTransport: modern\n')}${svc('suite', tls12.url, '        serversTransport: suite\n')}${svc('slow', slow.url, '        serversTransport: impatient\n')}${svc('spiffe', spiffe.url, '        serversTransport: spiffe\n')}${svc('nouri', trusted.url, '        serversTransport: spiffe\n')}${svc('badca', trusted.url, '        serversTransport: badca\n')}${svc('missing', trusted.url, '        serversTransport: nosuch\n')}${svc('noreuse', trusted.url, '        serversTransport: noreuse\n')}${svc('reuse', trusted.url)}${svc('idle', idleUrl, '        serversTransport: idle\n')}${svc('health', trusted.url, '        serversTransport: internal\n        healthCheck: { path: /health, interval: 100ms, timeout: 1s }\n')}${svc('follow', redirecting.url, '        healthCheck: { path: /health, interval: 100ms, timeout: 1s }\n')}${svc('stay', redirecting.url.replace('127.0.0.1', 'localhost'), '        healthCheck: { path: /health, interval: 100ms, timeout: 1s, followRedirects: false }\n')}${svc('grpc', grpcUrl, '        healthCheck: { mode: grpc, interval: 100ms, timeout: 1s }\n')}${svc('alpnh2', alpnUrl)}${svc('alpnh1', alpnUrl, '        serversTransport: noh2\n')}  serversTransports:
    noh2:
      rootCAs: [${ca.caCert}]
      disableHTTP2: true
    nocas: {}
    internal:
      serverName: backend.internal
      rootCAs: [${ca.caCert}]
    mtls:
      rootCAs: [${ca.caCert}]
      certificates: [{ certFile: ${client.cert}, keyFile: ${client.key} }]
    insecure:
      insecureSkipVerify: true
    modern:
      rootCAs: [${ca.caCert}]
      minVersion: VersionTLS13
    suite:
      rootCAs: [${ca.caCert}]
      maxVersion: VersionTLS12
      cipherSuites: [TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384]
    impatient:
      rootCAs: ["${ca.caPem.replace(/\n/g, '\\n')}"]
      forwardingTimeouts: { dialTimeout: 2s, responseHeaderTimeout: 300ms, readIdleTimeout: 10s, pingTimeout: 5s }
      disableHTTP2: true
    spiffe:
      rootCAs: [${ca.caCert}]
      peerCertURI: spiffe://gantry.test/backend
    badca:
      rootCAs: [${path.join(tmp.dir, 'no-such-ca.pem')}]
    noreuse:
      rootCAs: [${ca.caCert}]
      maxIdleConnsPerHost: -1
    idle:
      rootCAs: [${ca.caCert}]
      forwardingTimeouts: { idleConnTimeout: 300ms }
`,
    [`--serversTransport.rootCAs=${ca.caCert}`],
  );
  g = res.g;
  cleanup = res.cleanup;
});

after(async () => {
  await cleanup?.();
  for (const s of servers) s.close();
  tmp.cleanup();
});

const at = (host: string, p = '/') => get(g.url(p), { host: `${host}.test` });

test('static rootCAs trust the private CA for every service; a transport with no CAs uses Node roots and gets 502', async () => {
  const ok = await at('trusted');
  assert.equal(ok.status, 200, ok.body);
  assert.equal(ok.body, 'trusted /');
  const untrusted = await at('plain');
  assert.equal(untrusted.status, 502, untrusted.body);
});

test('https:// servers get HTTP/2 when they offer it by ALPN, and HTTP/1.1 with disableHTTP2', async () => {
  alpnSeen.length = 0;
  const h2 = await at('alpnh2', '/two');
  assert.equal(h2.status, 200, h2.body);
  assert.equal(h2.body, 'alpn 2.0 /two');
  const h1 = await at('alpnh1', '/one');
  assert.equal(h1.status, 200, h1.body);
  assert.equal(h1.body, 'alpn 1.1 /one');
  assert.deepEqual(alpnSeen, ['2.0', '1.1']);
});

test('serverName: the certificate is checked against it, not the URL host (an IP the certificate does not name)', async () => {
  const ok = await at('named');
  assert.equal(ok.status, 200, ok.body);
  const bad = await at('ipnoname');
  assert.equal(bad.status, 502, bad.body);
});

test('certificates: the client certificate is presented to an mTLS server; without it the server refuses', async () => {
  const ok = await at('mtls');
  assert.equal(ok.status, 200, ok.body);
  assert.equal(mtls.seen.at(-1)!.clientCert, true);
  const refused = await at('nocert');
  assert.equal(refused.status, 502, refused.body);
});

test('insecureSkipVerify accepts a certificate from an unknown CA', async () => {
  const r = await at('insecure');
  assert.equal(r.status, 200, r.body);
  assert.equal(r.body, 'stranger /');
});

test('minVersion, maxVersion and cipherSuites restrict the TLS connection to the server', async () => {
  const refused = await at('modern');
  assert.equal(refused.status, 502, 'minVersion TLS 1.3 against a TLS 1.2-only server');
  const r = await at('suite');
  assert.equal(r.status, 200, r.body);
  assert.deepEqual([tls12.seen.at(-1)!.protocol, tls12.seen.at(-1)!.cipher], ['TLSv1.2', 'ECDHE-ECDSA-AES256-GCM-SHA384']);
});

test('forwardingTimeouts.responseHeaderTimeout (CA given as PEM text) answers 504 for a slow server', async () => {
  const t0 = Date.now();
  const r = await at('slow');
  assert.equal(r.status, 504, r.body);
  assert.ok(Date.now() - t0 < 2500, `took ${Date.now() - t0} ms`);
});

test('peerCertURI: a server whose certificate carries the URI SAN is accepted whatever its DNS names; one without it is not', async () => {
  const r = await at('spiffe');
  assert.equal(r.status, 200, r.body);
  const refused = await at('nouri');
  assert.equal(refused.status, 502, refused.body);
  assert.match(refused.body, /no URI SAN spiffe:\/\/gantry\.test\/backend/);
});

test('a transport that cannot be built, or does not exist, disables the services using it with the reason', async () => {
  assert.equal((await at('badca')).status, 404);
  const { json: bad } = await getJSON<{ status: string; error?: string[] }>(g.api('/api/http/services/badca@file'));
  assert.equal(bad.status, 'disabled');
  assert.match(bad.error!.join(' '), /http\.serversTransports\.badca@file\.rootCAs\[0\]: cannot read .*no-such-ca\.pem: ENOENT/);
  const { json: missing } = await getJSON<{ status: string; error?: string[] }>(g.api('/api/http/services/missing@file'));
  assert.match(missing.error!.join(' '), /serversTransport "nosuch@file" does not exist/);
});

test('maxIdleConnsPerHost: -1 opens a connection per request; the default reuses one', async () => {
  const before = trusted.connections;
  for (let i = 0; i < 3; i++) assert.equal((await at('noreuse')).status, 200);
  assert.equal(trusted.connections - before, 3);
  const mid = trusted.connections;
  for (let i = 0; i < 3; i++) assert.equal((await at('reuse')).status, 200);
  assert.ok(trusted.connections - mid <= 1, `${trusted.connections - mid} connections for 3 requests`);
});

test('forwardingTimeouts.idleConnTimeout closes an idle connection to the server', async () => {
  assert.equal((await at('idle')).status, 200);
  const t0 = Date.now();
  await waitFor(() => idleClosed >= 1, 3000);
  assert.ok(Date.now() - t0 < 3000);
});

test('health checks go through the service transport (CA, server name), follow redirects by default, gRPC health with mode: grpc', async () => {
  const status = async (name: string) => (await getJSON<{ serverStatus?: Record<string, string> }>(g.api(`/api/http/services/${name}@file`))).json.serverStatus ?? {};
  // A server is UP until a check says otherwise: wait for two checks, then it must still be UP.
  await waitFor(() => trusted.seen.filter((s) => s.path === '/health').length >= 2, 5000);
  assert.equal(Object.values(await status('health'))[0], 'UP');
  assert.equal(g.logs.filter((l) => l.msg === 'health check: server is DOWN' && l['service'] === 'health@file').length, 0, g.logText());
  // /health redirects to a 500: followed, the server is DOWN; not followed, the 302 is healthy.
  await waitFor(async () => Object.values(await status('follow'))[0] === 'DOWN', 5000);
  await waitFor(async () => Object.values(await status('stay'))[0] === 'UP', 5000);
  assert.equal(Object.values(await status('stay'))[0], 'UP');
  await waitFor(() => grpcChecks >= 2, 5000);
  assert.equal(Object.values(await status('grpc'))[0], 'UP');
  grpcStatus = 2; // NOT_SERVING
  await waitFor(async () => Object.values(await status('grpc'))[0] === 'DOWN', 5000);
  grpcStatus = 1;
  await waitFor(async () => Object.values(await status('grpc'))[0] === 'UP', 5000);
});

test('static insecureSkipVerify reaches a server of an unknown CA; an unreadable static rootCAs file stops start-up', async () => {
  const t = tempDir();
  try {
    fs.writeFileSync(path.join(t.dir, 'dyn.yaml'), `http:\n  routers: { r: { rule: "Host(\`x.test\`)", service: s } }\n  services: { s: { loadBalancer: { servers: [{ url: "${stranger.url}" }] } } }\n`);
    const p = await startGantry(['--entrypoints.web.address=127.0.0.1:0', '--api=false', `--providers.file.filename=${path.join(t.dir, 'dyn.yaml')}`, '--serversTransport.insecureSkipVerify=true'], { api: false });
    try {
      await waitFor(async () => (await get(p.url('/'), { host: 'x.test' })).status === 200, 5000);
    } finally {
      await p.stop();
    }
    const r = spawnSync(process.execPath, [gantryBin, 'run', '--entrypoints.web.address=127.0.0.1:0', '--api=false', `--serversTransport.rootCAs=${path.join(t.dir, 'missing.pem')}`], { cwd: t.dir, encoding: 'utf8', timeout: 15_000 });
    assert.equal(r.status, 1, r.stderr);
    assert.match(r.stderr, /serversTransport\.rootCAs\[0\]: cannot read .*missing\.pem: ENOENT/);
  } finally {
    t.cleanup();
  }
});
