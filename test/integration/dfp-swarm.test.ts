/**
 * Swarm tasks as the instance registry of the Docker Flow Proxy API (issue 5): with
 * `--providers.swarm` on, `reconfigure?serviceName=<svc>&servicePath=/x` without a port is served
 * by the running tasks of the Swarm service of that name, and follows its scaling without another
 * reconfigure.
 *
 * The service runs `--network host --init` on the test bed's single-node swarm, each task on
 * 127.0.0.1 at PORT_BASE + slot (ports 18741–18743, `gantry.docker.portbase`). It carries no label
 * the Swarm provider routes by (Gantry is constrained to another label value), so every route comes
 * from the registration. The service is removed by name at the end.
 *
 *   npx tsc -p tsconfig.json && node --test dist/test/integration/dfp-swarm.test.js
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { startGantry, tempDir, waitFor, type GantryProcess } from '../helpers/gantry.js';
import { get, getJSON } from '../helpers/http.js';
import { requireComponent } from '../helpers/testbed.js';
import { docker, dockerBed, Resources, RUN_ID } from '../fixtures/docker/testbed.js';

const skip = requireComponent('swarm');
const bed = dockerBed();
const BASE = 18740;

describe('Docker Flow Proxy reconfigure without a port, instances from Swarm tasks', { skip }, () => {
  const res = new Resources();
  const tmp = tempDir();
  let g: GantryProcess;
  let name = '';

  const want = (n: number): string[] => Array.from({ length: n }, (_, i) => `dfp:${BASE + i + 1}`);
  const backendOf = async (): Promise<string> => {
    const r = await get(g.url('/x/hello'));
    return r.status === 200 ? String(r.headers['x-backend']) : `status ${r.status}`;
  };
  const servers = async (): Promise<string[]> => {
    const list = (await getJSON<Array<{ name: string; loadBalancer?: { servers?: Array<{ url: string }> } }>>(g.api('/api/http/services'))).json;
    return (list.find((s) => s.name === `${name}@rest`)?.loadBalancer?.servers ?? []).map((s) => s.url).sort();
  };
  /** spread sends `n` requests and counts the answers per backend. */
  const spread = async (n: number): Promise<Map<string, number>> => {
    const seen = new Map<string, number>();
    for (let i = 0; i < n; i++) {
      const who = await backendOf();
      seen.set(who, (seen.get(who) ?? 0) + 1);
    }
    return seen;
  };

  before(async () => {
    g = await startGantry([
      '--entrypoints.web.address=127.0.0.1:0', '--api.address=127.0.0.1:0',
      `--providers.rest.storage=${path.join(tmp.dir, 'gantry-rest.json')}`,
      '--providers.swarm', `--providers.swarm.endpoint=${bed.host}`, '--providers.swarm.refreshSeconds=60',
      // Nothing carries this label value: the Swarm provider routes no service by its labels here.
      `--providers.swarm.constraints=Label(\`gantry.it\`, \`none-${RUN_ID}\`)`,
    ]);
  });

  after(async () => {
    await g?.stop();
    await res.cleanup();
    tmp.cleanup();
  });

  it('balances over the two running tasks of the service named by the registration', async (t) => {
    name = res.service('dfp');
    await docker(
      'service', 'create', '--detach', '--no-resolve-image', '--name', name, '--replicas', '2', '--network', 'host', '--init',
      '--label', `gantry.it=${RUN_ID}`, '--label', `gantry.docker.portbase=${BASE}`,
      '-e', 'NAME=dfp', '-e', `PORT_BASE=${BASE}`, '-e', 'SLOT={{.Task.Slot}}', bed.node,
    );
    const url = g.api(`/v1/docker-flow-proxy/reconfigure?serviceName=${name}&servicePath=/x`);
    // Until the Swarm provider has listed the new service, the API answers 400 (no registry knows it, no port).
    let answer: { status: number; json: Record<string, unknown> } = { status: 0, json: {} };
    const t0 = performance.now();
    await waitFor(async () => {
      answer = await getJSON<Record<string, unknown>>(url);
      return answer.status === 200;
    }, 20_000, () => `reconfigure never accepted: ${answer.status} ${JSON.stringify(answer.json)}`);
    assert.equal(answer.json['Status'], 'OK');
    assert.equal(answer.json['ServiceName'], name);
    await waitFor(async () => (await servers()).length === 2, 20_000, () => `the two tasks never became servers; logs:\n${g.logText()}`);
    assert.deepEqual(await servers(), [`http://127.0.0.1:${BASE + 1}`, `http://127.0.0.1:${BASE + 2}`]);
    // A task Swarm reports running may not listen yet (its process is still starting): until it
    // does, Gantry sends its requests to the other task. So both must have answered once first.
    const answered = new Set<string>();
    await waitFor(async () => {
      answered.add(await backendOf());
      return want(2).every((b) => answered.has(b));
    }, 20_000, () => `not every task answered through Gantry: ${[...answered].join(', ')}`);
    t.diagnostic(`service create → registration served by both tasks ${(performance.now() - t0).toFixed(0)} ms`);
    const seen = await spread(20);
    assert.deepEqual([...seen.keys()].sort(), want(2), JSON.stringify([...seen]));
    for (const n of seen.values()) assert.ok(n >= 5, `balanced over both tasks: ${JSON.stringify([...seen])}`);
  });

  it('a third task gets traffic after a scale, without another reconfigure', async (t) => {
    const t0 = performance.now();
    await docker('service', 'scale', '--detach', `${name}=3`);
    await waitFor(async () => (await servers()).length === 3, 30_000, () => 'the third task never became a server');
    assert.deepEqual(await servers(), [1, 2, 3].map((i) => `http://127.0.0.1:${BASE + i}`));
    const seen = new Set<string>();
    await waitFor(async () => {
      seen.add(await backendOf());
      return want(3).every((b) => seen.has(b));
    }, 20_000, () => `not every task answered: ${[...seen].join(', ')}`);
    t.diagnostic(`scale 2 → 3: all three tasks answered ${(performance.now() - t0).toFixed(0)} ms after the scale command began`);
    const counts = await spread(30);
    assert.deepEqual([...counts.keys()].sort(), want(3), JSON.stringify([...counts]));
  });
});
