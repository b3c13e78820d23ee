/**
 * The watched file provider: edits add, change and remove routes within 1 s while a steady load
 * runs, with zero failed requests; a broken file keeps the old routes and the log names the
 * line and column of the error.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { startBackend, startGantry, tempDir, waitFor, writeAtomic, type Backend, type GantryProcess } from '../helpers/gantry.js';
import { get } from '../helpers/http.js';

function config(routes: Array<{ name: string; host: string; backend: Backend }>): string {
  let y = 'http:\n  routers:\n';
  for (const r of routes) y += `    ${r.name}:\n      rule: Host(\`${r.host}\`)\n      service: ${r.name}\n`;
  y += '  services:\n';
  for (const r of routes) y += `    ${r.name}:\n      loadBalancer:\n        servers:\n          - url: ${r.backend.url}\n`;
  return y;
}

describe('file provider reloads under load', () => {
  let g: GantryProcess;
  let a: Backend;
  let b: Backend;
  const tmp = tempDir();
  const file = path.join(tmp.dir, 'dynamic.yaml');

  before(async () => {
    a = await startBackend('a');
    b = await startBackend('b');
    fs.writeFileSync(file, config([{ name: 'one', host: 'one.test', backend: a }]));
    g = await startGantry(['--entrypoints.web.address=127.0.0.1:0', '--api.address=127.0.0.1:0', `--providers.file.filename=${file}`, '--providers.file.watch']);
  });
  after(async () => {
    await g?.stop();
    await a?.close();
    await b?.close();
    tmp.cleanup();
  });

  it('adds, changes and removes routes within 1 s with zero failed requests', async () => {
    let failures: string[] = [];
    let count = 0;
    let running = true;
    // A bounded steady load on the route that stays configured throughout.
    const load = (async () => {
      const deadline = Date.now() + 20_000;
      while (running && Date.now() < deadline) {
        const r = await get(g.url('/'), { host: 'one.test' });
        count++;
        if (r.status !== 200) failures.push(`${r.status} ${r.body}`);
      }
    })();

    // Let the load settle in before, and run on after, the changes.
    await waitFor(() => count >= 20, 10_000);
    const timeChange = async (text: string, cond: () => Promise<boolean>) => {
      const t0 = Date.now();
      writeAtomic(file, text);
      await waitFor(cond, 1000);
      return Date.now() - t0;
    };
    const addMs = await timeChange(config([{ name: 'one', host: 'one.test', backend: a }, { name: 'two', host: 'two.test', backend: b }]), async () => {
      const r = await get(g.url('/'), { host: 'two.test' });
      return r.status === 200 && r.headers['x-backend'] === 'b';
    });
    const changeMs = await timeChange(config([{ name: 'one', host: 'one.test', backend: a }, { name: 'two', host: 'two.test', backend: a }]), async () => {
      const r = await get(g.url('/'), { host: 'two.test' });
      return r.status === 200 && r.headers['x-backend'] === 'a';
    });
    const removeMs = await timeChange(config([{ name: 'one', host: 'one.test', backend: a }]), async () => {
      const r = await get(g.url('/'), { host: 'two.test' });
      return r.status === 404;
    });
    const after = count + 20;
    await waitFor(() => count >= after, 10_000);
    running = false;
    await load;
    process.stderr.write(`reload delays: add ${addMs} ms, change ${changeMs} ms, remove ${removeMs} ms; ${count} requests during reloads\n`);
    assert.ok(count >= 40, `load ran (${count} requests)`);
    assert.deepEqual(failures, []);
  });

  it('keeps the last good routes when the file breaks, and logs line and column', async () => {
    const from = g.logs.length;
    writeAtomic(file, 'http:\n  routers:\n    one: [unclosed\n');
    const line = await g.waitForLog((l) => l.level === 'error' && /dynamic\.yaml:\d+:\d+/.test(JSON.stringify(l)), 3000, from);
    assert.match(JSON.stringify(line), /dynamic\.yaml:\d+:\d+/);
    const r = await get(g.url('/'), { host: 'one.test' });
    assert.equal(r.status, 200);
    assert.equal(r.headers['x-backend'], 'a');
    // Fixing the file applies again.
    writeAtomic(file, config([{ name: 'one', host: 'one.test', backend: b }]));
    await waitFor(async () => (await get(g.url('/'), { host: 'one.test' })).headers['x-backend'] === 'b', 1000);
  });
});
