import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { containerAddress, containerPort } from './address.js';
import { buildDockerConfig, isHealthy } from './build.js';
import type { ContainerInspect } from './types.js';

// Tests run from dist/src/providers/docker; the samples stay in the source tree.
const DIR = new URL('../../../../src/providers/docker/testdata/', import.meta.url);
const sample = (f: string): ContainerInspect => JSON.parse(readFileSync(new URL(f, DIR), 'utf8')) as ContainerInspect;

const cases: { desc: string; file: string; network?: string; labels?: Record<string, string>; want: ReturnType<typeof containerAddress> }[] = [
  { desc: 'host network: loopback, no port of its own', file: 'inspect-host-network.json', want: { ok: true, address: { host: '127.0.0.1', port: undefined } } },
  { desc: 'bridge: IP on the only network and the single exposed port', file: 'inspect-bridge.json', want: { ok: true, address: { host: '172.17.0.2', port: 80 } } },
  { desc: 'bridge without exposed port', file: 'inspect-bridge-noport.json', want: { ok: true, address: { host: '172.17.0.4', port: undefined } } },
  {
    desc: 'two networks, none chosen: first by name; lowest TCP port',
    file: 'inspect-bridge-multiport.json',
    want: { ok: true, address: { host: '172.20.0.3', port: 443 } },
  },
  { desc: 'two networks, provider network option (compose prefix)', file: 'inspect-bridge-multiport.json', network: 'proxy', want: { ok: true, address: { host: '172.21.0.5', port: 443 } } },
  { desc: 'network label beats the option', file: 'inspect-bridge-multiport.json', network: 'proxy', labels: { 'gantry.docker.network': 'proj_default' }, want: { ok: true, address: { host: '172.20.0.3', port: 443 } } },
  {
    desc: 'chosen network missing: falls back with a warning',
    file: 'inspect-bridge.json',
    network: 'nope',
    want: { ok: true, address: { host: '172.17.0.2', port: 80 }, warning: 'not on network "nope"; using another of its networks' },
  },
  { desc: 'container: network mode is refused with a reason', file: 'inspect-container-netmode.json', want: { ok: false, reason: 'shares the network of 3f1c9a5e8b7d; give it its own network or route to that container' } },
];

for (const c of cases) {
  test(`containerAddress: ${c.desc}`, () => {
    const s = sample(c.file);
    if (c.labels) s.Config = { ...s.Config, Labels: { ...(s.Config?.Labels ?? {}), ...c.labels } };
    assert.deepEqual(containerAddress(s, c.network), c.want);
  });
}

test('containerPort ignores udp', () => {
  assert.equal(containerPort({ Id: 'x', Config: { ExposedPorts: { '53/udp': {}, '8053/tcp': {} } } }), 8053);
});

test('health: starting is not healthy, no healthcheck is', () => {
  assert.equal(isHealthy(sample('inspect-host-health-starting.json')), false);
  assert.equal(isHealthy(sample('inspect-host-network.json')), true);
});

test('buildDockerConfig: host-network container with a port label', () => {
  const res = buildDockerConfig([sample('inspect-host-network.json')]);
  assert.deepEqual(res.config, {
    http: {
      routers: { rec: { rule: 'Host(`rec.test`)', service: 'rec' } },
      services: { rec: { loadBalancer: { servers: [{ url: 'http://127.0.0.1:18190' }] } } },
    },
  });
  assert.deepEqual(res.errors, []);
});

test('buildDockerConfig: bridge container gets the default rule with a domain', () => {
  const res = buildDockerConfig([sample('inspect-bridge-multiport.json')], { domain: 'docker.localhost', network: 'proxy' });
  assert.deepEqual(res.config, {
    http: {
      routers: { 'app-proj': { rule: 'Host(`app.docker.localhost`)', service: 'app-proj' } },
      services: { 'app-proj': { loadBalancer: { servers: [{ url: 'http://172.21.0.5:443' }] } } },
    },
  });
});

