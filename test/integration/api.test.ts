/**
 * The admin API in Traefik's shapes, compared with golden files in testdata/api/*.json
 * (regenerate with TEST_UPDATE_GOLDEN=1), and its authentication when bound beyond loopback.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { repoRoot, startGantry, startWithFile, type GantryProcess } from '../helpers/gantry.js';
import { get } from '../helpers/http.js';

const goldenDir = path.join(repoRoot, 'test/integration/testdata/api');
const update = process.env.TEST_UPDATE_GOLDEN === '1';

const CONFIG = `http:
  routers:
    demo:
      rule: Host(\`w.test\`) && PathPrefix(\`/demo\`)
      service: demo
      middlewares: [strip]
    other:
      rule: Host(\`o.test\`)
      service: demo
      entryPoints: [web, nowhere]
    broken:
      rule: Hots(\`x.test\`)
      service: demo
    orphan:
      rule: Host(\`orphan.test\`)
      service: missing
  services:
    demo:
      loadBalancer:
        servers:
          - url: http://127.0.0.1:9
          - url: http://127.0.0.1:10
            weight: 2
  middlewares:
    strip:
      stripPrefix:
        prefixes: [/demo]
tcp:
  routers:
    db:
      rule: HostSNI(\`db.test\`)
      service: db
      tls:
        passthrough: true
  services:
    db:
      loadBalancer:
        servers:
          - address: 127.0.0.1:5432
`;

/** normalize replaces what changes from run to run (ports, versions) with placeholders. */
function normalize(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(normalize);
  if (v !== null && typeof v === 'object') {
    const o: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v)) {
      if (k === 'port' || k === 'version' || k === 'Version') o[k] = `<${k}>`;
      else o[k] = normalize(x);
    }
    return o;
  }
  return v;
}

function golden(name: string, actual: unknown): void {
  const file = path.join(goldenDir, `${name}.json`);
  const text = JSON.stringify(normalize(actual), null, 2) + '\n';
  if (update || !fs.existsSync(file)) {
    if (!update) throw new Error(`golden file ${file} is missing; run with TEST_UPDATE_GOLDEN=1 to create it`);
    fs.mkdirSync(goldenDir, { recursive: true });
    fs.writeFileSync(file, text);
    return;
  }
  assert.deepEqual(JSON.parse(text), JSON.parse(fs.readFileSync(file, 'utf8')), `${name}: the API shape changed (TEST_UPDATE_GOLDEN=1 regenerates ${file})`);
}

describe('admin API shapes', () => {
  let g: GantryProcess;
  let cleanup: () => Promise<void>;

  before(async () => {
    ({ g, cleanup } = await startWithFile(CONFIG, ['--metrics.prometheus']));
    await waitApplied(g);
  });
  after(async () => {
    await cleanup?.();
  });

  const cases = [
    { desc: 'overview', path: '/api/overview' },
    { desc: 'entrypoints', path: '/api/entrypoints' },
    { desc: 'http-routers', path: '/api/http/routers' },
    { desc: 'http-router-demo', path: '/api/http/routers/demo@file' },
    { desc: 'http-services', path: '/api/http/services' },
    { desc: 'http-service-demo', path: '/api/http/services/demo@file' },
    { desc: 'http-middlewares', path: '/api/http/middlewares' },
    { desc: 'http-middleware-strip', path: '/api/http/middlewares/strip@file' },
    { desc: 'tcp-routers', path: '/api/tcp/routers' },
    { desc: 'tcp-services', path: '/api/tcp/services' },
    { desc: 'rawdata', path: '/api/rawdata' },
    { desc: 'version', path: '/api/version' },
  ];
  for (const c of cases) {
    it(`${c.path} matches testdata/api/${c.desc}.json`, async () => {
      const r = await get(g.api(c.path));
      assert.equal(r.status, 200, r.body);
      assert.match(String(r.headers['content-type']), /application\/json/);
      golden(c.desc, JSON.parse(r.body));
    });
  }

  it('marks every object with status, provider and error', async () => {
    const routers = JSON.parse((await get(g.api('/api/http/routers'))).body) as Array<{ name: string; status: string; provider: string; error?: string[] }>;
    const by = Object.fromEntries(routers.map((r) => [r.name, r]));
    assert.equal(by['demo@file']?.status, 'enabled');
    assert.equal(by['broken@file']?.status, 'disabled');
    assert.match(by['broken@file']!.error!.join(), /Hots/);
    assert.equal(by['other@file']?.status, 'warning', 'served on web despite the unknown entrypoint');
    assert.equal(by['orphan@file']?.status, 'disabled');
    for (const r of routers) assert.equal(r.provider, 'file');
    const svc = JSON.parse((await get(g.api('/api/http/services/demo@file'))).body) as { serverStatus: Record<string, string>; inFlight: Record<string, number> };
    assert.deepEqual(Object.keys(svc.serverStatus), ['http://127.0.0.1:9', 'http://127.0.0.1:10']);
    assert.deepEqual(svc.inFlight, { 'http://127.0.0.1:9': 0, 'http://127.0.0.1:10': 0 });
  });

  it('answers 404 with a message for unknown names and paths', async () => {
    const r = await get(g.api('/api/http/routers/nope@file'));
    assert.equal(r.status, 404);
    assert.match(r.body, /nope@file not found/);
    assert.equal((await get(g.api('/api/nothing'))).status, 404);
  });
});

