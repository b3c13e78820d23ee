/**
 * A worker that cannot start (its port is taken) is not forked again and again forever: the
 * primary backs off, gives up after a few tries and exits non-zero, naming the cause.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import net from 'node:net';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { gantryBin } from '../helpers/gantry.js';

describe('workers that cannot start', { timeout: 60000 }, () => {
  it('back off, then the primary exits 1 naming EADDRINUSE', async () => {
    const squatter = net.createServer();
    await new Promise<void>((r) => squatter.listen(0, '127.0.0.1', r));
    const port = (squatter.address() as net.AddressInfo).port;
    const cwd = fs.mkdtempSync(path.join(os.tmpdir(), 'gantry-cwd-'));
    const started = Date.now();
    const proc = spawn(process.execPath, [gantryBin, 'run', '--log.format=json', '--workers=2', `--entrypoints.web.address=127.0.0.1:${port}`, '--api.address=127.0.0.1:0'], { cwd, stdio: ['ignore', 'ignore', 'pipe'] });
    let logs = '';
    proc.stderr!.setEncoding('utf8').on('data', (d: string) => (logs += d));
    const killer = setTimeout(() => proc.kill('SIGKILL'), 30_000);
    const code = await new Promise<number | null>((r) => proc.once('exit', (c) => r(c)));
    clearTimeout(killer);
    squatter.close();
    fs.rmSync(cwd, { recursive: true, force: true });
    const took = Date.now() - started;
    const lines = logs.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as { msg: string; cause?: string; inMs?: number });
    const restarts = lines.filter((l) => l.msg === 'worker exited; starting another');
    const gaveUp = lines.find((l) => l.msg === 'workers keep failing to start; giving up');
    process.stderr.write(`gave up after ${took} ms and ${restarts.length} restarts, delays ${restarts.map((r) => r.inMs).join(', ')} ms\n`);
    assert.equal(code, 1, logs);
    assert.ok(gaveUp !== undefined, logs);
    assert.match(gaveUp.cause ?? '', /EADDRINUSE/);
    assert.ok(restarts.length <= 4, `${restarts.length} restarts`);
    const delays = restarts.map((r) => r.inMs ?? 0);
    assert.ok(delays.every((d, i) => i === 0 || d >= delays[i - 1]!), `delays grow: ${delays.join(', ')}`);
  });
});
