/**
 * Gantry's container image (issue 12): the real Dockerfile built on the test bed without network
 * (FROM the test bed's Node 24 base, with a context that brings node_modules: see
 * test/fixtures/docker/image.ts), then run as users run it:
 * - `--network host`, the Docker socket mounted read-only and its group added: a labelled container
 *   is routed within 1 s of its start event, the container reports `healthy` (the image's own
 *   HEALTHCHECK, `gantry healthcheck`), and it runs as uid 1000;
 * - with no arguments in a network namespace of its own (the default bridge): as uid 1000 it listens
 *   on :80 and :443 (Docker sets ip_unprivileged_port_start=0 there), and `docker stop` ends it with 0.
 *
 * - examples/compose (seed 003, Traefik's compose tutorial with Gantry): `docker-compose up -d
 *   --scale web=3` of its test-bed variant, the three replicas answering in turn;
 * - examples/swarm (seed 001, Docker Flow Proxy's walk-through): Gantry as a Swarm service, go-demo
 *   registered with the reconfigure API, `docker service scale go-demo=5`, the five tasks in turn;
 *   on the host network (overlay task addresses are 10.x), each task on PORT_BASE + slot.
 * One file, so that the image is built once (about 30 s here).
 *
 * Traffic goes to 127.0.0.1 only: host-network containers listen on 127.0.0.1:19700–19759, the
 * compose replicas publish on ephemeral 127.0.0.1 ports, and the bridge container is only asked
 * from inside itself (`docker exec`, its own loopback). Containers, services and compose projects
 * carry run-unique names and Gantry is constrained to them; they, the image and every image its
 * build made are removed at the end.
 *
 *   npx tsc -p tsconfig.json && node --test dist/test/integration/image.test.js
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { statSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { Client } from 'undici';
import { repoRoot, waitFor } from '../helpers/gantry.js';
import { get } from '../helpers/http.js';
import { requireComponent } from '../helpers/testbed.js';
import { docker, dockerBed, EventRecorder, hostRun, Resources, RUN_ID } from '../fixtures/docker/testbed.js';
import { buildGantryImage, containerLogs, node24Base, type BuiltImage } from '../fixtures/docker/image.js';

const skip = requireComponent('docker');
const bed = dockerBed();
const WEB = 19700;
const API = 19701;
const BACKEND = 19702;
const COMPOSE_WEB = 19720;
const COMPOSE_API = 19721;
const SWARM_WEB = 19740;
const SWARM_API = 19741;
const GO_DEMO_BASE = 19750;
const run = promisify(execFile);

/** health is the container's health status as Docker reports it (starting, healthy, unhealthy). */
async function health(name: string): Promise<string> {
  return docker('inspect', '-f', '{{if .State.Health}}{{.State.Health.Status}}{{else}}none{{end}}', name);
}

/** tasksGone waits until no container of this Swarm service is left, running or exited. */
async function tasksGone(service: string): Promise<void> {
  await waitFor(async () => (await docker('ps', '-aq', '--filter', `label=com.docker.swarm.service.name=${service}`)) === '', 30_000, () => `task containers of ${service} still exist`).catch(() => {});
}

/** Compose runs docker-compose on examples/compose/docker-compose.testbed.yml as one project. */
class Compose {
  readonly env: NodeJS.ProcessEnv;
  constructor(readonly project: string, vars: Record<string, string>) {
    this.env = { ...process.env, DOCKER_HOST: bed.host, COMPOSE_PROJECT_NAME: project, ...vars };
  }

  async run(...args: string[]): Promise<string> {
    const file = path.join(repoRoot, 'examples', 'compose', 'docker-compose.testbed.yml');
    const { stdout, stderr } = await run('docker-compose', ['-f', file, ...args], { env: this.env, timeout: 120_000 });
    return stdout + stderr;
  }

  async down(): Promise<void> {
    await this.run('down', '--remove-orphans', '--timeout', '10').catch(() => {});
  }
}

/**
 * backendsInTurn sends `n` GET requests one after another on one connection (so to one Gantry
 * worker: each worker balances on its own) and returns the x-backend of each answer.
 */
async function backendsInTurn(url: string, n: number, host?: string): Promise<string[]> {
  const u = new URL(url);
  const client = new Client(u.origin, { pipelining: 1 });
  try {
    const out: string[] = [];
    for (let i = 0; i < n; i++) {
      const r = await client.request({ method: 'GET', path: u.pathname, headers: host ? { host } : {}, headersTimeout: 10_000, bodyTimeout: 10_000 });
      await r.body.text();
      out.push(r.statusCode === 200 ? String(r.headers['x-backend']) : `status ${r.statusCode}`);
    }
    return out;
  } finally {
    await client.close();
  }
}

