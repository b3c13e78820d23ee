/**
 * providers.swarm options through `gantry run` against the test bed's single-node swarm:
 * `useBindPortIP` (each task at the port it publishes in host mode on its node) and
 * `allowEmptyServices` (a service whose task has not passed its health check keeps its router:
 * 503, not 404), and `refreshSeconds` as a duration. Services carry `gantry.it=<run>`; traffic
 * goes to 127.0.0.1 only (the published port). Ports 19870–19879.
 */
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { startGantry, waitFor, type GantryProcess } from '../helpers/gantry.js';
import { get, getJSON } from '../helpers/http.js';
import { requireComponent } from '../helpers/testbed.js';
import { docker, dockerBed, GetOnlyProxy, Resources, RUN_ID } from '../fixtures/docker/testbed.js';
import { TlsDockerProxy } from '../fixtures/docker/tls-proxy.js';
import { tempDir } from '../helpers/gantry.js';

const skip = requireComponent('swarm');
const bed = dockerBed();
const BASE = 19870;

function gantry(flags: string[], endpoint = bed.host, refresh = '1m'): Promise<GantryProcess> {
  return startGantry([
    '--entrypoints.web.address=127.0.0.1:0', '--api.address=127.0.0.1:0', '--providers.swarm', `--providers.swarm.endpoint=${endpoint}`,
    `--providers.swarm.refreshSeconds=${refresh}`, `--providers.swarm.constraints=Label(\`gantry.it\`, \`${RUN_ID}\`)`, ...flags,
  ]);
}

async function serversOf(g: GantryProcess, service: string): Promise<string[] | undefined> {
  const list = (await getJSON<Array<{ name: string; loadBalancer?: { servers?: Array<{ url: string }> } }>>(g.api('/api/http/services'))).json;
  return list.find((s) => s.name === service)?.loadBalancer?.servers?.map((s) => s.url);
}

