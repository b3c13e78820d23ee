/**
 * The conformance suite every Balancer passes (Hono's common.case.test.ts habit), and the small
 * fixtures the balancer tests share. Each implementation's test file calls runBalancerSuite.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { IncomingMessage, ServerResponse } from '../node-http.js';
import { Socket } from 'node:net';
import type { Balancer, WeightedServer } from './types.js';
import { RequestContext } from '../proxy/context.js';
import { UpstreamServer } from '../upstreams/server.js';

export function servers(...weights: number[]): WeightedServer[] {
  return weights.map((weight, i) => ({ server: new UpstreamServer(`http://10.0.0.${i + 1}:8080`), weight }));
}

export function fakeReq(cookie?: string): IncomingMessage {
  const req = new IncomingMessage(new Socket());
  req.method = 'GET';
  req.url = '/';
  if (cookie !== undefined) req.headers = { cookie };
  return req;
}

export function fakeRes(req: IncomingMessage = fakeReq()): ServerResponse {
  return new ServerResponse(req);
}

export function ctx(): RequestContext {
  return new RequestContext('web', 'http', '127.0.0.1', 'example.com', '80', '/', '', 0);
}

/**
 * countPicks picks n times and counts by URL (null counted as 'null'). Each pick comes from another
 * client IP, so that balancers keyed by the client (hrw) spread too.
 */
export function countPicks(b: Balancer, n: number, exclude: ReadonlySet<UpstreamServer> | null = null): Map<string, number> {
  const counts = new Map<string, number>();
  const c = ctx();
  for (let i = 0; i < n; i++) {
    c.clientIP = `10.1.${i >> 8}.${i & 255}`;
    const req = fakeReq();
    const s = b.pick(req, fakeRes(req), c, exclude);
    const k = s === null ? 'null' : s.url;
    counts.set(k, (counts.get(k) ?? 0) + 1);
  }
  return counts;
}

export function runBalancerSuite(name: string, newBalancer: (servers: WeightedServer[]) => Balancer): void {
  const cases: { desc: string; weights: number[]; setup?: (s: WeightedServer[]) => void; exclude?: (s: WeightedServer[]) => Set<UpstreamServer>; expect: (s: WeightedServer[]) => string[] }[] = [
    { desc: 'no servers gives null', weights: [], expect: () => ['null'] },
    { desc: 'every available server is picked', weights: [1, 1, 1], expect: (s) => s.map((x) => x.server.url) },
    { desc: 'weight 0 is never picked', weights: [1, 0, 1], expect: (s) => [s[0]!.server.url, s[2]!.server.url] },
    {
      desc: 'unhealthy, ejected and draining servers are skipped',
      weights: [1, 1, 1, 1],
      setup: (s) => {
        s[0]!.server.activeHealthy = false;
        s[1]!.server.ejectedUntil = Date.now() + 60_000;
        s[2]!.server.draining = true;
      },
      expect: (s) => [s[3]!.server.url],
    },
    {
      desc: 'excluded servers are skipped',
      weights: [1, 1, 1],
      exclude: (s) => new Set([s[0]!.server, s[1]!.server]),
      expect: (s) => [s[2]!.server.url],
    },
    { desc: 'all excluded gives null', weights: [1, 1], exclude: (s) => new Set(s.map((x) => x.server)), expect: () => ['null'] },
    {
      desc: 'none available gives null',
      weights: [1, 1],
      setup: (s) => s.forEach((x) => (x.server.activeHealthy = false)),
      expect: () => ['null'],
    },
  ];
  for (const c of cases) {
    test(`${name} conformance: ${c.desc}`, () => {
      const s = servers(...c.weights);
      c.setup?.(s);
      const b = newBalancer(s);
      assert.equal(b.servers.length, s.length);
      const counts = countPicks(b, 60, c.exclude?.(s) ?? null);
      assert.deepEqual([...counts.keys()].sort(), c.expect(s).sort());
    });
  }
}
