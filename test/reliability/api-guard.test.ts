/**
 * The control API refuses what a web page could make a browser send: a Host that is not the API's
 * (DNS rebinding) and state-changing requests from another site (CSRF), including Docker Flow
 * Proxy's GET reconfigure — while programs (curl, `gantry reconfigure`) keep working.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { startBackend, startWithFile, waitFor, type Backend, type GantryProcess } from '../helpers/gantry.js';
import { get } from '../helpers/http.js';

describe('API against browsers on the same machine', { timeout: 30_000 }, () => {
  let g: GantryProcess;
  let cleanup: () => Promise<void>;
  let app: Backend;

  before(async () => {
    app = await startBackend('app');
    ({ g, cleanup } = await startWithFile('http: {}\n', ['--api.allowedHosts=gantry.example,*.ops.example']));
  });
  after(async () => {
    await cleanup?.();
    await app?.close();
  });

  const reconfigure = (name: string) => g.api(`/v1/docker-flow-proxy/reconfigure?serviceName=${name}&servicePath=/${name}&port=${app.port}&serviceDomain=127.0.0.1`);
  /** registered tells whether Docker Flow Proxy's registration of `name` is in the configuration. */
  const registered = async (name: string) => (await get(g.api('/api/http/routers'))).body.includes(`"${name}@rest"`);
  const api = () => `127.0.0.1:${g.apiPort}`;

  const refused = [
    { desc: 'a Host that is not a name of the API (DNS rebinding)', headers: () => ({ host: `attacker.example:${g.apiPort}` }) },
    { desc: 'Sec-Fetch-Site: cross-site', headers: () => ({ host: api(), 'sec-fetch-site': 'cross-site' }) },
    { desc: 'Sec-Fetch-Site: same-site', headers: () => ({ host: api(), 'sec-fetch-site': 'same-site' }) },
    { desc: 'an Origin of another site', headers: () => ({ host: api(), origin: 'http://attacker.example' }) },
    { desc: 'Origin: null (a sandboxed page)', headers: () => ({ host: api(), origin: 'null' }) },
  ];
  for (const [i, c] of refused.entries()) {
    it(`refuses a GET reconfigure with ${c.desc}, and registers nothing`, async () => {
      const name = `csrf${i}`;
      const r = await get(reconfigure(name), c.headers());
      assert.equal(r.status, 403, r.body);
      assert.match(r.body, /Host|site|may not/);
      // A registration made after it shows once applied; had the refused one been taken, it would too.
      assert.equal((await get(reconfigure(`${name}marker`))).status, 200);
      await waitFor(() => registered(`${name}marker`), 3000);
      assert.equal(await registered(name), false);
    });
  }

  it('refuses reading the configuration through a rebound name', async () => {
    const r = await get(g.api('/api/rawdata'), { host: `rebind.attacker.example:${g.apiPort}` });
    assert.equal(r.status, 403);
    assert.doesNotMatch(r.body, /routers/);
  });

  it('refuses a PUT to the REST provider from another origin', async () => {
    const body = JSON.stringify({ http: { routers: { x: { rule: 'PathPrefix(`/x`)', service: 'x' } }, services: { x: { loadBalancer: { servers: [{ url: app.url }] } } } } });
    const r = await get(g.api('/api/providers/rest'), { host: api(), origin: 'http://attacker.example', 'content-type': 'application/json' }, 'PUT', body);
    assert.equal(r.status, 403);
    assert.equal((await get(g.url('/x'))).status, 404);
  });

  it('serves programs and same-origin pages: curl-like calls, the API origin, allowed host names', async () => {
    assert.equal((await get(reconfigure('plain'))).status, 200);
    await waitFor(() => registered('plain'), 3000);
    assert.equal((await get(reconfigure('sameorigin'), { host: api(), origin: `http://${api()}`, 'sec-fetch-site': 'same-origin' })).status, 200);
    await waitFor(() => registered('sameorigin'), 3000);
    for (const host of ['localhost', 'proxy', 'gantry.example', 'a.ops.example']) {
      assert.equal((await get(g.api('/api/version'), { host: `${host}:${g.apiPort}` })).status, 200, host);
    }
    assert.equal((await get(g.api('/api/version'), { host: `ops.example:${g.apiPort}` })).status, 403, 'the wildcard is for subdomains only');
    // Reading is allowed cross-site (the browser keeps the answer from the page), changing is not.
    assert.equal((await get(g.api('/api/version'), { host: api(), 'sec-fetch-site': 'cross-site' })).status, 200);
  });
});
