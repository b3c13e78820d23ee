import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mergeConfigs } from '../watcher/merge.js';
import { silentLogger } from '../observability/logger.js';
import { compileTcpRoutes } from './routes.js';
import type { TcpService } from './service.js';

const router = (service: string) => ({ rule: 'HostSNI(`*`)', service, entryPoints: [service] });

test('TCP services: load balancer and tcp.serversTransports settings, a named transport winning', () => {
  const merged = mergeConfigs([
    {
      provider: 'file',
      config: {
        tcp: {
          routers: { a: router('plain'), b: router('lbdelay'), c: router('named'), d: router('forever'), e: router('missing') },
          services: {
            plain: { loadBalancer: { servers: [{ address: '127.0.0.1:1' }] } },
            lbdelay: { loadBalancer: { terminationDelay: 250, proxyProtocol: { version: 1 }, servers: [{ address: '127.0.0.1:1' }] } },
            named: { loadBalancer: { terminationDelay: 250, proxyProtocol: { version: 1 }, serversTransport: 'fast', servers: [{ address: '127.0.0.1:1', tls: true }] } },
            forever: { loadBalancer: { serversTransport: 'forever', servers: [{ address: '127.0.0.1:1' }] } },
            missing: { loadBalancer: { serversTransport: 'nosuch', servers: [{ address: '127.0.0.1:1' }] } },
          },
          serversTransports: {
            fast: { dialTimeout: '2s', dialKeepAlive: '5s', terminationDelay: '50ms', proxyProtocol: { version: 2 }, tls: { serverName: 'db.internal', insecureSkipVerify: true } },
            forever: { dialTimeout: 0, dialKeepAlive: -1, terminationDelay: '-1s' },
          },
        },
      },
    },
  ]);
  const eps = ['plain', 'lbdelay', 'named', 'forever', 'missing'];
  const routes = compileTcpRoutes(merged, eps, silentLogger);
  const settings = (ep: string) => (routes.get(ep)?.plain?.match({ sni: '', clientIP: '127.0.0.1', alpn: [] })?.value.service as TcpService | undefined)?.settings;
  const cases = [
    { desc: 'defaults', ep: 'plain', want: { dialTimeoutMs: 30_000, terminationDelayMs: 100, dialKeepAliveMs: 15_000, proxyProtocol: null } },
    { desc: 'load balancer terminationDelay (ms) and proxyProtocol', ep: 'lbdelay', want: { dialTimeoutMs: 30_000, terminationDelayMs: 250, dialKeepAliveMs: 15_000, proxyProtocol: 1 } },
    { desc: 'named transport wins', ep: 'named', want: { dialTimeoutMs: 2000, terminationDelayMs: 50, dialKeepAliveMs: 5000, proxyProtocol: 2 } },
    { desc: 'no dial timeout, no keep-alive, no termination bound', ep: 'forever', want: { dialTimeoutMs: 0, terminationDelayMs: -1000, dialKeepAliveMs: -1000, proxyProtocol: null } },
  ];
  for (const c of cases) {
    const { tls: _tls, ...got } = settings(c.ep)!;
    assert.deepEqual(got, c.want, c.desc);
  }
  assert.equal(settings('named')!.tls!.serverName, 'db.internal');
  assert.equal(settings('named')!.tls!.insecureSkipVerify, true);
  assert.equal(settings('missing'), undefined);
  assert.match(merged.tcp.routers.get('e@file')!.errors.join(' '), /serversTransport "nosuch@file" does not exist/);
});

test('TCP servers: weights spread connections (smooth weighted round robin); weight 0 takes none', async () => {
  const { TcpService } = await import('./service.js');
  const svc = new TcpService('s@file', [
    { address: 'a:1', host: 'a', port: 1, weight: 3 },
    { address: 'b:1', host: 'b', port: 1, weight: 1 },
    { address: 'c:1', host: 'c', port: 1, weight: 0 },
  ], null, silentLogger);
  const picks = Array.from({ length: 8 }, () => svc.pick(new Set()));
  assert.deepEqual(picks.filter((i) => i === 0).length, 6);
  assert.deepEqual(picks.filter((i) => i === 1).length, 2);
  assert.equal(picks.includes(2), false);
});
