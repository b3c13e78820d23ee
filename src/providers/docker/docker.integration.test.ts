/**
 * DockerProvider against a real dockerd (TESTBED.md): labelled `--network host` containers of a
 * locally imported busybox image, listening on 127.0.0.1. The daemon comes from .testbed/env
 * (scripts/testbed/up.sh docker; GANTRY_TB_DOCKER, GANTRY_TB_IMAGE_BUSYBOX) unless the environment
 * sets GANTRY_TB_DOCKER or DOCKER_HOST, else the system socket; a missing image is imported.
 * Without a daemon the test is skipped — except in CI, where it fails.
 *
 * The provider is given a constraint on a per-run label, so containers of other tests sharing the
 * daemon do not disturb it; every container it starts is removed by name afterwards.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, request as httpRequest } from 'node:http';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { silentLogger } from '../../observability/logger.js';
import type { ConfigMessage } from '../provider.js';
import { DockerClient } from './client.js';
import { DockerProvider } from './provider.js';
import type { DockerEvent } from './types.js';
import { daemonAnswers, docker, DOCKER_HOST, ensureImage, IMAGE, PORT, RUN_ID, until } from './testbed.test-util.js';

/** fetchText retries until the server answers (httpd may still be starting) or the deadline passes. */
async function fetchText(url: string, ms: number): Promise<string> {
  const deadline = Date.now() + ms;
  for (;;) {
    try {
      return await fetch(url).then((r) => r.text());
    } catch (err) {
      if (Date.now() > deadline) throw err;
      await new Promise((r) => setTimeout(r, 20));
    }
  }
}

function servers(msg: ConfigMessage | undefined, service: string): string[] {
  const svc = msg?.config.http?.services?.[service] as { loadBalancer?: { servers?: { url: string }[] } } | undefined;
  return (svc?.loadBalancer?.servers ?? []).map((s) => s.url).sort();
}

