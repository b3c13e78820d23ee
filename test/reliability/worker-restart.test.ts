/**
 * --workers=2 when something cannot start. The primary serves too, so a port it cannot bind stops
 * it at once, before any worker is forked. A worker that cannot start (here: a CA file of
 * serversTransport.rootCAs removed after the start) is not forked again and again forever: the
 * primary backs off, gives up after a few tries and exits non-zero, naming the cause. Workers serve
 * the static configuration the primary resolved, never the file as it is now: one forked after the
 * file was edited, even made invalid, serves what the primary serves. A SIGTERM that comes while a
 * worker is still loading stops it at once instead of waiting out the grace period.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import net from 'node:net';
import http from 'node:http';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { gantryBin } from '../helpers/gantry.js';
import { makeCA } from '../fixtures/tls/make-certs.js';

interface Line {
  msg: string;
  cause?: string;
  inMs?: number;
  error?: string;
}

/** run starts `gantry run` with the args and collects its JSON log lines until it exits (at most 30 s). */
function run(args: string[], cwd: string): { proc: ChildProcess; lines: () => Line[]; logs: () => string; exit: Promise<number | null> } {
  const proc = spawn(process.execPath, [gantryBin, 'run', '--log.format=json', ...args], { cwd, stdio: ['ignore', 'ignore', 'pipe'] });
  let logs = '';
  proc.stderr!.setEncoding('utf8').on('data', (d: string) => (logs += d));
  const killer = setTimeout(() => proc.kill('SIGKILL'), 30_000);
  const exit = new Promise<number | null>((r) => proc.once('exit', (c) => {
    clearTimeout(killer);
    r(c);
  }));
  const lines = () => logs.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as Line);
  return { proc, lines, logs: () => logs, exit };
}

