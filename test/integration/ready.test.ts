/**
 * /ping readiness (issue 12): Gantry answers 503 "not ready" until it has loaded its first complete
 * configuration from every enabled provider, so that a new replica takes no traffic before it can
 * route — and at the first 200 what the sources held is served. Once ready it stays ready.
 *
 * The sources are made unreachable, then reachable, by a TCP forwarder on 127.0.0.1 that does not
 * listen at first: to the test bed's etcd (keys under a run-unique rootKey) and to the Docker socket
 * (a container with a run label, Gantry constrained to it). Ports 19760–19769.
 *
 *   npx tsc -p tsconfig.json && node --test dist/test/integration/ready.test.js
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { promisify } from 'node:util';
import { randomBytes } from 'node:crypto';
import { EtcdClient } from '../../src/providers/etcd/client.js';
import { gantryBin, serviceYaml, startBackend, startGantry, tempDir, waitFor, writeAtomic } from '../helpers/gantry.js';
import { get } from '../helpers/http.js';
import { loadTestbed, requireComponent } from '../helpers/testbed.js';
import { docker, dockerBed, hostRun, Resources, RUN_ID } from '../fixtures/docker/testbed.js';

const run = promisify(execFile);

/** Forwarder relays TCP connections from 127.0.0.1:port to `target` once opened; until then the port refuses. */
class Forwarder {
  #server: net.Server | null = null;
  #sockets = new Set<net.Socket>();
  readonly port: number;
  readonly #target: () => net.Socket;

  constructor(port: number, target: () => net.Socket) {
    this.port = port;
    this.#target = target;
  }

