/**
 * Traefik v3.7's router vocabulary through the real bin/gantry: `ruleSyntax: v2` rules,
 * multi-layer routing (`parentRefs`: a parent's middleware changes the request its children
 * route on), and per-router `observability` switches for the access log and metrics.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { startBackend, startWithFile, tempDir, waitFor, type Backend, type GantryProcess } from '../helpers/gantry.js';
import { get } from '../helpers/http.js';

describe('routers: v2 rules, parentRefs, observability', () => {
  let g: GantryProcess;
  let cleanup: () => Promise<void>;
  const backends: Record<string, Backend> = {};
  const tmp = tempDir();
  const log = path.join(tmp.dir, 'access.json');

  before(async () => {
    for (const n of ['v2host', 'v2path', 'admin', 'user', 'quiet', 'loud']) backends[n] = await startBackend(n);
    // The auth server gives each caller a role from its token.
    backends['auth'] = await startBackend('auth', (req, res) => {
      const role = { 'Bearer a': 'admin', 'Bearer u': 'user' }[String(req.headers.authorization)];
      if (role === undefined) res.writeHead(401).end('no');
      else res.writeHead(200, { 'x-user-role': role }).end();
    });
    const lb = (n: string) => `    ${n}: { loadBalancer: { servers: [{ url: "${backends[n]!.url}" }] } }\n`;
    ({ g, cleanup } = await startWithFile(
      `http:
  routers:
    v2host:
      ruleSyntax: v2
      rule: Host(\`a.v2.test\`, \`b.v2.test\`) || HostRegexp(\`{sub:[a-z]+}.wild.test\`)
      service: v2host
    v2path:
      ruleSyntax: v2
      rule: Host(\`p.v2.test\`) && Path(\`/items/{id:[0-9]+}\`) && Headers(\`X-Env\`, \`prod\`)
      service: v2path
    api-parent:
      rule: PathPrefix(\`/api\`) && Host(\`multi.test\`)
      middlewares: [auth]
    api-admin:
      rule: HeaderRegexp(\`X-User-Role\`, \`admin\`)
      service: admin
      parentRefs: [api-parent]
    api-user:
      rule: HeaderRegexp(\`X-User-Role\`, \`user\`)
      service: user
      parentRefs: [api-parent]
    quiet:
      rule: Host(\`quiet.test\`)
      service: quiet
      observability: { accessLogs: false, metrics: false, tracing: false }
    loud:
      rule: Host(\`loud.test\`)
      service: loud
    # Broken hierarchies, each disabled with its reason.
    svcparent: { rule: Host(\`sp.test\`), service: loud }
    kid: { rule: Path(\`/k\`), service: loud, parentRefs: [svcparent] }
    lost: { rule: Path(\`/l\`), service: loud, parentRefs: [nope] }
    ring1: { rule: Path(\`/r\`), parentRefs: [ring2] }
    ring2: { rule: Path(\`/r\`), parentRefs: [ring1] }
  middlewares:
    auth:
      forwardAuth:
        address: "${backends['auth']!.url}/check"
        authResponseHeaders: [X-User-Role]
  services:
${['v2host', 'v2path', 'admin', 'user', 'quiet', 'loud'].map(lb).join('')}`,
      [`--accessLog.filePath=${log}`, '--accessLog.format=json', '--metrics.prometheus', '--metrics.prometheus.addRoutersLabels'],
    ));
    await g.waitForLog((l) => l.msg === 'configuration applied' && Number(l['routers']) > 0);
  });

  after(async () => {
    await cleanup();
    await Promise.all(Object.values(backends).map((b) => b.close()));
    tmp.cleanup();
  });

  const backendOf = async (p: string, headers: Record<string, string>) => {
    const r = await get(g.url(p), headers);
    return r.status === 200 ? String(r.headers['x-backend']) : String(r.status);
  };

  it('routes Traefik v2 rules as Traefik v2 did', async () => {
    assert.equal(await backendOf('/', { host: 'a.v2.test' }), 'v2host');
    assert.equal(await backendOf('/', { host: 'b.v2.test' }), 'v2host');
    assert.equal(await backendOf('/', { host: 'x.wild.test' }), 'v2host');
    assert.equal(await backendOf('/', { host: 'x.y.wild.test' }), '404');
    assert.equal(await backendOf('/items/42', { host: 'p.v2.test', 'x-env': 'prod' }), 'v2path');
    assert.equal(await backendOf('/items/42', { host: 'p.v2.test', 'x-env': 'dev' }), '404');
    assert.equal(await backendOf('/items/abc', { host: 'p.v2.test', 'x-env': 'prod' }), '404');
  });

  it('routes children on what the parent middleware added, and refuses what it refuses', async () => {
    assert.equal(await backendOf('/api/x', { host: 'multi.test', authorization: 'Bearer a' }), 'admin');
    assert.equal(await backendOf('/api/x', { host: 'multi.test', authorization: 'Bearer u' }), 'user');
    assert.equal(await backendOf('/api/x', { host: 'multi.test' }), '401');
    // A client cannot pick its role: forwardAuth replaces the header it claims.
    assert.equal(await backendOf('/api/x', { host: 'multi.test', authorization: 'Bearer u', 'x-user-role': 'admin' }), 'user');
    const views = JSON.parse((await get(g.api('/api/http/routers'))).body) as Array<{ name: string; status: string; using?: string[] }>;
    const admin = views.find((v) => v.name === 'api-admin@file');
    assert.equal(admin?.status, 'enabled');
    assert.deepEqual(admin?.using, ['web']);
  });

  it('disables a broken hierarchy with the reason', async () => {
    const views = JSON.parse((await get(g.api('/api/http/routers'))).body) as Array<{ name: string; status: string; error?: string[] }>;
    const error = (n: string) => (views.find((v) => v.name === n)?.error ?? []).join('; ');
    assert.match(error('svcparent@file'), /has a service and child routers \(kid@file\): a parent router must not have a service/);
    assert.match(error('lost@file'), /parent router "nope@file" does not exist/);
    assert.match(error('ring1@file'), /not reachable/);
    assert.match(error('ring2@file'), /not reachable/);
    assert.equal(await backendOf('/', { host: 'sp.test' }), '404');
  });

  it('writes no access-log line and no metrics for a router that turns them off', async () => {
    for (let i = 0; i < 3; i++) {
      assert.equal(await backendOf('/q', { host: 'quiet.test' }), 'quiet');
      assert.equal(await backendOf('/l', { host: 'loud.test' }), 'loud');
    }
    let lines: Array<Record<string, unknown>> = [];
    await waitFor(() => {
      lines = fs.existsSync(log) ? fs.readFileSync(log, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as Record<string, unknown>) : [];
      return lines.filter((l) => l['RouterName'] === 'loud@file').length >= 3;
    });
    assert.equal(lines.filter((l) => l['RouterName'] === 'quiet@file').length, 0);
    const m = (await get(g.api('/metrics'))).body;
    assert.match(m, /router="loud@file"/);
    assert.doesNotMatch(m, /router="quiet@file"/);
  });
});
