/**
 * rateLimit.redis through the real bin/gantry: two Gantry processes (two replicas) share one
 * limit through the test bed's Redis; with Redis gone, each replica keeps limiting on its own and
 * says so, and takes the shared limit up again when Redis is back.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import net from 'node:net';
import { freePort, startBackend, startWithFile, tempDir, waitFor, type Backend, type GantryProcess } from '../helpers/gantry.js';
import { get } from '../helpers/http.js';
import { loadTestbed, requireComponent } from '../helpers/testbed.js';

function yaml(backend: string, redis: string, name: string): string {
  return `http:
  routers:
    r: { rule: Host(\`rl.test\`), service: s, middlewares: [${name}] }
  middlewares:
    ${name}:
      rateLimit:
        average: 1
        period: 1m
        burst: 4
        redis: ${redis}
  services:
    s: { loadBalancer: { servers: [{ url: "${backend}" }] } }
`;
}

async function statuses(g: GantryProcess, n: number): Promise<number[]> {
  const out: number[] = [];
  for (let i = 0; i < n; i++) out.push((await get(g.url('/'), { host: 'rl.test' })).status);
  return out;
}

const ok = (s: number[]) => s.filter((x) => x === 200).length;

describe('rateLimit.redis', { skip: requireComponent('redis') }, () => {
  let backend: Backend;
  before(async () => {
    backend = await startBackend('b');
  });
  after(async () => {
    await backend.close();
  });

  it('two replicas share one limit', async () => {
    const { redis } = loadTestbed();
    // A middleware name of its own: the bucket key is rate:<middleware>@file:<client IP>.
    const name = `shared-${process.pid}-${Date.now()}`;
    const conf = `{ endpoints: ["${redis!.address}"], username: ${redis!.user}, password: ${redis!.password}, db: 1, poolSize: 2 }`;
    const one = await startWithFile(yaml(backend.url, conf, name));
    const two = await startWithFile(yaml(backend.url, conf, name));
    try {
      for (const x of [one, two]) await x.g.waitForLog((l) => l.msg === 'configuration applied' && Number(l['routers']) > 0);
      const a = await statuses(one.g, 3);
      const b = await statuses(two.g, 3);
      // Burst 4 over both replicas, refilling one a minute: 4 of the 6 pass, in order.
      assert.deepEqual([...a, ...b], [200, 200, 200, 200, 429, 429]);
      const refused = await get(two.g.url('/'), { host: 'rl.test' });
      assert.equal(refused.status, 429);
      assert.ok(Number(refused.headers['retry-after']) > 0);
    } finally {
      await one.cleanup();
      await two.cleanup();
    }
  });

  it('without Redis each replica limits alone, and the shared limit comes back with Redis', async () => {
    const tmp = tempDir('gantry-redis-');
    const port = await freePort();
    let server: ChildProcess | null = null;
    const startRedis = async () => {
      server = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', tmp.dir], { stdio: 'ignore' });
      const s = server;
      await waitFor(async () => {
        if (s.exitCode !== null) throw new Error('redis-server exited');
        try {
          await new Promise<void>((resolve, reject) => {
            const c = net.connect(port, '127.0.0.1', () => {
              c.end();
              resolve();
            });
            c.on('error', reject);
          });
          return true;
        } catch {
          return false;
        }
      }, 5000);
    };
    const stopRedis = async () => {
      const s = server;
      if (s === null || s.exitCode !== null) return;
      const gone = new Promise<void>((r) => s.once('exit', () => r()));
      s.kill('SIGKILL');
      await gone;
    };
    await startRedis();
    const { g, cleanup } = await startWithFile(yaml(backend.url, `{ endpoints: ["127.0.0.1:${port}"], readTimeout: 500ms, dialTimeout: 500ms }`, 'outage'));
    try {
      await g.waitForLog((l) => l.msg === 'configuration applied' && Number(l['routers']) > 0);
      assert.equal(ok(await statuses(g, 2)), 2);
      await stopRedis();
      // The replica's own buckets start full: 4 more pass, then it refuses — never unlimited.
      const during = await statuses(g, 6);
      assert.deepEqual(during, [200, 200, 200, 200, 429, 429]);
      await g.waitForLog((l) => l.msg === 'rate limit: redis unavailable; limiting per replica until it answers');
      await startRedis();
      // Redis came back empty: its bucket is full again, so requests pass once it is used again.
      await waitFor(async () => (await get(g.url('/'), { host: 'rl.test' })).status === 200, 10_000);
      await g.waitForLog((l) => l.msg === 'rate limit: redis answers again; limits are shared across replicas');
    } finally {
      await cleanup();
      await stopRedis();
      tmp.cleanup();
    }
  });
});
