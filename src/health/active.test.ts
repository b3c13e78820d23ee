import { test } from 'node:test';
import assert from 'node:assert/strict';
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ActiveHealthChecker, HealthCheckRegistry, checkURL, normalizeHealthCheck, type Prober } from './active.js';
import { serverStatus } from './status.js';
import { UpstreamServer } from '../upstreams/server.js';
import { Logger } from '../observability/logger.js';

async function serve(handler: (req: IncomingMessage, res: ServerResponse) => void): Promise<{ url: string; close: () => Promise<void> }> {
  const server = http.createServer(handler);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

async function until(cond: () => boolean, ms = 3000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error('condition not met before the deadline');
    await new Promise((r) => setTimeout(r, 5));
  }
}

function memoryLogger(): { lines: string[]; logger: Logger } {
  const lines: string[] = [];
  return { lines, logger: new Logger('debug', 'json', { write: (l) => void lines.push(l) }) };
}

test('active: a server that starts failing goes DOWN, then UP again', async () => {
  let status = 200;
  const seen: { path?: string; host?: string; method?: string; token?: string }[] = [];
  const backend = await serve((req, res) => {
    seen.push({ path: req.url, host: req.headers.host, method: req.method, token: req.headers['x-token'] as string });
    res.statusCode = status;
    res.end();
  });
  const registry = new HealthCheckRegistry();
  const { lines, logger } = memoryLogger();
  const server = new UpstreamServer(backend.url);
  const checker = new ActiveHealthChecker('web@file', [{ server, weight: 1 }], { path: '/health?x=1', interval: '50ms', timeout: '500ms', hostname: 'app.example', headers: { 'X-Token': 't' }, method: 'head' }, { registry, logger });
  try {
    checker.start();
    await until(() => seen.length >= 1);
    assert.deepEqual(seen[0], { path: '/health?x=1', host: 'app.example', method: 'HEAD', token: 't' });
    assert.equal(server.activeHealthy, true);
    status = 503;
    await until(() => !server.activeHealthy);
    assert.equal(serverStatus(server), 'DOWN');
    status = 302;
    await until(() => server.activeHealthy);
    assert.equal(serverStatus(server), 'UP');
    const transitions = lines.map((l) => JSON.parse(l) as { msg: string; service: string; url: string; reason?: string });
    assert.deepEqual(
      transitions.map((t) => [t.msg, t.service, t.url]),
      [
        ['health check: server is DOWN', 'web@file', backend.url],
        ['health check: server is UP', 'web@file', backend.url],
      ],
    );
    assert.equal(transitions[0]!.reason, 'status 503');
  } finally {
    checker.stop();
    await registry.close();
    await backend.close();
  }
});

test('active: refused connections and timeouts are DOWN; an expected status is honoured', async () => {
  const gone = await serve(() => {});
  await gone.close();
  const slow = await serve(() => {});
  const teapot = await serve((_req, res) => {
    res.statusCode = 418;
    res.end();
  });
  const cases = [
    { desc: 'connection refused', url: gone.url, config: {}, up: false },
    { desc: 'timeout', url: slow.url, config: { timeout: '50ms' }, up: false },
    { desc: '418 by default', url: teapot.url, config: {}, up: false },
    { desc: '418 when expected', url: teapot.url, config: { status: 418 }, up: true },
  ];
  const registry = new HealthCheckRegistry();
  try {
    for (const c of cases) {
      const server = new UpstreamServer(c.url);
      let checks = 0;
      const counting = new HealthCheckRegistry({
        prober: async (url, check, d) => {
          const r = await registry.prober(url, check, d, null);
          checks++;
          return r;
        },
        dispatcher: registry.dispatcher,
      });
      const checker = new ActiveHealthChecker('svc', [server], { interval: '50ms', ...c.config }, { registry: counting });
      checker.start();
      await until(() => checks >= 1);
      assert.equal(server.activeHealthy, c.up, c.desc);
      checker.stop();
      await counting.close();
    }
  } finally {
    await registry.close();
    await slow.close();
    await teapot.close();
  }
});

