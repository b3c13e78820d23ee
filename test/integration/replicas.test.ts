/**
 * Three redundant replicas (issue 12, seed 000): three `gantry run` processes sharing the test bed's
 * 3-member etcd (API registrations, dynamic keys, ACME account, certificates, HTTP-01 tokens and the
 * issuer lease), under a steady load sent through all three, as the three tasks of
 * examples/swarm/gantry-stack.yml would be:
 * - a Docker Flow Proxy registration made on one replica is served by all three within 1 s;
 * - one replica is stopped (SIGTERM, as `docker stop` and a rolling update do), the etcd leader is
 *   killed (SIGKILL), the replica is started again on the two remaining members; another replica
 *   is killed (SIGKILL, a crash) and started again: no request fails
 *   for a client that moves to the next replica when a connection is refused — what a DNS
 *   round-robin client or a load balancer in front does;
 * - Pebble sees one order per name, however many replicas want the certificate and whichever one
 *   it validates against, and every replica serves the same certificate.
 * The figures are printed as diagnostics (for the closing note).
 *
 * Ports: replica 1's web entrypoint is where Pebble validates HTTP-01 (127.0.0.1:18880, so no other
 * ACME test may run at the same time); replicas 2 and 3 listen on 127.0.0.1:19771/19772, TLS on
 * 19773–19775, APIs on :0. Backends on :0. Keys under a run-unique rootKey and Registrator service
 * names, removed at the end; a killed etcd member is always restarted.
 *
 *   npx tsc -p tsconfig.json && node --test dist/test/integration/replicas.test.js
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import https from 'node:https';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { parse as parseYaml } from 'yaml';
import { EtcdClient } from '../../src/providers/etcd/client.js';
import { loadStaticConfig } from '../../src/config/static/index.js';
import { repoRoot, serviceYaml, startBackend, startGantry, startWithFile, tempDir, waitFor, type Backend, type GantryProcess } from '../helpers/gantry.js';
import { get } from '../helpers/http.js';
import { etcdLeader, killEtcdMember, loadTestbed, requireComponent, restartEtcdMember } from '../helpers/testbed.js';
import { httpsGet } from '../fixtures/tls/https-get.js';

const skip = requireComponent('etcdCluster') ?? requireComponent('pebble');
const REPLICA_WEB_PORTS = [0, 19771, 19772];
const REPLICA_TLS_PORTS = [19773, 19774, 19775];

/** pebbleTrust fetches Pebble's issuing root and intermediate (new on every Pebble start). */
async function pebbleTrust(): Promise<string[]> {
  const p = loadTestbed().pebble!;
  const ca = fs.readFileSync(p.listenerCa, 'utf8');
  const fetchPem = (u: string) =>
    new Promise<string>((resolve, reject) => {
      https.get(`${p.mgmtUrl}${u}`, { ca }, (res) => {
        let b = '';
        res.setEncoding('utf8').on('data', (d: string) => (b += d));
        res.on('end', () => (res.statusCode === 200 ? resolve(b) : reject(new Error(`${u}: ${res.statusCode}`))));
      }).on('error', reject);
    });
  return [await fetchPem('/roots/0'), await fetchPem('/intermediates/0')];
}

/** once sends one GET on a new connection (no keep-alive: a stopped replica refuses the next one). */
function once(port: number, p: string): Promise<{ status: number; backend: string }> {
  return new Promise((resolve, reject) => {
    let answered = false;
    const req = http.get({ host: '127.0.0.1', port, path: p, agent: false, headers: { connection: 'close' }, timeout: 10_000 }, (res) => {
      answered = true;
      res.resume();
      res.on('end', () => resolve({ status: res.statusCode ?? 0, backend: String(res.headers['x-backend'] ?? '') }));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', (err: NodeJS.ErrnoException & { beforeResponse?: boolean }) => {
      err.beforeResponse = !answered;
      reject(err);
    });
  });
}

/**
 * RoundRobinClient spreads GET requests over the replicas in turn, as a DNS round-robin client or a
 * load balancer in front does, and moves a request to the next replica when its connection is
 * refused — or reset before any byte of an answer came, which is how the kernel ends connections
 * still in a listener's accept queue when the process closes it (at every stop, under load): GET
 * is idempotent, and this is what nginx's `proxy_next_upstream error`, HAProxy's `retry-on
 * conn-failure` and browsers do. Anything else that goes wrong counts as a failure.
 */
class RoundRobinClient {
  total = 0;
  refusedRetries = 0;
  resetRetries = 0;
  readonly failures: string[] = [];
  readonly perReplica = [0, 0, 0];
  #next = 0;
  #running = true;
  #loops: Promise<void>[] = [];

  constructor(private readonly ports: () => number[], private readonly paths: () => string[], concurrency: number) {
    for (let i = 0; i < concurrency; i++) this.#loops.push(this.#loop(i));
  }

