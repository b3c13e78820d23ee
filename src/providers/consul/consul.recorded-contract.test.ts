/**
 * RECORDED-CONTRACT tests of the Consul catalog provider. No Consul server can run in this test bed,
 * so a fake HTTP server on 127.0.0.1:0 serves Consul's own documented response bodies
 * (testdata/, see its README) and implements the blocking-query contract: `?index=` and `?wait=`
 * hold the request until the data changes, `X-Consul-Index` names the state. The provider is
 * driven as Gantry drives it (start → emit); nothing here contacts the addresses in the bodies.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import https from 'node:https';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { makeCA } from '../../../test/fixtures/tls/make-certs.js';
import type { ConfigMessage } from '../provider.js';
import { Logger } from '../../observability/logger.js';
import { ConsulCatalogProvider, type ConsulCatalogOptions } from './provider.js';
import type { CatalogServices, HealthEntry } from './client.js';

const DIR = new URL('../../../../src/providers/consul/testdata/', import.meta.url);
const recorded = <T>(f: string): T => JSON.parse(readFileSync(new URL(f, DIR), 'utf8')) as T;

/** FakeConsul keeps a catalog and health entries; every change bumps the index and releases blocked queries. */
class FakeConsul {
  index = 100;
  catalog: CatalogServices = recorded('catalog-services.json');
  health = new Map<string, HealthEntry[]>([['redis', recorded('health-service-redis.json')]]);
  queries: URL[] = [];
  /** The X-Consul-Token of each query, in order. */
  tokens: Array<string | undefined> = [];
  #waiting: Array<() => void> = [];
  server: http.Server;

  /** With `tls`, it serves HTTPS and, with `ca`, asks for a client certificate signed by it (Consul's verify_incoming). */
  constructor(tls?: { cert: Buffer; key: Buffer; ca?: Buffer }) {
    const handler = (req: http.IncomingMessage, res: http.ServerResponse) => void this.#handle(req, res);
    this.server = tls === undefined
      ? http.createServer(handler)
      : https.createServer({ cert: tls.cert, key: tls.key, ...(tls.ca ? { ca: tls.ca, requestCert: true, rejectUnauthorized: true } : {}) }, handler);
  }

  async start(): Promise<string> {
    await new Promise<void>((r) => this.server.listen(0, '127.0.0.1', r));
    return `127.0.0.1:${(this.server.address() as { port: number }).port}`;
  }

  change(fn: () => void): void {
    fn();
    this.index++;
    for (const w of this.#waiting.splice(0)) w();
  }

  async #handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://consul');
    this.queries.push(url);
    this.tokens.push(req.headers['x-consul-token'] as string | undefined);
    const idx = Number(url.searchParams.get('index') ?? 0);
    if (idx >= this.index) {
      // Blocking query: hold until a change or the wait passes.
      const waitS = Number((url.searchParams.get('wait') ?? '300s').replace(/s$/, ''));
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, waitS * 1000);
        this.#waiting.push(() => (clearTimeout(t), resolve()));
      });
    }
    let body: unknown;
    if (url.pathname === '/v1/catalog/services') body = this.catalog;
    else if (url.pathname.startsWith('/v1/health/service/')) {
      const name = decodeURIComponent(url.pathname.slice('/v1/health/service/'.length));
      const entries = this.health.get(name) ?? [];
      body = url.searchParams.has('passing') ? entries.filter((e) => (e.Checks ?? []).every((c) => c.Status === 'passing')) : entries;
    } else {
      res.writeHead(404).end('unknown endpoint');
      return;
    }
    res.writeHead(200, { 'content-type': 'application/json', 'x-consul-index': String(this.index), 'x-consul-knownleader': 'true' });
    res.end(JSON.stringify(body));
  }

  close(): Promise<void> {
    for (const w of this.#waiting.splice(0)) w();
    this.server.closeAllConnections();
    return new Promise((r) => this.server.close(() => r()));
  }
}

async function until(cond: () => boolean, ms = 3000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('condition not met');
    await new Promise((r) => setTimeout(r, 10));
  }
}

function entry(service: string, id: string, address: string, port: number, tags: string[], status = 'passing'): HealthEntry {
  // The documented entry with this instance's fields.
  const e = structuredClone(recorded<HealthEntry[]>('health-service-redis.json')[0]!);
  e.Service = { ...e.Service, ID: id, Service: service, Address: address, Port: port, Tags: tags };
  e.Checks = (e.Checks ?? []).map((c) => ({ ...c, Status: status }));
  return e;
}

