/**
 * The Docker and Swarm providers' static options as they reach their code: `exposedByDefault`,
 * `domain` and `defaultRule` shape the routers built from labels (both providers build through the
 * same label decoder), `tls` and `httpClientTimeout` configure the Docker API client both use.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import https from 'node:https';
import os from 'node:os';
import path from 'node:path';
import type { AddressInfo } from 'node:net';
import { buildDockerConfig } from './build.js';
import { DockerClient } from './client.js';
import { hostContainer } from './fake-docker.test-util.js';
import { makeCA } from '../../../test/fixtures/tls/make-certs.js';

const routers = (c: ReturnType<typeof buildDockerConfig>) => (c.config as { http?: { routers?: Record<string, { rule: string }> } }).http?.routers ?? {};

test('docker: exposedByDefault, domain and defaultRule', () => {
  // Host-network containers have no port of their own: each names one.
  const plain = hostContainer('a1', 'web', { 'gantry.http.services.web.loadbalancer.server.port': '8080' });
  const enabled = hostContainer('b2', 'api', { 'gantry.enable': 'true', 'gantry.http.services.api.loadbalancer.server.port': '8081' });
  const cases = [
    { desc: 'exposed by default, default rule on the domain', opts: { domain: 'docker.test' }, want: { web: 'Host(`web.docker.test`)', api: 'Host(`api.docker.test`)' } },
    { desc: 'exposedByDefault false: only gantry.enable=true', opts: { exposedByDefault: false, domain: 'docker.test' }, want: { api: 'Host(`api.docker.test`)' } },
    { desc: 'defaultRule template', opts: { domain: 'x.test', defaultRule: 'Host(`{{ .Name }}.apps.test`)' }, want: { web: 'Host(`web.apps.test`)', api: 'Host(`api.apps.test`)' } },
  ];
  for (const c of cases) {
    const r = routers(buildDockerConfig([plain, enabled], c.opts));
    assert.deepEqual(Object.fromEntries(Object.entries(r).map(([k, v]) => [k, v.rule])), c.want, c.desc);
  }
});

/** pem reads a file: the client takes PEM contents (providers/tls-files.ts reads the configured paths). */
const pem = (file: string): string => fs.readFileSync(file, 'utf8');

test('docker API client: tls (CA, client certificate, insecureSkipVerify) and httpClientTimeout', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'gantry-docker-tls-'));
  const ca = makeCA(path.join(dir, 'ca'));
  const clients = makeCA(path.join(dir, 'clients'), 'Docker clients');
  const leaf = ca.leaf('daemon', ['localhost']);
  const client = clients.leaf('client', ['client'], 2, 'clientAuth');
  let stall = false;
  const server = https.createServer({ cert: fs.readFileSync(leaf.cert), key: fs.readFileSync(leaf.key), ca: fs.readFileSync(clients.caCert), requestCert: true, rejectUnauthorized: true }, (req, res) => {
    if (stall) return; // never answers
    res.writeHead(200, { 'api-version': '1.43' }).end('OK');
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const endpoint = `tcp://localhost:${(server.address() as AddressInfo).port}`;
  try {
    const ok = new DockerClient({ endpoint, tls: { ca: pem(ca.caCert), cert: pem(client.cert), key: pem(client.key) } });
    assert.equal(await ok.negotiate(), '1.43');
    await assert.rejects(new DockerClient({ endpoint, tls: { ca: pem(ca.caCert) } }).negotiate(), 'no client certificate: the daemon refuses');
    await assert.rejects(new DockerClient({ endpoint, tls: { cert: pem(client.cert), key: pem(client.key) } }).negotiate(), 'unknown CA: refused');
    assert.equal(await new DockerClient({ endpoint, tls: { cert: pem(client.cert), key: pem(client.key), insecureSkipVerify: true } }).negotiate(), '1.43');
    stall = true;
    const t0 = Date.now();
    await assert.rejects(new DockerClient({ endpoint, tls: { ca: pem(ca.caCert), cert: pem(client.cert), key: pem(client.key) }, timeoutMs: 300 }).negotiate());
    assert.ok(Date.now() - t0 < 3000, `timed out after ${Date.now() - t0} ms`);
  } finally {
    server.closeAllConnections();
    server.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('docker: watch false reads the containers once and opens no events stream', async (t) => {
  const { FakeDocker } = await import('./fake-docker.test-util.js');
  const { DockerProvider } = await import('./provider.js');
  const { silentLogger } = await import('../../observability/logger.js');
  const fake = new FakeDocker();
  await fake.listen();
  fake.containers.set('a', hostContainer('a', 'web', { 'gantry.http.routers.web.rule': 'Host(`web.test`)', 'gantry.http.services.web.loadbalancer.server.port': '18001' }));
  const provider = new DockerProvider({ endpoint: fake.endpoint, watch: false });
  t.after(async () => {
    await provider.stop();
    await fake.close();
  });
  const msgs: unknown[] = [];
  await provider.start((m) => msgs.push(m), silentLogger);
  assert.equal(msgs.length, 1);
  assert.ok(fake.calls.some((c) => c.endsWith('/containers/json')), fake.calls.join(' '));
  assert.equal(fake.calls.some((c) => c.endsWith('/events')), false, 'no events stream');
});