  async #loop(n: number): Promise<void> {
    let k = n;
    while (this.#running) {
      const paths = this.paths();
      const p = paths[k++ % paths.length]!;
      await this.#one(p);
    }
  }

  async #one(p: string): Promise<void> {
    const ports = this.ports();
    const start = this.#next++;
    for (let attempt = 0; attempt < ports.length; attempt++) {
      const i = (start + attempt) % ports.length;
      try {
        const r = await once(ports[i]!, p);
        this.total++;
        if (r.status === 200) this.perReplica[i]!++;
        else this.failures.push(`replica ${i + 1} ${p}: ${r.status}`);
        return;
      } catch (err) {
        const e = err as NodeJS.ErrnoException & { beforeResponse?: boolean };
        if (e.code === 'ECONNREFUSED') {
          this.refusedRetries++;
          continue;
        }
        if (e.code === 'ECONNRESET' && e.beforeResponse) {
          this.resetRetries++;
          continue;
        }
        this.total++;
        this.failures.push(`replica ${i + 1} ${p}: ${(err as Error).message}`);
        return;
      }
    }
    this.total++;
    this.failures.push(`${p}: every replica refused`);
  }

  /** until resolves once `n` more requests have ended. */
  async until(n: number, timeoutMs = 30_000): Promise<void> {
    const target = this.total + n;
    await waitFor(() => this.total >= target, timeoutMs, () => `load: ${this.total} of ${target} requests`);
  }

  async stop(): Promise<void> {
    this.#running = false;
    await Promise.all(this.#loops);
  }
}

test('examples/swarm/gantry-stack.yml: 3 replicas, one per manager, start-first with rollback, healthcheck, and a Gantry command that is a valid configuration sharing etcd', async () => {
  const stack = parseYaml(fs.readFileSync(path.join(repoRoot, 'examples', 'swarm', 'gantry-stack.yml'), 'utf8')) as {
    services: Record<string, { command: string[]; healthcheck: { test: string[] }; deploy: Record<string, any> }>;
  };
  const g = stack.services['gantry']!;
  assert.equal(g.deploy['replicas'], 3);
  assert.ok(Number(g.deploy['placement'].max_replicas_per_node) >= 1);
  assert.deepEqual(g.deploy['placement'].constraints, ['node.role == manager']);
  assert.equal(g.deploy['update_config'].order, 'start-first');
  assert.equal(g.deploy['update_config'].failure_action, 'rollback');
  assert.deepEqual(g.healthcheck.test, ['CMD', 'gantry', 'healthcheck']);
  // The command, with the stack's variables filled in, is a static configuration Gantry accepts.
  const argv = g.command.slice(1).map((a) => a.replace(/\$\{ACME_EMAIL[^}]*\}/, 'ops@example.com'));
  const cfg = await loadStaticConfig({ argv, env: {}, cwd: '/data', isRoot: false, dockerAvailable: () => false });
  assert.deepEqual([...cfg.providers.etcd!.endpoints], ['etcd1:2379', 'etcd2:2379', 'etcd3:2379']);
  assert.notEqual(cfg.providers.swarm, null);
  const le = (cfg as unknown as { certificatesResolvers: Record<string, { acme: { storage: string } }> }).certificatesResolvers['le']!;
  assert.equal(le.acme.storage, 'etcd');
  for (const m of ['etcd1', 'etcd2', 'etcd3']) assert.ok(stack.services[m], `etcd member ${m}`);
});

