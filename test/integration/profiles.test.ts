/**
 * Named profiles (issue 4, "less label typing"): `http.profiles.public-https` is defined once in
 * the file provider; a container labelled `gantry.profile=public-https` gets its entry points and
 * middlewares on every router it defines, its own router labels winning; a profile that does not
 * exist disables that container's router with the reason on the API, and nothing else.
 *
 * Real `bin/gantry --providers.file.filename=… --providers.docker` against the test bed's dockerd;
 * containers run `--network host --init` on 127.0.0.1 ports 18720–18729, carry `gantry.it=<run>`
 * (Gantry is constrained to it) and are removed by name at the end.
 *
 *   npx tsc -p tsconfig.json && node --test dist/test/integration/profiles.test.js
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { startWithFile, waitFor, type GantryProcess } from '../helpers/gantry.js';
import { get, getJSON } from '../helpers/http.js';
import { requireComponent } from '../helpers/testbed.js';
import { docker, dockerBed, hostRun, Resources, RUN_ID } from '../fixtures/docker/testbed.js';

const skip = requireComponent('docker');
const bed = dockerBed();
const BASE = 18720;

const DYNAMIC = `
http:
  profiles:
    public-https:
      entryPoints: [edge]
      middlewares: [secure-headers]
  middlewares:
    secure-headers:
      headers:
        customResponseHeaders:
          X-Profile: public-https
    own-header:
      headers:
        customResponseHeaders:
          X-Own: "yes"
`;

interface RouterView {
  name: string;
  status: string;
  entryPoints?: string[];
  middlewares?: string[];
  error?: string[] | string;
}

describe('profiles through gantry run with the file and Docker providers', { skip }, () => {
  const res = new Resources();
  let g: GantryProcess;
  let stop: () => Promise<void> = async () => {};

  const routers = async (): Promise<RouterView[]> => (await getJSON<RouterView[]>(g.api('/api/http/routers'))).json;
  const busybox = (name: string, port: number, labels: Record<string, string>): string[] => [
    ...hostRun(name, { 'gantry.it': RUN_ID, ...labels }),
    bed.busybox, 'httpd', '-f', '-p', `127.0.0.1:${port}`, '-h', '/www',
  ];

  before(async () => {
    const started = await startWithFile(
      DYNAMIC,
      [
        '--entrypoints.edge.address=127.0.0.1:0',
        '--providers.docker', `--providers.docker.endpoint=${bed.host}`,
        `--providers.docker.constraints=Label(\`gantry.it\`, \`${RUN_ID}\`)`,
      ],
      { entrypoints: ['web', 'edge'] },
    );
    g = started.g;
    stop = started.cleanup;
  });

  after(async () => {
    await stop();
    await res.cleanup();
  });

  it('a gantry.profile label gives every router of the container the profile\'s entry points and middlewares', async () => {
    const port = BASE + 1;
    await docker(...busybox(res.container('prof'), port, {
      'gantry.profile': 'public-https',
      'gantry.http.routers.p.rule': 'Host(`p.test`)',
      // This router's own entry point wins over the profile's; the profile's middleware still runs first.
      'gantry.http.routers.pw.rule': 'Host(`pw.test`)',
      'gantry.http.routers.pw.entrypoints': 'web',
      'gantry.http.routers.pw.middlewares': 'own-header@file',
      'gantry.http.services.p.loadbalancer.server.port': String(port),
    }));
    await waitFor(async () => (await get(g.url('/', 'edge'), { host: 'p.test' })).status === 200, 10_000, () => `p.test never answered on edge; logs:\n${g.logText()}`);
    const onEdge = await get(g.url('/', 'edge'), { host: 'p.test' });
    assert.match(onEdge.body, /hello from busybox/);
    assert.equal(onEdge.headers['x-profile'], 'public-https', 'the profile\'s headers middleware applies');
    assert.equal((await get(g.url('/'), { host: 'p.test' })).status, 404, 'the profile puts the router on edge only');

    await waitFor(async () => (await get(g.url('/'), { host: 'pw.test' })).status === 200, 10_000, () => 'pw.test never answered on web');
    const own = await get(g.url('/'), { host: 'pw.test' });
    assert.equal(own.headers['x-profile'], 'public-https');
    assert.equal(own.headers['x-own'], 'yes');
    assert.equal((await get(g.url('/', 'edge'), { host: 'pw.test' })).status, 404, 'the router\'s own entryPoints win');

    const views = (await routers()).filter((r) => r.name === 'p@docker' || r.name === 'pw@docker');
    assert.deepEqual(
      views.map((r) => [r.name, r.status, r.entryPoints, r.middlewares]).sort(),
      [
        ['p@docker', 'enabled', ['edge'], ['secure-headers@file']],
        ['pw@docker', 'enabled', ['web'], ['secure-headers@file', 'own-header@file']],
      ],
    );
  });

  it('a profile that does not exist disables that router with the reason; the others keep serving', async () => {
    const port = BASE + 2;
    await docker(...busybox(res.container('noprof'), port, {
      'gantry.profile': 'public-http',
      'gantry.http.routers.np.rule': 'Host(`np.test`)',
      'gantry.http.services.np.loadbalancer.server.port': String(port),
    }));
    let view: RouterView | undefined;
    await waitFor(async () => {
      view = (await routers()).find((r) => r.name === 'np@docker');
      return view !== undefined;
    }, 10_000, () => `router np@docker never appeared; logs:\n${g.logText()}`);
    assert.equal(view!.status, 'disabled');
    assert.match(String(view!.error), /http\.routers\.np\.profile: profile "public-http" does not exist \(did you mean public-https\?\)/);
    for (const ep of ['web', 'edge']) assert.equal((await get(g.url('/', ep), { host: 'np.test' })).status, 404);
    assert.equal((await get(g.url('/', 'edge'), { host: 'p.test' })).status, 200, 'other routes keep serving');
  });
});
