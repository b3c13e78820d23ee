/**
 * SwarmProvider against the test bed's single-node swarm (TESTBED.md §3): a `--network host`
 * service with `com.df.*` labels and a port base, scaled 1 → 3 → 1; the routes follow. Skipped
 * when no daemon answers or the daemon is not in a swarm (failed instead in CI when the test bed
 * says it made one, GANTRY_TB_SWARM=1).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { silentLogger } from '../../observability/logger.js';
import { DockerClient } from '../docker/client.js';
import { daemonAnswers, docker, DOCKER_HOST, ensureImage, IMAGE, RUN_ID, tb, until } from '../docker/testbed.test-util.js';
import type { ConfigMessage } from '../provider.js';
import { SwarmProvider } from './provider.js';

// 18300-18309 are the test bed smoke test's; use the next block.
const BASE = 18360 + (process.pid % 3) * 10;

function urls(msg: ConfigMessage | undefined, name: string): string[] {
  const svc = msg?.config.http?.services?.[name] as { loadBalancer?: { servers?: { url: string }[] } } | undefined;
  return (svc?.loadBalancer?.servers ?? []).map((s) => s.url).sort();
}

async function swarmState(): Promise<string> {
  const c = new DockerClient({ endpoint: DOCKER_HOST, timeoutMs: 2000 });
  try {
    await c.negotiate();
    return (await c.info()).Swarm?.LocalNodeState ?? 'unknown';
  } finally {
    await c.destroy().catch(() => {});
  }
}

test('SwarmProvider follows a host-network service scaled 1 → 3 → 1', { timeout: 120_000 }, async (t) => {
  const missing = await daemonAnswers();
  const mustRun = process.env['CI'] !== undefined && (process.env['GANTRY_TB_SWARM'] ?? tb['GANTRY_TB_SWARM']) !== '0';
  if (missing !== null) {
    if (process.env['CI']) assert.fail(`${missing} (CI is set: the integration test must run)`);
    t.skip(`${missing}; start one with scripts/testbed/up.sh docker`);
    return;
  }
  const state = await swarmState();
  if (state !== 'active') {
    if (mustRun) assert.fail(`the daemon is not in a swarm (${state})`);
    t.skip(`the daemon is not in a swarm (${state}); docker swarm init --advertise-addr 127.0.0.1`);
    return;
  }
  await ensureImage();
  const name = `gantry-it-${RUN_ID}`;
  t.after(async () => {
    await docker('service', 'rm', name).catch(() => {});
  });

  const msgs: ConfigMessage[] = [];
  const provider = new SwarmProvider({ endpoint: DOCKER_HOST, constraints: `Label(\`gantry.test\`, \`${RUN_ID}\`)`, refreshSeconds: 60 });
  t.after(() => provider.stop());
  await provider.start((m) => msgs.push(m), silentLogger);
  const last = (): ConfigMessage | undefined => msgs.at(-1);
  const dump = (): unknown => last()?.config;
  const service = name.replace(/[^A-Za-z0-9]+/g, '-');
  const want = (n: number): string[] => Array.from({ length: n }, (_, i) => `http://127.0.0.1:${BASE + i + 1}`);

  const t0 = performance.now();
  await docker(
    'service', 'create', '--detach', '--no-resolve-image', '--name', name, '--network', 'host', '--init',
    '--label', `gantry.test=${RUN_ID}`, '--label', 'com.df.notify=true', '--label', 'com.df.servicePath=/swarm',
    '--label', `com.df.port=${BASE}`, '--label', `gantry.docker.portbase=${BASE}`,
    '-e', 'SLOT={{.Task.Slot}}', IMAGE, 'sh', '-c', `exec httpd -f -p 127.0.0.1:$((${BASE}+SLOT)) -h /www`,
  );
  await until(() => urls(last(), service).join() === want(1).join(), 20_000, 'one task', dump);
  t.diagnostic(`service create → routed ${(performance.now() - t0).toFixed(0)} ms`);
  assert.deepEqual(last()!.config.http!.routers![service], { rule: 'PathPrefix(`/swarm`)', service });
  assert.match(await fetch(want(1)[0]!).then((r) => r.text()), /hello from busybox/);

  const t1 = performance.now();
  await docker('service', 'scale', '--detach', `${name}=3`);
  await until(() => urls(last(), service).join() === want(3).join(), 20_000, 'three tasks', dump);
  t.diagnostic(`scale 1 → 3 routed ${(performance.now() - t1).toFixed(0)} ms`);

  const t2 = performance.now();
  await docker('service', 'scale', '--detach', `${name}=1`);
  await until(() => urls(last(), service).join() === want(1).join(), 20_000, 'back to one task', dump);
  t.diagnostic(`scale 3 → 1 routed ${(performance.now() - t2).toFixed(0)} ms`);
});
