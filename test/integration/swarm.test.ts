/**
 * The Swarm provider through the real `gantry run --providers.swarm` against the test bed's
 * single-node swarm (issue 4): a `--network host` service announced by Docker Flow Proxy deploy
 * labels, each task on its own port (`gantry.docker.portbase` + `{{.Task.Slot}}`; host-network tasks
 * have no virtual IP, so every task is a server, as with `lbswarm=false`), scaled 1 → 3 → 1 — the
 * routes follow, and scaling down under load fails no request.
 *
 * Ports 18600–18609 on 127.0.0.1; the service carries `gantry.it=<run>` and Gantry is constrained to
 * it; the service is removed by name at the end.
 *
 *   npx tsc -p tsconfig.json && node --test dist/test/integration/swarm.test.js
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { startGantry, waitFor, type GantryProcess } from '../helpers/gantry.js';
import { get, getJSON } from '../helpers/http.js';
import { requireComponent } from '../helpers/testbed.js';
import { docker, dockerBed, Load, Resources, RUN_ID } from '../fixtures/docker/testbed.js';

const skip = requireComponent('swarm');
const bed = dockerBed();
const BASE = 18600;

describe('Swarm provider through gantry run', { skip }, () => {
  const res = new Resources();
  let g: GantryProcess;
  let name = '';

  const backendOf = async (): Promise<string> => {
    const r = await get(g.url('/sw/x'), { host: 'swarm.test' });
    return r.status === 200 ? String(r.headers['x-backend']) : `status ${r.status}`;
  };
  const servers = async (): Promise<string[]> => {
    const list = (await getJSON<Array<{ name: string; loadBalancer?: { servers?: Array<{ url: string }> } }>>(g.api('/api/http/services'))).json;
    const svc = list.find((s) => s.name.endsWith('@swarm'));
    return (svc?.loadBalancer?.servers ?? []).map((s) => s.url).sort();
  };
  const want = (n: number): string[] => Array.from({ length: n }, (_, i) => `http://127.0.0.1:${BASE + i + 1}`);

  before(async () => {
    g = await startGantry([
      '--entrypoints.web.address=127.0.0.1:0', '--api.address=127.0.0.1:0',
      '--providers.swarm', `--providers.swarm.endpoint=${bed.host}`, '--providers.swarm.refreshSeconds=60',
      `--providers.swarm.constraints=Label(\`gantry.it\`, \`${RUN_ID}\`)`,
    ]);
  });

  after(async () => {
    await g?.stop();
    await res.cleanup();
  });

  it('routes a host-network service with com.df.* deploy labels to each task', async (t) => {
    name = res.service('sw');
    const t0 = performance.now();
    await docker(
      'service', 'create', '--detach', '--no-resolve-image', '--name', name, '--network', 'host', '--init',
      '--label', `gantry.it=${RUN_ID}`, '--label', 'com.df.notify=true', '--label', 'com.df.servicePath=/sw',
      '--label', `com.df.port=${BASE}`, '--label', `gantry.docker.portbase=${BASE}`,
      '-e', 'NAME=sw', '-e', `PORT_BASE=${BASE}`, '-e', 'SLOT={{.Task.Slot}}', bed.node,
    );
    await waitFor(async () => (await backendOf()) === `sw:${BASE + 1}`, 20_000, () => `the first task never answered through Gantry`);
    t.diagnostic(`service create → first routed answer ${(performance.now() - t0).toFixed(0)} ms`);
    assert.deepEqual(await servers(), want(1));
    const routers = (await getJSON<Array<{ name: string; rule: string; status: string }>>(g.api('/api/http/routers'))).json;
    assert.deepEqual(routers.filter((r) => r.name.endsWith('@swarm')).map((r) => [r.rule, r.status]), [['PathPrefix(`/sw`)', 'enabled']]);
  });

  it('follows a scale from 1 to 3: every task takes traffic', async (t) => {
    const t0 = performance.now();
    await docker('service', 'scale', '--detach', `${name}=3`);
    const seen = new Set<string>();
    await waitFor(async () => {
      seen.add(await backendOf());
      return [1, 2, 3].every((i) => seen.has(`sw:${BASE + i}`));
    }, 20_000, () => `not every task answered: ${[...seen].join(', ')}`);
    t.diagnostic(`scale 1 → 3: all three tasks answered ${(performance.now() - t0).toFixed(0)} ms after the scale command began`);
    assert.deepEqual(await servers(), want(3));
  });

  it('follows a scale from 3 to 1 under load without a failed request', async (t) => {
    const load = new Load(g.url('/sw/x'), 'swarm.test', 4);
    let took = 0;
    try {
      await load.until(100);
      const t0 = performance.now();
      await docker('service', 'scale', '--detach', `${name}=1`);
      await waitFor(async () => (await servers()).join() === want(1).join(), 20_000, () => 'the configuration kept more than one task');
      took = performance.now() - t0;
      // Swarm kills the removed tasks about 3 s after the update; keep the load on past that.
      const running = async () => (await docker('ps', '-q', '--filter', `label=com.docker.swarm.service.name=${name}`)).split('\n').filter(Boolean).length;
      await waitFor(async () => (await running()) === 1, 20_000, () => 'the removed tasks never stopped');
      await load.until(100);
    } finally {
      await load.stop();
    }
    const r = load.result;
    t.diagnostic(`scale 3 → 1: out of the configuration after ${took.toFixed(0)} ms; load ${r.total} requests, ${r.failures.length} failed; ${[...r.byBackend].map(([k, v]) => `${k}=${v}`).join(' ')}`);
    assert.deepEqual(r.failures, [], 'no request fails while tasks are removed');
    assert.equal(await backendOf(), `sw:${BASE + 1}`);
  });
});
