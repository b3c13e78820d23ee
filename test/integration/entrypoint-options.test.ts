/**
 * Entrypoint options from the static configuration: `http.middlewares` run before every router's
 * own on that entrypoint (bare names in the router's provider; a missing one keeps the router off
 * the entrypoint; the fast lane never skips them), `asDefault`, `respondingTimeouts.writeTimeout`,
 * `keepAliveMaxRequests` and `keepAliveMaxTime` on both lanes, `requestAcceptGraceTimeout` (top
 * level and per entrypoint, with /ping answering 503 meanwhile), `encodedCharacters`,
 * `proxyProtocol.insecure`, `forwardedHeaders.insecure` and `log.filePath`.
 */
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import tls from 'node:tls';
import { get, getJSON } from '../helpers/http.js';
import { startBackend, startGantry, tempDir, waitFor, type Backend, type GantryProcess } from '../helpers/gantry.js';
import { makeCA } from '../fixtures/tls/make-certs.js';

const tmp = tempDir('gantry-ep-options-');
let backend: Backend;
let slow: Backend;
let g: GantryProcess;
const closers: Array<() => void> = [];
// user:secret, bcrypt
const USERS = 'user:$2b$05$UboxpWlJr2oymiJS33JvVObMf9tN94HOMXbeVKsTYdtIe6fBJtoaS';
const AUTH = { authorization: `Basic ${Buffer.from('user:secret').toString('base64')}` };

before(async () => {
  backend = await startBackend('app');
  // Writes the head and a first chunk at once, the rest 2 s later.
  slow = await startBackend('slow', (req, res) => {
    req.resume();
    res.writeHead(200, { 'content-type': 'text/plain' });
    res.write('first;');
    setTimeout(() => res.end('last'), 2000).unref();
  });
  const ca = makeCA(path.join(tmp.dir, 'ca'));
  const leaf = ca.leaf('tcp', ['tcp.test']);
  const tlsServer = tls.createServer({ cert: fs.readFileSync(leaf.cert), key: fs.readFileSync(leaf.key) }, (s) => s.end('tcp-backend'));
  await new Promise<void>((r) => tlsServer.listen(0, '127.0.0.1', r));
  closers.push(() => tlsServer.close());
  const tlsPort = (tlsServer.address() as net.AddressInfo).port;
  const file = path.join(tmp.dir, 'dyn.yaml');
  fs.writeFileSync(
    file,
    `http:
  routers:
    open:
      rule: Host(\`open.test\`)
      service: app
    prefixed:
      rule: Host(\`prefixed.test\`)
      service: app
      middlewares: [rt-prefix]
    slow:
      rule: Host(\`slow.test\`)
      service: slow
  middlewares:
    auth: { basicAuth: { users: ["${USERS}"] } }
    hdr: { headers: { customResponseHeaders: { X-Entrypoint: "guarded" } } }
    ep-prefix: { addPrefix: { prefix: /ep } }
    rt-prefix: { addPrefix: { prefix: /rt } }
  services:
    app: { loadBalancer: { servers: [{ url: "${backend.url}" }] } }
    slow: { loadBalancer: { servers: [{ url: "${slow.url}" }] } }
tcp:
  routers:
    sni:
      rule: HostSNI(\`tcp.test\`)
      service: tls-backend
      tls: { passthrough: true }
  services:
    tls-backend: { loadBalancer: { servers: [{ address: "127.0.0.1:${tlsPort}" }] } }
`,
  );
  const ep = (name: string, ...opts: string[]) => [`--entrypoints.${name}.address=127.0.0.1:0`, ...opts.map((o) => `--entrypoints.${name}.${o}`)];
  g = await startGantry(
    [
      ...ep('guarded', 'http.middlewares=auth@file,hdr', 'asDefault=true'),
      ...ep('order', 'http.middlewares=ep-prefix', 'asDefault=true'),
      ...ep('plain'),
      ...ep('timed', 'transport.respondingTimeouts.writeTimeout=500ms', 'asDefault=true'),
      ...ep('counted', 'transport.keepAliveMaxRequests=3', 'asDefault=true'),
      ...ep('aged', 'transport.keepAliveMaxTime=300ms', 'asDefault=true'),
      ...ep('encoded', 'http.encodedCharacters.allowEncodedSlash=true', 'http.encodedCharacters.allowEncodedBackSlash=true', 'asDefault=true'),
      ...ep('pp', 'proxyProtocol.insecure=true', 'asDefault=true'),
      ...ep('fwd', 'forwardedHeaders.insecure=true', 'asDefault=true'),
      ...ep('redirect', 'http.redirections.entryPoint.to=order', 'http.redirections.entryPoint.scheme=http', 'http.redirections.entryPoint.permanent=false'),
      '--api.address=127.0.0.1:0',
      `--providers.file.filename=${file}`,
    ],
    { entrypoints: ['guarded', 'order', 'plain', 'timed', 'counted', 'aged', 'encoded', 'pp', 'fwd', 'redirect'] },
  );
});

