/**
 * The native REST provider (`/api/providers/rest`): whole configurations in JSON or YAML validated
 * before they apply, granular element writes with ETag / If-Match, audit lines, file persistence.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { startBackend, startGantry, tempDir, waitFor, type GantryProcess } from '../helpers/gantry.js';
import { get } from '../helpers/http.js';

async function start(storage: string): Promise<GantryProcess> {
  return startGantry(['--entrypoints.web.address=127.0.0.1:0', '--api.address=127.0.0.1:0', `--providers.rest.storage=${storage}`]);
}

const send = (g: GantryProcess, method: string, p: string, body?: unknown, headers: Record<string, string> = {}) =>
  get(g.api(p), typeof body === 'string' ? { 'content-type': 'application/yaml', ...headers } : { 'content-type': 'application/json', ...headers }, method, body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body));

test('rest: PUT a whole YAML configuration; a bad one answers 400 with every error and its path and changes nothing', async (t) => {
  const tmp = tempDir();
  const storage = path.join(tmp.dir, 'rest.json');
  const a = await startBackend('a');
  let g = await start(storage);
  t.after(async () => {
    await g.stop();
    await a.close();
    tmp.cleanup();
  });
  const yaml = `http:\n  routers:\n    web:\n      rule: PathPrefix(\`/web\`)\n      service: web\n  services:\n    web:\n      loadBalancer:\n        servers: [{ url: "${a.url}" }]\n`;
  const put = await send(g, 'PUT', '/api/providers/rest', yaml);
  assert.equal(put.status, 200, put.body);
  const etag = put.headers['etag'];
  assert.match(String(etag), /^"[^"]+"$/);
  await waitFor(async () => (await get(g.url('/web/1'))).headers['x-backend'] === 'a', 5000, () => g.logText());
  const read = await get(g.api('/api/providers/rest'));
  assert.equal(read.headers['etag'], etag);

  const bad = {
    http: {
      routers: { web: { rule: 'Hots(`x`)', service: 'web' }, other: { rule: 'Path(`/o`)', service: 'missing' } },
      services: { web: { loadBalancer: { servers: [{ url: 'not-a-url' }] } } },
    },
  };
  const r = await send(g, 'PUT', '/api/providers/rest', bad);
  assert.equal(r.status, 400, r.body);
  const errors = (JSON.parse(r.body) as { errors: Array<{ path: string; message: string }> }).errors;
  assert.deepEqual(errors.map((e) => e.path).sort(), ['http.routers.other', 'http.routers.web', 'http.services.web']);
  assert.ok(errors.some((e) => e.message.includes('http.routers.web.rule') && e.message.includes('Hots')));
  assert.ok(errors.some((e) => e.message.includes('http.services.web.loadBalancer.servers[0].url')));
  assert.ok(errors.some((e) => e.message.includes('missing')));
  assert.equal((await get(g.api('/api/providers/rest'))).headers['etag'], etag, 'nothing changed');
  assert.equal((await get(g.url('/web/2'))).headers['x-backend'], 'a');
  assert.equal((await send(g, 'PUT', '/api/providers/rest', 'http: [unclosed')).status, 400);

  // Survives a restart (file storage).
  await g.stop();
  g = await start(storage);
  assert.equal((await get(g.url('/web/3'))).headers['x-backend'], 'a');
  assert.equal((await get(g.api('/api/providers/rest'))).headers['etag'], etag);
});

test('rest: granular PUT/PATCH/DELETE of routers and services with ETag and If-Match (412 on a lost update), audited', async (t) => {
  const tmp = tempDir();
  const a = await startBackend('a');
  const b = await startBackend('b');
  const g = await start(path.join(tmp.dir, 'rest.json'));
  t.after(async () => {
    await g.stop();
    await a.close();
    await b.close();
    tmp.cleanup();
  });
  const svc = await send(g, 'PUT', '/api/providers/rest/http/services/api', { loadBalancer: { servers: [{ url: a.url }] } });
  assert.equal(svc.status, 201, svc.body);
  assert.ok(svc.headers['etag']);
  const router = await send(g, 'PUT', '/api/providers/rest/http/routers/api', { rule: 'PathPrefix(`/api`)', service: 'api' });
  assert.equal(router.status, 201, router.body);
  await waitFor(async () => (await get(g.url('/api/x'))).headers['x-backend'] === 'a', 5000, () => g.logText());

  const read = await get(g.api('/api/providers/rest/http/services/api'));
  assert.equal(read.status, 200);
  const tag = String(read.headers['etag']);
  assert.equal(tag, svc.headers['etag']);

  // Two clients read the same version; the first write wins, the second gets 412 and changes nothing.
  const first = await send(g, 'PATCH', '/api/providers/rest/http/services/api', { loadBalancer: { servers: [{ url: b.url }] } }, { 'if-match': tag });
  assert.equal(first.status, 200, first.body);
  assert.notEqual(first.headers['etag'], tag);
  const lost = await send(g, 'PATCH', '/api/providers/rest/http/services/api', { loadBalancer: { servers: [{ url: a.url }] } }, { 'if-match': tag });
  assert.equal(lost.status, 412, lost.body);
  assert.equal(lost.headers['etag'], first.headers['etag'], 'a 412 carries the current ETag');
  await waitFor(async () => (await get(g.url('/api/x'))).headers['x-backend'] === 'b');
  assert.equal((await send(g, 'DELETE', '/api/providers/rest/http/services/api', undefined, { 'if-match': tag })).status, 412);

  // An invalid element is refused with its path; the stored one stays.
  const invalid = await send(g, 'PATCH', '/api/providers/rest/http/routers/api', { rule: 'PathPrefix(`/api`' });
  assert.equal(invalid.status, 400);
  assert.match(invalid.body, /http\.routers\.api/);
  assert.equal((await send(g, 'PATCH', '/api/providers/rest/http/routers/none', { rule: 'Path(`/n`)' })).status, 404);
  assert.equal((await send(g, 'PUT', '/api/providers/rest/http/routers/api', { rule: 'PathPrefix(`/api`)', service: 'api' }, { 'if-match': '"stale"' })).status, 412);

  const del = await send(g, 'DELETE', '/api/providers/rest/http/routers/api', undefined, { 'if-match': String(router.headers['etag']) });
  assert.equal(del.status, 200, del.body);
  assert.equal((await get(g.api('/api/providers/rest/http/routers/api'))).status, 404);
  await waitFor(async () => (await get(g.url('/api/x'))).status === 404);

  const audits = g.logs.filter((l) => l.msg === 'audit');
  assert.ok(audits.some((l) => l['who'] === '127.0.0.1' && l['method'] === 'PATCH' && l['what'] === '/api/providers/rest/http/services/api' && l['result'] === 412));
  assert.ok(audits.some((l) => l['method'] === 'DELETE' && l['result'] === 200));
  assert.ok(audits.every((l) => l['method'] !== 'GET'), 'reads are not audited');
});
