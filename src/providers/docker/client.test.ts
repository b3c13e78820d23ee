import { test } from 'node:test';
import assert from 'node:assert/strict';
import { compareVersions, DockerApiError, DockerClient, FALLBACK_API_VERSION, MAX_API_VERSION } from './client.js';
import { FakeDocker, hostContainer } from './fake-docker.test-util.js';

test('DockerClient over tcp://: version from /_ping, capped; 404 inspect is null', async (t) => {
  const fake = new FakeDocker();
  fake.pingVersion = '1.99';
  await fake.listen({ tcp: true });
  const c = new DockerClient({ endpoint: `tcp://127.0.0.1:${fake.port}` });
  t.after(async () => {
    await c.close();
    await fake.close();
  });
  assert.equal(await c.negotiate(), MAX_API_VERSION);
  fake.containers.set('a', hostContainer('a', 'one', {}));
  assert.equal((await c.listContainers()).length, 1);
  assert.equal((await c.inspectContainer('a'))?.Name, '/one');
  assert.equal(await c.inspectContainer('nope'), null);
  assert.ok(fake.calls.includes(`/v${MAX_API_VERSION}/containers/a/json`));
  await assert.rejects(c.services(), (err: unknown) => err instanceof DockerApiError && err.statusCode === 404);
});

test('DockerClient: /version when /_ping has no header; fallback when neither says', async (t) => {
  const fake = new FakeDocker();
  fake.pingVersion = '';
  fake.apiVersion = '1.43';
  await fake.listen();
  const c = new DockerClient({ endpoint: fake.endpoint });
  t.after(async () => {
    await c.close();
    await fake.close();
  });
  assert.equal(await c.negotiate(), '1.43');
  fake.apiVersion = 'garbage';
  assert.equal(await c.negotiate(), FALLBACK_API_VERSION);
});

test('DockerClient: bad endpoints are refused', () => {
  assert.throws(() => new DockerClient({ endpoint: 'npipe:////./pipe/docker_engine' }), /unix:\/\/PATH or tcp:\/\/HOST:PORT/);
  assert.equal(compareVersions('1.41', '1.9'), 32);
});