/** setup starts `consul` and a provider on it; `opts` may depend on the address it listens on. */
async function setup(t: { after(fn: () => Promise<void>): void }, opts: Partial<ConsulCatalogOptions> | ((address: string) => Partial<ConsulCatalogOptions>) = {}, consul = new FakeConsul()) {
  const address = await consul.start();
  const provider = new ConsulCatalogProvider({ address, waitMs: 30_000, ...(typeof opts === 'function' ? opts(address) : opts) });
  const messages: ConfigMessage[] = [];
  await provider.start((m) => messages.push(m), new Logger('error', 'json'));
  t.after(async () => {
    await provider.stop();
    await consul.close();
  });
  return { consul, provider, messages, last: () => messages.at(-1)! };
}

test('consul (recorded contract): documented catalog and health bodies give the default rule and the instance address', async (t) => {
  const { consul, provider, last } = await setup(t);
  const cfg = last().config as { http?: { routers?: Record<string, { rule: string; service: string }>; services?: Record<string, { loadBalancer: { servers: Array<{ url: string }> } }> } };
  assert.equal(last().provider, 'consulcatalog');
  assert.deepEqual(cfg.http?.routers?.['redis'], { rule: 'Host(`redis`)', service: 'redis' });
  assert.deepEqual(cfg.http?.services?.['redis']?.loadBalancer.servers, [{ url: 'http://10.1.10.12:8000' }]);
  assert.equal(cfg.http?.routers?.['consul'], undefined, 'the consul service itself is not routed');
  assert.deepEqual(provider.instances('redis'), ['http://10.1.10.12:8000']);
  assert.deepEqual(provider.instances('postgresql'), [], 'known to the catalog, no passing instance');
  assert.equal(provider.instances('nope'), null);
  // Every health query asked for passing instances only.
  assert.ok(consul.queries.filter((q) => q.pathname.startsWith('/v1/health/service/')).every((q) => q.searchParams.has('passing')));
});

test('consul (recorded contract): blocking queries carry index and wait, and a change is applied without waiting for the wait', async (t) => {
  const { consul, last, messages } = await setup(t);
  await until(() => consul.queries.some((q) => q.pathname === '/v1/catalog/services' && q.searchParams.get('index') === '100'));
  const blocked = consul.queries.find((q) => q.pathname === '/v1/catalog/services' && q.searchParams.has('index'))!;
  assert.equal(blocked.searchParams.get('wait'), '30s');
  const n = messages.length;
  const started = Date.now();
  consul.change(() => {
    consul.catalog['web'] = ['gantry.http.routers.web.rule=PathPrefix(`/web`)', 'gantry.http.services.web.loadbalancer.server.port=3000'];
    consul.health.set('web', [entry('web', 'web-1', '127.0.0.1', 9001, consul.catalog['web']!), entry('web', 'web-2', '', 9002, consul.catalog['web']!)]);
  });
  await until(() => messages.length > n && JSON.stringify(last().config).includes('/web'));
  assert.ok(Date.now() - started < 2000, 'released by the change, not by the 30 s wait');
  const web = (last().config as { http: { routers: Record<string, unknown>; services: Record<string, { loadBalancer: { servers: Array<{ url: string }> } }> } }).http;
  assert.deepEqual(web.routers['web'], { rule: 'PathPrefix(`/web`)', service: 'web' });
  // The tag's port wins over the registered one; an instance without a service address uses its node's.
  assert.deepEqual(web.services['web']!.loadBalancer.servers.map((s) => s.url), ['http://127.0.0.1:3000', 'http://10.1.10.12:3000']);

  // An instance whose check fails leaves the passing list; one that opts out is not routed.
  consul.change(() => {
    consul.health.set('web', [entry('web', 'web-1', '127.0.0.1', 9001, consul.catalog['web']!), entry('web', 'web-2', '', 9002, consul.catalog['web']!, 'critical')]);
    consul.catalog['hidden'] = ['gantry.enable=false'];
    consul.health.set('hidden', [entry('hidden', 'h-1', '127.0.0.1', 9003, ['gantry.enable=false'])]);
  });
  await until(() => {
    const s = (last().config as { http?: { services?: Record<string, { loadBalancer: { servers: unknown[] } }> } }).http?.services?.['web'];
    return s?.loadBalancer.servers.length === 1;
  });
  assert.equal(JSON.stringify(last().config).includes('hidden'), false);

  // A service gone from the catalog is gone from the configuration.
  consul.change(() => delete consul.catalog['web']);
  await until(() => !JSON.stringify(last().config).includes('/web'));
});

test('consul (recorded contract): a defaultRule template and a bad tag reported with its service', async (t) => {
  const { consul, last } = await setup(t, { defaultRule: 'Host(`{{ normalize .Name }}.consul.test`)' });
  assert.equal((last().config as { http: { routers: Record<string, { rule: string }> } }).http.routers['redis']!.rule, 'Host(`redis.consul.test`)');
  consul.change(() => {
    consul.catalog['bad'] = ['gantry.http.routers.bad.rulez=Path(`/b`)'];
    consul.health.set('bad', [entry('bad', 'b-1', '127.0.0.1', 9004, consul.catalog['bad']!)]);
  });
  await until(() => (last().errors ?? []).some((e) => e.message.includes('consul service bad') && e.message.includes('rulez')));
  assert.ok((last().config as { http: { routers: Record<string, unknown> } }).http.routers['redis'], 'other services keep their routes');
});

