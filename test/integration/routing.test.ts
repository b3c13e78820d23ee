/**
 * Host routing, path-prefix routing, both combined, priorities and 404 — through the real
 * `gantry run` process with real upstream servers on 127.0.0.1.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { startBackend, startGantry, tempDir, type Backend, type GantryProcess } from '../helpers/gantry.js';
import { get, getJSON } from '../helpers/http.js';

describe('routing through gantry run', () => {
  let g: GantryProcess;
  const backends: Record<string, Backend> = {};
  const tmp = tempDir();

  before(async () => {
    for (const name of ['app', 'api', 'apiv2', 'admin', 'catchall']) backends[name] = await startBackend(name);
    const file = path.join(tmp.dir, 'dynamic.yaml');
    fs.writeFileSync(
      file,
      `http:
  routers:
    app:
      rule: Host(\`app.test\`)
      service: app
    api:
      rule: Host(\`app.test\`) && PathPrefix(\`/api\`)
      service: api
    apiv2:
      rule: Host(\`app.test\`) && PathPrefix(\`/api/v2\`)
      service: apiv2
    admin:
      rule: PathPrefix(\`/admin\`)
      service: admin
    low:
      rule: HostRegexp(\`^.+\\.test$\`)
      service: catchall
      priority: 1
  services:
${['app', 'api', 'apiv2', 'admin', 'catchall'].map((n) => `    ${n}:\n      loadBalancer:\n        servers:\n          - url: ${backends[n]!.url}\n`).join('')}`,
    );
    g = await startGantry(['--entrypoints.web.address=127.0.0.1:0', '--api.address=127.0.0.1:0', `--providers.file.filename=${file}`]);
  });

  after(async () => {
    await g?.stop();
    for (const b of Object.values(backends)) await b.close();
    tmp.cleanup();
  });

  const cases = [
    { desc: 'host only', host: 'app.test', path: '/', backend: 'app' },
    { desc: 'host is case-insensitive and ignores the port', host: 'APP.test:8080', path: '/x', backend: 'app' },
    { desc: 'host and path prefix', host: 'app.test', path: '/api/users', backend: 'api' },
    { desc: 'longer rule wins (priority = rule length)', host: 'app.test', path: '/api/v2/users', backend: 'apiv2' },
    { desc: 'path only, any host', host: 'other.example', path: '/admin/x', backend: 'admin' },
    { desc: 'a longer path-only rule beats a shorter host rule', host: 'app.test', path: '/admin', backend: 'admin' },
    { desc: 'explicit low priority catch-all', host: 'zzz.test', path: '/', backend: 'catchall' },
  ];
  for (const c of cases) {
    it(c.desc, async () => {
      const r = await getJSON(g.url(c.path), { host: c.host });
      assert.equal(r.status, 200);
      assert.equal(r.json.backend, c.backend);
      assert.equal(r.json.url, c.path);
    });
  }

  it('answers 404 naming the cause when nothing matches', async () => {
    const r = await get(g.url('/nothing'), { host: 'nope.example' });
    assert.equal(r.status, 404);
    assert.match(r.body, /no route/);
  });

  it('shows routers with their provider on the API', async () => {
    const r = await getJSON<Array<{ name: string; provider: string; status: string }>>(g.api('/api/http/routers'));
    const names = r.json.map((x) => x.name).sort();
    assert.deepEqual(names, ['admin@file', 'api@file', 'apiv2@file', 'app@file', 'low@file']);
    assert.ok(r.json.every((x) => x.status === 'enabled'));
  });
});
