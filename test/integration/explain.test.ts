/**
 * Explain: /api/explain and `gantry explain` on a URL that matches, one that matches nothing and
 * one shadowed by a higher-priority router; the 404 access-log line naming the nearest miss; and
 * --api.debugHeaders.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { gantryBin, startBackend, startWithFile, waitFor, type Backend, type GantryProcess } from '../helpers/gantry.js';
import { get } from '../helpers/http.js';
import type { ExplainResult } from '../../src/api/explain.js';

function yaml(a: Backend, b: Backend): string {
  return `http:
  routers:
    api:
      rule: Host(\`api.test\`) && PathPrefix(\`/v1\`)
      service: one
      middlewares: [auth-chain]
    wide:
      rule: PathPrefix(\`/shadow\`)
      service: two
    narrow:
      rule: PathPrefix(\`/shadow/x\`)
      service: one
      priority: 1
    broken:
      rule: Path(\`/broken\`) &&
      service: one
  services:
    one:
      loadBalancer:
        servers: [{ url: "${a.url}" }]
    two:
      loadBalancer:
        servers: [{ url: "${a.url}" }, { url: "${b.url}" }]
  middlewares:
    auth-chain:
      chain:
        middlewares: [strip, hdr]
    strip:
      stripPrefix: { prefixes: [/v1] }
    hdr:
      headers: { customRequestHeaders: { X-Test: "1" } }
`;
}

function cli(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [gantryBin, 'explain', ...args], { timeout: 15_000 }, (err, stdout, stderr) => {
      resolve({ code: err === null ? 0 : typeof err.code === 'number' ? err.code : 1, stdout, stderr });
    });
  });
}

describe('explain', () => {
  let g: GantryProcess;
  let a: Backend;
  let b: Backend;
  let cleanup: () => Promise<void>;

  before(async () => {
    a = await startBackend('a');
    b = await startBackend('b');
    ({ g, cleanup } = await startWithFile(yaml(a, b), ['--accessLog', '--accessLog.format=json', '--api.debugHeaders', '--log.level=DEBUG']));
    await g.waitForLog((l) => l.msg === 'configuration applied' && Number(l['routers']) > 0);
  });
  after(async () => {
    await cleanup?.();
    await a?.close();
    await b?.close();
  });

  const explain = async (q: string): Promise<ExplainResult> => {
    const r = await get(g.api(`/api/explain?${q}`));
    assert.equal(r.status, 200, r.body);
    return JSON.parse(r.body) as ExplainResult;
  };

  it('names the router, the middlewares in order and the server of a matching URL', async () => {
    const r = await explain(`url=${encodeURIComponent('http://api.test/v1/users')}&method=GET`);
    assert.equal(r.router, 'api@file');
    assert.deepEqual(r.middlewares, ['strip@file', 'hdr@file']);
    assert.equal(r.server, a.url);
    const names = r.candidates.map((c) => c.name);
    assert.ok(names.includes('wide@file') && names.includes('broken@file'));
    const wide = r.candidates.find((c) => c.name === 'wide@file')!;
    assert.equal(wide.matched, false);
    assert.match(wide.reason!, /path \/v1\/users did not match PathPrefix\(`\/shadow`\)/);
    assert.match(r.candidates.find((c) => c.name === 'broken@file')!.reason!, /^disabled: /);

    const out = await cli([`http://api.test/v1/users`, '--api', g.api('')]);
    assert.equal(out.code, 0, out.stderr);
    assert.match(out.stdout, /router: +api@file/);
    assert.match(out.stdout, /middlewares: strip@file → hdr@file/);
    assert.match(out.stdout, new RegExp(`server: +${a.url}`));
  });

  it('says why nothing matches, naming the nearest miss', async () => {
    const r = await explain(`url=${encodeURIComponent('http://api.test/v2')}`);
    assert.equal(r.router, null);
    assert.equal(r.server, null);
    assert.match(r.message, /host matched router api@file but path \/v2 did not match PathPrefix\(`\/v1`\)/);
    assert.ok(r.candidates.every((c) => !c.matched));

    const out = await cli(['http://api.test/v2', '--api', g.api('')]);
    assert.equal(out.code, 1);
    assert.match(out.stdout, /no router matches/);
    assert.match(out.stdout, /nearest: host matched router api@file but path \/v2 did not match PathPrefix\(`\/v1`\)/);
  });

  it('explains a router shadowed by a higher priority one', async () => {
    const r = await explain(`url=${encodeURIComponent('http://any.test/shadow/x')}`);
    assert.equal(r.router, 'wide@file');
    assert.equal(r.server, null, 'two servers are available: no guess');
    assert.deepEqual(r.servers.map((s) => s.url).sort(), [a.url, b.url].sort());
    const narrow = r.candidates.find((c) => c.name === 'narrow@file')!;
    assert.equal(narrow.matched, true);
    assert.match(narrow.reason!, /matched, but wide@file comes first \(priority 21 vs 1\)/);

    const out = await cli(['http://any.test/shadow/x', '--api', g.api('')]);
    assert.equal(out.code, 0, out.stderr);
    assert.match(out.stdout, /~ narrow@file \[priority 1\]: matched, but wide@file comes first/);
    assert.match(out.stdout, /one of 2 \(balanced\)/);
  });

  it('takes the method and headers into account', async () => {
    const r = await explain(`url=${encodeURIComponent('http://api.test/v1')}&method=POST&header=${encodeURIComponent('X-Env: prod')}`);
    assert.equal(r.request.method, 'POST');
    assert.equal(r.router, 'api@file');
    const bad = await get(g.api(`/api/explain?url=x&header=nocolon`));
    assert.equal(bad.status, 400);
    assert.equal((await get(g.api('/api/explain'))).status, 400);
  });

  it('logs the nearest miss on a 404 and names router and server in debug headers', async () => {
    const miss = await get(g.url('/v2'), { host: 'api.test' });
    assert.equal(miss.status, 404);
    assert.doesNotMatch(miss.body, /api@file/, 'the client is not told about routers');
    assert.equal(miss.headers['x-gantry-router'], '-');
    await waitFor(() => g.stdout.some((l) => l.includes('/v2')), 5000);
    const line = JSON.parse(g.stdout.find((l) => l.includes('/v2'))!) as Record<string, unknown>;
    assert.equal(line['DownstreamStatus'], 404);
    assert.match(String(line['GantryError']), /host matched router api@file but path \/v2 did not match PathPrefix\(`\/v1`\)/);
    const debug = await g.waitForLog((l) => l.msg === 'no router matched' && l['path'] === '/v2');
    assert.match(String(debug['nearest']), /^host matched router api@file but path \/v2/);

    const hit = await get(g.url('/v1/x'), { host: 'api.test' });
    assert.equal(hit.status, 200);
    assert.equal(hit.headers['x-gantry-router'], 'api@file');
    assert.equal(hit.headers['x-gantry-service'], 'one@file');
    assert.equal(hit.headers['x-gantry-server'], a.url);
  });
});
