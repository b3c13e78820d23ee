import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { IncomingMessage } from 'node:http';
import { RequestContext } from '../proxy/context.js';
import { Metrics, mergeStats, renderPrometheus, escapeLabel, type GaugeSources } from './metrics.js';

function ctx(router: string | null, status: number, ageMs: number): RequestContext {
  const c = new RequestContext('web', 'http', '127.0.0.1', 'a.test', '80', '/', '', performance.now() - ageMs);
  c.router = router;
  c.service = router === null ? null : 's@file';
  c.status = status;
  return c;
}

const gauges: GaugeSources = {
  version: 'test',
  openConnections: async () => ({ web: 2 }),
  servers: () => [{ service: 's@file', url: 'http://127.0.0.1:1', up: false }],
  reloads: () => ({ success: 3, failure: 1, lastSuccessMs: 2000, lastFailureMs: 1000 }),
};

describe('Metrics', () => {
  it('counts per label set, buckets durations and sums across workers', () => {
    const a = new Metrics([0.1, 1]);
    const b = new Metrics([0.1, 1]);
    const req = {} as IncomingMessage;
    a.observe(req, ctx('r@file', 200, 0));
    a.observe(req, ctx('r@file', 200, 500));
    b.observe(req, ctx('r@file', 200, 5000));
    b.observe(req, ctx(null, 404, 0));
    b.observe(req, ctx('r@file', 502, 0));
    const sum = mergeStats([a.snapshotStats(), b.snapshotStats()]);
    assert.deepEqual(sum.total, { requests: 5, errors: 1 });
    assert.deepEqual(sum.routers['r@file'], { requests: 4, errors: 1 });
    const ok = sum.requests.find((s) => s.router === 'r@file' && s.code === 200)!;
    assert.equal(ok.count, 3);
    assert.deepEqual(ok.buckets, [1, 1, 1]);
    // The snapshot is a copy: later traffic does not change it.
    a.observe(req, ctx('r@file', 200, 0));
    assert.equal(sum.requests.find((s) => s.router === 'r@file' && s.code === 200)!.count, 3);
  });

  it('renders the text format with cumulative buckets and escaped labels', async () => {
    const m = new Metrics([0.1, 1]);
    m.observe({} as IncomingMessage, ctx('we"ird\\name', 200, 500));
    m.setCertificateExpiry({ cn: 'a.test', sans: 'a.test', serial: '01' }, 1_900_000_000_000);
    const text = await renderPrometheus(m.snapshotStats(), gauges, m.certificates());
    assert.match(text, /^gantry_requests_total\{entrypoint="web",router="we\\"ird\\\\name",service="s@file",code="200"\} 1$/m);
    assert.match(text, /^gantry_request_duration_seconds_bucket\{.*le="0.1"\} 0$/m);
    assert.match(text, /^gantry_request_duration_seconds_bucket\{.*le="1"\} 1$/m);
    assert.match(text, /^gantry_request_duration_seconds_bucket\{.*le="\+Inf"\} 1$/m);
    assert.match(text, /^gantry_config_reloads_total 3$/m);
    assert.match(text, /^gantry_config_reload_failures_total 1$/m);
    assert.match(text, /^gantry_open_connections\{entrypoint="web"\} 2$/m);
    assert.match(text, /^gantry_service_server_up\{service="s@file",url="http:\/\/127.0.0.1:1"\} 0$/m);
    assert.match(text, /^gantry_tls_certs_not_after_timestamp_seconds\{cn="a.test",sans="a.test",serial="01"\} 1900000000$/m);
    assert.equal(escapeLabel('a\nb'), 'a\\nb');
  });
});
