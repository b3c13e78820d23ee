/**
 * Load-balancer options through bin/gantry: `sticky.cookie.domain` on the Set-Cookie line,
 * `responseForwarding.flushInterval` (100ms, -1 and a long one: every chunk reaches the client as
 * soon as the server sends it), `h2c://` server URLs accepted and an unknown health mode refused by `gantry check`.
 */
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { get } from '../helpers/http.js';
import { gantryBin, startBackend, startWithFile, tempDir, type Backend, type GantryProcess } from '../helpers/gantry.js';

let backend: Backend;
let streamer: Backend;
let g: GantryProcess;
let cleanup: (() => Promise<void>) | null = null;
/** Resolves the streamer's pending response: it sends its last chunk only when told to. */
const release: Array<() => void> = [];

before(async () => {
  backend = await startBackend('app');
  streamer = await startBackend('stream', (_req, res) => {
    res.writeHead(200, { 'content-type': 'text/plain' });
    res.write('first\n');
    // The end waits for the client to have seen the first chunk (or 10 s, so that nothing hangs).
    const timer = setTimeout(() => res.end('timeout\n'), 10_000);
    release.push(() => {
      clearTimeout(timer);
      res.end('last\n');
    });
  });
  const svc = (name: string, lb: string, url: string) => `    ${name}:\n      loadBalancer:\n${lb}        servers: [{ url: "${url}" }]\n`;
  const route = (name: string) => `    ${name}:\n      rule: Host(\`${name}.test\`)\n      service: ${name}\n`;
  const res = await startWithFile(`http:
  routers:
${['sticky', 'flush100', 'flushneg', 'flushlong'].map(route).join('')}  services:
${svc('sticky', '        sticky: { cookie: { name: sid, domain: .example.test } }\n', backend.url)}${svc('flush100', '        responseForwarding: { flushInterval: 100ms }\n', streamer.url)}${svc('flushneg', '        responseForwarding: { flushInterval: -1 }\n', streamer.url)}${svc('flushlong', '        responseForwarding: { flushInterval: 30s }\n', streamer.url)}`);
  g = res.g;
  cleanup = res.cleanup;
});

after(async () => {
  await cleanup?.();
  await backend?.close();
  await streamer?.close();
});

test('sticky.cookie.domain is the Domain attribute of the sticky cookie', async () => {
  const r = await get(g.url('/'), { host: 'sticky.test' });
  assert.equal(r.status, 200);
  assert.match(String(r.headers['set-cookie']), /^sid=[0-9a-f]{16}; Path=\/; Domain=example\.test/);
});

test('responseForwarding.flushInterval: the first chunk reaches the client before the server sends the rest, whatever the interval', async () => {
  for (const host of ['flush100.test', 'flushneg.test', 'flushlong.test']) {
    const t0 = Date.now();
    const body = await new Promise<string>((resolve, reject) => {
      const req = http.get({ host: '127.0.0.1', port: g.port(), path: '/', headers: { host }, agent: false }, (res) => {
        let got = '';
        res.setEncoding('utf8').on('data', (d: string) => {
          got += d;
          // The server holds its end until the client has the first chunk: a proxy that buffered
          // would only deliver at the 10 s fallback.
          if (got === 'first\n') release.shift()?.();
        });
        res.on('end', () => resolve(got));
      });
      req.on('error', reject);
    });
    assert.equal(body, 'first\nlast\n', host);
    assert.ok(Date.now() - t0 < 3000, `${host}: ${Date.now() - t0} ms`);
  }
});

test('h2c:// server URLs are accepted and an unknown healthCheck.mode is refused by gantry check with the reason', () => {
  const tmp = tempDir();
  try {
    const file = path.join(tmp.dir, 'dyn.yaml');
    fs.writeFileSync(file, `http:
  services:
    grpc:
      loadBalancer:
        servers: [{ url: "h2c://127.0.0.1:50051" }]
    odd:
      loadBalancer:
        servers: [{ url: "http://127.0.0.1:1" }]
        healthCheck: { mode: tcp }
`);
    const r = spawnSync(process.execPath, [gantryBin, 'check', file], { encoding: 'utf8', timeout: 15_000 });
    assert.equal(r.status, 1, r.stdout);
    assert.doesNotMatch(r.stdout, /services\.grpc/, 'h2c:// servers are HTTP/2 servers (grpc.test.ts)');
    assert.match(r.stdout, /http\.services\.odd\.loadBalancer\.healthCheck\.mode: expected http or grpc/);
  } finally {
    tmp.cleanup();
  }
});