/** waitApplied waits until the file provider's configuration is live. */
async function waitApplied(g: GantryProcess): Promise<void> {
  await g.waitForLog((l) => l.msg === 'configuration applied' && Number(l['routers']) > 0, 5000);
}

describe('admin API authentication beyond loopback', () => {
  const sha = `{SHA}${createHash('sha1').update('s3cret').digest('base64')}`;
  const basic = (u: string, p: string) => ({ authorization: `Basic ${Buffer.from(`${u}:${p}`).toString('base64')}` });

  it('answers 401 without credentials, 200 with them, and warns at start', async () => {
    // Bound to every interface; the test only talks to 127.0.0.1.
    const g = await startGantry(['--entrypoints.web.address=127.0.0.1:0', '--api.address=0.0.0.0:0', `--api.basicAuth=admin:${sha}`]);
    try {
      assert.ok(g.logs.some((l) => l.level === 'warn' && /non-loopback/.test(l.msg)), g.logText());
      const none = await get(g.api('/api/overview'));
      assert.equal(none.status, 401);
      assert.match(String(none.headers['www-authenticate']), /^Basic/);
      assert.equal((await get(g.api('/ping'))).status, 401, 'every request, /ping included');
      assert.equal((await get(g.api('/api/overview'), basic('admin', 'wrong'))).status, 401);
      assert.equal((await get(g.api('/api/overview'), basic('root', 's3cret'))).status, 401);
      assert.equal((await get(g.api('/api/overview'), basic('admin', 's3cret'))).status, 200);
      assert.equal((await get(g.api('/api/overview'), basic('admin', 's3cret'))).status, 200, 'the remembered credential still works');
    } finally {
      await g.stop();
    }
  });

  it('answers 401 to everything when no credentials are configured', async () => {
    const g = await startGantry(['--entrypoints.web.address=127.0.0.1:0', '--api.address=0.0.0.0:0']);
    try {
      assert.equal((await get(g.api('/api/overview'), basic('admin', 's3cret'))).status, 401);
    } finally {
      await g.stop();
    }
  });

  it('serves without credentials with --api.insecure, with a warning', async () => {
    const g = await startGantry(['--entrypoints.web.address=127.0.0.1:0', '--api.address=0.0.0.0:0', '--api.insecure']);
    try {
      assert.ok(g.logs.some((l) => l.level === 'warn' && /without authentication/.test(l.msg)), g.logText());
      assert.equal((await get(g.api('/api/overview'))).status, 200);
    } finally {
      await g.stop();
    }
  });

  it('needs no credentials on loopback', async () => {
    const g = await startGantry(['--entrypoints.web.address=127.0.0.1:0', '--api.address=127.0.0.1:0']);
    try {
      assert.equal((await get(g.api('/api/overview'))).status, 200);
      assert.ok(!g.logs.some((l) => /non-loopback/.test(l.msg)));
    } finally {
      await g.stop();
    }
  });
});
