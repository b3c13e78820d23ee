/**
 * The embedded default of `npm start`: `gantry run` with no arguments listens on web (:80 as
 * root, else :8000) and the API (127.0.0.1:8080), reads dynamic.yaml from the working directory
 * (watched), and runs one worker per core.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { GantryProcess, gantryBin, repoRoot, serviceYaml, startBackend, tempDir, waitFor, writeAtomic } from '../helpers/gantry.js';
import { get } from '../helpers/http.js';

describe('embedded default (no arguments)', () => {
  it('serves dynamic.yaml from the working directory on the default ports', async () => {
    const b = await startBackend('demo');
    const b2 = await startBackend('demo2');
    const tmp = tempDir();
    fs.writeFileSync(path.join(tmp.dir, 'dynamic.yaml'), serviceYaml('demo', 'demo.localhost', [b.url]));
    const webPort = process.getuid?.() === 0 ? 80 : 8000;
    const proc = spawn(process.execPath, [gantryBin], { cwd: tmp.dir, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env } });
    const g = new GantryProcess(proc);
    try {
      await waitFor(async () => {
        if (g.exitCode !== null) throw new Error(`gantry exited ${g.exitCode}: ${g.logText()}`);
        const r = await get(`http://127.0.0.1:${webPort}/`, { host: 'demo.localhost' });
        return r.status === 200 && r.headers['x-backend'] === 'demo';
      }, 10_000, () => g.logText());
      const ping = await get('http://127.0.0.1:8080/ping');
      assert.equal(ping.status, 200);
      // The default is watched.
      writeAtomic(path.join(tmp.dir, 'dynamic.yaml'), serviceYaml('demo', 'demo.localhost', [b2.url]));
      await waitFor(async () => (await get(`http://127.0.0.1:${webPort}/`, { host: 'demo.localhost' })).headers['x-backend'] === 'demo2', 2000);
    } finally {
      // Clean up first: an assertion here must not leave servers keeping the test process alive.
      const code = await g.stop('SIGTERM');
      await b.close();
      await b2.close();
      tmp.cleanup();
      assert.equal(code, 0, `gantry exited ${code}; logs:\n${g.logText()}`);
    }
  });

  it('npm start runs Gantry on Node 24 (its start-up line says so), as npm test runs the tests', { timeout: 120_000 }, async () => {
    // npm puts node_modules/.bin first on PATH, where the `node` devDependency puts Node 24.
    assert.ok(Number(process.versions.node.split('.')[0]) >= 24, `the tests run on Node ${process.version}`);
    const proc = spawn('npm', ['start', '--silent'], { cwd: repoRoot, stdio: ['ignore', 'pipe', 'pipe'], detached: true, env: { ...process.env } });
    let out = '';
    proc.stdout.on('data', (d: Buffer) => (out += d.toString()));
    proc.stderr.on('data', (d: Buffer) => (out += d.toString()));
    const exited = new Promise<number | null>((r) => proc.once('exit', (code) => r(code)));
    try {
      await waitFor(() => /gantry started/.test(out) || proc.exitCode !== null, 90_000, () => out);
      const line = out.split('\n').find((l) => l.includes('gantry started')) ?? '';
      assert.match(line, /v24\./, `start-up line: ${line}`);
      await waitFor(async () => (await get('http://127.0.0.1:8080/ping').catch(() => ({ status: 0 }))).status === 200, 10_000, () => out);
    } finally {
      // npm and the Gantry it started are one process group, ours.
      if (proc.exitCode === null) process.kill(-proc.pid!, 'SIGTERM');
      await Promise.race([exited, new Promise((r) => setTimeout(r, 15_000))]);
      if (proc.exitCode === null) process.kill(-proc.pid!, 'SIGKILL');
    }
  });
});
