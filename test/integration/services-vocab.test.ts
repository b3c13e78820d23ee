/**
 * Traefik v3.7's service vocabulary through the real bin/gantry: failover (by health and by
 * status), highestRandomWeight, `healthCheck: {}` on weighted and mirroring services, the hrw and
 * leasttime strategies, and service-level middlewares.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import { startBackend, startWithFile, waitFor, writeAtomic, type Backend, type GantryProcess } from '../helpers/gantry.js';
import { get } from '../helpers/http.js';

/** healthToggled answers /health with 200 while `up()` and 500 otherwise; every other path with its name. */
function healthToggled(up: () => boolean) {
  return (req: IncomingMessage, res: ServerResponse, b: Backend): void => {
    if (req.url === '/health') {
      res.writeHead(up() ? 200 : 500).end();
      return;
    }
    let body = '';
    req.setEncoding('utf8').on('data', (d: string) => (body += d));
    req.on('end', () => res.writeHead(200, { 'x-backend': b.name }).end(`${b.name} ${req.method} ${req.url} ${body}`));
  };
}

/** from asks `url` with Host `host` from the loopback address `local` (each 127.x is another client IP). */
function from(local: string, url: string, host: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { localAddress: local, headers: { host }, agent: false }, (res) => {
      res.resume();
      res.on('end', () => resolve(String(res.headers['x-backend'])));
    });
    req.on('error', reject);
    req.end();
  });
}

async function serviceStatus(g: GantryProcess, name: string): Promise<{ status: string; error?: string[] }> {
  const r = await get(g.api(`/api/http/services/${name}`));
  return JSON.parse(r.body) as { status: string; error?: string[] };
}

describe('failover service', () => {
  let g: GantryProcess;
  let cleanup: () => Promise<void>;
  let main: Backend;
  let backup: Backend;
  let flaky: Backend;
  let mainUp = true;
  let flakyStatus = 503;

  before(async () => {
    main = await startBackend('main', healthToggled(() => mainUp));
    backup = await startBackend('backup', healthToggled(() => true));
    // Answers `flakyStatus` to everything; the status-based failover hands those to the backup.
    flaky = await startBackend('flaky', (req, res) => {
      req.resume();
      req.on('end', () => res.writeHead(flakyStatus, { 'x-backend': 'flaky', 'set-cookie': 'flaky=1' }).end('flaky answer'));
    });
    const hc = '        healthCheck: { path: /health, interval: 100ms, timeout: 1s }\n';
    ({ g, cleanup } = await startWithFile(`http:
  routers:
    byhealth: { rule: Host(\`health.test\`), service: byhealth }
    bystatus: { rule: Host(\`status.test\`), service: bystatus }
  services:
    byhealth:
      failover: { service: main, fallback: backup, healthCheck: {} }
    bystatus:
      failover:
        service: flaky
        fallback: backup
        errors: { status: ["500-504"], maxRequestBodyBytes: 1024 }
    main:
      loadBalancer:
${hc}        servers: [{ url: "${main.url}" }]
    backup:
      loadBalancer:
${hc}        servers: [{ url: "${backup.url}" }]
    flaky:
      loadBalancer:
        servers: [{ url: "${flaky.url}" }]
`));
  });

  after(async () => {
    await cleanup();
    await Promise.all([main.close(), backup.close(), flaky.close()]);
  });

  it('sends to the fallback while the main service is down, and back when it recovers', async () => {
    assert.equal((await get(g.url('/a'), { host: 'health.test' })).headers['x-backend'], 'main');
    mainUp = false;
    await waitFor(async () => (await get(g.url('/a'), { host: 'health.test' })).headers['x-backend'] === 'backup', 5000);
    mainUp = true;
    await waitFor(async () => (await get(g.url('/a'), { host: 'health.test' })).headers['x-backend'] === 'main', 5000);
    assert.equal((await serviceStatus(g, 'byhealth@file')).status, 'enabled');
  });

  it('hands an answer with a listed status to the fallback, body and all; the client never sees it', async () => {
    const r = await get(g.url('/post?x=1'), { host: 'status.test', 'content-type': 'text/plain' }, 'POST', 'hello body');
    assert.equal(r.status, 200);
    assert.equal(r.body, 'backup POST /post?x=1 hello body');
    assert.equal(r.headers['x-backend'], 'backup');
    assert.equal(r.headers['set-cookie'], undefined, 'a header of the refused answer leaked');
    assert.ok(flaky.seen.some((s) => s.url === '/post?x=1'), 'the main service was not asked first');
  });

  it('lets other statuses through from the main service', async () => {
    flakyStatus = 404;
    try {
      const r = await get(g.url('/nf'), { host: 'status.test' });
      assert.equal(r.status, 404);
      assert.equal(r.body, 'flaky answer');
    } finally {
      flakyStatus = 503;
    }
  });

  it('refuses a body larger than maxRequestBodyBytes with 413', async () => {
    const before = flaky.seen.length;
    const r = await get(g.url('/big'), { host: 'status.test' }, 'POST', Buffer.alloc(4096, 'x'));
    assert.equal(r.status, 413);
    assert.equal(flaky.seen.length, before, 'the main service got the oversized request');
  });
});

