/**
 * The entrypoint's fast lane (src/entrypoints/fast): plain GET/HEAD requests on a router whose
 * middlewares all have fast steps (none, here; fast-lane-middlewares.test.ts has them), and
 * POST/PUT/PATCH/DELETE whose whole Content-Length body arrives with the head, are served by Gantry's own HTTP/1.1 code; everything else is handed to node:http
 * on the same connection. These tests drive both sides and the hand-offs between them over raw
 * sockets, so the exact bytes on the wire are checked: framing of every kind of upstream body,
 * keep-alive, Connection: close, pipelining, split heads, a body after fast requests, a client
 * that goes away, the idle timeout.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import fs from 'node:fs';
import path from 'node:path';
import { startBackend, startWithFile, tempDir, waitFor, type Backend, type GantryProcess } from '../helpers/gantry.js';
import { RawConn } from '../helpers/raw-conn.js';

/** closeDelimited is an upstream that answers without Content-Length and ends the body by closing. */
async function closeDelimited(): Promise<{ port: number; close(): Promise<void> }> {
  const server = net.createServer((s) => {
    s.once('data', () => s.end('HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nX-Case-Kept: 1\r\n\r\nuntil the end'));
    s.on('error', () => {});
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { port: (server.address() as net.AddressInfo).port, close: () => new Promise<void>((r) => server.close(() => r())) };
}

function get(host: string, path = '/', extra = ''): string {
  return `GET ${path} HTTP/1.1\r\nHost: ${host}\r\n${extra}\r\n`;
}

describe('fast lane', () => {
  let g: GantryProcess;
  let cleanup: () => Promise<void>;
  let b: Backend;
  let slowAborted = 0;
  let cd: { port: number; close(): Promise<void> };
  let logs: { dir: string; cleanup(): void };

  before(async () => {
    b = await startBackend('fast', (req, res) => {
      const u = req.url ?? '/';
      if (u.startsWith('/chunked')) {
        res.writeHead(200, { 'content-type': 'text/plain' });
        res.write('hello ');
        setTimeout(() => res.end('world'), 20);
      } else if (u === '/empty') {
        res.writeHead(204, { 'x-empty': 'yes' });
        res.end();
      } else if (u === '/slow') {
        req.on('close', () => {
          if (!res.writableFinished) slowAborted++;
        });
        setTimeout(() => res.end('late'), 1500).unref();
      } else if (req.method === 'POST' || req.method === 'PUT' || req.method === 'DELETE') {
        let n = 0;
        req.on('data', (d: Buffer) => (n += d.length));
        const parts: Buffer[] = [];
        req.on('data', (d: Buffer) => parts.push(d));
        // A mixed-case name: kept on the fast lane, lower-cased by node:http (how a test tells the lanes apart).
        req.on('end', () => {
          res.writeHead(200, { 'X-Got-Bytes': String(n) });
          res.end(`got ${n} bytes${n > 0 && n <= 64 ? ': ' + Buffer.concat(parts).toString() : ''}`);
        });
      } else {
        const body = JSON.stringify({ url: u, xff: req.headers['x-forwarded-for'], xfh: req.headers['x-forwarded-host'], host: req.headers.host });
        res.writeHead(200, { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(body)), connection: 'keep-alive, x-hop', 'x-hop': 'no', 'set-cookie': ['a=1', 'b=2'] });
        res.end(body);
      }
    });
    cd = await closeDelimited();
    logs = tempDir();
    const yaml = `http:
  routers:
    fast:
      rule: Host(\`fast.test\`)
      service: fast
    cd:
      rule: Host(\`cd.test\`)
      service: cd
    slowlane:
      rule: Host(\`mw.test\`)
      service: fast
      middlewares: [tag]
  middlewares:
    tag:
      headers:
        customResponseHeaders:
          X-Slow-Lane: "yes"
        # CORS answers preflights itself: no fast step, so this router is node:http's.
        accessControlAllowOriginList: ["https://origin.test"]
  services:
    fast:
      loadBalancer:
        servers:
          - url: ${b.url}
    cd:
      loadBalancer:
        servers:
          - url: http://127.0.0.1:${cd.port}
`;
    const r = await startWithFile(yaml, ['--accessLog.format=json', `--accessLog.filePath=${path.join(logs.dir, 'access.log')}`, '--entrypoints.web.transport.respondingTimeouts.idleTimeout=1s']);
    g = r.g;
    cleanup = r.cleanup;
  });
  after(async () => {
    await cleanup?.();
    await b?.close();
    await cd?.close();
    logs?.cleanup();
  });

  it('serves many requests on one keep-alive connection, with the hop-by-hop fields removed', async () => {
    const c = await RawConn.open(g.port());
    for (let i = 0; i < 20; i++) {
      c.send(get('fast.test', `/n${i}?q=${i}`));
      const r = await c.read();
      assert.equal(r.status, 200, r.head);
      const json = JSON.parse(r.body.toString()) as { url: string; xff: string; xfh: string; host: string };
      assert.equal(json.url, `/n${i}?q=${i}`);
      assert.equal(json.xff, '127.0.0.1');
      assert.equal(json.xfh, 'fast.test');
      assert.equal(json.host, 'fast.test');
      assert.equal(r.headers.get('x-hop'), undefined, 'a field the server listed in Connection is not passed on');
      assert.deepEqual(r.headers.get('connection'), ['keep-alive']);
      assert.deepEqual(r.headers.get('set-cookie'), ['a=1', 'b=2']);
    }
    assert.equal(c.closed, false);
    c.close();
  });

  it('re-frames chunked and close-delimited upstream bodies, and keeps 204 and HEAD body-less', async () => {
    const c = await RawConn.open(g.port());
    c.send(get('fast.test', '/chunked'));
    let r = await c.read();
    assert.equal(r.status, 200);
    assert.equal(r.body.toString(), 'hello world');
    c.send(get('cd.test'));
    r = await c.read();
    assert.equal(r.status, 200, r.head);
    assert.deepEqual(r.headers.get('transfer-encoding'), ['chunked'], 'a close-delimited body is sent chunked, so the client connection stays usable');
    assert.equal(r.body.toString(), 'until the end');
    // The fast lane passes the server's field lines as they came (node:http would lower-case them):
    // this is how the test knows the fast lane, not node:http, answered.
    assert.match(r.head, /\r\nX-Case-Kept: 1(\r\n|$)/, r.head);
    c.send(get('fast.test', '/empty'));
    r = await c.read();
    assert.equal(r.status, 204);
    assert.deepEqual(r.headers.get('x-empty'), ['yes']);
    c.send('HEAD /h HTTP/1.1\r\nHost: fast.test\r\n\r\n');
    r = await c.read({ head: true });
    assert.equal(r.status, 200);
    assert.ok(Number(r.headers.get('content-length')?.[0]) > 0, 'HEAD keeps the Content-Length of the GET');
    // The connection is still in step: the next answer is the next request's.
    c.send(get('fast.test', '/after'));
    r = await c.read();
    assert.equal((JSON.parse(r.body.toString()) as { url: string }).url, '/after');
    c.close();
  });

  it('hands pipelined and split requests to node:http on the same connection, bodies before and after fast requests', async () => {
    const c = await RawConn.open(g.port());
    c.send(get('fast.test', '/first'));
    assert.equal((await c.read()).status, 200);
    // Two requests in one write: answered in order.
    c.send(get('fast.test', '/p1') + get('fast.test', '/p2'));
    assert.equal((JSON.parse((await c.read()).body.toString()) as { url: string }).url, '/p1');
    assert.equal((JSON.parse((await c.read()).body.toString()) as { url: string }).url, '/p2');
    // A head that arrives in two pieces.
    c.send('GET /split HTTP/1.1\r\nHo');
    await new Promise((r) => setTimeout(r, 50));
    c.send('st: fast.test\r\n\r\n');
    assert.equal((JSON.parse((await c.read()).body.toString()) as { url: string }).url, '/split');
    // A body.
    c.send('POST /upload HTTP/1.1\r\nHost: fast.test\r\nContent-Length: 5\r\n\r\nhello');
    assert.equal((await c.read()).body.toString(), 'got 5 bytes: hello');
    c.close();

    // A fresh connection that starts with a body, then asks plain GETs.
    const d = await RawConn.open(g.port());
    d.send('POST /upload HTTP/1.1\r\nHost: fast.test\r\nContent-Length: 3\r\n\r\nabc');
    assert.equal((await d.read()).body.toString(), 'got 3 bytes: abc');
    d.send(get('fast.test', '/then'));
    assert.equal((JSON.parse((await d.read()).body.toString()) as { url: string }).url, '/then');
    d.close();
  });

  it('serves POST, PUT and DELETE whose whole Content-Length body came with the head; a body that comes later, or chunked, goes to node:http', async () => {
    const c = await RawConn.open(g.port());
    c.send('POST /up HTTP/1.1\r\nHost: fast.test\r\nContent-Length: 5\r\n\r\nhello');
    let r = await c.read();
    assert.equal(r.body.toString(), 'got 5 bytes: hello');
    assert.match(r.head, /\r\nX-Got-Bytes: 5(\r\n|$)/, `the fast lane answered: ${r.head}`);
    const big = Buffer.alloc(16384, 'x');
    c.send(Buffer.concat([Buffer.from(`PUT /big HTTP/1.1\r\nHost: fast.test\r\nContent-Length: ${big.length}\r\n\r\n`), big]));
    r = await c.read();
    assert.equal(r.body.toString(), 'got 16384 bytes');
    c.send('DELETE /x HTTP/1.1\r\nHost: fast.test\r\n\r\n');
    r = await c.read();
    assert.equal(r.body.toString(), 'got 0 bytes', 'no Content-Length: no body');
    assert.match(r.head, /\r\nX-Got-Bytes: 0(\r\n|$)/, r.head);
    // The body after the head, in a second write: node:http reads it.
    c.send('POST /late HTTP/1.1\r\nHost: fast.test\r\nContent-Length: 4\r\n\r\n');
    await new Promise((res) => setTimeout(res, 50));
    c.send('late');
    r = await c.read();
    assert.equal(r.body.toString(), 'got 4 bytes: late');
    assert.match(r.head, /\r\nx-got-bytes: 4(\r\n|$)/, `node:http answered: ${r.head}`);
    c.close();
    const d = await RawConn.open(g.port());
    d.send('POST /te HTTP/1.1\r\nHost: fast.test\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n');
    r = await d.read();
    assert.equal(r.body.toString(), 'got 3 bytes: abc');
    assert.match(r.head, /\r\nx-got-bytes: 3(\r\n|$)/, r.head);
    // More bytes than the Content-Length (a second request behind it): node:http, which answers both.
    const e = await RawConn.open(g.port());
    e.send('POST /a HTTP/1.1\r\nHost: fast.test\r\nContent-Length: 2\r\n\r\nokGET /after HTTP/1.1\r\nHost: fast.test\r\n\r\n');
    assert.equal((await e.read()).body.toString(), 'got 2 bytes: ok');
    assert.equal((JSON.parse((await e.read()).body.toString()) as { url: string }).url, '/after');
    d.close();
    e.close();
  });

  it('leaves routers with a middleware that has no fast step, unknown hosts and malformed heads to node:http', async () => {
    const c = await RawConn.open(g.port());
    c.send(get('fast.test', '/plain'));
    assert.equal((await c.read()).headers.get('x-slow-lane'), undefined);
    c.send(get('mw.test', '/tagged'));
    let r = await c.read();
    assert.equal(r.status, 200);
    assert.deepEqual(r.headers.get('x-slow-lane'), ['yes']);
    c.send(get('nobody.test'));
    r = await c.read();
    assert.equal(r.status, 404);
    c.close();
    const bad = await RawConn.open(g.port());
    bad.send('GET / HTTP/1.1\r\nHost: fast.test\r\nX-Bad: a\x01b\r\n\r\n');
    r = await bad.read();
    assert.equal(r.status, 400);
    bad.close();
  });

  it('closes after a response to Connection: close', async () => {
    const c = await RawConn.open(g.port());
    c.send(get('fast.test', '/bye', 'Connection: close\r\n'));
    const r = await c.read();
    assert.equal(r.status, 200);
    assert.deepEqual(r.headers.get('connection'), ['close']);
    await c.waitClosed(2000);
  });

  it('does not hold for ever a connection whose client keeps its side open after a Connection: close response', async () => {
    const s = net.connect({ port: g.port(), host: '127.0.0.1', allowHalfOpen: true });
    let got = '';
    let ended = false;
    let failed: string | null = null;
    s.on('data', (d) => (got += d.toString('latin1')));
    s.on('end', () => (ended = true)); // Gantry's FIN; this client does not send its own
    s.on('error', (e: Error & { code?: string }) => (failed = e.code ?? e.message));
    try {
      s.write(get('fast.test', '/bye', 'Connection: close\r\n'));
      await waitFor(() => ended, 3000, () => `no FIN; got ${JSON.stringify(got)}`);
      assert.match(got, /^HTTP\/1\.1 200 /);
      // Past the idle timeout (1 s) Gantry has closed its socket: what the client sends now is
      // answered by a reset. A socket Gantry still held would take the bytes silently.
      await new Promise((r) => setTimeout(r, 2500));
      // The first write draws the reset; the next one fails on it (the client no longer reads).
      s.write('x');
      await new Promise((r) => setTimeout(r, 300));
      s.write('y');
      await waitFor(() => failed !== null, 3000, () => 'no reset: Gantry still holds the connection');
      assert.match(String(failed), /ECONNRESET|EPIPE/);
    } finally {
      s.destroy();
    }
  });

  it('closes an idle keep-alive connection after the idle timeout', async () => {
    const c = await RawConn.open(g.port());
    c.send(get('fast.test', '/idle'));
    assert.equal((await c.read()).status, 200);
    const t0 = Date.now();
    await c.waitClosed(4000);
    assert.ok(Date.now() - t0 >= 800, `closed after ${Date.now() - t0} ms, before the 1 s idle timeout`);
  });

  it('aborts the upstream request when the client goes away, and logs 499', async () => {
    const c = await RawConn.open(g.port());
    c.send(get('fast.test', '/slow'));
    await waitFor(() => b.seen.some((s) => s.url === '/slow'), 3000);
    c.close();
    await waitFor(() => slowAborted === 1, 3000, () => `upstream aborts: ${slowAborted}`);
    const file = path.join(logs.dir, 'access.log');
    await waitFor(() => fs.existsSync(file) && fs.readFileSync(file, 'utf8').includes('"/slow"'), 3000);
    const line = fs
      .readFileSync(file, 'utf8')
      .split('\n')
      .find((l) => l.includes('"/slow"'))!;
    const entry = JSON.parse(line) as { DownstreamStatus: number; RouterName: string; RequestMethod: string };
    assert.equal(entry.DownstreamStatus, 499, line);
    assert.equal(entry.RouterName, 'fast@file');
    assert.equal(entry.RequestMethod, 'GET');
  });

  it('ends a connection the client half-closes: at once when idle, and as an abandoned request (499) while one is served', async () => {
    const idle = await RawConn.open(g.port());
    idle.send(get('fast.test', '/half'));
    assert.equal((await idle.read()).status, 200);
    const t0 = Date.now();
    idle.socket.end();
    await idle.waitClosed(3000);
    // The idle timeout here is 1 s: closing sooner is the half-close's doing.
    assert.ok(Date.now() - t0 < 700, `closed ${Date.now() - t0} ms after the half-close`);

    const before = slowAborted;
    const busy = await RawConn.open(g.port());
    busy.send(get('fast.test', '/slow'));
    await waitFor(() => b.seen.filter((s) => s.url === '/slow').length === 2, 3000);
    busy.socket.end();
    await waitFor(() => slowAborted === before + 1, 3000, () => `upstream aborts: ${slowAborted - before}`);
    await busy.waitClosed(3000);
    const file = path.join(logs.dir, 'access.log');
    const aborted = () => fs.readFileSync(file, 'utf8').split('\n').filter((l) => l.includes('"/slow"') && l.includes('"DownstreamStatus":499')).length;
    await waitFor(() => aborted() === 2, 3000, () => `499 lines for /slow: ${aborted()}`);
  });
});