/** inTurn says whether `seq` cycles through `n` distinct backends, each window of n consecutive answers all different. */
function inTurn(seq: string[], n: number): boolean {
  if (new Set(seq).size !== n) return false;
  for (let i = 0; i + n <= seq.length; i++) if (new Set(seq.slice(i, i + n)).size !== n) return false;
  return true;
}

describe('the Gantry image', { skip }, () => {
  const res = new Resources();
  let image: BuiltImage;
  let compose: Compose | undefined;

  before(async () => {
    image = await buildGantryImage(`gantry-it-${RUN_ID}:image`);
  });

  after(async () => {
    await compose?.down();
    await res.cleanup();
    // Task containers of removed services linger a few seconds; the image can go only after them.
    for (const svc of res.services) await tasksGone(svc);
    await image?.remove();
  });

  it('builds from the Dockerfile without network: multi-stage, non-root, HEALTHCHECK, ports, entrypoint', async (t) => {
    const baseBytes = Number(await docker('image', 'inspect', '-f', '{{.Size}}', node24Base()));
    t.diagnostic(`docker build ${(image.buildMs / 1000).toFixed(1)} s; image ${(image.sizeBytes / 1e6).toFixed(0)} MB, of which the base ${(baseBytes / 1e6).toFixed(0)} MB`);
    assert.match(image.log, /node_modules came with the build context: not running npm ci/);
    const cfg = JSON.parse(await docker('image', 'inspect', '-f', '{{json .Config}}', image.tag)) as {
      User: string; ExposedPorts: Record<string, unknown>; Entrypoint: string[]; Cmd: string[]; WorkingDir: string;
      Healthcheck: { Test: string[] }; Env: string[];
    };
    assert.equal(cfg.User, '1000:1000');
    assert.deepEqual(Object.keys(cfg.ExposedPorts).sort(), ['443/tcp', '80/tcp', '8080/tcp']);
    assert.deepEqual(cfg.Entrypoint, ['gantry']);
    assert.deepEqual(cfg.Cmd, ['run']);
    assert.deepEqual(cfg.Healthcheck.Test, ['CMD', 'gantry', 'healthcheck']);
    assert.equal(cfg.WorkingDir, '/data');
    // Production dependencies only: no compiler, no bundler, no test code in the runtime stage.
    const listing = await docker('run', '--rm', '--entrypoint', 'sh', image.tag, '-c', 'ls /app/node_modules /app/node_modules/@typescript /app/dist; ls /app/node_modules/undici >/dev/null && echo undici-present');
    assert.doesNotMatch(listing, /^(typescript|esbuild|preact|playwright-core|node)$/m);
    assert.doesNotMatch(listing, /typescript-linux-x64/);
    assert.doesNotMatch(listing, /^test$/m);
    assert.match(listing, /undici-present/);
    assert.match(await docker('run', '--rm', image.tag, 'version'), /Node\.js: v24\./);
  });

  it('--network host, socket read-only: routes a labelled container within 1 s, reports healthy, runs as uid 1000', async (t) => {
    const events = await EventRecorder.start({ type: ['container'], label: [`gantry.it=${RUN_ID}`] });
    try {
      const g = res.container('gantry');
      const socketGid = String(statSync(bed.socketPath).gid);
      const t0 = performance.now();
      await docker(
        'run', '-d', '--name', g, '--network', 'host',
        '-v', `${bed.socketPath}:/var/run/docker.sock:ro`, '--group-add', socketGid,
        // The image's HEALTHCHECK, checked every second instead of every 10 s.
        '--health-interval', '1s', '--health-start-period', '30s',
        '-e', `GANTRY_API_ADDRESS=127.0.0.1:${API}`,
        image.tag, 'run', `--entrypoints.web.address=127.0.0.1:${WEB}`, '--providers.docker',
        `--providers.docker.constraints=Label(\`gantry.it\`, \`${RUN_ID}\`)`,
      );
      await waitFor(async () => (await health(g)) === 'healthy', 30_000, () => `${g} did not become healthy`);
      t.diagnostic(`docker run → healthy ${(performance.now() - t0).toFixed(0)} ms`);
      const ping = await get(`http://127.0.0.1:${API}/ping`);
      assert.equal(ping.status, 200, ping.body);

      const name = res.container('w');
      const id = await docker(
        ...hostRun(name, { 'gantry.it': RUN_ID, 'gantry.http.routers.w.rule': 'Host(`w.image.test`)', 'gantry.http.services.w.loadbalancer.server.port': String(BACKEND) }),
        bed.busybox, 'httpd', '-f', '-p', `127.0.0.1:${BACKEND}`, '-h', '/www',
      );
      let answered = 0;
      await waitFor(async () => {
        const r = await get(`http://127.0.0.1:${WEB}/`, { host: 'w.image.test' });
        if (r.status !== 200) return false;
        answered = performance.now();
        assert.match(r.body, /hello from busybox/);
        return true;
      }, 5000, () => 'w.image.test never answered');
      const started = events.at('start', id);
      assert.ok(started !== undefined, 'the start event was seen');
      t.diagnostic(`start event → first routed answer ${(answered - started).toFixed(0)} ms (contract: < 1000 ms)`);
      assert.ok(answered - started < 1000, `start event → first answer ${(answered - started).toFixed(0)} ms`);

      // Non-root: the image's user, and the process that serves.
      const status = await docker('exec', g, 'cat', '/proc/1/status');
      assert.match(status, /^Uid:\s+1000\s+1000\s+1000\s+1000$/m);
      assert.equal(await docker('exec', g, 'id', '-u'), '1000');
      const mounts = JSON.parse(await docker('inspect', '-f', '{{json .Mounts}}', g)) as Array<{ Destination: string; RW: boolean }>;
      assert.deepEqual(mounts.map((m) => [m.Destination, m.RW]), [['/var/run/docker.sock', false]]);
      assert.equal(await health(g), 'healthy');
    } finally {
      await events.stop();
    }
  });

  it('with no arguments in its own network namespace: uid 1000 listens on :80 and :443, docker stop exits 0', async (t) => {
    const g = res.container('default');
    // No socket, no file: the docker provider is off and nothing is routed; the defaults are the point.
    await docker('run', '-d', '--name', g, '--health-interval', '1s', image.tag);
    await waitFor(async () => (await health(g)) === 'healthy', 30_000, () => 'the default container never became healthy');
    const logs = await containerLogs(g);
    const ports = [...logs.matchAll(/entrypoint listening entryPoint=(\w+) address=(\S+)/g)].map((m) => `${m[1]}=${m[2]}`);
    assert.ok(ports.includes('web=:80') && ports.includes('websecure=:443'), `entrypoints: ${ports.join(' ')}\n${logs}`);
    // Asked from inside the container, on its own loopback: :80 answers (404, nothing is routed).
    const answer = await docker('exec', g, 'node', '-e', "fetch('http://127.0.0.1:80/').then(async (r) => console.log(r.status, (await r.text()).trim()))");
    assert.match(answer, /^404 /);
    const t0 = performance.now();
    await docker('stop', '-t', '15', g);
    const stopMs = performance.now() - t0;
    assert.equal(await docker('inspect', '-f', '{{.State.ExitCode}}', g), '0');
    t.diagnostic(`docker stop ${stopMs.toFixed(0)} ms, exit code 0`);
    assert.ok(stopMs < 12_000, `stopped within the grace period (${stopMs.toFixed(0)} ms)`);
  });

  it('examples/compose: docker-compose up -d --scale web=3, the three replicas answer in turn', async (t) => {
    const project = `gantryit${process.pid}`;
    compose = new Compose(project, {
      GANTRY_IMAGE: image.tag, WEB_IMAGE: bed.node, DOCKER_GID: String(statSync(bed.socketPath).gid),
      GANTRY_WEB_PORT: String(COMPOSE_WEB), GANTRY_API_PORT: String(COMPOSE_API),
    });
    const t0 = performance.now();
    await compose.run('up', '-d', '--no-build', '--scale', 'web=3');
    const upMs = performance.now() - t0;
    const ids = (await compose.run('ps', '-q', 'web')).split('\n').map((l) => l.trim()).filter((l) => /^[0-9a-f]{64}$/.test(l));
    assert.equal(ids.length, 3, 'three web replicas');
    const want = ids.map((id) => `${id.slice(0, 12)}:3000`).sort();
    const answer = async (): Promise<string> => {
      const r = await get(`http://127.0.0.1:${COMPOSE_WEB}/`, { host: 'web.pungy.local' });
      return r.status === 200 ? String(r.headers['x-backend']) : `status ${r.status}`;
    };
    const seen = new Set<string>();
    await waitFor(async () => {
      seen.add(await answer());
      return want.every((w) => seen.has(w));
    }, 30_000, () => `not every replica answered: ${[...seen].join(', ')}`);
    t.diagnostic(`docker-compose up ${upMs.toFixed(0)} ms; all three replicas answering ${(performance.now() - t0).toFixed(0)} ms after it began`);
    // One keep-alive connection reaches one Gantry worker, whose round robin takes them in turn.
    const seq = await backendsInTurn(`http://127.0.0.1:${COMPOSE_WEB}/`, 12, 'web.pungy.local');
    t.diagnostic(`12 requests: ${seq.map((s) => s.slice(0, 4)).join(' ')}`);
    assert.ok(inTurn(seq, 3), `in turn: ${seq.join(' ')}`);
    assert.deepEqual([...new Set(seq)].sort(), want);
    const routers = JSON.parse((await get(`http://127.0.0.1:${COMPOSE_API}/api/http/routers`)).body) as Array<{ name: string; rule: string; status: string }>;
    assert.deepEqual(routers.map((r) => [r.name, r.rule, r.status]), [['webserver@docker', 'Host(`web.pungy.local`)', 'enabled']], 'the Traefik v1 labels as written');
    await waitFor(async () => (await compose!.run('ps', 'proxy')).includes('(healthy)'), 30_000, () => 'the proxy never reported healthy');
    await compose.down();
    compose = undefined;
  });

  it('examples/swarm: Gantry as a service, go-demo registered by the reconfigure API, docker service scale go-demo=5', async (t) => {
    const proxy = res.service('proxy');
    const goDemo = res.service('go-demo');
    const t0 = performance.now();
    // examples/swarm/README.md's `docker service create --name proxy …`, on the host network.
    await docker(
      'service', 'create', '--detach', '--no-resolve-image', '--name', proxy, '--network', 'host',
      '--mount', `type=bind,source=${bed.socketPath},target=/var/run/docker.sock,readonly`, '--group', String(statSync(bed.socketPath).gid),
      '--health-interval', '1s', '-e', `GANTRY_API_ADDRESS=127.0.0.1:${SWARM_API}`,
      image.tag, 'run', `--entrypoints.web.address=127.0.0.1:${SWARM_WEB}`, '--providers.swarm',
      `--providers.swarm.constraints=Label(\`gantry.it\`, \`${RUN_ID}\`)`,
    );
    // go-demo: the test bed's echo server, task N on GO_DEMO_BASE + N (no virtual IP on the host network).
    await docker(
      'service', 'create', '--detach', '--no-resolve-image', '--name', goDemo, '--network', 'host', '--init',
      '--label', `gantry.it=${RUN_ID}`, '--label', `gantry.docker.portbase=${GO_DEMO_BASE}`,
      '-e', 'NAME=go-demo', '-e', `PORT_BASE=${GO_DEMO_BASE}`, '-e', 'SLOT={{.Task.Slot}}', bed.node,
    );
    await waitFor(async () => (await docker('service', 'ps', '--filter', 'desired-state=running', '--format', '{{.CurrentState}}', proxy)).startsWith('Running'), 60_000, () => 'the proxy task never ran (it runs once healthy)');
    t.diagnostic(`proxy service create → task running (healthy) ${(performance.now() - t0).toFixed(0)} ms`);
    // The seed's curl: reconfigure?serviceName=go-demo&servicePath=/demo (no port: the tasks are the servers).
    const reconfigure = `http://127.0.0.1:${SWARM_API}/v1/docker-flow-proxy/reconfigure?serviceName=${goDemo}&servicePath=/demo`;
    let reg = { status: 0, body: '' };
    await waitFor(async () => (reg = await get(reconfigure)).status === 200, 30_000, () => `reconfigure: ${reg.status} ${reg.body}`);
    assert.equal(JSON.parse(reg.body).Status, 'OK');
    const answer = async (): Promise<string> => {
      const r = await get(`http://127.0.0.1:${SWARM_WEB}/demo/hello`);
      return r.status === 200 ? String(r.headers['x-backend']) : `status ${r.status}`;
    };
    await waitFor(async () => (await answer()) === `go-demo:${GO_DEMO_BASE + 1}`, 20_000, () => 'go-demo never answered at /demo/hello');
    const t1 = performance.now();
    await docker('service', 'scale', '--detach', `${goDemo}=5`);
    const want = [1, 2, 3, 4, 5].map((i) => `go-demo:${GO_DEMO_BASE + i}`);
    const seen = new Set<string>();
    await waitFor(async () => {
      seen.add(await answer());
      return want.every((w) => seen.has(w));
    }, 30_000, () => `not every task answered: ${[...seen].join(', ')}`);
    t.diagnostic(`docker service scale go-demo=5: all five answering ${(performance.now() - t1).toFixed(0)} ms after it began`);
    const seq = await backendsInTurn(`http://127.0.0.1:${SWARM_WEB}/demo/hello`, 15);
    t.diagnostic(`15 requests: ${seq.map((s) => s.split(':')[1]).join(' ')}`);
    assert.ok(inTurn(seq, 5), `in turn: ${seq.join(' ')}`);
  });
});