after(async () => {
  await g?.stop();
  await backend?.close();
  await slow?.close();
  for (const c of closers) c();
  tmp.cleanup();
});

const url = (ep: string, p = '/') => `http://127.0.0.1:${g.port(ep)}${p}`;

test('http.middlewares run before the router on every request of the entrypoint, fast lane included', async () => {
  // A body-less GET on a router without middlewares is what the fast lane takes: it must not skip auth.
  for (let i = 0; i < 3; i++) {
    const r = await get(url('guarded'), { host: 'open.test' });
    assert.equal(r.status, 401, 'no credentials');
  }
  const ok = await get(url('guarded'), { host: 'open.test', ...AUTH });
  assert.equal(ok.status, 200);
  // `hdr` is bare: it resolves in the router's provider (hdr@file).
  assert.equal(ok.headers['x-entrypoint'], 'guarded');
  const { json } = await getJSON<{ router: string; middlewares: string[] }>(g.api(`/api/explain?url=${encodeURIComponent('http://open.test/')}&entrypoint=guarded`));
  assert.deepEqual(json.middlewares, ['auth@file', 'hdr@file']);
});

test('entrypoint middlewares come before the router’s own', async () => {
  const { json } = await getJSON<{ url: string }>(url('order', '/x'), { host: 'prefixed.test' });
  // ep-prefix runs first (/ep/x), then the router's rt-prefix (/rt/ep/x).
  assert.equal(json.url, '/rt/ep/x');
});

test('a missing entrypoint middleware keeps the routers off that entrypoint, with the error on the router', async () => {
  const rest = await fetch(g.api('/api/providers/rest'), {
    method: 'PUT',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ http: { routers: { api: { rule: 'Host(`rest.test`)', service: 'app@file', entryPoints: ['guarded', 'plain'] } } } }),
  });
  assert.ok(rest.ok, await rest.text());
  // hdr is bare, so for a router of the rest provider it names hdr@rest, which does not exist.
  await waitFor(async () => (await get(url('plain'), { host: 'rest.test' })).status === 200, 5000);
  assert.equal((await get(url('guarded'), { host: 'rest.test', ...AUTH })).status, 404);
  const { json } = await getJSON<{ status: string; error: string[]; using: string[] }>(g.api('/api/http/routers/api@rest'));
  assert.equal(json.status, 'warning');
  assert.deepEqual(json.using, ['plain']);
  assert.match(json.error.join(' '), /entryPoints\.guarded\.http\.middlewares: middleware "hdr@rest" does not exist/);
});

test('asDefault: routers without entryPoints (HTTP and TCP) go only to the asDefault entrypoints', async () => {
  assert.equal((await get(url('plain'), { host: 'open.test' })).status, 404);
  assert.equal((await get(url('order'), { host: 'open.test' })).status, 200);
  const talk = (ep: string) =>
    new Promise<string>((resolve, reject) => {
      const s = tls.connect({ host: '127.0.0.1', port: g.port(ep), servername: 'tcp.test', rejectUnauthorized: false }, () => undefined);
      let b = '';
      s.setEncoding('utf8').on('data', (d: string) => (b += d));
      s.on('end', () => resolve(b));
      s.on('error', reject);
    });
  assert.equal(await talk('order'), 'tcp-backend');
  await assert.rejects(talk('plain'), 'the TCP router is not on a non-default entrypoint');
});

