/**
 * providers.docker options through `gantry run` against the test bed's dockerd: `useBindPortIP`,
 * `allowEmptyServices`, `watch`, `tls` (a daemon behind HTTPS with client certificates),
 * `httpClientTimeout`, `exposedByDefault`, `domain`, `defaultRule` and `network`.
 *
 * Containers carry `gantry.it=<run>` and Gantry is constrained to that label. Traffic goes to
 * 127.0.0.1 only: host-network containers, or a bridge container reached through the port it
 * publishes on 127.0.0.1 (which is what useBindPortIP is for); other addresses are only read on the
 * API. Ports 19860–19869.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { startGantry, tempDir, waitFor, type GantryProcess } from '../helpers/gantry.js';
import { get, getJSON } from '../helpers/http.js';
import { requireComponent } from '../helpers/testbed.js';
import { docker, dockerBed, GetOnlyProxy, hostRun, Resources, RUN_ID } from '../fixtures/docker/testbed.js';
import { TlsDockerProxy } from '../fixtures/docker/tls-proxy.js';

const skip = requireComponent('docker');
const bed = dockerBed();
const LABEL = { 'gantry.it': RUN_ID };
const BASE = 19860;

function gantry(flags: string[], endpoint = bed.host): Promise<GantryProcess> {
  return startGantry(['--entrypoints.web.address=127.0.0.1:0', '--api.address=127.0.0.1:0', '--providers.docker', `--providers.docker.endpoint=${endpoint}`, `--providers.docker.constraints=Label(\`gantry.it\`, \`${RUN_ID}\`)`, ...flags]);
}

async function serversOf(g: GantryProcess, service: string): Promise<string[]> {
  const list = (await getJSON<Array<{ name: string; loadBalancer?: { servers?: Array<{ url: string }> } }>>(g.api('/api/http/services'))).json;
  return (list.find((s) => s.name === service)?.loadBalancer?.servers ?? []).map((s) => s.url);
}

describe('providers.docker options through gantry run', { skip }, () => {
  const res = new Resources();
  const procs: GantryProcess[] = [];
  const start = async (flags: string[], endpoint?: string) => {
    const g = await gantry(flags, endpoint);
    procs.push(g);
    return g;
  };
  const stop = async (g: GantryProcess) => {
    await g.stop();
    procs.splice(procs.indexOf(g), 1);
  };
  let marker = '';
  const tmp = tempDir('gantry-docker-opts-');
  let networkName = '';

  before(async () => {
    // A healthy host-network container: once a Gantry routes it, it has seen the containers started before it.
    marker = res.container('marker');
    await docker(...hostRun(marker, { ...LABEL, 'gantry.http.routers.marker.rule': 'Host(`marker.test`)', 'gantry.http.services.marker.loadbalancer.server.port': String(BASE) }), bed.busybox, 'httpd', '-f', '-p', `127.0.0.1:${BASE}`, '-h', '/www');
  });
  after(async () => {
    await Promise.all(procs.map((g) => g.stop()));
    await res.cleanup();
    if (networkName) await docker('network', 'rm', networkName).catch(() => undefined);
    tmp.cleanup();
  });
  const seenMarker = (g: GantryProcess) => waitFor(async () => /hello from busybox/.test((await get(g.url('/'), { host: 'marker.test' })).body), 10_000, () => g.logText());

  it('useBindPortIP routes to the port a bridge container publishes on 127.0.0.1', async () => {
    const name = res.container('bind');
    const port = BASE + 1;
    await docker('run', '-d', '--init', '--name', name, '-p', `127.0.0.1:${port}:8080`, '-l', `gantry.it=${RUN_ID}`,
      '-l', 'gantry.http.routers.bind.rule=Host(`bind.test`)', '-l', 'gantry.http.services.bind.loadbalancer.server.port=8080',
      bed.busybox, 'httpd', '-f', '-p', '8080', '-h', '/www');
    const on = await start(['--providers.docker.useBindPortIP=true']);
    await waitFor(async () => /hello from busybox/.test((await get(on.url('/'), { host: 'bind.test' })).body), 10_000, () => on.logText());
    assert.deepEqual(await serversOf(on, 'bind@docker'), [`http://127.0.0.1:${port}`]);
    // Without the option: the container's own address on its network (read on the API, never sent to).
    const off = await start([]);
    await waitFor(async () => (await serversOf(off, 'bind@docker')).length === 1, 10_000, () => off.logText());
    const ip = await docker('inspect', '-f', '{{.NetworkSettings.IPAddress}}', name);
    assert.deepEqual(await serversOf(off, 'bind@docker'), [`http://${ip}:8080`]);
    await stop(on);
    await stop(off);
  });

  it('allowEmptyServices keeps the router of a container whose health check has not passed: 503, not 404', async () => {
    const name = res.container('starting');
    // Health "starting" for a minute: the first check runs after 60 s.
    await docker(...hostRun(name, { ...LABEL, 'gantry.http.routers.starting.rule': 'Host(`starting.test`)', 'gantry.http.services.starting.loadbalancer.server.port': String(BASE + 2) }),
      '--health-cmd', 'exit 1', '--health-interval', '60s', '--health-start-period', '60s', bed.busybox, 'httpd', '-f', '-p', `127.0.0.1:${BASE + 2}`, '-h', '/www');
    const on = await start(['--providers.docker.allowEmptyServices=true']);
    const off = await start([]);
    await seenMarker(on);
    await seenMarker(off);
    await waitFor(async () => (await get(on.url('/'), { host: 'starting.test' })).status === 503, 5000, () => on.logText());
    assert.deepEqual(await serversOf(on, 'starting@docker'), []);
    assert.equal((await get(off.url('/'), { host: 'starting.test' })).status, 404);
    await stop(on);
    await stop(off);
  });

  it('watch=false lists the containers once and never opens the event stream', async () => {
    const proxy = new GetOnlyProxy(bed.socketPath);
    const port = await proxy.listen();
    try {
      const g = await start(['--providers.docker.watch=false'], `tcp://127.0.0.1:${port}`);
      await seenMarker(g);
      assert.ok(proxy.allowed.has('/containers/json'), [...proxy.allowed].join(' '));
      assert.equal(proxy.allowed.has('/events'), false, `paths asked: ${[...proxy.allowed].join(' ')}`);
      await stop(g);
    } finally {
      await proxy.close();
    }
  });

  it('tls: a daemon behind HTTPS with client certificates; without the certificate it is unavailable', async () => {
    const proxy = new TlsDockerProxy(bed.socketPath, tmp.dir);
    const port = await proxy.listen();
    try {
      const ep = `tcp://127.0.0.1:${port}`;
      const g = await start([`--providers.docker.tls.ca=${proxy.ca.caCert}`, `--providers.docker.tls.cert=${proxy.client.cert}`, `--providers.docker.tls.key=${proxy.client.key}`], ep);
      await seenMarker(g);
      assert.ok(proxy.forwarded > 0);
      await stop(g);
      // insecureSkipVerify: the daemon's certificate is not checked (no CA given), ours is still sent.
      const skipping = await start([`--providers.docker.tls.cert=${proxy.client.cert}`, `--providers.docker.tls.key=${proxy.client.key}`, '--providers.docker.tls.insecureSkipVerify=true'], ep);
      await seenMarker(skipping);
      await stop(skipping);
      const untrusted = await start([`--providers.docker.tls.cert=${proxy.client.cert}`, `--providers.docker.tls.key=${proxy.client.key}`], ep);
      const refused = await untrusted.waitForLog((l) => l.msg === 'docker: daemon unavailable, keeping the last configuration', 10_000);
      assert.match(JSON.stringify(refused), /certificate/i, 'without the CA the daemon is not trusted');
      await stop(untrusted);
      const before = proxy.forwarded;
      const bare = await start([`--providers.docker.tls.ca=${proxy.ca.caCert}`], ep);
      await bare.waitForLog((l) => l.msg === 'docker: daemon unavailable, keeping the last configuration', 10_000);
      assert.equal(proxy.forwarded, before, 'no request got past the handshake');
      await stop(bare);
    } finally {
      await proxy.close();
    }
  });

  it('httpClientTimeout bounds each call: a daemon that never answers is given up on in that time', async () => {
    // Accepts connections and says nothing.
    const silent = net.createServer((s) => s.on('error', () => undefined));
    await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r));
    const port = (silent.address() as net.AddressInfo).port;
    try {
      const t0 = Date.now();
      const g = await start(['--providers.docker.httpClientTimeout=300ms'], `tcp://127.0.0.1:${port}`);
      const line = await g.waitForLog((l) => l.msg === 'docker: daemon unavailable, keeping the last configuration', 10_000);
      const took = Date.now() - t0;
      assert.match(JSON.stringify(line), /[Tt]imeout/);
      // Gantry's start (about 1 s here) plus 300 ms, far below the 10 s default.
      assert.ok(took < 5000, `gave up after ${took} ms`);
      await stop(g);
    } finally {
      silent.close();
    }
  });

  it('exposedByDefault=false, domain and defaultRule decide the default routes', async () => {
    const enabled = res.container('enabled');
    const plain = res.container('plain');
    await docker(...hostRun(enabled, { ...LABEL, 'gantry.enable': 'true', 'gantry.http.services.x.loadbalancer.server.port': String(BASE + 3) }), bed.busybox, 'httpd', '-f', '-p', `127.0.0.1:${BASE + 3}`, '-h', '/www');
    await docker(...hostRun(plain, { ...LABEL, 'gantry.http.services.y.loadbalancer.server.port': String(BASE + 4) }), bed.busybox, 'httpd', '-f', '-p', `127.0.0.1:${BASE + 4}`, '-h', '/www');
    const g = await start(['--providers.docker.exposedByDefault=false', '--providers.docker.domain=opts.test']);
    await waitFor(async () => (await get(g.url('/'), { host: `${enabled}.opts.test` })).status === 200, 10_000, () => g.logText());
    assert.equal((await get(g.url('/'), { host: `${plain}.opts.test` })).status, 404, 'not enabled: not routed');
    assert.equal((await get(g.url('/'), { host: 'marker.test' })).status, 404, 'the marker has no gantry.enable either');
    await stop(g);
    const t = await start(['--providers.docker.defaultRule=Host(`{{ normalize .Name }}.custom.test`) || Host(`{{ .Domain }}`)', '--providers.docker.domain=shared.test']);
    await waitFor(async () => (await get(t.url('/'), { host: `${plain}.custom.test` })).status === 200, 10_000, () => t.logText());
    const routers = (await getJSON<Array<{ name: string; rule: string }>>(t.api('/api/http/routers'))).json;
    assert.ok(routers.some((r) => r.rule === `Host(\`${plain}.custom.test\`) || Host(\`shared.test\`)`), JSON.stringify(routers));
    await stop(t);
  });

  it('network picks the address of a container on several networks (read on the API)', async () => {
    networkName = `gantry-it-${RUN_ID}-net`;
    await docker('network', 'create', networkName);
    const name = res.container('multi');
    await docker('run', '-d', '--init', '--name', name, '-l', `gantry.it=${RUN_ID}`, '-l', 'gantry.http.routers.multi.rule=Host(`multi.test`)',
      '-l', 'gantry.http.services.multi.loadbalancer.server.port=8080', bed.busybox, 'httpd', '-f', '-p', '8080', '-h', '/www');
    await docker('network', 'connect', networkName, name);
    const ip = await docker('inspect', '-f', `{{(index .NetworkSettings.Networks "${networkName}").IPAddress}}`, name);
    assert.match(ip, /^\d+\.\d+\.\d+\.\d+$/);
    const g = await start([`--providers.docker.network=${networkName}`]);
    await waitFor(async () => (await serversOf(g, 'multi@docker')).join() === `http://${ip}:8080`, 10_000, () => g.logText());
    await stop(g);
  });
});
