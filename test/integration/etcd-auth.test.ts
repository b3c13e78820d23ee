/**
 * etcd with TLS client certificates and a user (the test bed's etcd-auth member) through the real
 * `gantry run`: the etcd provider, REST registrations stored in etcd and ACME storage in etcd (with
 * the pebble-eab CA) all work against it; a wrong password is reported naming the options while
 * everything else serves; a password changed under a running Gantry leaves the last configuration
 * serving; a certificate file that cannot be read stops the start naming the option. Each test has
 * its own rootKey under "gantry" (the test bed user's prefix), or its own user and role.
 */
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import https from 'node:https';
import path from 'node:path';
import { EtcdClient } from '../../src/providers/etcd/client.js';
import { gantryBin, startBackend, startGantry, tempDir, waitFor, writeAtomic, type Backend, type GantryProcess } from '../helpers/gantry.js';
import { get } from '../helpers/http.js';
import { etcdAuthCtl, etcdAuthUser, loadTestbed, requireComponent } from '../helpers/testbed.js';
import { httpsGet } from '../fixtures/tls/https-get.js';

const skip = requireComponent('etcdAuth');
const tb = loadTestbed();
const a = tb.etcdAuth;
const uid = () => randomBytes(4).toString('hex');
const tmp = tempDir('gantry-etcd-auth-');

/** etcdFlags: the provider on the auth member as `user` (default the test bed's). */
function etcdFlags(rootKey: string, user = { name: a!.user, password: a!.password }): string[] {
  return [
    `--providers.etcd.endpoints=${a!.endpoint.replace(/^https:\/\//, '')}`, `--providers.etcd.rootKey=${rootKey}`,
    `--providers.etcd.tls.ca=${a!.ca}`, `--providers.etcd.tls.cert=${a!.cert}`, `--providers.etcd.tls.key=${a!.key}`,
    `--providers.etcd.username=${user.name}`, `--providers.etcd.password=${user.password}`,
  ];
}

function admin(user = { name: a!.user, password: a!.password }): EtcdClient {
  return new EtcdClient({
    endpoints: [a!.endpoint],
    tls: { ca: fs.readFileSync(a!.ca), cert: fs.readFileSync(a!.cert), key: fs.readFileSync(a!.key) },
    auth: { username: user.name, password: user.password },
  });
}

const base = ['--entrypoints.web.address=127.0.0.1:0', '--api.address=127.0.0.1:0'];

async function backendOf(g: GantryProcess, p: string, headers: Record<string, string> = {}): Promise<string | undefined> {
  const r = await get(g.url(p), headers);
  return r.status === 200 ? String(r.headers['x-backend']) : undefined;
}