describe('healthCheck: {} on weighted and mirroring services, highestRandomWeight', () => {
  let g: GantryProcess;
  let cleanup: () => Promise<void>;
  let file: string;
  const up: Record<string, boolean> = { a: true, b: true, c: true };
  const backends: Record<string, Backend> = {};
  let yaml = '';

  before(async () => {
    for (const n of ['a', 'b', 'c']) backends[n] = await startBackend(n, healthToggled(() => up[n]!));
    const lb = (n: string) => `    ${n}:
      loadBalancer:
        healthCheck: { path: /health, interval: 100ms, timeout: 1s }
        servers: [{ url: "${backends[n]!.url}" }]
`;
    yaml = `http:
  routers:
    w: { rule: Host(\`w.test\`), service: w }
    h: { rule: Host(\`h.test\`), service: h }
  services:
    w:
      weighted:
        healthCheck: {}
        services: [{ name: a, weight: 1 }, { name: mirrored-b, weight: 1 }]
    mirrored-b:
      mirroring: { service: b, healthCheck: {}, mirrors: [{ name: c, percent: 0 }] }
    h:
      highestRandomWeight:
        healthCheck: {}
        services: [{ name: a }, { name: b }, { name: c }]
${lb('a')}${lb('b')}${lb('c')}`;
    ({ g, cleanup, file } = await startWithFile(yaml));
  });

  after(async () => {
    await cleanup();
    await Promise.all(Object.values(backends).map((b) => b.close()));
  });

  it('a weighted service skips a child whose mirroring child is down, and takes it back', async () => {
    const seen = async (n: number) => {
      const out = new Set<string>();
      for (let i = 0; i < n; i++) out.add(String((await get(g.url('/'), { host: 'w.test' })).headers['x-backend']));
      return [...out].sort();
    };
    assert.deepEqual(await seen(6), ['a', 'b']);
    up.b = false;
    await waitFor(async () => (await seen(6)).join() === 'a', 5000);
    up.b = true;
    await waitFor(async () => (await seen(6)).join() === 'a,b', 5000);
  });

  it('highestRandomWeight keeps each client IP on one child and spreads clients over all of them', async () => {
    const pick = (ip: string) => from(ip, g.url('/'), 'h.test');
    const owners = new Map<string, string>();
    for (let i = 1; i <= 30; i++) owners.set(`127.0.9.${i}`, await pick(`127.0.9.${i}`));
    for (const [ip, owner] of owners) assert.equal(await pick(ip), owner, `client ${ip} moved`);
    assert.deepEqual([...new Set(owners.values())].sort(), ['a', 'b', 'c']);
    // A child that goes down loses only its own clients.
    const victim = owners.get('127.0.9.1')!;
    up[victim] = false;
    try {
      await waitFor(async () => (await pick('127.0.9.1')) !== victim, 5000);
      for (const [ip, owner] of owners) if (owner !== victim) assert.equal(await pick(ip), owner, `client ${ip} moved though its child is up`);
    } finally {
      up[victim] = true;
    }
  });

  it('refuses healthCheck: {} on a parent whose child has no health check, naming both', async () => {
    writeAtomic(file, yaml.replace('    c:\n      loadBalancer:\n        healthCheck: { path: /health, interval: 100ms, timeout: 1s }\n', '    c:\n      loadBalancer:\n'));
    await waitFor(async () => ((await serviceStatus(g, 'h@file')).error ?? []).length > 0, 5000);
    const s = await serviceStatus(g, 'h@file');
    assert.equal(s.status, 'disabled');
    assert.match(s.error!.join(), /child service "c@file" of highestRandomWeight service "h@file" has no health check/);
    writeAtomic(file, yaml);
    await waitFor(async () => (await serviceStatus(g, 'h@file')).status === 'enabled', 5000);
  });
});

