/**
 * Provider options through `gantry run` and `gantry check` that need no test bed:
 * `providers.providersThrottleDuration`, `providers.file.directory` / `watch`, `providers.rest.insecure`,
 * and the options refused or checked when the configuration is read (consulCatalog.connectAware,
 * constraints, a client certificate without its key).
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { gantryBin, serviceYaml, startBackend, startGantry, tempDir, waitFor, writeAtomic } from '../helpers/gantry.js';
import { get } from '../helpers/http.js';

const base = ['--entrypoints.web.address=127.0.0.1:0', '--api.address=127.0.0.1:0'];

function put(api: string, body: unknown) {
  return get(api, { 'content-type': 'application/json' }, 'PUT', JSON.stringify(body));
}

describe('provider options', () => {
  it('providersThrottleDuration: a change right after an apply is applied that long after it', async () => {
    const a = await startBackend('throttle');
    const tmp = tempDir();
    const g = await startGantry([...base, `--providers.rest.storage=${path.join(tmp.dir, 'rest.json')}`, '--providers.providersThrottleDuration=1500ms']);
    try {
      const applied = (l: { msg: string }) => l.msg === 'configuration applied';
      assert.equal((await put(g.api('/api/providers/rest/http/services/s'), { loadBalancer: { servers: [{ url: a.url }] } })).status, 201);
      const first = await g.waitForLog((l) => applied(l) && Number(l['services']) === 1, 10_000);
      // The next change, right after that apply, waits out the throttle.
      assert.equal((await put(g.api('/api/providers/rest/http/routers/r'), { rule: 'Host(`throttle.test`)', service: 's' })).status, 201);
      const second = await g.waitForLog((l) => applied(l) && Number(l['routers']) === 1, 10_000);
      assert.equal((await get(g.url('/'), { host: 'throttle.test' })).status, 200);
      const gap = Date.parse(String(second['time'])) - Date.parse(String(first['time']));
      assert.ok(gap >= 1400, `the second change was applied ${gap} ms after the first`);
    } finally {
      await g.stop();
      await a.close();
      tmp.cleanup();
    }
  });

  it('file.directory: every file of the directory, and a file added later', async () => {
    const a = await startBackend('dir-a');
    const b = await startBackend('dir-b');
    const tmp = tempDir();
    fs.writeFileSync(path.join(tmp.dir, 'a.yaml'), serviceYaml('a', 'a.test', [a.url]));
    const g = await startGantry([...base, `--providers.file.directory=${tmp.dir}`]);
    try {
      assert.equal((await get(g.url('/'), { host: 'a.test' })).headers['x-backend'], 'dir-a');
      writeAtomic(path.join(tmp.dir, 'b.yml'), serviceYaml('b', 'b.test', [b.url]));
      await waitFor(async () => (await get(g.url('/'), { host: 'b.test' })).headers['x-backend'] === 'dir-b', 5000, () => g.logText());
      assert.equal((await get(g.url('/'), { host: 'a.test' })).headers['x-backend'], 'dir-a');
    } finally {
      await g.stop();
      await a.close();
      await b.close();
      tmp.cleanup();
    }
  });

  it('file.watch=false: the file is read once; a later change is not applied', async () => {
    const a = await startBackend('once');
    const tmp = tempDir();
    const file = path.join(tmp.dir, 'dynamic.yaml');
    fs.writeFileSync(file, serviceYaml('once', 'once.test', [a.url]));
    const g = await startGantry([...base, `--providers.file.filename=${file}`, '--providers.file.watch=false', `--providers.rest.storage=${path.join(tmp.dir, 'rest.json')}`]);
    try {
      assert.equal((await get(g.url('/'), { host: 'once.test' })).status, 200);
      writeAtomic(file, serviceYaml('twice', 'twice.test', [a.url]));
      // A change from another provider after it: once that is applied, a watched file would have been too.
      assert.equal((await put(g.api('/api/providers/rest/http/routers/later'), { rule: 'Host(`later.test`)', service: 'once@file' })).status, 201);
      await waitFor(async () => (await get(g.url('/'), { host: 'later.test' })).status === 200, 5000, () => g.logText());
      assert.equal((await get(g.url('/'), { host: 'twice.test' })).status, 404, 'the change was not read');
      assert.equal((await get(g.url('/'), { host: 'once.test' })).status, 200);
    } finally {
      await g.stop();
      await a.close();
      tmp.cleanup();
    }
  });

  it('rest.insecure: true is what Gantry does (the REST API on the API address); false is refused', async () => {
    const tmp = tempDir();
    try {
      const g = await startGantry([...base, '--providers.rest.insecure=true', `--providers.rest.storage=${path.join(tmp.dir, 'rest.json')}`]);
      try {
        assert.equal((await get(g.api('/api/providers/rest'))).status, 200);
      } finally {
        await g.stop();
      }
      const r = spawnSync(process.execPath, [gantryBin, 'run', '--workers=1', ...base, '--providers.rest.insecure=false'], { encoding: 'utf8', timeout: 15_000, cwd: tmp.dir });
      assert.equal(r.status, 1);
      assert.match(r.stderr, /--providers\.rest\.insecure: false is not supported yet \(the REST API is always served on the API address/);
    } finally {
      tmp.cleanup();
    }
  });

  it('gantry check names what cannot work or does not parse: connectAware, constraints, a certificate without its key', () => {
    const tmp = tempDir();
    try {
      const file = path.join(tmp.dir, 'gantry.yaml');
      fs.writeFileSync(file, `providers:
  docker:
    constraints: "Label(\`a\`"
    tls:
      cert: client.pem
  swarm:
    constraints: "Tag(\`x\`)"
  consulCatalog:
    connectAware: true
    constraints: "TagRegex(\`(?=x)\`)"
    endpoint:
      tls:
        key: client.key
  rest:
    insecure: false
`);
      const r = spawnSync(process.execPath, [gantryBin, 'check', file], { encoding: 'utf8' });
      assert.equal(r.status, 1, r.stdout + r.stderr);
      const out = r.stdout;
      assert.match(out, /providers\.docker\.constraints: expected "," at 10/);
      assert.match(out, /providers\.docker\.tls\.key: needed with cert/);
      assert.match(out, /providers\.swarm\.constraints: unknown function "Tag" \(use Label or LabelRegex\) at 1/);
      assert.match(out, /providers\.consulCatalog\.connectAware: not supported yet \(Consul Connect/);
      assert.match(out, /providers\.consulCatalog\.constraints: bad regular expression/);
      assert.match(out, /providers\.consulCatalog\.endpoint\.tls\.cert: needed with key/);
      assert.match(out, /providers\.rest\.insecure: false is not supported yet/);
    } finally {
      tmp.cleanup();
    }
  });
});
