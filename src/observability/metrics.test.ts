import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { IncomingMessage } from 'node:http';
import { RequestContext } from '../proxy/context.js';
import { parseFastHead } from '../entrypoints/fast/request-head.js';
import { Metrics, mergeStats, requestProtocol, type GaugeSources } from './metrics.js';
import { escapeLabel, renderPrometheus } from './prometheus.js';

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
    const req = { method: 'GET', headers: {} } as IncomingMessage;
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
    m.observe({ method: 'GET', headers: {} } as IncomingMessage, ctx('we"ird\\name', 200, 500));
    m.setCertificateExpiry({ cn: 'a.test', sans: 'a.test', serial: '01' }, 1_900_000_000_000);
    const text = await renderPrometheus(m.snapshotStats(), gauges, m.certificates(), { entryPoints: true, routers: true, services: true });
    assert.match(text, /^gantry_router_requests_total\{code="200",method="GET",protocol="http",router="we\\"ird\\\\name",service="s@file"\} 1$/m);
    assert.match(text, /^gantry_service_request_duration_seconds_bucket\{.*le="0.1"\} 0$/m);
    assert.match(text, /^gantry_service_request_duration_seconds_bucket\{.*le="1"\} 1$/m);
    assert.match(text, /^gantry_service_request_duration_seconds_bucket\{.*le="\+Inf"\} 1$/m);
    assert.match(text, /^gantry_config_reloads_total 3$/m);
    assert.match(text, /^gantry_config_reload_failures_total 1$/m);
    assert.match(text, /^gantry_open_connections\{entrypoint="web"\} 2$/m);
    assert.match(text, /^gantry_service_server_up\{service="s@file",url="http:\/\/127.0.0.1:1"\} 0$/m);
    assert.match(text, /^gantry_tls_certs_not_after_timestamp_seconds\{cn="a.test",sans="a.test",serial="01"\} 1900000000$/m);
    assert.equal(escapeLabel('a\nb'), 'a\\nb');
  });

  it('the add*Labels options decide which label sets exist; series are summed over the labels left out', async () => {
    const m = new Metrics([1]);
    const get = { method: 'GET', headers: {} } as IncomingMessage;
    m.observe(get, ctx('a@file', 200, 0));
    m.observe(get, ctx('b@file', 200, 0)); // another router, the same service: one service series of 2
    m.observe(get, ctx(null, 404, 0));
    const stats = m.snapshotStats();
    const families = (text: string) => [...new Set([...text.matchAll(/^# TYPE (gantry_\w+_requests_total)/gm)].map((x) => x[1]))];
    const cases = [
      { desc: 'Traefik\'s defaults: entrypoints and services', sets: { entryPoints: true, routers: false, services: true }, want: ['gantry_entrypoint_requests_total', 'gantry_service_requests_total'] },
      { desc: 'routers only', sets: { entryPoints: false, routers: true, services: false }, want: ['gantry_router_requests_total'] },
      { desc: 'none', sets: { entryPoints: false, routers: false, services: false }, want: [] },
    ];
    for (const c of cases) assert.deepEqual(families(await renderPrometheus(stats, gauges, [], c.sets)), c.want, c.desc);
    const all = await renderPrometheus(stats, gauges, [], { entryPoints: true, routers: true, services: true });
    assert.match(all, /^gantry_service_requests_total\{code="200",method="GET",protocol="http",service="s@file"\} 2$/m);
    assert.match(all, /^gantry_entrypoint_requests_total\{code="200",method="GET",protocol="http",entrypoint="web"\} 2$/m);
    assert.match(all, /^gantry_entrypoint_requests_total\{code="404",method="GET",protocol="http",entrypoint="web"\} 1$/m, 'a request no router took counts for its entrypoint');
    assert.doesNotMatch(all, /^gantry_(router|service)_requests_total\{code="404"/m, '… and nowhere else');
    assert.match(all, /^gantry_router_requests_total\{code="200",method="GET",protocol="http",router="a@file",service="s@file"\} 1$/m);
  });

  it('labels methods and protocols as Traefik does, bounding what a client can invent', async () => {
    const m = new Metrics([1]);
    const cases = [
      { desc: 'a standard method', req: { method: 'DELETE', headers: {} }, method: 'DELETE', protocol: 'http' },
      { desc: 'an invented method', req: { method: 'BREW', headers: {} }, method: 'EXTENSION_METHOD', protocol: 'http' },
      { desc: 'websocket', req: { method: 'GET', headers: { connection: 'keep-alive, Upgrade', upgrade: 'websocket' } }, method: 'GET', protocol: 'websocket' },
      { desc: 'server-sent events', req: { method: 'GET', headers: { accept: 'text/event-stream' } }, method: 'GET', protocol: 'sse' },
      { desc: 'gRPC', req: { method: 'POST', headers: { 'content-type': 'application/grpc+proto' } }, method: 'POST', protocol: 'grpc' },
      { desc: 'gRPC-Web', req: { method: 'POST', headers: { 'content-type': 'application/grpc-web-text' } }, method: 'POST', protocol: 'grpc-web' },
    ];
    for (const c of cases) m.observe(c.req as unknown as IncomingMessage, ctx('r@file', 200, 0));
    const series = m.snapshotStats().requests;
    for (const c of cases) assert.ok(series.some((s) => s.method === c.method && s.protocol === c.protocol), c.desc);
    assert.equal(requestProtocol({ upgrade: 'websocket' }), 0, 'Upgrade without Connection: upgrade is not a websocket handshake');
  });

  it('labels a fast-lane request through its header() without building its headers object', () => {
    const m = new Metrics([1]);
    const cases = [
      { head: 'GET /events HTTP/1.1\r\nHost: a.test\r\nAccept: text/event-stream', method: 'GET', protocol: 'sse' },
      { head: 'POST /svc/Call HTTP/1.1\r\nHost: a.test\r\nContent-Type: application/grpc-web+proto\r\nContent-Length: 0', method: 'POST', protocol: 'grpc-web' },
      { head: 'DELETE /x HTTP/1.1\r\nHost: a.test', method: 'DELETE', protocol: 'http' },
    ];
    for (const c of cases) {
      const req = parseFastHead(c.head);
      assert.ok(req !== null, c.head);
      // The per-request object with a key per header is what the hot path must not build.
      Object.defineProperty(req, 'headers', { get: () => assert.fail('observe built the headers object') });
      m.observe(req, ctx('r@file', 200, 0));
    }
    const series = m.snapshotStats().requests;
    for (const c of cases) assert.ok(series.some((s) => s.method === c.method && s.protocol === c.protocol), `${c.method} ${c.protocol}`);
  });
});
