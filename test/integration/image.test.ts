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
 * Traffic goes to 127.0.0.1 only: the host-network container listens on 127.0.0.1:19700–19709; the
 * bridge one is only asked from inside itself (`docker exec`, its own loopback). Containers carry
 * run-unique names and Gantry is constrained to a run label; the image and every image its build
 * made are removed at the end.
 *
 *   npx tsc -p tsconfig.json && node --test dist/test/integration/image.test.js
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { statSync } from 'node:fs';
import { waitFor } from '../helpers/gantry.js';
import { get } from '../helpers/http.js';
import { requireComponent } from '../helpers/testbed.js';
import { docker, dockerBed, EventRecorder, hostRun, Resources, RUN_ID } from '../fixtures/docker/testbed.js';
import { buildGantryImage, containerLogs, node24Base, type BuiltImage } from '../fixtures/docker/image.js';

const skip = requireComponent('docker');
const bed = dockerBed();
const WEB = 19700;
const API = 19701;
const BACKEND = 19702;

/** health is the container's health status as Docker reports it (starting, healthy, unhealthy). */
async function health(name: string): Promise<string> {
  return docker('inspect', '-f', '{{if .State.Health}}{{.State.Health.Status}}{{else}}none{{end}}', name);
}

describe('the Gantry image', { skip }, () => {
  const res = new Resources();
  let image: BuiltImage;

  before(async () => {
    image = await buildGantryImage(`gantry-it-${RUN_ID}:image`);
  });

  after(async () => {
    await res.cleanup();
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
});
