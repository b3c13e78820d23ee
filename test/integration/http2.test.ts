/**
 * HTTP/2 through the real entrypoint: h2 by ALPN on a TLS entrypoint (curl --http2 and node:http2)
 * gives the same answers as HTTP/1.1, a middleware chain behaves the same over both, h2c prior
 * knowledge when switched on, RFC 9113's request rules, and abusive clients (Rapid Reset,
 * CONTINUATION flood) are cut off while a well-behaved client goes on; sticky cookies, retries, the
 * access log, metrics and a configured stream limit work for h2 streams as for HTTP/1.1 requests.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import http2 from 'node:http2';
import https from 'node:https';
import path from 'node:path';
import { promisify } from 'node:util';
import bcrypt from 'bcryptjs';
import { startBackend, startGantry, stopsAtOnce, tempDir, waitFor, type Backend, type GantryProcess } from '../helpers/gantry.js';
import { get } from '../helpers/http.js';
import { parsePrometheus, value } from '../helpers/prometheus.js';
import net from 'node:net';
import tls from 'node:tls';
import { makeCA } from '../fixtures/tls/make-certs.js';
import { connectRaw, FLAG, frame, headerBlock, request, TYPE } from '../helpers/h2frames.js';
import fs from 'node:fs';

const run = promisify(execFile);

interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

describe('HTTP/2', { timeout: 90_000 }, () => {
  const tmp = tempDir('gantry-h2-');
  const ca = makeCA(path.join(tmp.dir, 'ca'));
  const leaf = ca.leaf('h2', ['h2.test', '*.h2.test']);
  let g: GantryProcess;
  let app: Backend;
  let session: http2.ClientHttp2Session;

  before(async () => {
    app = await startBackend('app', (req, res) => {
      let body = '';
      req.setEncoding('utf8');
      req.on('data', (c: string) => (body += c));
      req.on('end', () => {
        res.writeHead(200, { 'content-type': 'application/json', 'x-backend': 'app' });
        res.end(JSON.stringify({ url: req.url, host: req.headers.host, proto: req.headers['x-forwarded-proto'], version: req.httpVersion, body, auth: req.headers['x-auth-user'] ?? null }));
      });
    });
    const hash = bcrypt.hashSync('pw', 4);
    const file = path.join(tmp.dir, 'dynamic.yaml');
    fs.writeFileSync(
      file,
      `http:
  routers:
    app: { rule: Host(\`h2.test\`), service: app, tls: {}, entryPoints: [websecure] }
    clear: { rule: Host(\`h2.test\`), service: app, entryPoints: [web] }
    chain:
      rule: Host(\`chain.h2.test\`) && PathPrefix(\`/api\`)
      service: app
      tls: {}
      entryPoints: [websecure]
      middlewares: [auth, strip, hdrs, limit]
  middlewares:
    auth: { basicAuth: { users: ["alice:${hash}"], headerField: X-Auth-User } }
    strip: { stripPrefix: { prefixes: [/api] } }
    hdrs: { headers: { customResponseHeaders: { X-Chain: "yes" } } }
    limit: { rateLimit: { average: 1, burst: 2, period: 1m, sourceCriterion: { requestHeaderName: X-Client } } }
  services:
    app: { loadBalancer: { servers: [{ url: "${app.url}" }] } }
tls:
  certificates: [{ certFile: "${leaf.cert}", keyFile: "${leaf.key}" }]
`,
    );
    g = await startGantry(
      ['--entrypoints.web.address=127.0.0.1:0', '--entrypoints.web.http2.h2c', '--entrypoints.websecure.address=127.0.0.1:0', '--entrypoints.plain.address=127.0.0.1:0', '--api.address=127.0.0.1:0', `--providers.file.filename=${file}`],
      { entrypoints: ['web', 'websecure', 'plain'] },
    );
    session = http2.connect(`https://127.0.0.1:${g.port('websecure')}`, { ca: ca.caPem, servername: 'h2.test' });
  });
  after(async () => {
    session?.close();
    await g?.stop();
    await app?.close();
    tmp.cleanup();
  });

  const h2 = (s: http2.ClientHttp2Session, headers: http2.OutgoingHttpHeaders, body?: string): Promise<Answer> =>
    new Promise((resolve, reject) => {
      const req = s.request({ ':method': body === undefined ? 'GET' : 'POST', ...headers });
      let status = 0;
      let h: Answer['headers'] = {};
      let text = '';
      req.on('response', (r) => {
        status = Number(r[':status']);
        h = r as Answer['headers'];
      });
      req.setEncoding('utf8');
      req.on('data', (c: string) => (text += c));
      req.on('end', () => resolve({ status, headers: h, body: text }));
      req.on('error', reject);
      req.end(body);
    });
  const h1 = (port: number, servername: string, p: string, headers: Record<string, string> = {}): Promise<Answer> =>
    new Promise((resolve, reject) => {
      const req = https.request({ host: '127.0.0.1', port, path: p, servername, ca: ca.caPem, headers: { host: servername, ...headers }, agent: false }, (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => (text += c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: text }));
      });
      req.on('error', reject);
      req.end();
    });

  it('answers curl --http2 with HTTP/2 200 from the right backend, and HTTP/1.1 the same', async () => {
    const port = g.port('websecure');
    const { stdout } = await run('curl', ['-sS', '--max-time', '10', '--http2', '--cacert', ca.caCert, '--resolve', `h2.test:${port}:127.0.0.1`, '-D', '-', `https://h2.test:${port}/hello?x=1`]);
    assert.match(stdout, /^HTTP\/2 200/);
    const body = JSON.parse(stdout.slice(stdout.indexOf('\r\n\r\n') + 4)) as Record<string, string>;
    assert.deepEqual(body, { url: '/hello?x=1', host: `h2.test:${port}`, proto: 'https', version: '1.1', body: '', auth: null });
    const { stdout: one } = await run('curl', ['-sS', '--max-time', '10', '--http1.1', '--cacert', ca.caCert, '--resolve', `h2.test:${port}:127.0.0.1`, '-D', '-', `https://h2.test:${port}/hello?x=1`]);
    assert.match(one, /^HTTP\/1\.1 200/);
    assert.deepEqual(JSON.parse(one.slice(one.indexOf('\r\n\r\n') + 4)), body);
  });

  it('forwards an h2 request body (no Content-Length) to an HTTP/1.1 server', async () => {
    const r = await h2(session, { ':path': '/upload', ':authority': 'h2.test' }, 'some body bytes');
    assert.equal(r.status, 200);
    assert.equal((JSON.parse(r.body) as { body: string }).body, 'some body bytes');
  });

  it('runs a middleware chain (basicAuth, stripPrefix, headers, rateLimit) the same over h2 and h1', async () => {
    const good = { authorization: `Basic ${Buffer.from('alice:pw').toString('base64')}` };
    const table = [
      { desc: 'no credentials', headers: {}, want: 401 },
      { desc: 'good credentials, prefix stripped, header added', headers: good, want: 200 },
      { desc: 'good credentials again', headers: good, want: 200 },
      { desc: 'burst of 2 used: rate limited', headers: good, want: 429 },
    ];
    type Row = { status: number; chain: unknown; url?: string; auth?: string | null };
    const results: Record<'h2' | 'h1', Row[]> = { h2: [], h1: [] };
    for (const proto of ['h2', 'h1'] as const) {
      // Each protocol has its own rate-limit bucket (X-Client), so both runs start full.
      for (const c of table) {
        const headers = { ...c.headers, 'x-client': proto };
        const r =
          proto === 'h2'
            ? await h2(session, { ':path': `/api/${proto}`, ':authority': 'chain.h2.test', ...headers })
            : await h1(g.port('websecure'), 'chain.h2.test', `/api/${proto}`, headers);
        const json = r.status === 200 ? (JSON.parse(r.body) as { url: string; auth: string | null }) : null;
        results[proto].push({ status: r.status, chain: r.headers['x-chain'], url: json?.url.replace(proto, 'P'), auth: json?.auth });
      }
    }
    assert.deepEqual(results.h2.map((r) => r.status), table.map((c) => c.want));
    assert.deepEqual(results.h2[1], { status: 200, chain: 'yes', url: '/P', auth: 'alice' });
    assert.deepEqual(results.h1, results.h2, 'HTTP/1.1 and HTTP/2 get the same answers');
  });

  it('serves h2c with prior knowledge where switched on, and not elsewhere', async () => {
    const c = http2.connect(`http://127.0.0.1:${g.port('web')}`);
    try {
      const r = await h2(c, { ':path': '/clear', ':authority': 'h2.test' });
      assert.equal(r.status, 200);
      assert.equal((JSON.parse(r.body) as { proto: string }).proto, 'http');
    } finally {
      c.close();
    }
    const raw = await connectRaw(g.port('plain'));
    await raw.closed;
    assert.equal(raw.received.filter((f) => f.type === TYPE.SETTINGS).length, 0, 'no HTTP/2 without http2.h2c');
  });

  it('offers the default limits: 250 concurrent streams', async () => {
    await new Promise<void>((r) => (session.remoteSettings.maxConcurrentStreams !== undefined ? r() : session.once('remoteSettings', () => r())));
    assert.equal(session.remoteSettings.maxConcurrentStreams, 250);
  });

  it('refuses a Host that differs from :authority, and CONNECT', async () => {
    const mismatch = await h2(session, { ':path': '/', ':authority': 'h2.test', host: 'other.test' });
    assert.equal(mismatch.status, 400);
    const connect = await new Promise<number>((resolve, reject) => {
      const req = session.request({ ':method': 'CONNECT', ':authority': 'h2.test:443' });
      req.on('response', (h) => resolve(Number(h[':status'])));
      req.on('error', reject);
    });
    // node:http2 answers CONNECT itself (405) when nothing listens for it; Gantry would say 501.
    assert.ok(connect === 405 || connect === 501, `CONNECT got ${connect}`);
  });

  it('refuses connection-specific fields in an h2 request (RFC 9113 §8.2.2)', async () => {
    const raw = await connectRaw(g.port('websecure'), { tls: { servername: 'h2.test' } });
    raw.send(frame(TYPE.HEADERS, FLAG.END_HEADERS | FLAG.END_STREAM, 1, request('/', 'h2.test', [['connection', 'keep-alive']])));
    const deadline = Date.now() + 3000;
    while (!raw.received.some((f) => (f.type === TYPE.RST_STREAM && f.stream === 1) || f.type === TYPE.GOAWAY) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    raw.socket.destroy();
    assert.ok(raw.received.some((f) => (f.type === TYPE.RST_STREAM && f.stream === 1) || f.type === TYPE.GOAWAY), 'the stream was not refused');
    assert.equal(app.seen.filter((s) => s.headers.connection === 'keep-alive' && s.url === '/').length, 0);
  });

  it('refuses a header list over its bounds (32 KiB, 256 fields) without reaching a server, and goes on serving', async () => {
    const cases: Array<[string, Array<[string, string]>]> = [
      ['/too-big', [['x-a', 'a'.repeat(12_000)], ['x-b', 'b'.repeat(12_000)], ['x-c', 'c'.repeat(12_000)]]],
      ['/too-many', Array.from({ length: 300 }, (_, i): [string, string] => [`x-f${i}`, 'v'])],
    ];
    for (const [p, fields] of cases) {
      const raw = await connectRaw(g.port('websecure'), { tls: { servername: 'h2.test' } });
      const block = request(p, 'h2.test', fields);
      // In frames of at most 16 KiB (the default SETTINGS_MAX_FRAME_SIZE): HEADERS, then CONTINUATIONs.
      const pieces: Buffer[] = [];
      for (let off = 0; off < block.length; off += 16_000) pieces.push(block.subarray(off, off + 16_000));
      raw.send(...pieces.map((b, i) => frame(i === 0 ? TYPE.HEADERS : TYPE.CONTINUATION, (i === 0 ? FLAG.END_STREAM : 0) | (i === pieces.length - 1 ? FLAG.END_HEADERS : 0), 1, b)));
      const deadline = Date.now() + 3000;
      while (!raw.received.some((f) => (f.stream === 1 && (f.type === TYPE.RST_STREAM || f.type === TYPE.HEADERS)) || f.type === TYPE.GOAWAY) && !raw.socket.destroyed && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
      const answered = raw.received.some((f) => (f.stream === 1 && (f.type === TYPE.RST_STREAM || f.type === TYPE.HEADERS)) || f.type === TYPE.GOAWAY) || raw.socket.destroyed;
      raw.socket.destroy();
      assert.ok(answered, `${p}: no answer to an oversized header list`);
      assert.equal(app.seen.filter((x) => x.url === p).length, 0, `${p} reached the server`);
    }
    const after = await h2(session, { ':path': '/after-big', ':authority': 'h2.test' });
    assert.equal(after.status, 200);
  });

  const abusers = [
    {
      desc: 'Rapid Reset (CVE-2023-44487: streams opened and cancelled in a loop)',
      abuse: (raw: Awaited<ReturnType<typeof connectRaw>>, i: number) => {
        const id = 2 * i + 1;
        return raw.send(frame(TYPE.HEADERS, FLAG.END_HEADERS | FLAG.END_STREAM, id, request(`/rr${i}`, 'h2.test')), frame(TYPE.RST_STREAM, 0, id, Buffer.from([0, 0, 0, 8])));
      },
    },
    {
      desc: 'CONTINUATION flood (CVE-2024-27316: one header block that never ends)',
      abuse: (raw: Awaited<ReturnType<typeof connectRaw>>, i: number) =>
        raw.send(i === 0 ? frame(TYPE.HEADERS, 0, 1, request('/flood', 'h2.test')) : frame(TYPE.CONTINUATION, 0, 1, headerBlock([[`x-flood-${i}`, 'a'.repeat(200)]]))),
    },
  ];
  for (const a of abusers) {
    it(`cuts off ${a.desc} while a well-behaved client sees no error`, async () => {
      const raw = await connectRaw(g.port('websecure'), { tls: { servername: 'h2.test' } });
      const seenBefore = app.seen.length;
      // The well-behaved client goes on for 2 s from the start of the attack, whatever happens to it.
      const until = Date.now() + 2000;
      const latencies: number[] = [];
      const good = (async () => {
        let n = 0;
        while (Date.now() < until) {
          const t = performance.now();
          const r = await h2(session, { ':path': `/good${n++}`, ':authority': 'h2.test' });
          assert.equal(r.status, 200);
          latencies.push(performance.now() - t);
        }
      })();
      let sent = 0;
      while (!raw.socket.destroyed && Date.now() < until) {
        for (let k = 0; k < 20 && !raw.socket.destroyed; k++) a.abuse(raw, sent++);
        await new Promise((r) => setTimeout(r, 1));
      }
      const cutOff = raw.socket.destroyed;
      raw.socket.destroy();
      await good;
      const goaway = raw.received.find((f) => f.type === TYPE.GOAWAY);
      const reached = app.seen.slice(seenBefore).filter((s) => !s.url.startsWith('/good')).length;
      const worst = Math.max(...latencies);
      process.stderr.write(`${a.desc}: cut off after ${sent} frames (GOAWAY ${goaway === undefined ? 'none' : `code ${goaway.code}`}), ${reached} of its requests reached a server; the good client made ${latencies.length} requests, first ${latencies[0]!.toFixed(0)} ms, slowest ${worst.toFixed(0)} ms\n`);
      assert.ok(cutOff, `the abuser was still connected after ${sent} frames`);
      assert.ok(latencies.length >= 10, `the good client made only ${latencies.length} requests in 2 s`);
      assert.ok(worst < 1500, `a good request took ${worst.toFixed(0)} ms`);
      // A header block that never ended never became a request.
      assert.equal(app.seen.filter((s) => s.url === '/flood').length, 0);
    });
  }
});

describe('HTTP/2 clients that leave mid-stream', { timeout: 60_000 }, () => {
  it('a client that half-closes or closes with streams in flight leaves no session behind: SIGTERM exits at once', async () => {
    const tmp = tempDir('gantry-h2-fin-');
    const ca = makeCA(path.join(tmp.dir, 'ca'));
    const leaf = ca.leaf('fin', ['fin.test']);
    // Answers after 300 ms, so that the client's FIN arrives while every stream is still open.
    const slow = await startBackend('slow', (_req, res) => setTimeout(() => res.end('late\n'), 300));
    const file = path.join(tmp.dir, 'dynamic.yaml');
    fs.writeFileSync(file, `http:
  routers:
    app: { rule: Host(\`fin.test\`), service: slow, tls: {} }
  services:
    slow: { loadBalancer: { servers: [{ url: "${slow.url}" }] } }
tls:
  certificates: [{ certFile: "${leaf.cert}", keyFile: "${leaf.key}" }]
`);
    const g = await startGantry(['--entrypoints.websecure.address=127.0.0.1:0', '--api.address=127.0.0.1:0', `--providers.file.filename=${file}`, '--lifecycle.graceTimeout=10s'], { entrypoints: ['websecure'] });
    try {
      for (let round = 0; round < 3; round++) {
        const sock = tls.connect({ host: '127.0.0.1', port: g.port('websecure'), servername: 'fin.test', ca: ca.caPem, ALPNProtocols: ['h2'] });
        await new Promise<void>((resolve, reject) => sock.once('secureConnect', resolve).once('error', reject));
        const s = http2.connect('https://fin.test', { createConnection: () => sock });
        s.on('error', () => {});
        for (let i = 0; i < 20; i++) s.request({ ':path': `/r${round}-${i}`, ':authority': 'fin.test' }).on('error', () => {}).end();
        // Let the requests reach the server, then leave: FIN, or (as h2load at the end of a timed run) close.
        while (slow.seen.length < 20 * (round + 1)) await new Promise((r) => setTimeout(r, 10));
        if (round === 0) sock.end();
        else sock.destroy();
      }
      // The server answers, sees the FIN and ends its side: every stream and session closes.
      await new Promise((r) => setTimeout(r, 800));
      const stopped = await stopsAtOnce(g);
      assert.equal(stopped.code, 0);
      assert.equal(stopped.waitedForGrace, false, `shutdown waited for the grace period (${stopped.ms} ms): a half-closed client left streams open`);
      assert.ok(stopped.ms < 5000, `SIGTERM took ${stopped.ms} ms`);
    } finally {
      await g.stop();
      await slow.close();
      tmp.cleanup();
    }
  });
});

describe('HTTP/2 streams get what HTTP/1.1 requests get', { timeout: 60_000 }, () => {
  const tmp = tempDir('gantry-h2-same-');
  const ca = makeCA(path.join(tmp.dir, 'ca'));
  const leaf = ca.leaf('h2', ['*.h2.test']);
  const accessLog = path.join(tmp.dir, 'access.log');
  let g: GantryProcess;
  let s1: Backend;
  let s2: Backend;
  let session: http2.ClientHttp2Session;

  before(async () => {
    s1 = await startBackend('s1');
    s2 = await startBackend('s2');
    // A port nothing listens on: the first try there fails to connect and is retried.
    const probe = net.createServer();
    await new Promise<void>((r) => probe.listen(0, '127.0.0.1', r));
    const dead = (probe.address() as net.AddressInfo).port;
    await new Promise<void>((r) => probe.close(() => r()));
    const file = path.join(tmp.dir, 'dynamic.yaml');
    fs.writeFileSync(
      file,
      `http:
  routers:
    sticky: { rule: Host(\`sticky.h2.test\`), service: sticky, tls: {} }
    retry: { rule: Host(\`retry.h2.test\`), service: retry, tls: {} }
  services:
    sticky:
      loadBalancer:
        sticky: { cookie: { name: stick } }
        servers: [{ url: "${s1.url}" }, { url: "${s2.url}" }]
    retry:
      loadBalancer:
        servers: [{ url: "http://127.0.0.1:${dead}" }, { url: "${s2.url}" }]
tls:
  certificates: [{ certFile: "${leaf.cert}", keyFile: "${leaf.key}" }]
`,
    );
    g = await startGantry(
      [
        '--entrypoints.websecure.address=127.0.0.1:0',
        '--entrypoints.websecure.http2.maxConcurrentStreams=5',
        '--api.address=127.0.0.1:0',
        `--providers.file.filename=${file}`,
        '--accessLog.format=json',
        `--accessLog.filePath=${accessLog}`,
        '--metrics.prometheus',
      ],
      { entrypoints: ['websecure'] },
    );
    session = http2.connect(`https://127.0.0.1:${g.port('websecure')}`, { ca: ca.caPem, servername: 'sticky.h2.test' });
  });
  after(async () => {
    session?.close();
    await g?.stop();
    await s1?.close();
    await s2?.close();
    tmp.cleanup();
  });

  const get2 = (authority: string, extra: http2.OutgoingHttpHeaders = {}): Promise<{ status: number; headers: http2.IncomingHttpHeaders; body: string }> =>
    new Promise((resolve, reject) => {
      const req = session.request({ ':path': '/', ':authority': authority, ...extra });
      let headers: http2.IncomingHttpHeaders = {};
      let body = '';
      req.on('response', (h) => (headers = h));
      req.setEncoding('utf8');
      req.on('data', (c: string) => (body += c));
      req.on('end', () => resolve({ status: Number(headers[':status']), headers, body }));
      req.on('error', reject);
      req.end();
    });
  const backendOf = (body: string): string => (JSON.parse(body) as { backend: string }).backend;

  it('advertises a configured maxConcurrentStreams', async () => {
    await new Promise<void>((r) => (session.remoteSettings.maxConcurrentStreams !== undefined && session.remoteSettings.maxConcurrentStreams !== 4294967295 ? r() : session.once('remoteSettings', () => r())));
    assert.equal(session.remoteSettings.maxConcurrentStreams, 5);
  });

  it('sticky cookies: set on an h2 answer, and they hold the client to one server on h2 and h1 alike', async () => {
    const first = await get2('sticky.h2.test');
    assert.equal(first.status, 200);
    const setCookie = ([] as string[]).concat(first.headers['set-cookie'] ?? []);
    const cookie = setCookie.find((c) => c.startsWith('stick='));
    assert.ok(cookie !== undefined, `no sticky cookie in ${JSON.stringify(setCookie)}`);
    const pinned = backendOf(first.body);
    const pair = cookie.split(';')[0]!;
    for (let i = 0; i < 10; i++) assert.equal(backendOf((await get2('sticky.h2.test', { cookie: pair })).body), pinned);
    const overH1 = await new Promise<string>((resolve, reject) => {
      const req = https.request({ host: '127.0.0.1', port: g.port('websecure'), path: '/', servername: 'sticky.h2.test', ca: ca.caPem, headers: { host: 'sticky.h2.test', cookie: pair }, agent: false }, (res) => {
        let t = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => (t += c));
        res.on('end', () => resolve(t));
      });
      req.on('error', reject);
      req.end();
    });
    assert.equal(backendOf(overH1), pinned);
  });

  it('retries: a stream whose first server refuses the connection is answered by the next one', async () => {
    const seen = s2.seen.length;
    for (let i = 0; i < 6; i++) {
      const r = await get2('retry.h2.test');
      assert.equal(r.status, 200, r.body);
      assert.equal(backendOf(r.body), 's2');
    }
    assert.equal(s2.seen.length - seen, 6);
  });

  it('the access log and the metrics count h2 streams, with their protocol', async () => {
    const before = parsePrometheus((await get(g.api('/metrics'))).body);
    const labels = { service: 'sticky@file', code: '200', method: 'GET', protocol: 'http' };
    const n0 = value(before, 'gantry_service_requests_total', 'gantry_service_requests_total', labels);
    for (let i = 0; i < 3; i++) assert.equal((await get2('sticky.h2.test', { ':path': `/counted${i}` })).status, 200);
    const after = parsePrometheus((await get(g.api('/metrics'))).body);
    assert.equal(value(after, 'gantry_service_requests_total', 'gantry_service_requests_total', labels) - n0, 3);
    await waitFor(() => fs.existsSync(accessLog) && fs.readFileSync(accessLog, 'utf8').includes('/counted2'), 5000);
    const lines = fs
      .readFileSync(accessLog, 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, unknown>)
      .filter((l) => String(l['RequestPath']).startsWith('/counted'));
    assert.equal(lines.length, 3);
    for (const l of lines) {
      assert.equal(l['RequestProtocol'], 'HTTP/2.0');
      assert.equal(l['RouterName'], 'sticky@file');
      assert.equal(l['DownstreamStatus'], 200);
      assert.equal(l['RequestScheme'], 'https');
    }
  });
});