test('consul (recorded contract): endpoint.tls: HTTPS with the CA given and a client certificate', async (t) => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'gantry-consul-tls-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const ca = makeCA(dir, 'Consul Test CA');
  const server = ca.leaf('server', ['localhost']);
  const client = ca.leaf('client', ['gantry'], 2, 'clientAuth');
  const consul = new FakeConsul({ cert: readFileSync(server.cert), key: readFileSync(server.key), ca: readFileSync(ca.caCert) });
  const tls = { ca: readFileSync(ca.caCert), cert: readFileSync(client.cert), key: readFileSync(client.key), insecureSkipVerify: false };
  // The server's certificate is for `localhost`: reached by that name, over https (a bare address with tls).
  const local = (address: string) => address.replace('127.0.0.1', 'localhost');
  const { last } = await setup(t, (address) => ({ address: local(address), tls }), consul);
  assert.deepEqual((last().config as { http: { routers: Record<string, unknown> } }).http.routers['redis'], { rule: 'Host(`redis`)', service: 'redis' });
  assert.ok(consul.queries.length > 0, 'the queries went over HTTPS');

  // Without the client certificate the server refuses the handshake: nothing is emitted.
  const port = (consul.server.address() as { port: number }).port;
  const bare = new ConsulCatalogProvider({ address: `localhost:${port}`, tls: { ca: tls.ca, insecureSkipVerify: false }, waitMs: 30_000 });
  const seen: ConfigMessage[] = [];
  await bare.start((m) => seen.push(m), new Logger('error', 'json'));
  await bare.stop();
  assert.deepEqual(seen, []);
});

test('consul (recorded contract): constraints select services by their tags', async (t) => {
  const consul = new FakeConsul();
  consul.catalog['web'] = ['env=prod'];
  consul.health.set('web', [entry('web', 'web-1', '127.0.0.1', 9001, ['env=prod'])]);
  consul.catalog['dev'] = ['env=dev'];
  consul.health.set('dev', [entry('dev', 'dev-1', '127.0.0.1', 9002, ['env=dev'])]);
  const { last, provider } = await setup(t, { constraints: 'Tag(`env=prod`) || TagRegex(`^primary`)' }, consul);
  const routers = Object.keys((last().config as { http: { routers: Record<string, unknown> } }).http.routers).sort();
  // redis's recorded tags are ["primary"]; dev matches neither.
  assert.deepEqual(routers, ['redis', 'web']);
  assert.deepEqual(provider.instances('dev'), ['http://127.0.0.1:9002'], 'the instance registry is not filtered: a registration is an explicit request');
});

test('consul (recorded contract): watch false polls every refreshInterval with plain queries', async (t) => {
  const { consul, last, messages } = await setup(t, { watch: false, waitMs: 300 });
  assert.ok(JSON.stringify(last().config).includes('redis'));
  await until(() => consul.queries.filter((q) => q.pathname === '/v1/catalog/services').length >= 3, 5000);
  assert.ok(consul.queries.every((q) => !q.searchParams.has('index') && !q.searchParams.has('wait')), 'no blocking query');
  const n = messages.length;
  consul.change(() => {
    consul.catalog['web'] = [];
    consul.health.set('web', [entry('web', 'web-1', '127.0.0.1', 9001, [])]);
  });
  await until(() => messages.length > n && JSON.stringify(last().config).includes('Host(`web`)'), 5000);
});

test('consul (recorded contract): datacenter and token go with every query; exposedByDefault false and prefix read the tags', async (t) => {
  const consul = new FakeConsul();
  const tags = ['edge.enable=true', 'edge.http.routers.web.rule=PathPrefix(`/edge`)'];
  consul.catalog['web'] = tags;
  consul.health.set('web', [entry('web', 'web-1', '127.0.0.1', 9001, tags)]);
  const { last } = await setup(t, { datacenter: 'dc2', token: 'secret-token', exposedByDefault: false, prefix: 'edge' }, consul);
  assert.ok(consul.queries.every((q) => q.searchParams.get('dc') === 'dc2'));
  assert.ok(consul.tokens.every((tok) => tok === 'secret-token'));
  // Only the service enabled with the prefix's tag, with its router from the prefix's tags.
  assert.deepEqual((last().config as { http: { routers: Record<string, unknown> } }).http.routers, { web: { rule: 'PathPrefix(`/edge`)', service: 'web' } });
});
