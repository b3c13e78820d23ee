/**
 * Docker Flow Proxy compatible API (`/v1/docker-flow-proxy/*`) and the `gantry reconfigure`,
 * `remove` and `config` commands, against the real bin/gantry with file storage.
 *
 * `go-demo` must resolve to 127.0.0.1 as a Swarm overlay name would resolve to the service: the
 * Gantry process is started with a test-only preload (NODE_OPTIONS --import of a data: URL) that
 * answers `go-demo` in dns.lookup, so no system file (/etc/hosts) is touched and the product has no
 * test-only option.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { gantryBin, startBackend, startGantry, tempDir, waitFor, type Backend, type GantryProcess } from '../helpers/gantry.js';
import { get } from '../helpers/http.js';

const run = promisify(execFile);

const PRELOAD = `import dns from "node:dns";const o=dns.lookup;dns.lookup=function(h,...a){return o.call(this,h==="go-demo"?"127.0.0.1":h,...a)}`;
const resolveGoDemo = { NODE_OPTIONS: `--import=data:text/javascript,${encodeURIComponent(PRELOAD)}` };

async function start(storage: string): Promise<GantryProcess> {
  return startGantry(['--entrypoints.web.address=127.0.0.1:0', '--api.address=127.0.0.1:0', `--providers.rest.storage=${storage}`], { env: resolveGoDemo });
}

async function curl(...args: string[]): Promise<string> {
  const { stdout } = await run('curl', ['-sS', '--max-time', '10', ...args]);
  return stdout;
}

async function cli(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(process.execPath, [gantryBin, ...args]);
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code?: number; stdout?: string; stderr?: string };
    return { code: e.code ?? 1, stdout: e.stdout ?? '', stderr: e.stderr ?? '' };
  }
}

async function servedBy(g: GantryProcess, p: string, backend: Backend): Promise<boolean> {
  const r = await get(g.url(p));
  return r.status === 200 && r.headers['x-backend'] === backend.name;
}

test('dfp: the Docker Flow Proxy walk-through works verbatim with curl, and survives a restart (file storage)', async (t) => {
  const tmp = tempDir();
  const storage = path.join(tmp.dir, 'gantry-rest.json');
  const backend = await startBackend('go-demo');
  let g = await start(storage);
  t.after(async () => {
    await g.stop();
    await backend.close();
    tmp.cleanup();
  });
  const answer = JSON.parse(await curl(`127.0.0.1:${g.apiPort}/v1/docker-flow-proxy/reconfigure?serviceName=go-demo&servicePath=/demo&port=${backend.port}`)) as Record<string, unknown>;
  assert.equal(answer['Status'], 'OK');
  assert.equal(answer['ServiceName'], 'go-demo');
  await waitFor(async () => (await curl('-i', `127.0.0.1:${g.port()}/demo/hello`)).startsWith('HTTP/1.1 200'), 5000, () => g.logText());
  const page = await curl('-i', `127.0.0.1:${g.port()}/demo/hello`);
  assert.match(page, /^HTTP\/1\.1 200 OK/);
  assert.match(page, /x-backend: go-demo/i);
  assert.equal(backend.seen.at(-1)?.url, '/demo/hello');
  assert.equal(backend.seen.at(-1)?.headers.host, `127.0.0.1:${g.port()}`, 'the Host header is passed through');

  // Persisted atomically in the file given, readable by its owner only.
  const stored = JSON.parse(fs.readFileSync(storage, 'utf8')) as { dfp: Record<string, unknown> };
  assert.ok(stored.dfp['go-demo']);
  assert.equal(fs.statSync(storage).mode & 0o777, 0o600);
  assert.ok(g.logs.some((l) => l.msg === 'audit' && l['who'] === '127.0.0.1' && l['what'] === 'reconfigure go-demo' && l['result'] === 200), 'audit line');

  await g.stop();
  g = await start(storage);
  assert.ok(await servedBy(g, '/demo/hello', backend), 'the registration is served right after a restart');
});

test('dfp: bad calls answer 400 naming the parameter and change nothing; a second reconfigure replaces', async (t) => {
  const tmp = tempDir();
  const backend = await startBackend('go-demo');
  const g = await start(path.join(tmp.dir, 'rest.json'));
  t.after(async () => {
    await g.stop();
    await backend.close();
    tmp.cleanup();
  });
  const reconf = (q: string) => get(g.api(`/v1/docker-flow-proxy/reconfigure?${q}`));
  const ok = await reconf(`serviceName=go-demo&servicePath=/demo&port=${backend.port}`);
  assert.equal(ok.status, 200, ok.body);
  await waitFor(() => servedBy(g, '/demo/x', backend));
  const before = (await get(g.api('/v1/docker-flow-proxy/config?type=json'))).body;

  const cases = [
    { desc: 'missing serviceName', q: `servicePath=/demo&port=${backend.port}`, param: 'serviceName' },
    { desc: 'port abc', q: 'serviceName=go-demo&servicePath=/other&port=abc', param: 'port' },
    { desc: 'path without /', q: `serviceName=go-demo&servicePath=other&port=${backend.port}`, param: 'servicePath' },
    { desc: 'unknown parameter', q: `serviceName=go-demo&servicePath=/other&port=${backend.port}&servicePth=/x`, param: 'servicePth' },
    { desc: 'users without password', q: `serviceName=go-demo&servicePath=/other&port=${backend.port}&users=bob`, param: 'users' },
    { desc: 'no port and no registry', q: 'serviceName=go-demo&servicePath=/other', param: 'port' },
  ];
  for (const c of cases) {
    const r = await reconf(c.q);
    assert.equal(r.status, 400, `${c.desc}: ${r.body}`);
    const body = JSON.parse(r.body) as { Status: string; Message: string; Parameter: string };
    assert.equal(body.Status, 'NOK', c.desc);
    assert.equal(body.Parameter, c.param, c.desc);
    assert.ok(body.Message.includes(c.param), `${c.desc}: message names ${c.param}: ${body.Message}`);
  }
  // Docker Flow Proxy answers 409 when neither servicePath nor serviceDomain is given.
  assert.equal((await reconf(`serviceName=go-demo&port=${backend.port}`)).status, 409);
  assert.equal((await get(g.api('/v1/docker-flow-proxy/remove'))).status, 400);
  assert.equal((await get(g.api('/v1/docker-flow-proxy/config?type=json'))).body, before, 'nothing changed');
  assert.ok(await servedBy(g, '/demo/x', backend));

  // Same serviceName again: the registration is replaced, not added to.
  assert.equal((await reconf(`serviceName=go-demo&servicePath=/v2&port=${backend.port}`)).status, 200);
  await waitFor(async () => (await get(g.url('/demo/x'))).status === 404);
  assert.ok(await servedBy(g, '/v2/x', backend));
  const routers = JSON.parse((await get(g.api('/api/http/routers'))).body) as Array<{ name: string; rule: string }>;
  assert.deepEqual(routers.filter((r) => r.name.endsWith('@rest')).map((r) => [r.name, r.rule]), [['go-demo@rest', 'PathPrefix(`/v2`)']]);

  assert.deepEqual(JSON.parse((await get(g.api('/v1/docker-flow-proxy/ping'))).body), { Status: 'OK' });
  const removed = await get(g.api('/v1/docker-flow-proxy/remove?serviceName=go-demo'));
  assert.equal(removed.status, 200);
  assert.equal((JSON.parse(removed.body) as { Status: string }).Status, 'OK');
  await waitFor(async () => (await get(g.url('/v2/x'))).status === 404);
});

test('dfp: serviceDomain, reqPathSearch/Replace, users and sessionType map to rules and middlewares', async (t) => {
  const tmp = tempDir();
  const backend = await startBackend('go-demo');
  const g = await start(path.join(tmp.dir, 'rest.json'));
  t.after(async () => {
    await g.stop();
    await backend.close();
    tmp.cleanup();
  });
  const q = new URLSearchParams({
    serviceName: 'go-demo', servicePath: '/api,/web', port: String(backend.port), serviceDomain: 'demo.test',
    reqPathSearch: '^/api/(.*)$', reqPathReplace: '/internal/$1', users: 'alice:secret', sessionType: 'sticky',
  });
  const r = await get(g.api(`/v1/docker-flow-proxy/reconfigure?${q}`), {}, 'PUT');
  assert.equal(r.status, 200, r.body);
  const auth = { host: 'demo.test', authorization: 'Basic ' + Buffer.from('alice:secret').toString('base64') };
  await waitFor(async () => (await get(g.url('/api/x'), auth)).status === 200, 5000, () => g.logText());
  assert.equal(backend.seen.at(-1)?.url, '/internal/x');
  assert.equal((await get(g.url('/api/x'), { host: 'demo.test' })).status, 401, 'users protects the route');
  assert.equal((await get(g.url('/api/x'), { ...auth, host: 'other.test' })).status, 404, 'serviceDomain restricts the host');
  const web = await get(g.url('/web/y'), auth);
  assert.equal(web.status, 200);
  assert.match(String(web.headers['set-cookie']), /gantry_go_demo=/, 'sticky sessions set a cookie');
  assert.ok(!fs.readFileSync(path.join(tmp.dir, 'rest.json'), 'utf8').includes('secret'), 'passwords are stored hashed');
});

test('dfp: gantry reconfigure, config and remove commands', async (t) => {
  const tmp = tempDir();
  const backend = await startBackend('go-demo');
  const g = await start(path.join(tmp.dir, 'rest.json'));
  t.after(async () => {
    await g.stop();
    await backend.close();
    tmp.cleanup();
  });
  const api = `http://127.0.0.1:${g.apiPort}`;
  const rc = await cli('reconfigure', '--service-name', 'go-demo', '--service-path', '/demo', '--port', String(backend.port), '--api', api);
  assert.equal(rc.code, 0, rc.stderr);
  await waitFor(() => servedBy(g, '/demo/a', backend));
  const bad = await cli('reconfigure', '--service-name', 'go-demo', '--service-path', 'demo', '--port', String(backend.port), '--api', api);
  assert.equal(bad.code, 1);
  assert.match(bad.stderr, /servicePath/);

  const cfg = await cli('config', '--api', api);
  assert.equal(cfg.code, 0, cfg.stderr);
  assert.match(cfg.stdout, /go-demo@rest:\n\s+provider: rest\n\s+status: enabled\n\s+rule: PathPrefix\(`\/demo`\)/);
  assert.match(cfg.stdout, /services:\n(.|\n)*go-demo@rest:\n\s+provider: rest\n\s+status: enabled/);

  const rm = await cli('remove', '--service-name', 'go-demo', '--api', api);
  assert.equal(rm.code, 0, rm.stderr);
  await waitFor(async () => (await get(g.url('/demo/a'))).status === 404);
  assert.doesNotMatch((await cli('config', '--api', api)).stdout, /go-demo@rest/);
});