describe('providers.swarm options through gantry run', { skip }, () => {
  const res = new Resources();
  const procs: GantryProcess[] = [];
  const start = async (flags: string[], endpoint?: string, refresh?: string) => {
    const g = await gantry(flags, endpoint, refresh);
    procs.push(g);
    return g;
  };
  after(async () => {
    await Promise.all(procs.map((g) => g.stop()));
    await res.cleanup();
  });

  it('useBindPortIP routes to the port each task publishes in host mode; without it such a task has no address', async () => {
    const name = res.service('bind');
    const port = BASE + 1;
    await docker('service', 'create', '--detach', '--no-resolve-image', '--name', name, '--init', '--publish', `mode=host,target=8080,published=${port}`,
      '--label', `gantry.it=${RUN_ID}`, '--label', 'gantry.http.routers.swbind.rule=Host(`swbind.test`)', '--label', 'gantry.http.services.swbind.loadbalancer.server.port=8080',
      bed.busybox, 'httpd', '-f', '-p', '8080', '-h', '/www');
    const on = await start(['--providers.swarm.useBindPortIP=true']);
    await waitFor(async () => /hello from busybox/.test((await get(on.url('/'), { host: 'swbind.test' })).body), 20_000, () => on.logText());
    assert.deepEqual(await serversOf(on, 'swbind@swarm'), [`http://127.0.0.1:${port}`]);
    const off = await start([]);
    const line = await off.waitForLog((l) => /no address/.test(l.msg) && l.msg.includes(name), 20_000);
    assert.ok(line);
    assert.equal(await serversOf(off, 'swbind@swarm'), undefined, 'not routed without the option');
  });

  it('allowEmptyServices keeps the router of a service whose task is still starting: 503, not 404', async () => {
    const name = res.service('starting');
    // The task stays "starting" until its health check passes, which it never does within the test.
    await docker('service', 'create', '--detach', '--no-resolve-image', '--name', name, '--network', 'host', '--init',
      '--health-cmd', 'exit 1', '--health-interval', '60s', '--health-start-period', '60s',
      '--label', `gantry.it=${RUN_ID}`, '--label', 'gantry.http.routers.swstarting.rule=Host(`swstarting.test`)',
      '--label', `gantry.http.services.swstarting.loadbalancer.server.port=${BASE + 2}`,
      bed.busybox, 'httpd', '-f', '-p', `127.0.0.1:${BASE + 2}`, '-h', '/www');
    await waitFor(async () => (await docker('service', 'ps', '--format', '{{.CurrentState}}', name)).startsWith('Starting'), 20_000);
    const on = await start(['--providers.swarm.allowEmptyServices=true']);
    const off = await start([]);
    await waitFor(async () => (await get(on.url('/'), { host: 'swstarting.test' })).status === 503, 10_000, () => on.logText());
    assert.deepEqual(await serversOf(on, 'swstarting@swarm'), []);
    // The other Gantry has read the same listing (its start awaited the first refresh).
    assert.equal((await get(off.url('/'), { host: 'swstarting.test' })).status, 404);
  });

  it('watch=false polls every refreshSeconds (a duration) and never opens the event stream; tls reaches a daemon behind HTTPS', async () => {
    const proxy = new GetOnlyProxy(bed.socketPath);
    const port = await proxy.listen();
    const tmp = tempDir('gantry-swarm-opts-');
    const tlsProxy = new TlsDockerProxy(bed.socketPath, tmp.dir);
    const tlsPort = await tlsProxy.listen();
    try {
      const polled = await start(['--providers.swarm.watch=false'], `tcp://127.0.0.1:${port}`, '1s');
      const secure = await start([`--providers.swarm.tls.ca=${tlsProxy.ca.caCert}`, `--providers.swarm.tls.cert=${tlsProxy.client.cert}`, `--providers.swarm.tls.key=${tlsProxy.client.key}`], `tcp://127.0.0.1:${tlsPort}`);
      const name = res.service('polled');
      await docker('service', 'create', '--detach', '--no-resolve-image', '--name', name, '--network', 'host', '--init',
        '--label', `gantry.it=${RUN_ID}`, '--label', 'gantry.http.routers.swpolled.rule=Host(`swpolled.test`)',
        '--label', `gantry.http.services.swpolled.loadbalancer.server.port=${BASE + 3}`,
        bed.busybox, 'httpd', '-f', '-p', `127.0.0.1:${BASE + 3}`, '-h', '/www');
      // Created after the start: only a poll can have found it.
      await waitFor(async () => /hello from busybox/.test((await get(polled.url('/'), { host: 'swpolled.test' })).body), 20_000, () => polled.logText());
      assert.equal(proxy.allowed.has('/events'), false, `paths asked: ${[...proxy.allowed].join(' ')}`);
      await waitFor(async () => /hello from busybox/.test((await get(secure.url('/'), { host: 'swpolled.test' })).body), 20_000, () => secure.logText());
      assert.ok(tlsProxy.forwarded > 0);
    } finally {
      await proxy.close();
      await tlsProxy.close();
      tmp.cleanup();
    }
  });

  it('exposedByDefault=false, domain and defaultRule; httpClientTimeout bounds each call', async () => {
    const enabled = res.service('on');
    const plain = res.service('plain');
    for (const [name, port, labels] of [[enabled, BASE + 4, ['--label', 'gantry.enable=true']], [plain, BASE + 5, []]] as const) {
      await docker('service', 'create', '--detach', '--no-resolve-image', '--name', name, '--network', 'host', '--init',
        '--label', `gantry.it=${RUN_ID}`, ...labels, '--label', `gantry.http.services.x.loadbalancer.server.port=${port}`,
        bed.busybox, 'httpd', '-f', '-p', `127.0.0.1:${port}`, '-h', '/www');
    }
    const g = await start(['--providers.swarm.exposedByDefault=false', '--providers.swarm.domain=sw.test', '--providers.swarm.defaultRule=Host(`{{ normalize .Name }}.{{ .Domain }}`)'], undefined, '1s');
    await waitFor(async () => /hello from busybox/.test((await get(g.url('/'), { host: `${enabled}.sw.test` })).body), 20_000, () => g.logText());
    // The other service runs too (its task answers directly), but is not enabled.
    await waitFor(async () => /hello from busybox/.test((await get(`http://127.0.0.1:${BASE + 5}/`)).body), 20_000);
    assert.equal((await get(g.url('/'), { host: `${plain}.sw.test` })).status, 404);

    const silent = net.createServer((sock) => sock.on('error', () => undefined));
    await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r));
    try {
      const t0 = Date.now();
      const slow = await start(['--providers.swarm.httpClientTimeout=300ms'], `tcp://127.0.0.1:${(silent.address() as net.AddressInfo).port}`);
      const line = await slow.waitForLog((l) => l.msg === 'swarm: daemon unavailable, keeping the last configuration', 10_000);
      assert.match(JSON.stringify(line), /[Tt]imeout/);
      assert.ok(Date.now() - t0 < 5000, 'given up on long before the 10 s default');
    } finally {
      silent.close();
    }
  });
});