/** rawExchange sends `requests` one after the other on one connection and returns each response head. */
function rawExchange(port: number, request: () => string | null): Promise<{ heads: string[]; closed: boolean }> {
  return new Promise((resolve, reject) => {
    const s = net.connect({ host: '127.0.0.1', port });
    const heads: string[] = [];
    let buf = '';
    let expected = 0;
    const next = () => {
      const r = request();
      if (r === null) {
        s.end();
        return;
      }
      expected++;
      s.write(r);
    };
    s.setEncoding('latin1').on('data', (d: string) => {
      buf += d;
      for (;;) {
        const end = buf.indexOf('\r\n\r\n');
        if (end < 0) return;
        const head = buf.slice(0, end);
        let bodyEnd: number;
        if (/transfer-encoding: chunked/i.test(head)) {
          const last = buf.indexOf('0\r\n\r\n', end + 4);
          if (last < 0) return;
          bodyEnd = last + 5;
        } else {
          bodyEnd = end + 4 + Number(/content-length: (\d+)/i.exec(head)?.[1] ?? '0');
          if (buf.length < bodyEnd) return;
        }
        buf = buf.slice(bodyEnd);
        heads.push(head);
        if (heads.length === expected) {
          if (/connection: close/i.test(head)) return;
          next();
        }
      }
    });
    s.on('close', () => resolve({ heads, closed: true }));
    s.on('error', reject);
    s.on('connect', next);
  });
}

test('keepAliveMaxRequests closes the connection after N requests, counting both lanes', async () => {
  let n = 0;
  // Requests alternate between the fast lane (GET) and node:http (a POST with a body).
  const { heads, closed } = await rawExchange(g.port('counted'), () => {
    n++;
    if (n > 6) return null;
    return n % 2 === 1 ? 'GET / HTTP/1.1\r\nhost: open.test\r\n\r\n' : 'POST / HTTP/1.1\r\nhost: open.test\r\ncontent-length: 2\r\n\r\nhi';
  });
  assert.equal(heads.length, 3, heads.join('\n---\n'));
  assert.ok(closed);
  assert.doesNotMatch(heads[0]!, /connection: close/i);
  assert.doesNotMatch(heads[1]!, /connection: close/i);
  assert.match(heads[2]!, /connection: close/i);
});

test('keepAliveMaxTime closes a keep-alive connection once it is older than that', async () => {
  const t0 = Date.now();
  let n = 0;
  const { heads } = await rawExchange(g.port('aged'), () => (++n > 10_000 ? null : 'GET / HTTP/1.1\r\nhost: open.test\r\n\r\n'));
  const ms = Date.now() - t0;
  assert.ok(heads.length > 1, 'kept alive at first');
  assert.match(heads.at(-1)!, /connection: close/i);
  assert.ok(ms >= 300, `closed after ${ms} ms`);
  assert.ok(ms < 3000, `closed after ${ms} ms`);
});

test('writeTimeout cuts a response that is not written in time, on both lanes; quick ones are unaffected', async () => {
  const read = (method: string) =>
    new Promise<{ got: string; ms: number }>((resolve) => {
      const t0 = Date.now();
      const s = net.connect({ host: '127.0.0.1', port: g.port('timed') }, () => s.write(`${method} / HTTP/1.1\r\nhost: slow.test\r\ncontent-length: ${method === 'POST' ? 2 : 0}\r\n\r\n${method === 'POST' ? 'hi' : ''}`));
      let got = '';
      s.setEncoding('latin1').on('data', (d: string) => (got += d));
      s.on('close', () => resolve({ got, ms: Date.now() - t0 }));
      s.on('error', () => undefined);
    });
  for (const method of ['GET', 'POST']) {
    const r = await read(method);
    assert.match(r.got, /^HTTP\/1\.1 200/, method);
    assert.match(r.got, /first;/, method);
    assert.doesNotMatch(r.got, /last/, `${method}: cut before the end`);
    assert.ok(r.ms < 1800, `${method}: closed after ${r.ms} ms`);
  }
  assert.equal((await get(url('timed'), { host: 'open.test' })).status, 200);
});

