/**
 * The etcd provider (dynamic model as keys under rootKey, Registrator layout as an instance
 * registry) and REST registrations stored in etcd, against the test bed's etcd (single member and
 * 3-member cluster). Every test uses its own rootKey; Registrator keys use their own service names
 * except the books-ms walk-through, which cleans its keys up.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { promisify } from 'node:util';
import { EtcdClient } from '../../src/providers/etcd/client.js';
import { gantryBin, startBackend, startGantry, waitFor, type Backend, type GantryProcess } from '../helpers/gantry.js';
import { get } from '../helpers/http.js';
import { etcdLeader, killEtcdMember, loadTestbed, requireComponent, restartEtcdMember } from '../helpers/testbed.js';

const run = promisify(execFile);
const uid = () => randomBytes(4).toString('hex');

function gantry(endpoints: string[], rootKey: string): Promise<GantryProcess> {
  return startGantry(['--entrypoints.web.address=127.0.0.1:0', '--api.address=127.0.0.1:0', `--providers.etcd.endpoints=${endpoints.join(',')}`, `--providers.etcd.rootKey=${rootKey}`]);
}

async function backendOf(g: GantryProcess, p: string, headers: Record<string, string> = {}): Promise<string | undefined> {
  const r = await get(g.url(p), headers);
  return r.status === 200 ? String(r.headers['x-backend']) : undefined;
}

test('etcd: gantry reconfigure without a port takes the instances from the Registrator layout, and a new instance gets traffic', { skip: requireComponent('etcd') }, async (t) => {
  const { etcd } = loadTestbed();
  const client = new EtcdClient({ endpoints: [etcd!.endpoint] });
  const backends: Backend[] = [];
  for (let i = 1; i <= 4; i++) backends.push(await startBackend(`books-${i}`));
  // Registrator writes /services/<name>/<host>:<container>:<port> = host:port.
  await client.deletePrefix('/services/books-ms/');
  for (const b of backends.slice(0, 3)) await client.put(`/services/books-ms/vm:${b.name}:${b.port}`, `127.0.0.1:${b.port}`);
  const root = `gantry-test-${uid()}`;
  const g = await gantry([etcd!.endpoint], root);
  t.after(async () => {
    await g.stop();
    await client.deletePrefix('/services/books-ms/');
    await client.deletePrefix(`${root}/`);
    await client.close();
    for (const b of backends) await b.close();
  });
  const { stdout } = await run(process.execPath, [gantryBin, 'reconfigure', '--service-name', 'books-ms', '--service-path', '/api/v1/books', '--api', `http://127.0.0.1:${g.apiPort}`]);
  assert.match(stdout, /"Status": "OK"/);
  await waitFor(async () => (await backendOf(g, '/api/v1/books')) !== undefined, 5000, () => g.logText());
  const seen = new Map<string, number>();
  for (let i = 0; i < 30; i++) {
    const who = await backendOf(g, `/api/v1/books/${i}`);
    assert.ok(who, `request ${i} failed`);
    seen.set(who, (seen.get(who) ?? 0) + 1);
  }
  assert.deepEqual([...seen.keys()].sort(), ['books-1', 'books-2', 'books-3']);
  // Round robin per worker process (one per core): each instance gets about a third.
  for (const n of seen.values()) assert.ok(n >= 6, `balanced: ${JSON.stringify([...seen])}`);

  // A fourth instance registered in etcd gets traffic without another reconfigure.
  const fourth = backends[3]!;
  await client.put(`/services/books-ms/vm:${fourth.name}:${fourth.port}`, `127.0.0.1:${fourth.port}`);
  await waitFor(async () => {
    for (let i = 0; i < 8; i++) if ((await backendOf(g, '/api/v1/books')) === 'books-4') return true;
    return false;
  }, 5000, () => g.logText());
  // An instance that leaves the registry stops getting traffic.
  await client.delete(`/services/books-ms/vm:${backends[0]!.name}:${backends[0]!.port}`);
  await waitFor(async () => {
    const seenNow = new Set<string>();
    for (let i = 0; i < 9; i++) seenNow.add((await backendOf(g, '/api/v1/books')) ?? 'failed');
    return !seenNow.has('books-1') && seenNow.size === 3;
  }, 5000);
});

test('etcd: the dynamic model as keys under rootKey is applied live; a bad key is reported with its etcd key', { skip: requireComponent('etcd') }, async (t) => {
  const { etcd } = loadTestbed();
  const root = `gantry-test-${uid()}`;
  const client = new EtcdClient({ endpoints: [etcd!.endpoint] });
  const a = await startBackend('kv-a');
  const b = await startBackend('kv-b');
  await client.put(`${root}/http/routers/demo/rule`, 'PathPrefix(`/kv`)');
  await client.put(`${root}/http/routers/demo/service`, 'demo');
  await client.put(`${root}/http/services/demo/loadbalancer/servers/0/url`, a.url);
  const g = await gantry([etcd!.endpoint], root);
  t.after(async () => {
    await g.stop();
    await client.deletePrefix(`${root}/`);
    await client.close();
    await a.close();
    await b.close();
  });
  assert.equal(await backendOf(g, '/kv/1'), 'kv-a', 'keys present at start are served at once');
  await client.put(`${root}/http/services/demo/loadbalancer/servers/1/url`, b.url);
  await waitFor(async () => (await backendOf(g, '/kv/2')) === 'kv-b' || (await backendOf(g, '/kv/3')) === 'kv-b', 5000);
  const routers = JSON.parse((await get(g.api('/api/http/routers/demo@etcd'))).body) as { provider: string; rule: string; status: string };
  assert.deepEqual([routers.provider, routers.rule, routers.status], ['etcd', 'PathPrefix(`/kv`)', 'enabled']);

  await client.put(`${root}/http/routers/broken/rulez`, 'Path(`/b`)');
  await waitFor(async () => JSON.stringify(JSON.parse((await get(g.api('/api/rawdata'))).body).providerErrors).includes(`${root}/http/routers/broken/rulez`), 5000);
  assert.equal(await backendOf(g, '/kv/4') !== undefined, true, 'a bad key never takes the other routes down');
  // A key naming an element "__proto__" would otherwise write into Object.prototype.
  await client.put(`${root}/http/routers/__proto__/rule`, 'PathPrefix(`/p`)');
  await waitFor(async () => JSON.stringify(JSON.parse((await get(g.api('/api/rawdata'))).body).providerErrors).includes(`${root}/http/routers/__proto__/rule`), 5000);
  const raw = (await get(g.api('/api/rawdata'))).body;
  assert.match(raw, /__proto__\\" is reserved/, raw.slice(0, 2000));
  assert.equal(await backendOf(g, '/kv/6') !== undefined, true);
  await client.deletePrefix(`${root}/http/routers/demo/`);
  await waitFor(async () => (await get(g.url('/kv/5'))).status === 404, 5000);
});

test('etcd: REST registrations live in etcd: they survive a restart, and a second Gantry serves them within 1 s', { skip: requireComponent('etcd') }, async (t) => {
  const { etcd } = loadTestbed();
  const root = `gantry-test-${uid()}`;
  const name = `svc-${uid()}`;
  const client = new EtcdClient({ endpoints: [etcd!.endpoint] });
  const backend = await startBackend(name);
  // The backend registered in the Registrator layout, so the reconfigure needs no port.
  await client.put(`/services/${name}/id1`, `127.0.0.1:${backend.port}`);
  let a = await gantry([etcd!.endpoint], root);
  const b = await gantry([etcd!.endpoint], root);
  t.after(async () => {
    await a.stop();
    await b.stop();
    await client.deletePrefix(`/services/${name}/`);
    await client.deletePrefix(`${root}/`);
    await client.close();
    await backend.close();
  });
  const r = await get(a.api(`/v1/docker-flow-proxy/reconfigure?serviceName=${name}&servicePath=/shared`));
  assert.equal(r.status, 200, r.body);
  const doneAt = Date.now();
  await waitFor(async () => (await backendOf(b, '/shared/x')) === name, 1000, () => b.logText());
  const elapsed = Date.now() - doneAt;
  assert.ok(elapsed < 1000, `served by the other replica after ${elapsed} ms`);
  assert.equal(await backendOf(a, '/shared/x'), name);

  // A native REST write on B is seen by A too, and both survive a restart of A.
  const put = await get(b.api('/api/providers/rest/http/routers/extra'), { 'content-type': 'application/json' }, 'PUT', JSON.stringify({ rule: 'PathPrefix(`/extra`)', service: name }));
  assert.equal(put.status, 201, put.body);
  await waitFor(async () => (await backendOf(a, '/extra')) === name, 1000);
  await a.stop();
  a = await gantry([etcd!.endpoint], root);
  assert.equal(await backendOf(a, '/shared/y'), name, 'the registration is there right after a restart');
  assert.equal(await backendOf(a, '/extra'), name);
});

test('etcd: losing one member of three during load fails no request, and watches and writes continue', { skip: requireComponent('etcdCluster') }, async (t) => {
  const { etcd } = loadTestbed();
  const cluster = etcd!.cluster;
  const root = `gantry-test-${uid()}`;
  const name = `svc-${uid()}`;
  const client = new EtcdClient({ endpoints: cluster });
  const a = await startBackend(`${name}-a`);
  const b = await startBackend(`${name}-b`);
  await client.put(`/services/${name}/a`, `127.0.0.1:${a.port}`);
  await client.put(`${root}/http/routers/kv/rule`, 'PathPrefix(`/kv`)');
  await client.put(`${root}/http/routers/kv/service`, 'kv');
  await client.put(`${root}/http/services/kv/loadbalancer/servers/0/url`, a.url);
  const g = await gantry(cluster, root);
  let killed = 0;
  t.after(async () => {
    // Whatever happened, the member comes back.
    if (killed > 0) await restartEtcdMember(killed);
    await g.stop();
    await client.deletePrefix(`/services/${name}/`);
    await client.deletePrefix(`${root}/`);
    await client.close();
    await a.close();
    await b.close();
  });
  const reg = await get(g.api(`/v1/docker-flow-proxy/reconfigure?serviceName=${name}&servicePath=/dfp`));
  assert.equal(reg.status, 200, reg.body);
  await waitFor(async () => (await backendOf(g, '/dfp/x')) !== undefined, 5000);

  // Bounded load: 4 sequential loops over two routes until the scenario ends.
  let stop = false;
  let ok = 0;
  const failures: string[] = [];
  const loops = [0, 1, 2, 3].map(async (n) => {
    while (!stop) {
      const p = n % 2 === 0 ? '/kv/load' : '/dfp/load';
      try {
        const r = await get(g.url(p));
        if (r.status === 200) ok++;
        else failures.push(`${p}: ${r.status} ${r.body.slice(0, 100)}`);
      } catch (err) {
        failures.push(`${p}: ${(err as Error).message}`);
      }
    }
  });
  try {
    await waitFor(() => ok >= 20, 5000);
    // Kill the leader: the harder case (the first write during the election is lost and retried).
    killed = (await etcdLeader(cluster)) + 1;
    await killEtcdMember(killed);
    const before = ok;
    // Watches continue: a key change and a Registrator change made after the loss are applied.
    await client.put(`${root}/http/services/kv/loadbalancer/servers/0/url`, b.url);
    await waitFor(async () => (await backendOf(g, '/kv/after')) === `${name}-b`, 5000, () => g.logText());
    await client.put(`/services/${name}/a`, `127.0.0.1:${b.port}`);
    await waitFor(async () => (await backendOf(g, '/dfp/after')) === `${name}-b`, 5000, () => g.logText());
    // An API write (stored in etcd) succeeds during the outage.
    const w = await get(g.api(`/v1/docker-flow-proxy/reconfigure?serviceName=${name}&servicePath=/dfp,/dfp2`));
    assert.equal(w.status, 200, w.body);
    await waitFor(async () => (await backendOf(g, '/dfp2/x')) === `${name}-b`, 5000);
    await waitFor(() => ok >= before + 20, 5000);
    await restartEtcdMember(killed);
    killed = 0;
  } finally {
    stop = true;
    await Promise.all(loops);
  }
  assert.deepEqual(failures, [], `${failures.length} failed of ${ok + failures.length}`);
  assert.ok(ok > 40, `load ran (${ok} requests)`);
});

test('etcd: registratorPrefix names where Registrator writes', { skip: requireComponent('etcd') }, async (t) => {
  const { etcd } = loadTestbed();
  const client = new EtcdClient({ endpoints: [etcd!.endpoint] });
  const prefix = `/registrator-test-${uid()}`;
  const root = `gantry-test-${uid()}`;
  const backend = await startBackend('custom-prefix');
  await client.put(`${prefix}/catalogue/id1`, `127.0.0.1:${backend.port}`);
  const g = await startGantry(['--entrypoints.web.address=127.0.0.1:0', '--api.address=127.0.0.1:0', `--providers.etcd.endpoints=${etcd!.endpoint}`, `--providers.etcd.rootKey=${root}`, `--providers.etcd.registratorPrefix=${prefix}`]);
  t.after(async () => {
    await g.stop();
    await client.deletePrefix(`${prefix}/`);
    await client.deletePrefix(`${root}/`);
    await client.close();
    await backend.close();
  });
  const r = await get(g.api('/v1/docker-flow-proxy/reconfigure?serviceName=catalogue&servicePath=/catalogue'));
  assert.equal(r.status, 200, r.body);
  await waitFor(async () => (await backendOf(g, '/catalogue/1')) === 'custom-prefix', 5000, () => g.logText());
});
