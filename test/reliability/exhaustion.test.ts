/**
 * CPU and memory bounds against hostile clients, through the real entrypoint: a flood of wrong
 * basicAuth passwords does not slow other routes; dashboard misses, oversized mirror bodies and
 * oversized forwardAuth answers do not grow the process; metrics series follow the configuration.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { Readable } from 'node:stream';
import bcrypt from 'bcryptjs';
import { request } from 'undici';
import { startBackend, startWithFile, waitFor, writeAtomic, type Backend, type GantryProcess, stopsAtOnce } from '../helpers/gantry.js';
import { agent, get } from '../helpers/http.js';

function rssMiB(pid: number): number {
  return Number(/VmRSS:\s+(\d+)/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'))![1]) / 1024;
}

/** peakGrowth runs `work` while sampling a process's RSS every 10 ms; returns the rise in MiB. */
async function peakGrowth(pid: number, work: () => Promise<void>): Promise<number> {
  const start = rssMiB(pid);
  let peak = start;
  const t = setInterval(() => (peak = Math.max(peak, rssMiB(pid))), 10);
  try {
    await work();
  } finally {
    clearInterval(t);
  }
  return Math.max(peak, rssMiB(pid)) - start;
}

function percentile(values: number[], p: number): number {
  const s = [...values].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]!;
}