test('active: checks are shared and refcounted across reloads', async () => {
  let calls = 0;
  let verdict: string | null = null;
  const prober: Prober = async () => {
    calls++;
    return verdict;
  };
  const registry = new HealthCheckRegistry({ prober });
  const a = new UpstreamServer('http://10.0.0.1:80');
  const b = new UpstreamServer('http://10.0.0.2:80');
  const cfg = { path: '/h', interval: '20ms', headers: { b: '2', a: '1' } };
  const old = new ActiveHealthChecker('web@file', [a, b], cfg, { registry });
  old.start();
  verdict = 'status 500';
  await until(() => !a.activeHealthy && !b.activeHealthy);
  assert.equal(registry.size, 2);
  // An unchanged reload (same config, headers in another order): the new snapshot's checker shares the probes.
  const next = new ActiveHealthChecker('web@file', [a, b], { ...cfg, headers: { a: '1', b: '2' } }, { registry });
  next.start();
  old.stop();
  assert.equal(registry.size, 2);
  assert.equal(a.activeHealthy, false, 'health survives the reload');
  // A reload that removes b stops its probe and makes it UP again (no check, no verdict).
  const third = new ActiveHealthChecker('web@file', [a], cfg, { registry });
  third.start();
  next.stop();
  assert.equal(registry.size, 1);
  assert.equal(b.activeHealthy, true);
  verdict = null;
  await until(() => a.activeHealthy);
  third.stop();
  assert.equal(registry.size, 0);
  const after = calls;
  await new Promise((r) => setTimeout(r, 60));
  assert.equal(calls, after, 'no check runs after stop');
  await registry.close();
});

test('active: normalization and check URL', () => {
  const cases = [
    { desc: 'defaults', server: 'http://10.0.0.1:8080', config: {}, url: 'http://10.0.0.1:8080/', interval: 30_000, timeout: 5_000 },
    { desc: 'path replaces the server path', server: 'http://10.0.0.1:8080/app', config: { path: '/health' }, url: 'http://10.0.0.1:8080/health', interval: 30_000, timeout: 5_000 },
    { desc: 'port and scheme', server: 'http://10.0.0.1:8080', config: { path: '/h', port: 9000, scheme: 'https', interval: '5s', timeout: 2 }, url: 'https://10.0.0.1:9000/h', interval: 5_000, timeout: 2_000 },
    { desc: 'zero interval falls back', server: 'http://h', config: { interval: '0s' }, url: 'http://h/', interval: 30_000, timeout: 5_000 },
  ];
  for (const c of cases) {
    const n = normalizeHealthCheck(c.config);
    assert.equal(checkURL(c.server, n), c.url, c.desc);
    assert.equal(n.intervalMs, c.interval, c.desc);
    assert.equal(n.timeoutMs, c.timeout, c.desc);
  }
});

test('active: unhealthyInterval checks a DOWN server at its own pace (default: interval)', async () => {
  assert.equal(normalizeHealthCheck({ interval: '5s' }).unhealthyIntervalMs, 5_000);
  assert.equal(normalizeHealthCheck({ interval: '5s', unhealthyInterval: '1s' }).unhealthyIntervalMs, 1_000);
  // A DOWN server is checked every unhealthyInterval (20 ms) while a healthy one waits its interval (1 h).
  let calls = 0;
  const registry = new HealthCheckRegistry({ prober: async () => (calls++, 'down') });
  const checker = new ActiveHealthChecker('svc', [new UpstreamServer('http://127.0.0.1:9')], { interval: '1h', unhealthyInterval: '20ms' }, { registry });
  checker.start();
  try {
    await until(() => calls >= 4, 3000);
  } finally {
    checker.stop();
    await registry.close();
  }
});
