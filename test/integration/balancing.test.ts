/**
 * Balancing through the real entrypoint (issue 3): smooth weighted round-robin splits exactly by
 * weight, p2c prefers the less loaded server, a sticky cookie keeps a client on one server until
 * that server is removed, weighted services split between services, mirroring copies a share of
 * the requests, and active health checks take a service's servers out (503 naming the service)
 * and bring them back.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { startBackend, startWithFile, waitFor, writeAtomic, type Backend, type GantryProcess } from '../helpers/gantry.js';
import { get } from '../helpers/http.js';

/** Settings a test flips to change the configuration (sticky server removal). */
interface Knobs {
  stickyServers: Backend[];
}

describe('balancing through the entrypoint', () => {
  let g: GantryProcess;
  let file: string;
  let cleanup: () => Promise<void>;
  const b: Record<string, Backend> = {};
  /** The health backends answer /health with this status. */
  const health: Record<string, number> = { flaky: 500, h1: 200, h2: 200, broken: 500 };
  /** Requests the slow p2c backend holds, released by the test. */
  let slowDelayMs = 150;

  const config = (k: Knobs): string => `http:
  routers:
    weights:
      rule: Host(\`weights.test\`)
      service: weights
    p2c:
      rule: Host(\`p2c.test\`)
      service: p2c
    sticky:
      rule: Host(\`sticky.test\`)
      service: sticky
    canary:
      rule: Host(\`canary.test\`)
      service: canary
    mirrored:
      rule: Host(\`mirror.test\`)
      service: mirrored
    down:
      rule: Host(\`down.test\`)
      service: down
    stickyhealth:
      rule: Host(\`stickyhealth.test\`)
      service: stickyhealth
    passive:
      rule: Host(\`passive.test\`)
      service: passive
    canaryhealth:
      rule: Host(\`canaryhealth.test\`)
      service: canaryhealth
  services:
    weights:
      loadBalancer:
        servers:
          - url: ${b.w1!.url}
            weight: 1
          - url: ${b.w2!.url}
            weight: 1
          - url: ${b.w3!.url}
            weight: 2
    p2c:
      loadBalancer:
        strategy: p2c
        servers:
          - url: ${b.slow!.url}
          - url: ${b.fast!.url}
    sticky:
      loadBalancer:
        sticky:
          cookie:
            name: stick
            httpOnly: true
            sameSite: lax
        servers:
${k.stickyServers.map((s) => `          - url: ${s.url}\n`).join('')}    canary:
      weighted:
        services:
          - name: stable
            weight: 3
          - name: next
            weight: 1
    stable:
      loadBalancer:
        servers:
          - url: ${b.stable!.url}
    next:
      loadBalancer:
        servers:
          - url: ${b.next!.url}
    mirrored:
      mirroring:
        service: main
        mirrors:
          - name: shadow
            percent: 25
    main:
      loadBalancer:
        servers:
          - url: ${b.main!.url}
    shadow:
      loadBalancer:
        servers:
          - url: ${b.shadow!.url}
    down:
      loadBalancer:
        healthCheck:
          path: /health
          interval: 100ms
          timeout: 1s
        servers:
          - url: ${b.flaky!.url}
    stickyhealth:
      loadBalancer:
        sticky: { cookie: { name: sh } }
        healthCheck: { path: /health, interval: 100ms, timeout: 1s }
        servers:
          - url: ${b.h1!.url}
          - url: ${b.h2!.url}
    passive:
      loadBalancer:
        servers:
          - url: ${b.good!.url}
          - url: ${b.bad!.url}
    canaryhealth:
      weighted:
        services:
          - name: stable
            weight: 1
          - name: broken
            weight: 1
    broken:
      loadBalancer:
        healthCheck: { path: /health, interval: 100ms, timeout: 1s }
        servers:
          - url: ${b.broken!.url}
`;

  before(async () => {
    for (const name of ['w1', 'w2', 'w3', 'fast', 's1', 's2', 's3', 'stable', 'next', 'main', 'shadow']) b[name] = await startBackend(name);
    b.slow = await startBackend('slow', (_req, res) => {
      setTimeout(() => {
        res.writeHead(200, { 'x-backend': 'slow' });
        res.end('slow');
      }, slowDelayMs);
    });
    // Backends whose /health answers health[name]; other paths answer 200 with their name.
    for (const name of ['flaky', 'h1', 'h2', 'broken']) {
      b[name] = await startBackend(name, (req, res) => {
        if (req.url === '/health') {
          res.writeHead(health[name]!);
          res.end(String(health[name]));
          return;
        }
        res.writeHead(200, { 'x-backend': name });
        res.end(name);
      });
    }
    b.good = await startBackend('good');
    b.bad = await startBackend('bad', (_req, res) => {
      res.writeHead(500, { 'x-backend': 'bad' });
      res.end('bad');
    });
    ({ g, file, cleanup } = await startWithFile(config({ stickyServers: [b.s1!, b.s2!, b.s3!] }), ['--providers.file.watch']));
  });
  after(async () => {
    slowDelayMs = 0;
    await cleanup?.();
    await Promise.all(Object.values(b).map((x) => x.close()));
  });

  /** spread sends `total` GETs to `host`, `concurrency` at a time, and counts answers by X-Backend. */
  async function spread(host: string, total: number, concurrency: number, headers: Record<string, string> = {}): Promise<Map<string, number>> {
    const counts = new Map<string, number>();
    let sent = 0;
    const worker = async () => {
      while (sent < total) {
        sent++;
        const r = await get(g.url('/'), { host, ...headers });
        assert.equal(r.status, 200, r.body);
        const who = String(r.headers['x-backend']);
        counts.set(who, (counts.get(who) ?? 0) + 1);
      }
    };
    await Promise.all(Array.from({ length: concurrency }, worker));
    return counts;
  }

  it('splits 1,000 requests 250/250/500 over weights 1/1/2', async () => {
    const counts = await spread('weights.test', 1000, 8);
    process.stderr.write(`weights 1/1/2: ${JSON.stringify(Object.fromEntries(counts))}\n`);
    const cases = [
      { desc: 'w1 (weight 1)', name: 'w1', expect: 250 },
      { desc: 'w2 (weight 1)', name: 'w2', expect: 250 },
      { desc: 'w3 (weight 2)', name: 'w3', expect: 500 },
    ];
    for (const c of cases) {
      const n = counts.get(c.name) ?? 0;
      assert.ok(Math.abs(n - c.expect) <= 20, `${c.desc}: ${n}, expected ${c.expect} ± 2%`);
    }
  });

  it('p2c prefers the less loaded server', async () => {
    // The slow server holds each request 150 ms; with 8 clients in parallel, round-robin would
    // give it half the requests. p2c sends new requests to the server with fewer in flight.
    const counts = await spread('p2c.test', 160, 8);
    process.stderr.write(`p2c slow/fast: ${JSON.stringify(Object.fromEntries(counts))}\n`);
    const slow = counts.get('slow') ?? 0;
    const fast = counts.get('fast') ?? 0;
    assert.equal(slow + fast, 160);
    assert.ok(fast >= 3 * slow, `fast ${fast} should far outnumber slow ${slow}`);
  });

  it('keeps a sticky client on one server, then moves it when that server is removed', async () => {
    const first = await get(g.url('/'), { host: 'sticky.test' });
    assert.equal(first.status, 200);
    const setCookie = [first.headers['set-cookie'] ?? []].flat().map(String);
    const line = setCookie.find((c) => c.startsWith('stick='));
    assert.ok(line, `a sticky cookie is set: ${JSON.stringify(setCookie)}`);
    assert.match(line, /; HttpOnly/);
    assert.match(line, /; SameSite=Lax/);
    const value = line.slice('stick='.length).split(';')[0]!;
    // The value names the server without revealing it.
    for (const s of [b.s1!, b.s2!, b.s3!]) {
      assert.ok(!value.includes(String(s.port)), `cookie ${value} reveals port ${s.port}`);
    }
    assert.ok(!/127|localhost|http/i.test(decodeURIComponent(value)), `cookie ${value} reveals an address`);
    const home = String(first.headers['x-backend']);

    let cookie = `stick=${value}`;
    const seen = new Set<string>();
    for (let i = 0; i < 100; i++) {
      const r = await get(g.url('/'), { host: 'sticky.test', cookie });
      assert.equal(r.status, 200);
      seen.add(String(r.headers['x-backend']));
      assert.equal(r.headers['set-cookie'], undefined, 'no new cookie while the server stays');
    }
    assert.deepEqual([...seen], [home], '100 requests with the cookie go to one server');

    // Remove the client's server from the watched file: the client moves and gets a new cookie.
    const remaining = [b.s1!, b.s2!, b.s3!].filter((s) => s.name !== home);
    writeAtomic(file, config({ stickyServers: remaining }));
    let moved: Awaited<ReturnType<typeof get>> | null = null;
    await waitFor(async () => {
      const r = await get(g.url('/'), { host: 'sticky.test', cookie });
      assert.equal(r.status, 200, r.body);
      if (r.headers['x-backend'] === home) return false;
      moved = r;
      return true;
    }, 3000);
    const m = moved!;
    const newLine = [m.headers['set-cookie'] ?? []].flat().map(String).find((c) => c.startsWith('stick='));
    assert.ok(newLine, 'the moved client gets a new cookie');
    const newValue = newLine.slice('stick='.length).split(';')[0]!;
    assert.notEqual(newValue, value);
    const newHome = String(m.headers['x-backend']);
    assert.ok(remaining.some((s) => s.name === newHome));
    cookie = `stick=${newValue}`;
    for (let i = 0; i < 20; i++) {
      const r = await get(g.url('/'), { host: 'sticky.test', cookie });
      assert.equal(r.headers['x-backend'], newHome, 'the client sticks to its new server');
    }
  });

  it('splits a weighted service 3:1 between two services', async () => {
    const counts = await spread('canary.test', 400, 4);
    process.stderr.write(`weighted 3/1: ${JSON.stringify(Object.fromEntries(counts))}\n`);
    assert.ok(Math.abs((counts.get('stable') ?? 0) - 300) <= 8, `stable ${counts.get('stable')}`);
    assert.ok(Math.abs((counts.get('next') ?? 0) - 100) <= 8, `next ${counts.get('next')}`);
  });

  it('mirrors the configured share while the client gets the main answer', async () => {
    const before = b.shadow!.seen.length;
    const counts = await spread('mirror.test', 100, 4, { 'x-probe': 'mirror' });
    assert.deepEqual(Object.fromEntries(counts), { main: 100 }, 'the client only ever sees the main service');
    await waitFor(() => b.shadow!.seen.length - before >= 25, 3000, () => `shadow saw ${b.shadow!.seen.length - before}`);
    const copies = b.shadow!.seen.slice(before);
    process.stderr.write(`mirror copies: ${copies.length} of 100\n`);
    assert.ok(copies.length >= 23 && copies.length <= 27, `about 25% mirrored, got ${copies.length}`);
    assert.ok(copies.every((c) => c.headers['x-probe'] === 'mirror'), 'copies carry the request headers');
  });

  it('mirrors request bodies to the mirror and the main service alike', async () => {
    const bodies = new Map<string, string[]>();
    const collect = (name: string) => (req: import('node:http').IncomingMessage, res: import('node:http').ServerResponse) => {
      let body = '';
      req.setEncoding('utf8').on('data', (d: string) => (body += d));
      req.on('end', () => {
        bodies.set(name, [...(bodies.get(name) ?? []), body]);
        res.writeHead(200, { 'x-backend': name });
        res.end(name);
      });
    };
    b.main!.server.removeAllListeners('request');
    b.main!.server.on('request', collect('main'));
    b.shadow!.server.removeAllListeners('request');
    b.shadow!.server.on('request', collect('shadow'));
    for (let i = 0; i < 8; i++) {
      const r = await get(g.url('/post'), { host: 'mirror.test', 'content-type': 'text/plain' }, 'POST', `body-${i}`);
      assert.equal(r.status, 200);
      assert.equal(r.body, 'main');
    }
    await waitFor(() => (bodies.get('shadow')?.length ?? 0) >= 2, 3000);
    assert.deepEqual(bodies.get('main'), Array.from({ length: 8 }, (_, i) => `body-${i}`));
    for (const body of bodies.get('shadow')!) assert.match(body, /^body-\d$/, 'the mirror gets the whole body');
  });

  it('answers 503 naming the service when the active check fails, and recovers with it', async () => {
    await waitFor(async () => (await get(g.url('/'), { host: 'down.test' })).status === 503, 5000);
    const r = await get(g.url('/'), { host: 'down.test' });
    assert.equal(r.status, 503);
    assert.match(r.body, /down@file/);
    // The API keeps the verdict in the runtime state.
    const view = await get(g.api('/api/http/services/down@file'));
    assert.equal(view.status, 200, view.body);
    assert.match(view.body, /"DOWN"/);
    health.flaky = 200;
    await waitFor(async () => {
      const x = await get(g.url('/'), { host: 'down.test' });
      return x.status === 200 && x.body === 'flaky';
    }, 5000);
    const up = await get(g.api('/api/http/services/down@file'));
    assert.match(up.body, /"UP"/);
  });

  it('moves a sticky client when its server turns unhealthy', async () => {
    const first = await get(g.url('/'), { host: 'stickyhealth.test' });
    const value = [first.headers['set-cookie'] ?? []].flat().map(String).find((c) => c.startsWith('sh='))!.split(';')[0]!;
    const home = String(first.headers['x-backend']);
    for (let i = 0; i < 10; i++) assert.equal((await get(g.url('/'), { host: 'stickyhealth.test', cookie: value })).headers['x-backend'], home);
    health[home] = 500;
    try {
      let moved: Awaited<ReturnType<typeof get>> | null = null;
      await waitFor(async () => {
        const r = await get(g.url('/'), { host: 'stickyhealth.test', cookie: value });
        assert.equal(r.status, 200);
        if (r.headers['x-backend'] === home) return false;
        moved = r;
        return true;
      }, 5000);
      const cookie = [moved!.headers['set-cookie'] ?? []].flat().map(String).find((c) => c.startsWith('sh='));
      assert.ok(cookie, 'the moved client gets a new cookie');
      assert.notEqual(cookie.split(';')[0], value);
    } finally {
      health[home] = 200;
    }
  });

  it('ejects a server answering 5xx (passive health) and keeps sending to the others', async () => {
    const counts = new Map<string, number>();
    for (let i = 0; i < 40; i++) {
      const r = await get(g.url('/'), { host: 'passive.test' });
      const who = String(r.headers['x-backend']);
      counts.set(who, (counts.get(who) ?? 0) + 1);
    }
    process.stderr.write(`passive 5xx: ${JSON.stringify(Object.fromEntries(counts))}\n`);
    // Three failures in a row eject it for a back-off (1 s, then longer): round-robin would give it 20.
    assert.ok((counts.get('bad') ?? 0) <= 8, `bad answered ${counts.get('bad')} of 40`);
    assert.ok((counts.get('good') ?? 0) >= 32);
  });

  it('a weighted service skips a child with no healthy server', async () => {
    await waitFor(async () => (await get(g.api('/api/http/services/broken@file'))).body.includes('"DOWN"'), 5000);
    const counts = await spread('canaryhealth.test', 20, 2);
    assert.deepEqual(Object.fromEntries(counts), { stable: 20 }, 'every request goes to the healthy child');
  });
});