test('requestAcceptGraceTimeout: after SIGTERM new requests are still served for that long, /ping answers 503; then Gantry exits 0', async () => {
  for (const flag of ['--lifecycle.requestAcceptGraceTimeout=1500ms', '--entrypoints.web.transport.lifeCycle.requestAcceptGraceTimeout=1500ms']) {
    const p = await startGantry(['--entrypoints.web.address=127.0.0.1:0', '--api.address=127.0.0.1:0', '--providers.rest', flag]);
    try {
      const port = p.port('web');
      const t0 = Date.now();
      p.proc.kill('SIGTERM');
      await p.waitForLog((l) => l.msg === 'shutting down');
      // A new connection after the signal is answered (404: no routes), not refused.
      const r = await get(`http://127.0.0.1:${port}/`, { host: 'late.test', connection: 'close' });
      assert.equal(r.status, 404, flag);
      const ping = await fetch(p.api('/ping'));
      assert.equal(ping.status, 503, flag);
      assert.equal(await p.exited, 0);
      assert.ok(Date.now() - t0 >= 1400, `${flag}: exited after ${Date.now() - t0} ms`);
    } finally {
      await p.stop();
    }
  }
});

test('log.filePath: the log goes to the file, in the configured format', async () => {
  const logFile = path.join(tmp.dir, 'gantry.log');
  const p = await startGantry(['--entrypoints.web.address=127.0.0.1:0', '--api=false', `--log.filePath=${logFile}`], { entrypoints: [], api: false });
  try {
    await waitFor(() => fs.existsSync(logFile) && fs.readFileSync(logFile, 'utf8').includes('gantry started'), 5000);
    const lines = fs.readFileSync(logFile, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { msg: string; level: string });
    assert.ok(lines.some((l) => l.msg === 'entrypoint listening' && l.level === 'info'));
    assert.equal(p.logs.filter((l) => l.msg === 'gantry started').length, 0, 'nothing on stderr');
  } finally {
    await p.stop();
  }
  const bad = await startGantry(['--entrypoints.web.address=127.0.0.1:0', '--api=false', `--log.filePath=${path.join(tmp.dir, 'no-such-dir', 'x.log')}`], { entrypoints: [], api: false }).catch((e: Error) => e);
  if (bad instanceof Error) assert.match(bad.message, /log\.filePath: cannot open .*ENOENT/);
  else {
    assert.equal(await bad.exited, 1);
    assert.match(bad.logText(), /log\.filePath: cannot open .*ENOENT/);
  }
});

test('encodedCharacters: encoded slashes and backslashes are refused unless the entrypoint allows them', async () => {
  for (const p of ['/a%2Fb', '/a%5Cb']) {
    assert.equal((await get(url('order', p), { host: 'open.test' })).status, 400, `${p} on a default entrypoint`);
    const r = await getJSON<{ url: string }>(url('encoded', p), { host: 'open.test' });
    assert.equal(r.status, 200, p);
    assert.equal(r.json.url, p, 'forwarded as it came');
  }
});

test('proxyProtocol.insecure takes a PROXY header from anyone; forwardedHeaders.insecure trusts X-Forwarded-For from anyone', async () => {
  const viaProxy = await new Promise<string>((resolve, reject) => {
    const s = net.connect({ host: '127.0.0.1', port: g.port('pp') }, () => s.write('PROXY TCP4 203.0.113.7 127.0.0.1 40000 80\r\nGET / HTTP/1.1\r\nhost: open.test\r\nconnection: close\r\n\r\n'));
    let b = '';
    s.setEncoding('latin1').on('data', (d: string) => (b += d));
    s.on('end', () => resolve(b));
    s.on('error', reject);
  });
  assert.match(viaProxy, /"x-real-ip":"203\.0\.113\.7"/);
  const trusted = await getJSON<{ headers: Record<string, string> }>(url('fwd'), { host: 'open.test', 'x-forwarded-for': '198.51.100.1' });
  assert.equal(trusted.json.headers['x-forwarded-for'], '198.51.100.1, 127.0.0.1');
  const untrusted = await getJSON<{ headers: Record<string, string> }>(url('order'), { host: 'open.test', 'x-forwarded-for': '198.51.100.1' });
  assert.equal(untrusted.json.headers['x-forwarded-for'], '127.0.0.1');
});

test('http.redirections.entryPoint: scheme and permanent shape the redirect to the target entrypoint', async () => {
  const res = await get(url('redirect', '/p?q=1'), { host: 'open.test' });
  assert.equal(res.status, 302, 'permanent false, GET: 302');
  assert.equal(res.headers['location'], `http://open.test:${g.port('order')}/p?q=1`);
  const post = await get(url('redirect', '/p'), { host: 'open.test' }, 'POST', 'x');
  assert.equal(post.status, 307, 'permanent false, POST: 307 keeps the method');
});
