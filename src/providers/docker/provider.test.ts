/**
 * DockerProvider against a fake daemon on a unix socket: first listing, event batching, the
 * immediate removal of a container being stopped, and resynchronisation after the socket is lost.
 * The real-daemon test is docker.integration.test.ts.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { silentLogger } from '../../observability/logger.js';
import type { ConfigMessage } from '../provider.js';
import { DockerProvider } from './provider.js';
import { FakeDocker, hostContainer, until } from './fake-docker.test-util.js';

function servers(msg: ConfigMessage | undefined, service: string): string[] {
  const svc = msg?.config.http?.services?.[service] as { loadBalancer?: { servers?: { url: string }[] } } | undefined;
  return (svc?.loadBalancer?.servers ?? []).map((s) => s.url);
}

const web = (i: number): Record<string, string> => ({
  'com.docker.compose.project': 'p',
  'com.docker.compose.service': 'web',
  'gantry.http.routers.web.rule': 'Host(`web.test`)',
  'gantry.http.services.web.loadbalancer.server.port': String(18000 + i),
});

test('DockerProvider: list, events, stop at once, reconnect and re-list', async (t) => {
  const fake = new FakeDocker();
  await fake.listen();
  fake.containers.set('a', hostContainer('a', 'p-web-1', web(1)));
  const msgs: ConfigMessage[] = [];
  const provider = new DockerProvider({ endpoint: fake.endpoint, backoffMaxMs: 200 });
  t.after(async () => {
    await provider.stop();
    await fake.close();
  });
  await provider.start((m) => msgs.push(m), silentLogger);
  assert.equal(msgs.length, 1, 'the first configuration is emitted before start resolves');
  assert.equal(msgs[0]!.provider, 'docker');
  assert.deepEqual(servers(msgs[0], 'web'), ['http://127.0.0.1:18001']);
  await until(() => fake.streams === 1, 1000, 'events stream');

  // A burst of starts is one emit.
  fake.containers.set('b', hostContainer('b', 'p-web-2', web(2)));
  fake.containers.set('c', hostContainer('c', 'p-web-3', web(3)));
  const before = msgs.length;
  const t0 = performance.now();
  fake.event({ Type: 'container', Action: 'start', Actor: { ID: 'b', Attributes: {} } });
  fake.event({ Type: 'container', Action: 'start', Actor: { ID: 'c', Attributes: {} } });
  await until(() => msgs.length > before, 1000, 'emit after start events');
  const delay = performance.now() - t0;
  assert.equal(msgs.length, before + 1, 'one emit for the burst');
  assert.deepEqual(servers(msgs.at(-1), 'web'), ['http://127.0.0.1:18001', 'http://127.0.0.1:18002', 'http://127.0.0.1:18003']);
  // The goal is < 100 ms; the bound is loose because this machine is shared (first rebuild is also cold).
  t.diagnostic(`event → emit: ${delay.toFixed(1)} ms`);
  assert.ok(delay < 1000, `event → emit took ${delay.toFixed(1)} ms`);

  // kill: gone at once, though the daemon still says running.
  const n = msgs.length;
  fake.event({ Type: 'container', Action: 'kill', Actor: { ID: 'b', Attributes: { signal: '15' } } });
  await until(() => msgs.length > n, 1000, 'emit after kill');
  assert.deepEqual(servers(msgs.at(-1), 'web'), ['http://127.0.0.1:18001', 'http://127.0.0.1:18003']);
  // A non-terminating signal does not take it out.
  const k = msgs.length;
  fake.event({ Type: 'container', Action: 'kill', Actor: { ID: 'c', Attributes: { signal: 'HUP' } } });
  fake.event({ Type: 'container', Action: 'health_status: healthy', Actor: { ID: 'c', Attributes: {} } });
  await until(() => msgs.length > k, 1000, 'emit after HUP');
  assert.deepEqual(servers(msgs.at(-1), 'web'), ['http://127.0.0.1:18001', 'http://127.0.0.1:18003']);

  // Losing the daemon emits nothing; coming back re-lists.
  await fake.down();
  fake.containers.delete('b');
  fake.containers.delete('a');
  fake.containers.set('d', hostContainer('d', 'p-web-4', web(4)));
  const m = msgs.length;
  await new Promise((r) => setTimeout(r, 150));
  assert.equal(msgs.length, m, 'no emit while the daemon is away');
  await fake.listen();
  await until(() => msgs.length > m, 3000, 're-list after reconnect');
  assert.deepEqual(servers(msgs.at(-1), 'web'), ['http://127.0.0.1:18003', 'http://127.0.0.1:18004']);
  // Read-only access is enough (socket proxies allowing GET only).
  assert.deepEqual([...fake.methods], ['GET']);
});

test('DockerProvider: start resolves when no daemon answers, and keeps retrying', async (t) => {
  const fake = new FakeDocker();
  const msgs: ConfigMessage[] = [];
  const provider = new DockerProvider({ endpoint: fake.endpoint, backoffMaxMs: 100 });
  t.after(async () => {
    await provider.stop();
    await fake.close();
  });
  await provider.start((m) => msgs.push(m), silentLogger);
  assert.equal(msgs.length, 0);
  fake.containers.set('a', hostContainer('a', 'solo', { 'gantry.http.routers.solo.rule': 'Host(`solo.test`)', 'gantry.http.services.solo.loadbalancer.server.port': '18099' }));
  await fake.listen();
  await until(() => msgs.length > 0, 3000, 'first emit once the daemon is up');
  assert.deepEqual(servers(msgs[0], 'solo'), ['http://127.0.0.1:18099']);
});

test('DockerProvider: a bad constraints expression fails at construction', () => {
  assert.throws(() => new DockerProvider({ constraints: 'Label(`a`' }), /constraints/);
});