describe('hrw and leasttime strategies, service middlewares', () => {
  let g: GantryProcess;
  let cleanup: () => Promise<void>;
  const backends: Backend[] = [];

  before(async () => {
    for (const n of ['s1', 's2', 's3']) backends.push(await startBackend(n));
    // slow answers after 150 ms, fast at once: leasttime learns it from the first bytes.
    backends.push(await startBackend('slow', (_req, res) => void setTimeout(() => res.writeHead(200, { 'x-backend': 'slow' }).end('slow'), 150)));
    backends.push(await startBackend('fast', (req, res) => res.writeHead(200, { 'x-backend': 'fast', 'x-path': req.url ?? '', 'x-order': String(req.headers['x-order'] ?? '') }).end('fast')));
    backends.push(await startBackend('broken', (_req, res) => res.writeHead(500, { 'x-backend': 'broken' }).end('broken')));
    const [s1, s2, s3, slow, fast, broken] = backends;
    ({ g, cleanup } = await startWithFile(
      `http:
  routers:
    hrw: { rule: Host(\`hrw.test\`), service: hrw }
    lt: { rule: Host(\`lt.test\`), service: lt }
    passive: { rule: Host(\`passive.test\`), service: passive }
    mw: { rule: Host(\`mw.test\`), service: mw, middlewares: [router-prefix] }
  middlewares:
    router-prefix: { addPrefix: { prefix: /r } }
    service-prefix: { addPrefix: { prefix: /s } }
    service-header: { headers: { customRequestHeaders: { X-Order: service } } }
  services:
    hrw:
      loadBalancer:
        strategy: hrw
        servers: [{ url: "${s1!.url}" }, { url: "${s2!.url}" }, { url: "${s3!.url}" }]
    lt:
      loadBalancer:
        strategy: leasttime
        servers: [{ url: "${slow!.url}" }, { url: "${fast!.url}" }]
    passive:
      loadBalancer:
        passiveHealthCheck: { maxFailedAttempts: 1, failureWindow: 30s }
        servers: [{ url: "${broken!.url}" }, { url: "${fast!.url}" }]
    mw:
      middlewares: [service-prefix, service-header]
      loadBalancer:
        servers: [{ url: "${fast!.url}" }]
`));
  });

  after(async () => {
    await cleanup();
    await Promise.all(backends.map((b) => b.close()));
  });

  it('hrw keeps a client IP on one server and spreads clients over all', async () => {
    const pick = (ip: string) => from(ip, g.url('/'), 'hrw.test');
    const owners = new Map<string, string>();
    for (let i = 1; i <= 30; i++) owners.set(`127.0.8.${i}`, await pick(`127.0.8.${i}`));
    for (const [ip, owner] of owners) assert.equal(await pick(ip), owner, `client ${ip} moved`);
    assert.deepEqual([...new Set(owners.values())].sort(), ['s1', 's2', 's3']);
  });

  it('leasttime sends most requests to the server that answers first', async () => {
    const counts: Record<string, number> = {};
    for (let i = 0; i < 30; i++) {
      const b = String((await get(g.url('/'), { host: 'lt.test' })).headers['x-backend']);
      counts[b] = (counts[b] ?? 0) + 1;
    }
    // Unmeasured servers score 0 and are tried first; after that the 150 ms server loses every
    // comparison while the fast one is idle.
    assert.ok((counts['slow'] ?? 0) <= 3, JSON.stringify(counts));
  });

  it('passiveHealthCheck takes a failing server out after maxFailedAttempts, for failureWindow', async () => {
    const seen: string[] = [];
    for (let i = 0; i < 8; i++) seen.push(String((await get(g.url('/'), { host: 'passive.test' })).headers['x-backend']));
    // The first 500 takes "broken" out for 30 s: every later request goes to "fast".
    assert.equal(seen.filter((b) => b === 'broken').length, 1, seen.join());
    const view = JSON.parse((await get(g.api('/api/http/services/passive@file'))).body) as { serverStatus: Record<string, string> };
    assert.deepEqual(Object.values(view.serverStatus).sort(), ['DOWN', 'UP']);
  });

  it('service middlewares run after the router middlewares, on the service', async () => {
    const r = await get(g.url('/p'), { host: 'mw.test' });
    assert.equal(r.status, 200);
    assert.equal(r.headers['x-path'], '/s/r/p');
    assert.equal(r.headers['x-order'], 'service');
    const view = JSON.parse((await get(g.api('/api/http/services/mw@file'))).body) as { middlewares?: string[] };
    assert.deepEqual(view.middlewares, ['service-prefix@file', 'service-header@file']);
  });
});
