import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import type { SwarmNode, SwarmService, SwarmTask } from '../docker/types.js';
import { buildSwarmConfig, buildSwarmInstances } from './build.js';

// Tests run from dist/src/providers/swarm; the samples stay in the source tree.
const DIR = new URL('../../../../src/providers/swarm/testdata/', import.meta.url);
const load = <T>(f: string): T => JSON.parse(readFileSync(new URL(f, DIR), 'utf8')) as T;
const services = load<SwarmService[]>('services-host-network.json');
const tasks = load<SwarmTask[]>('tasks-host-network.json');
const nodes = load<SwarmNode[]>('nodes.json');
const local = nodes[0]!.ID;

function urls(config: ReturnType<typeof buildSwarmConfig>['config'], name: string): string[] {
  const svc = config.http?.services?.[name] as { loadBalancer: { servers: { url: string }[] } } | undefined;
  return (svc?.loadBalancer.servers ?? []).map((s) => s.url);
}

test('host network: each task on 127.0.0.1 at port base + slot (recorded)', () => {
  const res = buildSwarmConfig(services, tasks, nodes, { localNodeId: local });
  assert.deepEqual(res.errors, []);
  assert.deepEqual(res.config.http?.routers, { 'gantry-rec-swarm': { rule: 'PathPrefix(`/rec`)', service: 'gantry-rec-swarm' } });
  assert.deepEqual(urls(res.config, 'gantry-rec-swarm'), ['http://127.0.0.1:18351', 'http://127.0.0.1:18352']);
});

test('a task whose container is being stopped is left out at once', () => {
  const cid = tasks.find((t) => t.Slot === 1)!.Status!.ContainerStatus!.ContainerID!;
  const res = buildSwarmConfig(services, tasks, nodes, { localNodeId: local, stopping: new Set([cid]) });
  assert.deepEqual(urls(res.config, 'gantry-rec-swarm'), ['http://127.0.0.1:18352']);
});

test('a service without running tasks has no route', () => {
  const res = buildSwarmConfig(services, [], nodes, { localNodeId: local });
  assert.deepEqual(res.config, {});
});

/** overlay rewrites the recorded service onto an overlay network with a VIP, as `--network proxy` gives. */
function overlay(lbswarm?: string): { svc: SwarmService[]; tasks: SwarmTask[] } {
  const svc = structuredClone(services);
  const s = svc[0]!;
  s.Spec!.Labels = { 'gantry.http.routers.app.rule': 'Host(`app.test`)', 'gantry.http.services.app.loadbalancer.server.port': '8080' };
  if (lbswarm) s.Spec!.Labels['gantry.docker.lbswarm'] = lbswarm;
  s.Endpoint = { Spec: { Mode: 'vip' }, VirtualIPs: [{ NetworkID: 'ingressid', Addr: '10.0.0.2/24' }, { NetworkID: 'proxyid', Addr: '10.0.1.2/24' }] };
  const ts = structuredClone(tasks);
  ts.forEach((t, i) => {
    t.NetworksAttachments = [
      { Network: { ID: 'ingressid', Spec: { Name: 'ingress' } }, Addresses: [`10.0.0.${10 + i}/24`] },
      { Network: { ID: 'proxyid', Spec: { Name: 'stack_proxy' } }, Addresses: [`10.0.1.${10 + i}/24`] },
    ];
  });
  return { svc, tasks: ts };
}

test('overlay: the VIP on the chosen network by default', () => {
  const o = overlay();
  const res = buildSwarmConfig(o.svc, o.tasks, nodes, { network: 'proxy' });
  assert.deepEqual(urls(res.config, 'app'), ['http://10.0.1.2:8080']);
});

test('overlay: lbswarm=false routes to each task', () => {
  const o = overlay('false');
  const res = buildSwarmConfig(o.svc, o.tasks, nodes, { network: 'proxy' });
  assert.deepEqual(urls(res.config, 'app'), ['http://10.0.1.10:8080', 'http://10.0.1.11:8080']);
  const noNet = buildSwarmConfig(o.svc, o.tasks, nodes, {});
  assert.deepEqual(urls(noNet.config, 'app'), ['http://10.0.1.10:8080', 'http://10.0.1.11:8080'], 'ingress is never the choice');
});

test('instances: each running task of a host-network service at port base + slot, by service name (recorded)', () => {
  const got = buildSwarmInstances(services, tasks, nodes, { localNodeId: local });
  assert.deepEqual([...got], [['gantry-rec-swarm', ['http://127.0.0.1:18351', 'http://127.0.0.1:18352']]]);
  const cid = tasks.find((t) => t.Slot === 2)!.Status!.ContainerStatus!.ContainerID!;
  assert.deepEqual(buildSwarmInstances(services, tasks, nodes, { localNodeId: local, stopping: new Set([cid]) }).get('gantry-rec-swarm'), ['http://127.0.0.1:18351']);
  // Labels do not decide: a registration names the service explicitly.
  const off = structuredClone(services);
  off[0]!.Spec!.Labels = { 'gantry.enable': 'false', 'gantry.docker.portbase': '18350' };
  assert.deepEqual(buildSwarmInstances(off, tasks, nodes, { localNodeId: local }).get('gantry-rec-swarm'), ['http://127.0.0.1:18351', 'http://127.0.0.1:18352']);
  // Known but no task running yet: no instance, yet known (its tasks fill the servers when they run).
  assert.deepEqual(buildSwarmInstances(services, [], nodes, { localNodeId: local }).get('gantry-rec-swarm'), []);
});