test('buildDockerConfig: unhealthy, stopping and paused containers are left out', () => {
  const starting = sample('inspect-host-health-starting.json');
  const host = sample('inspect-host-network.json');
  const paused = structuredClone(sample('inspect-bridge.json'));
  paused.State = { ...paused.State, Paused: true };
  const res = buildDockerConfig([starting, host, paused], { stopping: new Set([host.Id]) });
  assert.deepEqual(res.config, {});
  assert.deepEqual(res.skipped.map((s) => s.reason).sort(), ['being stopped', 'health starting', 'paused']);
});

test('buildDockerConfig: compose replicas with different port labels form one service', () => {
  const base = sample('inspect-host-network.json');
  const replicas = [1, 2, 3].map((i) => {
    const c = structuredClone(base);
    c.Id = `id${i}`;
    c.Name = `/demo-web-${i}`;
    c.Config!.Labels = {
      'com.docker.compose.project': 'demo',
      'com.docker.compose.service': 'web',
      'gantry.http.routers.web.rule': 'Host(`web.test`)',
      'gantry.http.services.web.loadbalancer.server.port': String(18200 + i),
    };
    return c;
  });
  const res = buildDockerConfig(replicas);
  assert.deepEqual(res.errors, []);
  assert.deepEqual(res.config, {
    http: {
      routers: { web: { rule: 'Host(`web.test`)', service: 'web' } },
      services: { web: { loadBalancer: { servers: [18201, 18202, 18203].map((p) => ({ url: `http://127.0.0.1:${p}` })) } } },
    },
  });
});

test('buildDockerConfig: routers defined differently by two containers are left out with an error', () => {
  const a = structuredClone(sample('inspect-host-network.json'));
  const b = structuredClone(a);
  b.Id = 'other';
  b.Name = '/other';
  b.Config!.Labels = { ...b.Config!.Labels, 'gantry.http.routers.rec.rule': 'Host(`other.test`)' };
  const res = buildDockerConfig([a, b]);
  assert.equal(res.config.http?.routers, undefined);
  assert.match(res.errors[0]!.message, /http\.routers\.rec is defined differently by container gtest-rec-host, container other/);
});

test('buildDockerConfig: a bad label names container and label and skips its router', () => {
  const a = structuredClone(sample('inspect-host-network.json'));
  a.Config!.Labels = { ...a.Config!.Labels, 'gantry.http.routers.rec.priority': 'high' };
  const res = buildDockerConfig([a]);
  assert.equal(res.config.http?.routers, undefined);
  assert.equal(res.errors.length, 1);
  assert.equal(res.errors[0]!.source, 'container gtest-rec-host label gantry.http.routers.rec.priority');
  assert.equal(res.errors[0]!.message, 'container gtest-rec-host: label "gantry.http.routers.rec.priority": "high" is not a number');
});

test('buildDockerConfig: useBindPortIP routes to the published host port', () => {
  const c = structuredClone(sample('inspect-bridge.json'));
  c.NetworkSettings!.Ports = { '80/tcp': [{ HostIp: '0.0.0.0', HostPort: '18080' }, { HostIp: '::', HostPort: '18080' }] };
  const res = buildDockerConfig([c], { useBindPortIP: true });
  assert.deepEqual((res.config.http?.services?.['whoami'] as { loadBalancer: unknown }).loadBalancer, { servers: [{ url: 'http://127.0.0.1:18080' }] });
  const unbound = buildDockerConfig([sample('inspect-bridge.json')], { useBindPortIP: true });
  assert.deepEqual((unbound.config.http?.services?.['whoami'] as { loadBalancer: unknown }).loadBalancer, { servers: [{ url: 'http://172.17.0.2:80' }] }, 'no binding: the container IP');
});

test('buildDockerConfig: allowEmptyServices keeps an unhealthy replica\'s service with no servers', () => {
  const res = buildDockerConfig([sample('inspect-host-health-starting.json')], { allowEmptyServices: true, domain: 'docker.localhost' });
  assert.deepEqual(res.config, {
    http: {
      routers: { 'web-demo': { rule: 'Host(`web.docker.localhost`)', service: 'web' } },
      services: { web: { loadBalancer: { servers: [] } } },
    },
  });
});
