/**
 * metrics.prometheus options through `gantry run`: `buckets`, the `add*Labels` label sets,
 * `entryPoint` (/metrics on an entrypoint instead of the API; `traefik` means the API), and
 * `manualRouting` (no automatic /metrics; a router of one's own to `prometheus@internal`, here
 * behind basicAuth), including with several workers, where the entrypoint's /metrics counts every
 * worker's requests.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { startBackend, startWithFile, serviceYaml, type Backend } from '../helpers/gantry.js';
import { get } from '../helpers/http.js';
import { parsePrometheus, value } from '../helpers/prometheus.js';

/** onNewConnection sends one GET on a connection of its own and returns the status. */
function onNewConnection(port: number, host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    http.get({ host: '127.0.0.1', port, path: '/', headers: { host }, agent: false }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    }).on('error', reject);
  });
}

describe('metrics.prometheus options', () => {
  let a: Backend;
  before(async () => {
    a = await startBackend('m');
  });
  after(async () => {
    await a?.close();
  });

  const start = (flags: string[], yaml = serviceYaml('w', 'w.test', [a.url]), entrypoints?: string[]) =>
    startWithFile(yaml, ['--metrics.prometheus', ...flags], entrypoints ? { entrypoints } : {});

  it('buckets sets the histogram bounds', async () => {
    const { g, cleanup } = await start(['--metrics.prometheus.buckets=0.05,0.5,2']);
    try {
      assert.equal((await get(g.url('/'), { host: 'w.test' })).status, 200);
      const fams = parsePrometheus((await get(g.api('/metrics'))).body);
      const les = new Set(fams.get('gantry_service_request_duration_seconds')!.samples.map((x) => x.labels['le']).filter(Boolean));
      assert.deepEqual([...les], ['0.05', '0.5', '2', '+Inf']);
    } finally {
      await cleanup();
    }
  });

  it('addEntryPointsLabels / addRoutersLabels / addServicesLabels decide which series exist', async () => {
    const cases = [
      { desc: 'routers only', flags: ['--metrics.prometheus.addEntryPointsLabels=false', '--metrics.prometheus.addRoutersLabels=true', '--metrics.prometheus.addServicesLabels=false'], want: ['gantry_router_requests_total'] },
      { desc: 'all three', flags: ['--metrics.prometheus.addRoutersLabels=true'], want: ['gantry_entrypoint_requests_total', 'gantry_router_requests_total', 'gantry_service_requests_total'] },
    ];
    for (const c of cases) {
      const { g, cleanup } = await start(c.flags);
      try {
        assert.equal((await get(g.url('/'), { host: 'w.test' })).status, 200);
        const fams = parsePrometheus((await get(g.api('/metrics'))).body);
        assert.deepEqual([...fams.keys()].filter((k) => /^gantry_\w+_requests_total$/.test(k)), c.want, c.desc);
        if (c.want.includes('gantry_router_requests_total')) {
          assert.equal(value(fams, 'gantry_router_requests_total', 'gantry_router_requests_total', { router: 'w@file', service: 'w@file', code: '200', method: 'GET', protocol: 'http' }), 1, c.desc);
        }
      } finally {
        await cleanup();
      }
    }
  });

  it('entryPoint serves /metrics on that entrypoint, not on the API nor on the others', async () => {
    const { g, cleanup } = await start(['--entrypoints.metrics.address=127.0.0.1:0', '--metrics.prometheus.entryPoint=metrics'], undefined, ['web', 'metrics']);
    try {
      assert.equal((await get(g.url('/'), { host: 'w.test' })).status, 200);
      const r = await get(g.url('/metrics', 'metrics'));
      assert.equal(r.status, 200);
      assert.match(String(r.headers['content-type']), /^text\/plain; version=0\.0\.4/);
      const fams = parsePrometheus(r.body);
      assert.equal(value(fams, 'gantry_service_requests_total', 'gantry_service_requests_total', { service: 'w@file', code: '200' }), 1);
      assert.equal((await get(g.api('/metrics'))).status, 404, 'not on the API');
      assert.equal((await get(g.url('/metrics'), { host: 'other.test' })).status, 404, 'not on the web entrypoint');
    } finally {
      await cleanup();
    }
  });

  it('entryPoint traefik (Traefik\'s default) is the API when no entrypoint has that name', async () => {
    const { g, cleanup } = await start(['--metrics.prometheus.entryPoint=traefik']);
    try {
      assert.equal((await get(g.api('/metrics'))).status, 200);
    } finally {
      await cleanup();
    }
  });

  it('manualRouting: no /metrics by itself; a router to prometheus@internal serves it, with its middlewares', async () => {
    const yaml = `http:
  routers:
    scrape:
      rule: Host(\`metrics.test\`) && Path(\`/scrape\`)
      service: prometheus@internal
      middlewares: [auth]
  middlewares:
    auth:
      basicAuth:
        users: ["user:$2b$05$aSyhyI1Ht2vuj89ktpIzzu.NmrYhEWe8e13f1dYkco2O1oe1aObNm"]
`;
    const { g, cleanup } = await start(['--metrics.prometheus.manualRouting=true', '--entrypoints.metrics.address=127.0.0.1:0', '--metrics.prometheus.entryPoint=metrics'], yaml, ['web', 'metrics']);
    try {
      assert.equal((await get(g.api('/metrics'))).status, 404, 'not on the API');
      assert.equal((await get(g.url('/metrics', 'metrics'))).status, 404, 'not on entryPoint either: manualRouting');
      assert.equal((await get(g.url('/scrape'), { host: 'metrics.test' })).status, 401, 'the router\'s middlewares apply');
      const r = await get(g.url('/scrape'), { host: 'metrics.test', authorization: `Basic ${Buffer.from('user:secret').toString('base64')}` });
      assert.equal(r.status, 200, r.body);
      assert.ok(parsePrometheus(r.body).has('gantry_build_info'));
    } finally {
      await cleanup();
    }
  });

  it('with two workers, /metrics on an entrypoint counts the requests of both', async () => {
    const { g, cleanup } = await start(['--workers=2', '--entrypoints.metrics.address=127.0.0.1:0', '--metrics.prometheus.entryPoint=metrics'], undefined, ['web', 'metrics']);
    try {
      // Fresh connections, so the kernel spreads them over both workers.
      for (let i = 0; i < 20; i++) assert.equal(await onNewConnection(g.port('web'), 'w.test'), 200);
      const fams = parsePrometheus((await get(g.url('/metrics', 'metrics'))).body);
      assert.equal(value(fams, 'gantry_service_requests_total', 'gantry_service_requests_total', { service: 'w@file', code: '200' }), 20);
    } finally {
      await cleanup();
    }
  });
});