test('instances: the VIP on the chosen network, or each task with lbswarm=false; left out without a port', () => {
  const o = overlay();
  assert.deepEqual(buildSwarmInstances(o.svc, o.tasks, nodes, { network: 'proxy' }).get(o.svc[0]!.Spec!.Name!), ['http://10.0.1.2:8080']);
  const rr = overlay('false');
  assert.deepEqual(buildSwarmInstances(rr.svc, rr.tasks, nodes, { network: 'proxy' }).get(rr.svc[0]!.Spec!.Name!), ['http://10.0.1.10:8080', 'http://10.0.1.11:8080']);
  const noPort = overlay();
  noPort.svc[0]!.Spec!.Labels = {};
  assert.equal(buildSwarmInstances(noPort.svc, noPort.tasks, nodes, { network: 'proxy' }).has(noPort.svc[0]!.Spec!.Name!), false, 'a reconfigure port then applies');
  noPort.svc[0]!.Spec!.Labels = { 'com.df.port': '9000' };
  assert.deepEqual(buildSwarmInstances(noPort.svc, noPort.tasks, nodes, { network: 'proxy' }).get(noPort.svc[0]!.Spec!.Name!), ['http://10.0.1.2:9000']);
});

test('allowEmptyServices: a service with no running task keeps its routers and an empty load balancer', () => {
  const res = buildSwarmConfig(services, [], nodes, { localNodeId: local, allowEmptyServices: true });
  assert.deepEqual(res.config.http?.routers, { 'gantry-rec-swarm': { rule: 'PathPrefix(`/rec`)', service: 'gantry-rec-swarm' } });
  assert.deepEqual(urls(res.config, 'gantry-rec-swarm'), []);
  // A task still starting (its health check has not passed) is no running task either.
  const starting = tasks.map((t) => ({ ...t, Status: { ...t.Status, State: 'starting' } }));
  assert.deepEqual(urls(buildSwarmConfig(services, starting, nodes, { localNodeId: local, allowEmptyServices: true }).config, 'gantry-rec-swarm'), []);
  assert.ok(buildSwarmConfig(services, starting, nodes, { localNodeId: local, allowEmptyServices: true }).config.http?.routers?.['gantry-rec-swarm']);
});

/** published rewrites the recorded service onto the default bridge with a port published in host mode per task. */
function published(): { svc: SwarmService[]; tasks: SwarmTask[] } {
  const svc = structuredClone(services).map((s) => ({
    ...s,
    Spec: { ...s.Spec, Labels: { 'com.df.notify': 'true', 'com.df.servicePath': '/rec', 'com.df.port': '8080' } },
    Endpoint: { Spec: { Mode: 'vip' }, Ports: [{ Protocol: 'tcp', TargetPort: 8080, PublishedPort: 19870, PublishMode: 'host' }] },
  })) as SwarmService[];
  const ts = structuredClone(tasks).map((t) => ({
    ...t,
    NetworksAttachments: null,
    Status: { ...t.Status, PortStatus: { Ports: [{ Protocol: 'tcp', TargetPort: 8080, PublishedPort: 19870 + (t.Slot ?? 0), PublishMode: 'host' }] } },
  })) as SwarmTask[];
  return { svc, tasks: ts };
}

test('useBindPortIP: each task at the port it publishes on its node; without it, a task with no address is an error', () => {
  const p = published();
  const on = buildSwarmConfig(p.svc, p.tasks, nodes, { localNodeId: local, useBindPortIP: true });
  assert.deepEqual(on.errors, []);
  assert.deepEqual(urls(on.config, 'gantry-rec-swarm'), ['http://127.0.0.1:19871', 'http://127.0.0.1:19872']);
  const off = buildSwarmConfig(p.svc, p.tasks, nodes, { localNodeId: local });
  assert.deepEqual(urls(off.config, 'gantry-rec-swarm'), []);
  assert.match(off.errors.map((e) => e.message).join('\n'), /no address/);
  // A task on another node is reached at that node's address.
  const elsewhere = p.tasks.map((t) => ({ ...t, NodeID: 'other-node' }));
  const remote = buildSwarmConfig(p.svc, elsewhere, [...nodes, { ID: 'other-node', Status: { State: 'ready', Addr: '127.0.0.2' } }], { localNodeId: local, useBindPortIP: true });
  assert.deepEqual(urls(remote.config, 'gantry-rec-swarm'), ['http://127.0.0.2:19871', 'http://127.0.0.2:19872']);
});