test('DockerProvider with a real dockerd', { timeout: 120_000 }, async (t) => {
  const missing = await daemonAnswers();
  if (missing !== null) {
    if (process.env['CI']) assert.fail(`${missing} (CI is set: the integration test must run)`);
    t.skip(`${missing}; start one with scripts/testbed/up.sh docker`);
    return;
  }
  await ensureImage();

  const names: string[] = [];
  const start = async (name: string, port: number, labels: Record<string, string>, env: string[] = []): Promise<string> => {
    const full = `gantry-it-${RUN_ID}-${name}`;
    names.push(full);
    const args = ['run', '-d', '--init', '--network', 'host', '--name', full, '--hostname', name, '-l', `gantry.test=${RUN_ID}`];
    for (const [k, v] of Object.entries(labels)) args.push('-l', `${k}=${v}`);
    for (const e of env) args.push('-e', e);
    args.push(IMAGE, 'httpd', '-f', '-p', `127.0.0.1:${port}`, '-h', '/www');
    return docker(...args);
  };
  t.after(async () => {
    if (names.length > 0) await docker('rm', '-f', ...names).catch(() => {});
  });

  // Record when the daemon's events reach this process, to measure event → emit.
  const seen = new Map<string, number>();
  const watcher = new DockerClient({ endpoint: DOCKER_HOST });
  await watcher.negotiate();
  const abort = new AbortController();
  let watching!: () => void;
  const open = new Promise<void>((r) => (watching = r));
  watcher
    .events({ type: ['container'], label: [`gantry.test=${RUN_ID}`] }, (e: DockerEvent) => seen.set(`${e.Action}:${e.Actor?.ID}`, performance.now()), {
      signal: abort.signal,
      onOpen: watching,
    })
    .catch(() => {});
  await open;

  const msgs: { at: number; msg: ConfigMessage }[] = [];
  const provider = new DockerProvider({ endpoint: DOCKER_HOST, constraints: `Label(\`gantry.test\`, \`${RUN_ID}\`)` });
  t.after(async () => {
    abort.abort();
    await provider.stop();
    await watcher.destroy().catch(() => {});
  });
  await provider.start((msg) => msgs.push({ at: performance.now(), msg }), silentLogger);
  const last = (): ConfigMessage | undefined => msgs.at(-1)?.msg;
  const dump = (): unknown => last()?.config;
  await until(() => msgs.length > 0, 5000, 'first emit', dump);

  await t.test('a labelled container is a server within 1 s of its start', async () => {
    const before = performance.now();
    const id = await start('w', PORT, { 'gantry.http.routers.w.rule': 'Host(`w.test`)', 'gantry.http.services.w.loadbalancer.server.port': String(PORT) });
    await until(() => servers(last(), 'w').length === 1, 5000, 'container w in the config', dump);
    const emitted = msgs.find((m) => servers(m.msg, 'w').length === 1)!.at;
    const ev = seen.get(`start:${id}`);
    const fromEvent = ev !== undefined ? emitted - ev : NaN;
    t.diagnostic(`docker run → emit ${(emitted - before).toFixed(0)} ms; start event → emit ${fromEvent.toFixed(1)} ms`);
    assert.deepEqual(servers(last(), 'w'), [`http://127.0.0.1:${PORT}`]);
    assert.deepEqual(last()!.config.http!.routers!['w'], { rule: 'Host(`w.test`)', service: 'w' });
    assert.ok(Number.isNaN(fromEvent) || fromEvent < 1000, `start event → emit ${fromEvent} ms`);
    // The server really answers there.
    assert.match(await fetchText(`http://127.0.0.1:${PORT}/`, 5000), /hello from busybox/);
  });

  await t.test('a stopped container leaves the config', async () => {
    const id = names.find((n) => n.endsWith('-w'))!;
    const before = performance.now();
    const stopping = docker('stop', '-t', '5', id);
    await until(() => servers(last(), 'w').length === 0, 5000, 'container w gone', dump);
    t.diagnostic(`docker stop → gone from config ${(performance.now() - before).toFixed(0)} ms`);
    await stopping;
  });

  await t.test('three containers of one compose service are one service of three servers', async () => {
    const compose = { 'com.docker.compose.project': `it${process.pid}`, 'com.docker.compose.service': 'web', 'gantry.http.routers.web.rule': 'Host(`web.test`)' };
    for (const i of [1, 2, 3]) await start(`web-${i}`, PORT + i, { ...compose, 'gantry.http.services.web.loadbalancer.server.port': String(PORT + i) });
    await until(() => servers(last(), 'web').length === 3, 5000, 'three servers', dump);
    assert.deepEqual(servers(last(), 'web'), [1, 2, 3].map((i) => `http://127.0.0.1:${PORT + i}`));
    assert.deepEqual(last()!.config.http!.routers!['web'], { rule: 'Host(`web.test`)', service: 'web' });
  });

  await t.test('a container with a HEALTHCHECK joins only once healthy', async () => {
    const port = PORT + 7;
    const full = `gantry-it-${RUN_ID}-hc`;
    names.push(full);
    const id = await docker(
      'run', '-d', '--init', '--network', 'host', '--name', full, '-l', `gantry.test=${RUN_ID}`,
      '-l', 'gantry.http.routers.hc.rule=Host(`hc.test`)', '-l', `gantry.http.services.hc.loadbalancer.server.port=${port}`,
      '--health-cmd', `wget -qO- http://127.0.0.1:${port}/ || exit 1`, '--health-interval', '1s',
      IMAGE, 'httpd', '-f', '-p', `127.0.0.1:${port}`, '-h', '/www',
    );
    await until(() => servers(last(), 'hc').length === 1, 10_000, 'healthy container in the config', dump);
    const healthy = seen.get(`health_status: healthy:${id}`);
    const joined = msgs.find((m) => servers(m.msg, 'hc').length === 1)!.at;
    assert.ok(healthy !== undefined, 'health_status: healthy event seen');
    assert.ok(joined >= healthy!, 'not routed before Docker said healthy');
    t.diagnostic(`health_status: healthy → emit ${(joined - healthy!).toFixed(1)} ms`);
  });

  await t.test('Traefik v1, Docker Flow Proxy and nginx-proxy containers', async () => {
    await start('v1', PORT + 4, { 'traefik.backend': 'webserver', 'traefik.frontend.rule': 'Host:web.pungy.local', 'traefik.port': String(PORT + 4) });
    await start('df', PORT + 5, { 'com.df.notify': 'true', 'com.df.serviceName': 'go-demo', 'com.df.servicePath': '/demo', 'com.df.port': String(PORT + 5) });
    await start('vh', PORT + 6, {}, ['VIRTUAL_HOST=nginx.test', `VIRTUAL_PORT=${PORT + 6}`]);
    const vhService = `gantry-it-${RUN_ID}-vh`.replace(/[^A-Za-z0-9]+/g, '-');
    await until(() => servers(last(), 'webserver').length === 1 && servers(last(), 'go-demo').length === 1 && servers(last(), vhService).length === 1, 5000, 'dialect routers', dump);
    const routers = last()!.config.http!.routers!;
    assert.deepEqual(routers['webserver'], { rule: 'Host(`web.pungy.local`)', service: 'webserver' });
    assert.deepEqual(routers['go-demo'], { rule: 'PathPrefix(`/demo`)', service: 'go-demo' });
    assert.deepEqual(routers[vhService], { rule: 'Host(`nginx.test`)', service: vhService });
    assert.deepEqual(servers(last(), 'webserver'), [`http://127.0.0.1:${PORT + 4}`]);
    assert.deepEqual(servers(last(), 'go-demo'), [`http://127.0.0.1:${PORT + 5}`]);
    assert.deepEqual(servers(last(), vhService), [`http://127.0.0.1:${PORT + 6}`]);
    assert.deepEqual(last()!.errors ?? [], []);
  });

  await t.test('works through a GET-only socket proxy', async (st) => {
    if (!DOCKER_HOST.startsWith('unix://')) {
      st.skip('the daemon is not on a unix socket');
      return;
    }
    const upstream = DOCKER_HOST.slice('unix://'.length);
    const dir = mkdtempSync(join(tmpdir(), 'gsp-'));
    const sock = join(dir, 'proxy.sock');
    const refused: string[] = [];
    const proxy = createServer((req, res) => {
      if (req.method !== 'GET') {
        refused.push(`${req.method} ${req.url}`);
        res.writeHead(403).end('{"message":"read-only"}');
        return;
      }
      const up = httpRequest({ socketPath: upstream, path: req.url, method: 'GET', headers: req.headers }, (ur) => {
        res.writeHead(ur.statusCode ?? 502, ur.headers);
        ur.pipe(res);
      });
      up.on('error', () => res.destroy());
      res.on('close', () => up.destroy());
      up.end();
    });
    await new Promise<void>((r) => proxy.listen(sock, r));
    const viaProxy: ConfigMessage[] = [];
    const p2 = new DockerProvider({ endpoint: `unix://${sock}`, constraints: `Label(\`gantry.test\`, \`${RUN_ID}\`)`, watch: false });
    try {
      await p2.start((m) => viaProxy.push(m), silentLogger);
      assert.equal(viaProxy.length, 1);
      assert.deepEqual(servers(viaProxy[0], 'web'), servers(last(), 'web'));
      assert.deepEqual(refused, []);
    } finally {
      await p2.stop();
      proxy.closeAllConnections();
      await new Promise<void>((r) => proxy.close(() => r()));
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