  async open(): Promise<void> {
    const server = net.createServer((client) => {
      const up = this.#target();
      for (const s of [client, up]) {
        this.#sockets.add(s);
        s.on('close', () => this.#sockets.delete(s));
        s.on('error', () => {
          client.destroy();
          up.destroy();
        });
      }
      client.pipe(up).pipe(client);
    });
    await new Promise<void>((resolve, reject) => server.once('error', reject).listen(this.port, '127.0.0.1', resolve));
    this.#server = server;
  }

  async close(): Promise<void> {
    const s = this.#server;
    this.#server = null;
    if (s === null) return;
    for (const sock of this.#sockets) sock.destroy();
    await new Promise<void>((resolve) => s.close(() => resolve()));
  }
}

async function ping(url: string): Promise<{ status: number; body: string }> {
  const r = await get(url);
  return { status: r.status, body: r.body };
}

async function healthcheck(api: string): Promise<{ code: number; out: string }> {
  try {
    const { stdout, stderr } = await run(process.execPath, [gantryBin, 'healthcheck', '--api', api], { timeout: 10_000 });
    return { code: 0, out: stdout + stderr };
  } catch (err) {
    const e = err as { code?: number; stdout?: string; stderr?: string };
    return { code: e.code ?? -1, out: `${e.stdout ?? ''}${e.stderr ?? ''}` };
  }
}

test('etcd not reachable at start: /ping 503 naming it, the healthcheck fails; once it loads, 200 and its routes are served at that moment; losing it later keeps 200', { skip: requireComponent('etcd') }, async (t) => {
  const { etcd } = loadTestbed();
  const root = `gantry-ready-${randomBytes(4).toString('hex')}`;
  const client = new EtcdClient({ endpoints: [etcd!.endpoint] });
  const backend = await startBackend('ready-etcd');
  const upstream = new URL(etcd!.endpoint);
  const fwd = new Forwarder(19760, () => net.connect(Number(upstream.port), upstream.hostname));
  await client.put(`${root}/http/routers/r/rule`, 'PathPrefix(`/ready`)');
  await client.put(`${root}/http/routers/r/service`, 'r');
  await client.put(`${root}/http/services/r/loadbalancer/servers/0/url`, backend.url);
  const g = await startGantry(['--entrypoints.web.address=127.0.0.1:0', '--api.address=127.0.0.1:0', `--providers.etcd.endpoints=http://127.0.0.1:${fwd.port}`, `--providers.etcd.rootKey=${root}`]);
  t.after(async () => {
    await g.stop();
    await fwd.close();
    await client.deletePrefix(`${root}/`);
    await client.close();
    await backend.close();
  });
  const first = await ping(g.api('/ping'));
  assert.equal(first.status, 503);
  // The REST provider stores its registrations in etcd too: both wait for it.
  assert.match(first.body, /^not ready: waiting for provider etcd, provider rest$/);
  const hc = await healthcheck(g.api(''));
  assert.equal(hc.code, 1);
  assert.match(hc.out, /answered 503: not ready: waiting for provider etcd/);

  const opened = performance.now();
  await fwd.open();
  let readyStatus = 0;
  await waitFor(async () => (readyStatus = (await ping(g.api('/ping'))).status) === 200, 15_000, () => `still ${readyStatus}; logs:\n${g.logText()}`);
  // At the first 200 the keys etcd held are routed: not a moment later.
  const r = await get(g.url('/ready/x'));
  assert.equal(r.status, 200, r.body);
  assert.equal(r.headers['x-backend'], 'ready-etcd');
  t.diagnostic(`etcd reachable → /ping 200 after ${(performance.now() - opened).toFixed(0)} ms (the client's retry back-off)`);
  assert.equal((await healthcheck(g.api(''))).code, 0);
  const line = await g.waitForLog((l) => l.msg === 'gantry ready');
  assert.equal(typeof line['sinceStartMs'], 'number');

  // Ready is for good: losing the source later keeps the last configuration serving, and /ping 200.
  await fwd.close();
  await waitFor(async () => (await get(g.url('/ready/y'))).status === 200, 2000);
  assert.equal((await ping(g.api('/ping'))).status, 200);
});

test('with --workers=2, the Docker daemon reachable only later: 503 until it is listed and served', { skip: requireComponent('docker') }, async (t) => {
  const bed = dockerBed();
  const res = new Resources();
  const fwd = new Forwarder(19761, () => net.connect(bed.socketPath));
  const port = 19762;
  await docker(...hostRun(res.container('ready'), { 'gantry.it': RUN_ID, 'gantry.http.routers.rd.rule': 'Host(`ready.test`)', 'gantry.http.services.rd.loadbalancer.server.port': String(port) }), bed.busybox, 'httpd', '-f', '-p', `127.0.0.1:${port}`, '-h', '/www');
  const g = await startGantry([
    '--workers=2', '--entrypoints.web.address=127.0.0.1:0', '--api.address=127.0.0.1:0',
    '--providers.docker', `--providers.docker.endpoint=tcp://127.0.0.1:${fwd.port}`, `--providers.docker.constraints=Label(\`gantry.it\`, \`${RUN_ID}\`)`,
  ]);
  t.after(async () => {
    await g.stop();
    await fwd.close();
    await res.cleanup();
  });
  const first = await ping(g.api('/ping'));
  assert.equal(first.status, 503);
  assert.match(first.body, /waiting for provider docker/);
  await fwd.open();
  await waitFor(async () => (await ping(g.api('/ping'))).status === 200, 15_000, () => g.logText());
  const r = await get(g.url('/'), { host: 'ready.test' });
  assert.equal(r.status, 200, 'the container listed at start is routed at the first 200');
  assert.match(r.body, /hello from busybox/);
});

test('a dynamic file that does not parse at start: 503 naming the file provider until it does', async () => {
  const tmp = tempDir();
  const file = path.join(tmp.dir, 'dynamic.yaml');
  fs.writeFileSync(file, 'http:\n  routers: [unclosed\n');
  const b = await startBackend('ready-file');
  const g = await startGantry(['--entrypoints.web.address=127.0.0.1:0', '--api.address=127.0.0.1:0', `--providers.file.filename=${file}`]);
  try {
    const first = await ping(g.api('/ping'));
    assert.equal(first.status, 503);
    assert.equal(first.body, 'not ready: waiting for provider file');
    writeAtomic(file, serviceYaml('f', 'file.ready.test', [b.url]));
    await waitFor(async () => (await ping(g.api('/ping'))).status === 200, 5000, () => g.logText());
    assert.equal((await get(g.url('/'), { host: 'file.ready.test' })).headers['x-backend'], 'ready-file');
  } finally {
    await g.stop();
    await b.close();
    tmp.cleanup();
  }
});