describe('exhaustion bounds', { timeout: 60000 }, () => {
  let g: GantryProcess;
  let cleanup: () => Promise<void>;
  let file: string;
  let app: Backend;
  let mirror: Backend;
  let bigAuth: Backend;
  let yaml: string;

  before(async () => {
    app = await startBackend('app', (req, res) => {
      let n = 0;
      req.on('data', (c: Buffer) => (n += c.length));
      req.on('end', () => res.end(`app got ${n}`));
    });
    mirror = await startBackend('mirror', (req, res) => {
      let n = 0;
      req.on('data', (c: Buffer) => (n += c.length));
      req.on('end', () => res.end(`mirror got ${n}`));
    });
    // An auth server whose refusal carries 64 MiB.
    bigAuth = await startBackend('big-auth', (_req, res) => {
      res.writeHead(401, { 'content-type': 'text/plain' });
      const chunk = Buffer.alloc(1 << 20, 0x78);
      let sent = 0;
      const pump = () => {
        while (sent < 64) {
          sent++;
          if (!res.write(chunk)) return void res.once('drain', pump);
        }
        res.end();
      };
      res.on('error', () => {});
      pump();
    });
    const hash = bcrypt.hashSync('right', 10);
    yaml = `http:
  routers:
    open:
      rule: Host(\`open.test\`)
      service: app
    guarded:
      rule: Host(\`guarded.test\`)
      service: app
      middlewares: [users]
    mirrored:
      rule: Host(\`mirrored.test\`)
      service: mirrored
    bigauth:
      rule: Host(\`bigauth.test\`)
      service: app
      middlewares: [bigauth]
  middlewares:
    users:
      basicAuth: { users: ["alice:${hash}"] }
    bigauth:
      forwardAuth: { address: "${bigAuth.url}/check" }
  services:
    app: { loadBalancer: { servers: [{ url: "${app.url}" }] } }
    mirrorsrv: { loadBalancer: { servers: [{ url: "${mirror.url}" }] } }
    mirrored:
      mirroring:
        service: app
        mirrors: [{ name: mirrorsrv, percent: 100 }]
`;
    ({ g, cleanup, file } = await startWithFile(yaml, ['--api.dashboard=true', '--metrics.prometheus=true', '--metrics.prometheus.addRoutersLabels=true']));
  });
  after(async () => {
    await cleanup?.();
    for (const b of [app, mirror, bigAuth]) await b?.close();
  });

  it('keeps other routes fast while a flood of wrong basicAuth passwords is refused', async () => {
    // Warm the open route and the password thread.
    for (let i = 0; i < 20; i++) assert.equal((await get(g.url('/'), { host: 'open.test' })).status, 200);
    const good = `Basic ${Buffer.from('alice:right').toString('base64')}`;
    assert.equal((await get(g.url('/'), { host: 'guarded.test', authorization: good })).status, 200);

    const statuses = new Map<number, number>();
    let stop = false;
    let n = 0;
    const flooder = async () => {
      while (!stop) {
        const bad = `Basic ${Buffer.from(`alice:guess-${n++}`).toString('base64')}`;
        const r = await get(g.url('/'), { host: 'guarded.test', authorization: bad });
        statuses.set(r.status, (statuses.get(r.status) ?? 0) + 1);
      }
    };
    const flood = Array.from({ length: 48 }, flooder);
    const latencies: number[] = [];
    const until = Date.now() + 3000;
    while (Date.now() < until) {
      const t = performance.now();
      assert.equal((await get(g.url('/'), { host: 'open.test' })).status, 200);
      latencies.push(performance.now() - t);
    }
    stop = true;
    await Promise.all(flood);
    const p99 = percentile(latencies, 99);
    process.stderr.write(`basicAuth flood: ${[...statuses].map(([s, c]) => `${c}×${s}`).join(', ')}; open route ${latencies.length} requests, p50 ${percentile(latencies, 50).toFixed(1)} ms, p99 ${p99.toFixed(1)} ms\n`);
    assert.deepEqual([...statuses.keys()].filter((s) => s !== 401 && s !== 429), [], 'the flood gets only 401 and 429');
    assert.ok((statuses.get(429) ?? 0) > 0, 'beyond the queue, checks are refused at once');
    assert.ok(p99 < 150, `the open route's p99 is ${p99.toFixed(1)} ms during the flood`);
    // The right password still works once the flood is over.
    assert.equal((await get(g.url('/'), { host: 'guarded.test', authorization: good })).status, 200);
  });

  it('does not remember dashboard paths that do not exist', async () => {
    const pid = g.proc.pid!;
    for (let i = 0; i < 200; i++) await get(g.api(`/dashboard/warm-${i}.js`));
    const pad = 'x'.repeat(4000);
    const growth = await peakGrowth(pid, async () => {
      const one = async (k: number) => {
        for (let i = k; i < 20_000; i += 16) assert.equal((await get(g.api(`/dashboard/${pad}-${i}.js`))).status, 404);
      };
      await Promise.all(Array.from({ length: 16 }, (_, k) => one(k)));
    });
    process.stderr.write(`dashboard: 20,000 distinct 4 KB misses, RSS +${growth.toFixed(1)} MiB\n`);
    // Remembering them would hold 20,000 keys of 4 KB: 80 MB.
    assert.ok(growth < 24, `RSS grew by ${growth.toFixed(1)} MiB`);
    assert.equal((await get(g.api('/dashboard/'))).status, 200);
  });

  it('does not hold a large body for mirrors: the main service gets it, mirrors do not', async () => {
    const size = 48 << 20;
    const chunk = Buffer.alloc(64 << 10, 0x61);
    const before = mirror.seen.length;
    const growth = await peakGrowth(g.proc.pid!, async () => {
      const body = Readable.from((function* () {
        for (let s = 0; s < size; s += chunk.length) yield chunk;
      })());
      const r = await request(g.url('/upload'), { method: 'POST', headers: { host: 'mirrored.test' }, body, dispatcher: agent });
      assert.equal(r.statusCode, 200);
      assert.equal(await r.body.text(), `app got ${size}`);
    });
    process.stderr.write(`mirroring: 48 MiB POST, RSS +${growth.toFixed(1)} MiB\n`);
    assert.equal(mirror.seen.length, before, 'a body over the default maxBodySize is not mirrored');
    assert.ok(growth < 24, `RSS grew by ${growth.toFixed(1)} MiB`);
    // A small body is still mirrored.
    const r = await get(g.url('/small'), { host: 'mirrored.test' }, 'POST', 'hello');
    assert.equal(r.body, 'app got 5');
    await waitFor(() => mirror.seen.length === before + 1, 3000);
  });

  it('refuses a forwardAuth answer larger than maxResponseBodySize without reading it whole', async () => {
    let r: Awaited<ReturnType<typeof get>> | undefined;
    const growth = await peakGrowth(g.proc.pid!, async () => {
      r = await get(g.url('/'), { host: 'bigauth.test' });
    });
    process.stderr.write(`forwardAuth: 64 MiB auth answer, RSS +${growth.toFixed(1)} MiB\n`);
    assert.equal(r!.status, 401);
    assert.ok(r!.body.length < 100, 'the oversized body is not passed on');
    assert.ok(growth < 24, `RSS grew by ${growth.toFixed(1)} MiB`);
  });

  it('drops the metric series of routers that are gone', async () => {
    const series = async () => {
      const text = (await get(g.api('/metrics'))).body;
      return new Set([...text.matchAll(/^gantry_router_requests_total\{[^}]*router="([^"]+)"/gm)].map((m) => m[1]!));
    };
    for (let round = 0; round < 4; round++) {
      const names = Array.from({ length: 25 }, (_, i) => `churn${round}x${i}`);
      const extra = names.map((n) => `    ${n}:\n      rule: Host(\`${n}.test\`)\n      service: app\n`).join('');
      writeAtomic(file, yaml.replace('  routers:\n', `  routers:\n${extra}`));
      await waitFor(async () => (await get(g.url('/'), { host: `${names[24]}.test` })).status === 200, 5000);
      for (const n of names) assert.equal((await get(g.url('/'), { host: `${n}.test` })).status, 200);
    }
    assert.ok([...(await series())].some((r) => r.startsWith('churn3')), 'the routers in use have series');
    // One more change, so that the last round's routers are gone as well.
    writeAtomic(file, yaml.replace('open.test', 'open2.test'));
    await waitFor(async () => (await get(g.url('/'), { host: 'open2.test' })).status === 200, 5000);
    const left = [...(await series())].filter((r) => r.startsWith('churn'));
    assert.deepEqual(left, [], 'no series of removed routers remain');
  });

  it('leaves no request in flight: SIGTERM exits at once', async () => {
    const r = await stopsAtOnce(g);
    assert.equal(r.code, 0);
    assert.equal(r.waitedForGrace, false, 'the drain waited for its grace period: a request was still counted in flight');
    assert.ok(r.ms < 3000, `exited ${r.ms} ms after SIGTERM`);
  });
});