async function until(cond: () => boolean, ms: number, what: string): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`${what}: not within ${ms} ms`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe('--workers=2 that cannot start', { timeout: 60000 }, () => {
  it('a port the primary cannot bind: exit 1 naming EADDRINUSE, no worker forked', async () => {
    const squatter = net.createServer();
    await new Promise<void>((r) => squatter.listen(0, '127.0.0.1', r));
    const port = (squatter.address() as net.AddressInfo).port;
    const cwd = fs.mkdtempSync(path.join(os.tmpdir(), 'gantry-cwd-'));
    try {
      const g = run(['--workers=2', `--entrypoints.web.address=127.0.0.1:${port}`, '--api.address=127.0.0.1:0'], cwd);
      const code = await g.exit;
      assert.equal(code, 1, g.logs());
      const failed = g.lines().find((l) => l.msg === 'start failed');
      assert.ok(failed !== undefined, g.logs());
      assert.match(JSON.stringify(failed), /EADDRINUSE/);
      assert.equal(g.lines().filter((l) => l.msg === 'worker exited; starting another').length, 0, g.logs());
    } finally {
      squatter.close();
      fs.rmSync(cwd, { recursive: true, force: true });
    }
  });

  it('a worker that cannot start: back off, then the primary exits 1 naming the cause', async () => {
    const cwd = fs.mkdtempSync(path.join(os.tmpdir(), 'gantry-cwd-'));
    const file = path.join(cwd, 'gantry.yaml');
    const ca = makeCA(cwd);
    fs.writeFileSync(file, `workers: 2\nentryPoints:\n  web:\n    address: 127.0.0.1:0\napi:\n  address: 127.0.0.1:0\nserversTransport:\n  rootCAs: [${ca.caCert}]\n`);
    try {
      const g = run([`--configFile=${file}`], cwd);
      await until(() => g.lines().some((l) => l.msg === 'workers started'), 15_000, 'workers started');
      await until(() => g.lines().filter((l) => l.msg === 'entrypoint listening').length >= 2, 15_000, 'the worker listening');
      // The replacement of a worker reads the CA file the configuration names, and it is gone.
      fs.rmSync(ca.caCert);
      const children = fs.readFileSync(`/proc/${g.proc.pid}/task/${g.proc.pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number);
      assert.equal(children.length, 1, `children ${children.join(', ')}`);
      const started = Date.now();
      process.kill(children[0]!, 'SIGKILL');
      const code = await g.exit;
      const took = Date.now() - started;
      const restarts = g.lines().filter((l) => l.msg === 'worker exited; starting another');
      const gaveUp = g.lines().find((l) => l.msg === 'workers keep failing to start; giving up');
      process.stderr.write(`gave up after ${took} ms and ${restarts.length} restarts, delays ${restarts.map((r) => r.inMs).join(', ')} ms\n`);
      assert.equal(code, 1, g.logs());
      assert.ok(gaveUp !== undefined, g.logs());
      assert.match(gaveUp.cause ?? '', /invalid configuration: .*serversTransport.*cannot read .*ENOENT/);
      assert.ok(restarts.length >= 2 && restarts.length <= 4, `${restarts.length} restarts`);
      const delays = restarts.map((r) => r.inMs ?? 0);
      assert.ok(delays.every((d, i) => i === 0 || d > delays[i - 1]!), `delays grow: ${delays.join(', ')}`);
    } finally {
      fs.rmSync(cwd, { recursive: true, force: true });
    }
  });

  it('the static file edited after the start (a new entrypoint, then invalid): a replacement worker serves the primary\'s configuration', async () => {
    const cwd = fs.mkdtempSync(path.join(os.tmpdir(), 'gantry-cwd-'));
    const file = path.join(cwd, 'gantry.yaml');
    const dynamic = path.join(cwd, 'dynamic.yaml');
    const backend = http.createServer((_req, res) => res.end('ok'));
    await new Promise<void>((r) => backend.listen(0, '127.0.0.1', r));
    const backendPort = (backend.address() as net.AddressInfo).port;
    fs.writeFileSync(dynamic, `http:\n  routers:\n    r: { rule: "PathPrefix(\`/\`)", service: s }\n  services:\n    s:\n      loadBalancer:\n        servers: [{ url: "http://127.0.0.1:${backendPort}" }]\n`);
    fs.writeFileSync(file, `workers: 2\nentryPoints:\n  web:\n    address: 127.0.0.1:0\napi:\n  address: 127.0.0.1:0\nproviders:\n  file:\n    filename: ${dynamic}\n`);
    try {
      const g = run([`--configFile=${file}`], cwd);
      await until(() => g.lines().some((l) => l.msg === 'workers started'), 15_000, 'workers started');
      await until(() => g.lines().filter((l) => l.msg === 'entrypoint listening').length >= 2, 15_000, 'the worker listening');
      const port = (g.lines().find((l) => l.msg === 'entrypoint listening') as Line & { port: number }).port;
      for (const edit of ['workers: 2\nentryPoints:\n  web:\n    address: 127.0.0.1:0\n  late:\n    address: 127.0.0.1:0\n', 'workers: 2\nentryPoints:\n  web:\n    adress: 127.0.0.1:0\n']) {
        fs.writeFileSync(file, edit);
        const children = fs.readFileSync(`/proc/${g.proc.pid}/task/${g.proc.pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number);
        assert.equal(children.length, 1, `children ${children.join(', ')}`);
        const before = g.lines().filter((l) => l.msg === 'entrypoint listening').length;
        process.kill(children[0]!, 'SIGKILL');
        await until(() => g.lines().filter((l) => l.msg === 'entrypoint listening').length > before, 15_000, 'a replacement worker listening');
        assert.equal(g.proc.exitCode, null, g.logs());
        assert.ok(!g.lines().some((l) => l.msg === 'worker start failed' || l.msg === 'workers keep failing to start; giving up'), g.logs());
      }
      // Every connection is new, so both processes take some: each has the route.
      for (let i = 0; i < 40; i++) {
        const res = await fetch(`http://127.0.0.1:${port}/`, { headers: { connection: 'close' } });
        assert.equal(`${res.status} ${await res.text()}`, '200 ok');
      }
      g.proc.kill('SIGTERM');
      assert.equal(await g.exit, 0, g.logs());
    } finally {
      backend.close();
      fs.rmSync(cwd, { recursive: true, force: true });
    }
  });

  it('SIGTERM while the worker is still loading: the primary stops it and exits 0 at once, leaving no process behind', async () => {
    const cwd = fs.mkdtempSync(path.join(os.tmpdir(), 'gantry-cwd-'));
    const file = path.join(cwd, 'gantry.yaml');
    fs.writeFileSync(file, 'workers: 2\nentryPoints:\n  web:\n    address: 127.0.0.1:0\napi:\n  address: 127.0.0.1:0\n');
    try {
      const g = run([`--configFile=${file}`], cwd);
      // The signal goes the moment the primary has forked: the worker is then loading its modules.
      let sentAt = 0;
      let worker = 0;
      const onLog = () => {
        if (sentAt !== 0 || !g.lines().some((l) => l.msg === 'workers started')) return;
        worker = Number(fs.readFileSync(`/proc/${g.proc.pid}/task/${g.proc.pid}/children`, 'utf8').trim().split(/\s+/)[0]);
        sentAt = Date.now();
        g.proc.kill('SIGTERM');
      };
      g.proc.stderr!.on('data', onLog);
      const code = await g.exit;
      const took = Date.now() - sentAt;
      assert.ok(sentAt > 0 && worker > 0, g.logs());
      assert.equal(code, 0, g.logs());
      // Measured ~0.1 s; the grace period (10 s) is what a lost shutdown message would wait for.
      assert.ok(took < 3000, `exited ${took} ms after SIGTERM`);
      await until(() => {
        try {
          process.kill(worker, 0);
          return false;
        } catch {
          return true;
        }
      }, 3000, `worker ${worker} gone`);
    } finally {
      fs.rmSync(cwd, { recursive: true, force: true });
    }
  });
});
