/**
 * /metrics: the Prometheus text format parses (with a small parser written for the test, strict
 * about the syntax) and the counters move with traffic.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { startBackend, startWithFile, serviceYaml, waitFor, writeAtomic, type Backend, type GantryProcess } from '../helpers/gantry.js';
import { get } from '../helpers/http.js';
import { parsePrometheus, value } from '../helpers/prometheus.js';

describe('/metrics', () => {
  let g: GantryProcess;
  let a: Backend;
  let cleanup: () => Promise<void>;
  let file: string;

  before(async () => {
    a = await startBackend('a');
    ({ g, file, cleanup } = await startWithFile(serviceYaml('w', 'w.test', [a.url, 'http://127.0.0.1:9']), ['--metrics.prometheus']));
    await g.waitForLog((l) => l.msg === 'configuration applied' && Number(l['routers']) > 0);
  });
  after(async () => {
    await cleanup?.();
    await a?.close();
  });

  const scrape = async () => {
    const r = await get(g.api('/metrics'));
    assert.equal(r.status, 200);
    assert.match(String(r.headers['content-type']), /^text\/plain; version=0\.0\.4/);
    return parsePrometheus(r.body);
  };

  it('parses, and the request counters and histograms move with traffic', async () => {
    const before = await scrape();
    const labels = { service: 'w@file', code: '200', method: 'GET', protocol: 'http' };
    const n0 = value(before, 'gantry_service_requests_total', 'gantry_service_requests_total', labels);
    for (let i = 0; i < 5; i++) assert.equal((await get(g.url('/'), { host: 'w.test' })).status, 200);
    assert.equal((await get(g.url('/'), { host: 'nowhere.test' })).status, 404);
    const after = await scrape();
    // A request sent to the unreachable server is retried on `a`, and still counted once.
    assert.equal(value(after, 'gantry_service_requests_total', 'gantry_service_requests_total', labels) - n0, 5);
    assert.equal(value(after, 'gantry_service_request_duration_seconds', 'gantry_service_request_duration_seconds_count', labels), n0 + 5);
    assert.ok(value(after, 'gantry_service_request_duration_seconds', 'gantry_service_request_duration_seconds_sum', labels) > 0);
    assert.ok(value(after, 'gantry_entrypoint_requests_total', 'gantry_entrypoint_requests_total', { entrypoint: 'web', code: '404' }) >= 1);
    assert.ok(value(after, 'gantry_entrypoint_requests_total', 'gantry_entrypoint_requests_total', { entrypoint: 'web', code: '200' }) >= 5);
    assert.equal(after.get('gantry_service_request_duration_seconds')?.type, 'histogram');
    // Traefik's defaults: entrypoint and service label sets, no per-router series.
    assert.equal(after.get('gantry_router_requests_total'), undefined);
    // The default buckets are Traefik's.
    const les = new Set(after.get('gantry_service_request_duration_seconds')!.samples.map((x) => x.labels['le']).filter(Boolean));
    assert.deepEqual([...les], ['0.1', '0.3', '1.2', '5', '+Inf']);
  });

  it('reports reloads, open connections, server health and the build', async () => {
    const m0 = await scrape();
    const reloads = value(m0, 'gantry_config_reloads_total', 'gantry_config_reloads_total', {});
    assert.ok(reloads >= 1);
    assert.ok(value(m0, 'gantry_config_last_reload_success_timestamp_seconds', 'gantry_config_last_reload_success_timestamp_seconds', {}) > 1e9);
    assert.ok(m0.get('gantry_open_connections')!.samples.some((s) => s.labels['entrypoint'] === 'web'));
    assert.equal(value(m0, 'gantry_service_server_up', 'gantry_service_server_up', { service: 'w@file', url: a.url }), 1);
    assert.equal(m0.get('gantry_build_info')!.samples.length, 1);
    assert.equal(m0.get('gantry_tls_certs_not_after_timestamp_seconds')?.type, 'gauge');

    writeAtomic(file, serviceYaml('w2', 'w2.test', [a.url]));
    await waitFor(async () => value(await scrape(), 'gantry_config_reloads_total', 'gantry_config_reloads_total', {}) > reloads, 5000);
  });

  it('is not served without --metrics.prometheus', async () => {
    const other = await startWithFile(serviceYaml('w', 'w.test', [a.url]));
    try {
      assert.equal((await get(other.g.api('/metrics'))).status, 404);
      const stats = JSON.parse((await get(other.g.api('/api/stats'))).body) as { total: { requests: number } };
      assert.equal(typeof stats.total.requests, 'number', '/api/stats is there for the dashboard');
    } finally {
      await other.cleanup();
    }
  });
});
