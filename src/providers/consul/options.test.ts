/**
 * The Consul Catalog provider's options as they reach the wire and the routers: endpoint address
 * and scheme, datacenter (`?dc=`), token (`X-Consul-Token`), refreshInterval (the blocking wait),
 * prefix (which tags are labels) and exposedByDefault.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { ConsulClient, type HealthEntry } from './client.js';
import { buildConsulConfig } from './provider.js';

test('consul client: address and scheme, datacenter, token and refreshInterval reach each query', async () => {
  const seen: Array<{ url: URL; token: string | undefined }> = [];
  const server = http.createServer((req, res) => {
    seen.push({ url: new URL(req.url ?? '/', 'http://x'), token: req.headers['x-consul-token'] as string | undefined });
    res.writeHead(200, { 'content-type': 'application/json', 'x-consul-index': '7' }).end('{}');
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const address = `127.0.0.1:${(server.address() as AddressInfo).port}`;
  const c = new ConsulClient({ address, scheme: 'http', datacenter: 'dc2', token: 's3cret', waitMs: 15_000 });
  try {
    assert.equal(c.base, `http://${address}`);
    assert.equal((await c.get('/v1/catalog/services', 0, AbortSignal.timeout(5000))).index, 7);
    await c.get('/v1/catalog/services', 7, AbortSignal.timeout(5000));
    assert.deepEqual(seen.map((s) => [s.url.searchParams.get('dc'), s.token]), [['dc2', 's3cret'], ['dc2', 's3cret']]);
    assert.equal(seen[1]!.url.searchParams.get('wait'), '15s', 'refreshInterval is the blocking wait');
    assert.equal(new ConsulClient({ address: 'consul.internal:8501', scheme: 'https', waitMs: 1000 }).base, 'https://consul.internal:8501');
  } finally {
    await c.close();
    server.closeAllConnections();
    server.close();
  }
});

test('consul: prefix selects the label tags; exposedByDefault false routes only enabled services', () => {
  const entry = (name: string, tags: string[]): HealthEntry => ({ Node: { Address: '10.0.0.1' }, Service: { ID: `${name}-1`, Service: name, Address: '10.0.0.2', Port: 80, Tags: tags }, Checks: [] }) as unknown as HealthEntry;
  const services = new Map([
    ['web', [entry('web', ['edge.http.routers.web.rule=Host(`web.test`)'])]],
    ['api', [entry('api', ['edge.enable=true'])]],
  ]);
  const rules = (opts: { prefix: string; exposedByDefault: boolean }) => {
    const r = (buildConsulConfig(services, { ...opts, defaultRule: 'Host(`{{ .Name }}.consul.test`)' }).config as { http?: { routers?: Record<string, { rule: string }> } }).http?.routers ?? {};
    return Object.fromEntries(Object.entries(r).map(([k, v]) => [k, v.rule]));
  };
  assert.deepEqual(rules({ prefix: 'edge', exposedByDefault: true }), { api: 'Host(`api.consul.test`)', web: 'Host(`web.test`)' });
  assert.deepEqual(rules({ prefix: 'gantry', exposedByDefault: true }), { api: 'Host(`api.consul.test`)', web: 'Host(`web.consul.test`)' }, 'other prefix: the tags are not labels');
  assert.deepEqual(rules({ prefix: 'edge', exposedByDefault: false }), { api: 'Host(`api.consul.test`)' });
});