test('three replicas sharing etcd under load: a registration on one is served by all within 1 s; a replica stopped, the etcd leader killed, the replica back, a replica killed and back: 0 failed requests; one ACME order per name', { skip, timeout: 240_000 }, async (t) => {
  const tb = loadTestbed();
  const cluster = tb.etcd!.cluster;
  const pebble = tb.pebble!;
  const id = randomBytes(3).toString('hex');
  const root = `gantry-replicas-${id}`;
  const base = `base-${id}`;
  const fresh = `fresh-${id}`;
  const names = [`r-${id}.test`, `www-${id}.test`];
  const tmp = tempDir('gantry-replicas-');
  const client = new EtcdClient({ endpoints: cluster });
  const backends: Backend[] = [];
  for (const n of ['a', 'b']) backends.push(await startBackend(`replica-backend-${n}`));
  const procs: GantryProcess[] = [];
  let killedMember = 0;
  const file = path.join(tmp.dir, 'dynamic.yaml');
  fs.writeFileSync(file, `http:
  routers:
${names.map((h, i) => `    tls${i}:\n      rule: Host(\`${h}\`)\n      service: app\n      tls: { certResolver: le }\n`).join('')}  services:
    app:
      loadBalancer:
        servers: [{ url: "${backends[0]!.url}" }]
`);
  // Registrator's layout: the instances of both registrations, so that reconfigure needs no port.
  for (const svc of [base, fresh]) for (const b of backends) await client.put(`/services/${svc}/${b.name}`, `127.0.0.1:${b.port}`);
  const webPorts = [pebble.httpPort, REPLICA_WEB_PORTS[1]!, REPLICA_WEB_PORTS[2]!];
  const replica = (i: number) =>
    startGantry(
      [
        `--entrypoints.web.address=127.0.0.1:${webPorts[i]}`, `--entrypoints.websecure.address=127.0.0.1:${REPLICA_TLS_PORTS[i]}`, '--api.address=127.0.0.1:0',
        `--providers.file.filename=${file}`,
        `--providers.etcd.endpoints=${cluster.join(',')}`, `--providers.etcd.rootKey=${root}`,
        `--certificatesResolvers.le.acme.caServer=${pebble.url}`, '--certificatesResolvers.le.acme.email=ops@example.com',
        '--certificatesResolvers.le.acme.storage=etcd', '--certificatesResolvers.le.acme.httpChallenge.entryPoint=web',
      ],
      { entrypoints: ['web', 'websecure'], env: { NODE_EXTRA_CA_CERTS: pebble.listenerCa } },
    ).then((g) => {
      procs.push(g);
      return g;
    });
  const ready = (g: GantryProcess) => waitFor(async () => (await get(g.api('/ping'))).status === 200, 30_000, () => `not ready:\n${g.logText()}`);
  t.after(async () => {
    if (killedMember > 0) await restartEtcdMember(killedMember).catch(() => {});
    await Promise.all(procs.map((g) => g.stop()));
    for (const svc of [base, fresh]) await client.deletePrefix(`/services/${svc}/`).catch(() => {});
    await client.deletePrefix(`${root}/`).catch(() => {});
    await client.deletePrefix(`${root}.acme/`).catch(() => {});
    await client.close();
    for (const b of backends) await b.close();
    tmp.cleanup();
  });

  // Replica 1 first: it is the one Pebble's validator reaches, whichever replica orders.
  const r: GantryProcess[] = [await replica(0)];
  r.push(...(await Promise.all([replica(1), replica(2)])));
  await Promise.all(r.map(ready));
  const reg = await get(r[0]!.api(`/v1/docker-flow-proxy/reconfigure?serviceName=${base}&servicePath=/base`));
  assert.equal(reg.status, 200, reg.body);
  await waitFor(async () => (await Promise.all(webPorts.map((p) => once(p, '/base/x')))).every((a) => a.status === 200), 5000);

  /** allServeOneCertificate waits until every replica serves the same certificate for each name. */
  const allServeOneCertificate = async (): Promise<void> => {
    const trust = await pebbleTrust();
    for (const host of names) {
      await waitFor(async () => {
        const got = await Promise.all(REPLICA_TLS_PORTS.map((p) => httpsGet(p, host, '/', trust).catch(() => null)));
        return got.every((a) => a?.status === 200) && new Set(got.map((a) => a!.cert.fingerprint256)).size === 1;
      }, 30_000, () => procs.map((g, i) => `process ${i + 1}:\n${g.logText()}`).join('\n'));
    }
  };

  let paths = ['/base/load'];
  const load = new RoundRobinClient(() => webPorts, () => paths, 4);
  const figures: string[] = [];
  try {
    await load.until(100);

    // A registration on replica 1, while the load runs: when does each replica serve it?
    const t0 = performance.now();
    const reg2 = await get(r[0]!.api(`/v1/docker-flow-proxy/reconfigure?serviceName=${fresh}&servicePath=/fresh`));
    assert.equal(reg2.status, 200, reg2.body);
    const answeredAt = await Promise.all(webPorts.map(async (port) => {
      await waitFor(async () => (await once(port, '/fresh/x')).status === 200, 5000);
      return performance.now() - t0;
    }));
    figures.push(`registration on replica 1 served by replicas 1/2/3 after ${answeredAt.map((ms) => ms.toFixed(0)).join('/')} ms`);
    for (const ms of answeredAt) assert.ok(ms < 1000, `propagation ${ms.toFixed(0)} ms (bound 1000 ms)`);
    paths = ['/base/load', '/fresh/load'];
    await load.until(100);

    // Replica 2 stops as `docker stop` stops it: it stops accepting, finishes what it has, exits 0.
    const stopped = r[1]!;
    const code = await stopped.stop('SIGTERM');
    assert.equal(code, 0);
    await load.until(100);

    // The etcd leader dies; the other two elect a new one.
    killedMember = (await etcdLeader(cluster)) + 1;
    const t1 = performance.now();
    await killEtcdMember(killedMember);
    const leader = await etcdLeader(cluster.filter((_, i) => i !== killedMember - 1), 15_000);
    figures.push(`etcd leader m${killedMember} killed; new leader m${cluster.indexOf(cluster.filter((_, i) => i !== killedMember - 1)[leader]!) + 1} after ${(performance.now() - t1).toFixed(0)} ms`);
    await load.until(100);

    // Replica 2 comes back on the two remaining members: ready once it has everything, then in the rotation.
    const t2 = performance.now();
    const back = await replica(1);
    r[1] = back;
    await ready(back);
    const readyMs = performance.now() - t2;
    const before = load.perReplica[1]!;
    await waitFor(() => load.perReplica[1]! > before + 20, 30_000, () => 'the restarted replica got no traffic');
    figures.push(`replica 2 restarted with etcd at 2 of 3 members: ready (/ping 200) ${readyMs.toFixed(0)} ms after start`);
    assert.equal((await once(webPorts[1]!, '/fresh/x')).status, 200, 'the restarted replica serves the registrations from etcd');
    await restartEtcdMember(killedMember);
    killedMember = 0;
    await load.until(100);

    // Replica 3 crashes (SIGKILL, as an OOM kill does): no goodbye, its connections reset before
    // any answer, clients move on. The certificates are in etcd by then, so its issuer lease, if it
    // held one, cannot hold up an order.
    await allServeOneCertificate();
    const code3 = await r[2]!.stop('SIGKILL');
    assert.equal(code3, null, 'killed by the signal');
    await load.until(100);
    const t3 = performance.now();
    const again = await replica(2);
    r[2] = again;
    await ready(again);
    const before3 = load.perReplica[2]!;
    await waitFor(() => load.perReplica[2]! > before3 + 20, 30_000, () => 'the replica started after the crash got no traffic');
    figures.push(`replica 3 SIGKILLed under load and started again: ready ${(performance.now() - t3).toFixed(0)} ms after start`);
    await load.until(100);
  } finally {
    await load.stop();
  }
  figures.push(`load: ${load.total} requests (${load.perReplica.join('/')} answered by replicas 1/2/3), ${load.failures.length} failed, ${load.refusedRetries} moved to the next replica after a refused connection, ${load.resetRetries} after a reset before any answer`);
  assert.deepEqual(load.failures, [], `${load.failures.length} failed of ${load.total}`);

  // ACME: one order per name across every process that ran (the stopped replica included), and
  // every replica serves the same certificate for each name.
  await allServeOneCertificate();
  const orders = procs.flatMap((g) => g.logs.filter((l) => l.msg === 'acme: ordering certificate').map((l) => String(l['domains'])));
  figures.push(`ACME: ${orders.length} orders for ${names.length} names (${orders.join(', ')}), ${procs.length} processes`);
  for (const f of figures) t.diagnostic(f);
  for (const host of names) assert.equal(orders.filter((d) => d === host).length, 1, `one order for ${host}: ${orders.join(', ')}`);
});

test('a replica being stopped still answers a connection it accepted just before, when the request comes a moment later', async () => {
  // Under a steady load of new connections, some are accepted just before SIGTERM closes the
  // listener, with their request still on its way: the entrypoint gives them a moment (500 ms).
  const b = await startBackend('late');
  const { g, cleanup } = await startWithFile(serviceYaml('late', 'late.test', [b.url]), ['--metrics.prometheus']);
  try {
    const port = g.port();
    const sock = net.connect(port, '127.0.0.1');
    await new Promise<void>((resolve, reject) => sock.once('connect', resolve).once('error', reject));
    let answer = '';
    sock.setEncoding('latin1').on('data', (d: string) => (answer += d));
    const ended = new Promise<string>((resolve) => sock.once('close', () => resolve(answer)));
    // Gantry has accepted it: its entrypoint counts one open connection.
    await waitFor(async () => /gantry_open_connections\{entrypoint="web"\} 1\b/.test((await get(g.api('/metrics'))).body), 5000);
    g.proc.kill('SIGTERM');
    // The listener is closed (a new connection is refused) …
    await waitFor(() => new Promise<boolean>((resolve) => {
      const probe = net.connect(port, '127.0.0.1');
      probe.once('connect', () => { probe.destroy(); resolve(false); });
      probe.once('error', () => resolve(true));
    }), 5000);
    // … and only now does the request arrive on the connection accepted before.
    sock.write('GET / HTTP/1.1\r\nHost: late.test\r\n\r\n');
    const text = await ended;
    assert.match(text, /^HTTP\/1\.1 200 /, `answer: ${JSON.stringify(text.slice(0, 200))}`);
    assert.match(text, /\r\nconnection: close\r\n/i);
    assert.equal(await g.exited, 0);
  } finally {
    await cleanup();
    await b.close();
  }
});