describe('etcd with TLS client certificates and a user', { skip }, () => {
  const backends: Backend[] = [];
  const procs: GantryProcess[] = [];
  const clients: EtcdClient[] = [];
  const roots: string[] = [];
  const gantry = async (args: string[], env?: NodeJS.ProcessEnv, entrypoints?: string[]): Promise<GantryProcess> => {
    const g = await startGantry(args, { env, entrypoints });
    procs.push(g);
    return g;
  };
  const client = (user?: { name: string; password: string }) => {
    const c = admin(user);
    clients.push(c);
    return c;
  };
  const root = () => {
    const r = `gantry-test-${uid()}`;
    roots.push(r);
    return r;
  };
  after(async () => {
    await Promise.all(procs.map((g) => g.stop()));
    const c = client();
    for (const r of roots) {
      await c.deletePrefix(`${r}/`).catch(() => undefined);
      await c.deletePrefix(`${r}.acme/`).catch(() => undefined);
    }
    await Promise.all(clients.map((x) => x.close()));
    for (const b of backends) await b.close();
    tmp.cleanup();
  });

  test('the etcd provider reads and watches keys over TLS as the user', async () => {
    const rootKey = root();
    const c = client();
    const kv = await startBackend('auth-kv');
    backends.push(kv);
    await c.put(`${rootKey}/http/routers/demo/rule`, 'PathPrefix(`/kv`)');
    await c.put(`${rootKey}/http/routers/demo/service`, 'demo');
    await c.put(`${rootKey}/http/services/demo/loadbalancer/servers/0/url`, kv.url);
    const g = await gantry([...base, ...etcdFlags(rootKey)]);
    assert.equal(await backendOf(g, '/kv/1'), 'auth-kv', 'keys present at start are served at once');
    const other = await startBackend('auth-kv-2');
    backends.push(other);
    await c.put(`${rootKey}/http/routers/second/rule`, 'PathPrefix(`/second`)');
    await c.put(`${rootKey}/http/routers/second/service`, 'second');
    await c.put(`${rootKey}/http/services/second/loadbalancer/servers/0/url`, other.url);
    await waitFor(async () => (await backendOf(g, '/second')) === 'auth-kv-2', 5000, () => g.logText());
    assert.deepEqual(g.logs.filter((l) => /^etcd /.test(l.msg) && (l.level === 'error' || l.level === 'warn')), [], 'etcd accepted everything');
  });

  test('REST registrations persist in etcd: a second Gantry serves them, and they survive a restart', async () => {
    const rootKey = root();
    const app = await startBackend('auth-rest');
    backends.push(app);
    let first = await gantry([...base, ...etcdFlags(rootKey)]);
    const second = await gantry([...base, ...etcdFlags(rootKey)]);
    const put = await get(first.api('/api/providers/rest/http/services/app'), { 'content-type': 'application/json' }, 'PUT', JSON.stringify({ loadBalancer: { servers: [{ url: app.url }] } }));
    assert.equal(put.status, 201, put.body);
    const router = await get(first.api('/api/providers/rest/http/routers/app'), { 'content-type': 'application/json' }, 'PUT', JSON.stringify({ rule: 'PathPrefix(`/rest`)', service: 'app' }));
    assert.equal(router.status, 201, router.body);
    await waitFor(async () => (await backendOf(second, '/rest/x')) === 'auth-rest', 5000, () => second.logText());
    // Stored in etcd under the rootKey, readable only with the user.
    assert.ok((await client().get(`${rootKey}/_rest/state`))?.value.includes(app.url));
    await first.stop();
    first = await gantry([...base, ...etcdFlags(rootKey)]);
    assert.equal(await backendOf(first, '/rest/y'), 'auth-rest', 'served right after a restart');
  });

  test('ACME storage in etcd: the account and certificate are stored there, and a restart loads them', { skip: requireComponent('pebbleEab') }, async () => {
    const e = tb.pebbleEab!;
    const rootKey = root();
    const host = `auth-acme-${uid()}.test`;
    const app = await startBackend('auth-acme');
    backends.push(app);
    const file = path.join(tmp.dir, 'acme.yaml');
    fs.writeFileSync(file, `http:
  routers:
    app: { rule: "Host(\`${host}\`)", service: app, tls: { certResolver: le } }
  services:
    app: { loadBalancer: { servers: [{ url: "${app.url}" }] } }
`);
    const args = [
      `--entrypoints.web.address=127.0.0.1:${e.httpPort}`, `--entrypoints.websecure.address=127.0.0.1:${e.tlsPort}`, '--api.address=127.0.0.1:0',
      `--providers.file.filename=${file}`, ...etcdFlags(rootKey),
      `--certificatesResolvers.le.acme.caServer=${e.url}`, '--certificatesResolvers.le.acme.storage=etcd',
      '--certificatesResolvers.le.acme.httpChallenge.entryPoint=web',
      `--certificatesResolvers.le.acme.eab.kid=${e.kid}`, `--certificatesResolvers.le.acme.eab.hmacEncoded=${e.hmac}`,
    ];
    const env = { NODE_EXTRA_CA_CERTS: e.listenerCa };
    let g = await gantry(args, env, ['web', 'websecure']);
    await g.waitForLog((l) => l.msg === 'acme: certificate obtained' && String(l['domains']) === host, 30_000);
    const trust = await pebbleTrust();
    const first = await httpsGet(g.port('websecure'), host, '/', trust);
    assert.equal(first.status, 200);
    const stored = (await client().getPrefix(`${rootKey}.acme/`)).kvs.map((kv) => kv.key).sort();
    assert.deepEqual(stored, [`${rootKey}.acme/le/account`, `${rootKey}.acme/le/certs/${host}`]);
    await g.stop();
    g = await gantry(args, env, ['web', 'websecure']);
    await g.waitForLog((l) => l.msg === 'acme: certificate loaded from storage' && String(l['domains']) === host);
    assert.equal((await httpsGet(g.port('websecure'), host, '/', trust)).cert.fingerprint256, first.cert.fingerprint256);
    assert.equal(g.logs.filter((l) => l.msg === 'acme: ordering certificate').length, 0, 'no new order');
    await g.stop();
  });

  test('a wrong password: the error names the options, and what does not need etcd serves', async () => {
    const rootKey = root();
    const app = await startBackend('auth-file');
    backends.push(app);
    const file = path.join(tmp.dir, 'file.yaml');
    fs.writeFileSync(file, `http:\n  routers:\n    f: { rule: "PathPrefix(\`/file\`)", service: f }\n  services:\n    f: { loadBalancer: { servers: [{ url: "${app.url}" }] } }\n`);
    const g = await gantry([...base, `--providers.file.filename=${file}`, ...etcdFlags(rootKey, { name: a!.user, password: 'wrong' })]);
    const line = await g.waitForLog((l) => l.level === 'error' && JSON.stringify(l).includes('providers.etcd.password'), 10_000);
    assert.match(JSON.stringify(line), /providers\.etcd\.username \/ providers\.etcd\.password: etcd refused user \\"gantry\\" \(etcdserver: authentication failed, invalid user ID or password\)/);
    assert.equal(await backendOf(g, '/file'), 'auth-file');
    // REST writes need etcd: refused with the same reason, not accepted and lost.
    const put = await get(g.api('/api/providers/rest/http/routers/x'), { 'content-type': 'application/json' }, 'PUT', JSON.stringify({ rule: 'Path(`/x`)', service: 'f@file' }));
    assert.equal(put.status, 503, put.body);
    assert.match(JSON.parse(put.body).message, /^not stored: providers\.etcd\.username \/ providers\.etcd\.password: etcd refused user "gantry"/);
  });

  test('the password changed under a running Gantry: the last configuration keeps serving, the error names the options', async (t) => {
    const name = `gantry-test-${uid()}`;
    const rootKey = name;
    roots.push(rootKey);
    const user = await etcdAuthUser(name, `${name}`);
    t.after(() => user.remove());
    const c = client({ name, password: user.password });
    const app = await startBackend('auth-last');
    backends.push(app);
    await c.put(`${rootKey}/http/routers/last/rule`, 'PathPrefix(`/last`)');
    await c.put(`${rootKey}/http/routers/last/service`, 'last');
    await c.put(`${rootKey}/http/services/last/loadbalancer/servers/0/url`, app.url);
    const g = await gantry([...base, ...etcdFlags(rootKey, { name, password: user.password })]);
    assert.equal(await backendOf(g, '/last'), 'auth-last');
    const from = g.logs.length;
    // A new password drops every token of the user: Gantry's next authentication is refused.
    await etcdAuthCtl(['user', 'passwd', name, '--interactive=false'], 'changed-elsewhere\n');
    await g.waitForLog((l) => JSON.stringify(l).includes('providers.etcd.username / providers.etcd.password: etcd refused user'), 20_000, from);
    for (let i = 0; i < 5; i++) assert.equal(await backendOf(g, '/last'), 'auth-last', 'the last configuration keeps serving');
  });

  test('a certificate file that cannot be read stops the start, naming the option; gantry check names a certificate without its key', () => {
    const missing = path.join(tmp.dir, 'missing-ca.pem');
    const r = spawnSync(process.execPath, [gantryBin, 'run', '--workers=1', ...base, ...etcdFlags('gantry-test-never').map((f) => f.startsWith('--providers.etcd.tls.ca=') ? `--providers.etcd.tls.ca=${missing}` : f)], { encoding: 'utf8', timeout: 15_000, cwd: tmp.dir });
    assert.equal(r.status, 1, r.stdout + r.stderr);
    assert.match(r.stderr, new RegExp(`providers\\.etcd\\.tls\\.ca: cannot read ${missing.replace(/[.]/g, '\\.')}: no such file`));
    const file = path.join(tmp.dir, 'static.yaml');
    writeAtomic(file, 'providers:\n  etcd:\n    endpoints: ["127.0.0.1:13379"]\n    password: secret\n    tls:\n      cert: client.pem\n');
    const c = spawnSync(process.execPath, [gantryBin, 'check', file], { encoding: 'utf8' });
    assert.equal(c.status, 1, c.stdout + c.stderr);
    assert.match(c.stdout, /providers\.etcd\.tls\.key: needed with cert/);
    assert.match(c.stdout, /providers\.etcd\.password: given without providers\.etcd\.username/);
  });
});

/** pebbleTrust: pebble-eab's default root and intermediate, to verify what it issued. */
async function pebbleTrust(): Promise<string[]> {
  const e = tb.pebbleEab!;
  const get1 = (p: string) => new Promise<string>((resolve, reject) => {
    https.get(`${e.mgmtUrl}${p}`, { ca: fs.readFileSync(e.listenerCa) }, (res) => {
      let b = '';
      res.setEncoding('utf8').on('data', (d: string) => (b += d));
      res.on('end', () => (res.statusCode === 200 ? resolve(b) : reject(new Error(`${p}: ${res.statusCode}`))));
    }).on('error', reject);
  });
  return [await get1('/roots/0'), await get1('/intermediates/0')];
}
