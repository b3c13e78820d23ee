/**
 * Every middleware through the real entrypoint (issue 3), each with an edge case or two: one
 * Gantry, one router per middleware (Host `<case>.test`), real upstreams and a real auth server.
 * A second entrypoint trusts 127.0.0.1 as a proxy, for the X-Forwarded-For depth rule.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import type { ServerResponse } from 'node:http';
import { Readable } from 'node:stream';
import zlib from 'node:zlib';
import bcrypt from 'bcryptjs';
import { request } from 'undici';
import { startBackend, startWithFile, waitFor, type Backend, type GantryProcess } from '../helpers/gantry.js';
import { agent, get } from '../helpers/http.js';

interface Echo {
  backend: string;
  method: string;
  url: string;
  headers: Record<string, string | undefined>;
}

const BIG_TEXT = 'Gantry compresses this line of text quite well.\n'.repeat(100);

describe('middlewares through the entrypoint', () => {
  let g: GantryProcess;
  let cleanup: () => Promise<void>;
  let echo: Backend;
  let auth: Backend;
  let pages: Backend;
  let statusy: Backend;
  let hold: Backend;
  let flaky: Backend;
  const held: ServerResponse[] = [];
  /** Requests the flaky backend still resets before answering. */
  let resetsLeft = 0;

  before(async () => {
    echo = await startBackend('echo', (req, res, b) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        if (req.url?.startsWith('/big')) {
          res.writeHead(200, { 'content-type': 'text/plain; charset=utf-8', 'content-length': Buffer.byteLength(BIG_TEXT), 'x-backend': b.name });
          res.end(BIG_TEXT);
          return;
        }
        const body = JSON.stringify({ backend: b.name, method: req.method, url: req.url, headers: req.headers, body: Buffer.concat(chunks).toString() });
        res.writeHead(200, { 'content-type': 'application/json', 'x-backend': b.name, 'x-secret-upstream': 'leak' });
        res.end(body);
      });
    });
    auth = await startBackend('auth', (req, res) => {
      if (req.headers['x-token'] === 'good') {
        res.writeHead(200, { 'x-auth-user': 'alice', 'x-auth-other': 'not-copied' });
        res.end('ok');
        return;
      }
      res.writeHead(401, { 'www-authenticate': 'Bearer realm="auth"', 'content-type': 'text/plain' });
      res.end('denied by the auth server');
    });
    pages = await startBackend('pages', (req, res) => {
      res.writeHead(200, { 'content-type': 'text/html' });
      res.end(`<p>custom page ${req.url}</p>`);
    });
    statusy = await startBackend('statusy', (req, res) => {
      const code = Number(/^\/status\/(\d{3})/.exec(req.url ?? '')?.[1] ?? 200);
      res.writeHead(code, { 'content-type': 'text/plain' });
      res.end(`original body ${code}`);
    });
    hold = await startBackend('hold', (_req, res) => {
      held.push(res);
    });
    flaky = await startBackend('flaky', (req, res) => {
      if (resetsLeft > 0) {
        resetsLeft--;
        // The request was received; the connection dies before any response byte.
        req.socket.destroy();
        return;
      }
      res.writeHead(200, { 'x-backend': 'flaky' });
      res.end('flaky ok');
    });

    const sha = (pw: string) => `{SHA}${createHash('sha1').update(pw).digest('base64')}`;
    // htpasswd writes bcrypt as $2y$; a low cost keeps the test quick.
    const bobHash = bcrypt.hashSync('bob-secret', 4).replace(/^\$2[ab]\$/, '$2y$');
    const route = (name: string, service: string, middlewares: string[]) =>
      `    ${name}:\n      rule: Host(\`${name}.test\`)\n      service: ${service}\n${middlewares.length ? `      middlewares: [${middlewares.join(', ')}]\n` : ''}`;
    const lb = (name: string, url: string) => `    ${name}:\n      loadBalancer:\n        servers:\n          - url: ${url}\n`;
    const yaml = `http:
  routers:
${route('strip', 'echo', ['strip'])}${route('stripre', 'echo', ['stripre'])}${route('addprefix', 'echo', ['addprefix'])}${route('replace', 'echo', ['replace'])}${route('replacere', 'echo', ['replacere'])}${route('toscheme', 'echo', ['toscheme'])}${route('toport', 'echo', ['toport'])}${route('old', 'echo', ['toregex'])}${route('headers', 'echo', ['hdrs'])}${route('basic', 'echo', ['basic'])}${route('fwdauth', 'echo', ['fwdauth'])}${route('allowlocal', 'echo', ['allowlocal'])}${route('denylocal', 'echo', ['denylocal'])}${route('depth', 'echo', ['depth'])}${route('ratelimit', 'echo', ['ratelimit'])}${route('inflight', 'hold', ['inflight'])}${route('breaker', 'statusy', ['breaker'])}${route('compress', 'echo', ['compress'])}${route('buffer', 'echo', ['buffer'])}${route('errors', 'statusy', ['errpages'])}${route('retry', 'flaky', ['retry3'])}${route('noretry', 'flaky', [])}${route('chain', 'echo', ['both'])}${route('broken', 'echo', ['does-not-exist'])}${route('brokenchain', 'echo', ['badchain'])}
  middlewares:
    strip: { stripPrefix: { prefixes: [/api, /other] } }
    stripre: { stripPrefixRegex: { regex: ["/v[0-9]+"] } }
    addprefix: { addPrefix: { prefix: /base } }
    replace: { replacePath: { path: /fixed } }
    replacere: { replacePathRegex: { regex: "^/foo/(.*)", replacement: "/bar/$1" } }
    toscheme: { redirectScheme: { scheme: https, permanent: true } }
    toport: { redirectScheme: { scheme: https, port: "8443" } }
    toregex: { redirectRegex: { regex: "^http://old\\\\.test(:[0-9]+)?/(.*)", replacement: "http://new.test/\${2}" } }
    hdrs:
      headers:
        customRequestHeaders: { X-Custom-Req: hello, X-Drop-Me: "" }
        customResponseHeaders: { X-Custom-Resp: world, X-Secret-Upstream: "" }
        accessControlAllowOriginList: [https://ok.example]
        accessControlAllowMethods: [GET, PUT]
        accessControlAllowHeaders: [X-Token]
        accessControlMaxAge: 600
        frameDeny: true
        contentTypeNosniff: true
        browserXssFilter: true
        stsSeconds: 31536000
    basic:
      basicAuth:
        realm: staff
        removeHeader: true
        users:
          - ${JSON.stringify(`alice:${sha('alice-secret')}`)}
          - ${JSON.stringify(`bob:${bobHash}`)}
    fwdauth:
      forwardAuth:
        address: ${auth.url}/verify
        authResponseHeaders: [X-Auth-User]
    allowlocal: { ipAllowList: { sourceRange: [127.0.0.1/32, "::1"] } }
    denylocal: { ipAllowList: { sourceRange: [10.0.0.0/8, 192.168.0.0/16] } }
    depth: { ipAllowList: { sourceRange: [203.0.113.0/24], ipStrategy: { depth: 1 } } }
    ratelimit: { rateLimit: { average: 1, period: 10s, burst: 2, sourceCriterion: { requestHeaderName: X-Client } } }
    inflight: { inFlightReq: { amount: 2 } }
    breaker: { circuitBreaker: { expression: "ResponseCodeRatio(500, 600, 0, 600) > 0.5", checkPeriod: 50ms, fallbackDuration: 1s, recoveryDuration: 500ms } }
    compress: { compress: {} }
    buffer: { buffering: { maxRequestBodyBytes: 16 } }
    errpages: { errors: { status: ["500-599", "404"], service: pages, query: "/errors/{status}.html" } }
    retry3: { retry: { attempts: 3, initialInterval: 10ms } }
    both: { chain: { middlewares: [strip, addprefix] } }
    badchain: { chain: { middlewares: [strip, nope-missing] } }
  services:
${lb('echo', echo.url)}${lb('hold', hold.url)}${lb('statusy', statusy.url)}${lb('flaky', flaky.url)}${lb('pages', pages.url)}`;
    ({ g, cleanup } = await startWithFile(
      yaml,
      ['--entrypoints.trusted.address=127.0.0.1:0', '--entrypoints.trusted.forwardedHeaders.trustedIPs=127.0.0.1'],
      { entrypoints: ['web', 'trusted'] },
    ));
  });
  after(async () => {
    for (const r of held.splice(0)) r.end();
    await cleanup?.();
    await Promise.all([echo, auth, pages, statusy, hold, flaky].map((b) => b?.close()));
  });

  async function echoed(host: string, path: string, headers: Record<string, string> = {}, entrypoint = 'web'): Promise<Echo> {
    const r = await get(g.url(path, entrypoint), { host, ...headers });
    assert.equal(r.status, 200, `${host}${path}: ${r.status} ${r.body}`);
    return JSON.parse(r.body) as Echo;
  }

  it('rewrites paths and keeps the query string', async () => {
    const cases = [
      { desc: 'stripPrefix keeps the query', host: 'strip.test', path: '/api/users?x=1&y=a%20b', url: '/users?x=1&y=a%20b', prefix: '/api' },
      { desc: 'stripPrefix of the whole path leaves /', host: 'strip.test', path: '/other?q', url: '/?q', prefix: '/other' },
      { desc: 'stripPrefix without a matching prefix', host: 'strip.test', path: '/nothing?q=1', url: '/nothing?q=1', prefix: undefined },
      { desc: 'stripPrefixRegex', host: 'stripre.test', path: '/v12/items?page=2', url: '/items?page=2', prefix: '/v12' },
      { desc: 'addPrefix', host: 'addprefix.test', path: '/x/y?z=1', url: '/base/x/y?z=1', prefix: undefined },
      { desc: 'replacePath keeps the query', host: 'replace.test', path: '/anything/here?q=1', url: '/fixed?q=1', prefix: undefined },
      { desc: 'replacePathRegex', host: 'replacere.test', path: '/foo/baz/qux?q=2', url: '/bar/baz/qux?q=2', prefix: undefined },
      { desc: 'replacePathRegex without a match', host: 'replacere.test', path: '/other?q=3', url: '/other?q=3', prefix: undefined },
      { desc: 'chain: stripPrefix then addPrefix', host: 'chain.test', path: '/api/z?k=v', url: '/base/z?k=v', prefix: '/api' },
    ];
    for (const c of cases) {
      const e = await echoed(c.host, c.path);
      assert.equal(e.url, c.url, c.desc);
      assert.equal(e.headers['x-forwarded-prefix'], c.prefix, `${c.desc}: X-Forwarded-Prefix`);
    }
    const replaced = await echoed('replace.test', '/anything/here?q=1');
    assert.match(String(replaced.headers['x-replaced-path']), /^\/anything\/here/);
    const replacedRe = await echoed('replacere.test', '/foo/a');
    assert.equal(replacedRe.headers['x-replaced-path'], '/foo/a');
  });

  it('redirects by scheme and by regular expression', async () => {
    const cases = [
      { desc: 'redirectScheme permanent', host: 'toscheme.test', path: '/p/q?x=1', status: 301, location: 'https://toscheme.test/p/q?x=1' },
      { desc: 'redirectScheme with port, temporary', host: 'toport.test', path: '/p?y=2', status: 302, location: 'https://toport.test:8443/p?y=2' },
      { desc: 'redirectScheme drops the client port', host: `toscheme.test:${g.port()}`, path: '/', status: 301, location: 'https://toscheme.test/' },
      { desc: 'redirectRegex', host: 'old.test', path: '/a/b?c=1', status: 302, location: 'http://new.test/a/b?c=1' },
    ];
    for (const c of cases) {
      const r = await get(g.url(c.path), { host: c.host });
      assert.equal(r.status, c.status, `${c.desc}: ${r.body}`);
      assert.equal(r.headers['location'], c.location, c.desc);
    }
    assert.ok(!echo.seen.some((s) => s.headers.host?.startsWith('toscheme.test') || s.headers.host === 'old.test'), 'redirected requests never reach the backend');
  });

  it('headers: custom request and response headers, CORS preflight, security headers', async () => {
    const r = await get(g.url('/h'), { host: 'headers.test', 'x-drop-me': 'from-client', origin: 'https://ok.example' });
    assert.equal(r.status, 200);
    const e = JSON.parse(r.body) as Echo;
    assert.equal(e.headers['x-custom-req'], 'hello');
    assert.equal(e.headers['x-drop-me'], undefined, 'an empty value removes the request header');
    assert.equal(r.headers['x-custom-resp'], 'world');
    assert.equal(r.headers['x-secret-upstream'], undefined, 'an empty value removes the response header');
    assert.equal(r.headers['x-frame-options'], 'DENY');
    assert.equal(r.headers['x-content-type-options'], 'nosniff');
    assert.equal(r.headers['x-xss-protection'], '1; mode=block');
    assert.equal(r.headers['strict-transport-security'], undefined, 'no STS over plain HTTP');
    assert.equal(r.headers['access-control-allow-origin'], 'https://ok.example');

    const seenBefore = echo.seen.length;
    const pre = await get(g.url('/h'), { host: 'headers.test', origin: 'https://ok.example', 'access-control-request-method': 'PUT', 'access-control-request-headers': 'X-Token' }, 'OPTIONS');
    assert.equal(pre.status, 200);
    assert.equal(pre.headers['access-control-allow-origin'], 'https://ok.example');
    assert.match(String(pre.headers['access-control-allow-methods']), /GET,\s*PUT/);
    assert.match(String(pre.headers['access-control-allow-headers']), /X-Token/i);
    assert.equal(pre.headers['access-control-max-age'], '600');
    assert.equal(echo.seen.length, seenBefore, 'the preflight is answered by Gantry');

    const other = await get(g.url('/h'), { host: 'headers.test', origin: 'https://evil.example' });
    assert.equal(other.headers['access-control-allow-origin'], undefined, 'an origin not listed is not allowed');
  });

  it('basicAuth: 401 with WWW-Authenticate, SHA and bcrypt users, removeHeader', async () => {
    const basic = (u: string, p: string) => ({ authorization: `Basic ${Buffer.from(`${u}:${p}`).toString('base64')}` });
    const cases = [
      { desc: 'no credentials', headers: {}, status: 401 },
      { desc: 'wrong password', headers: basic('alice', 'wrong'), status: 401 },
      { desc: 'unknown user', headers: basic('mallory', 'alice-secret'), status: 401 },
      { desc: 'malformed header', headers: { authorization: 'Basic %%%' }, status: 401 },
      { desc: 'SHA user', headers: basic('alice', 'alice-secret'), status: 200 },
      { desc: 'bcrypt $2y$ user', headers: basic('bob', 'bob-secret'), status: 200 },
    ];
    for (const c of cases) {
      const r = await get(g.url('/private'), { host: 'basic.test', ...c.headers });
      assert.equal(r.status, c.status, c.desc);
      if (c.status === 401) assert.equal(r.headers['www-authenticate'], 'Basic realm="staff"', c.desc);
      else assert.equal((JSON.parse(r.body) as Echo).headers['authorization'], undefined, `${c.desc}: removeHeader`);
    }
  });

  it('forwardAuth: the auth server decides, its 401 passes through, allowed headers are copied', async () => {
    const denied = await get(g.url('/secret?q=1'), { host: 'fwdauth.test' });
    assert.equal(denied.status, 401);
    assert.equal(denied.body, 'denied by the auth server');
    assert.equal(denied.headers['www-authenticate'], 'Bearer realm="auth"');
    const asked = auth.seen.at(-1)!;
    assert.equal(asked.headers['x-forwarded-uri'], '/secret?q=1');
    assert.equal(asked.headers['x-forwarded-method'], 'GET');
    assert.equal(asked.headers['x-forwarded-host'], 'fwdauth.test');

    const ok = await get(g.url('/secret?q=1'), { host: 'fwdauth.test', 'x-token': 'good', 'x-auth-user': 'mallory' });
    assert.equal(ok.status, 200, ok.body);
    const e = JSON.parse(ok.body) as Echo;
    assert.equal(e.url, '/secret?q=1');
    assert.equal(e.headers['x-auth-user'], 'alice', 'copied from the auth answer, replacing the client value');
    assert.equal(e.headers['x-auth-other'], undefined, 'headers not listed are not copied');
  });

  it('ipAllowList: allowed and refused ranges, and the X-Forwarded-For depth behind a trusted proxy', async () => {
    assert.equal((await get(g.url('/'), { host: 'allowlocal.test' })).status, 200);
    const denied = await get(g.url('/'), { host: 'denylocal.test' });
    assert.equal(denied.status, 403);
    const cases = [
      { desc: 'trusted proxy, right-most entry allowed', ep: 'trusted', xff: '198.51.100.1, 203.0.113.7', status: 200 },
      { desc: 'trusted proxy, right-most entry refused', ep: 'trusted', xff: '203.0.113.7, 198.51.100.1', status: 403 },
      { desc: 'trusted proxy, no header', ep: 'trusted', xff: null, status: 403 },
      { desc: 'untrusted peer cannot claim an address', ep: 'web', xff: '198.51.100.1, 203.0.113.7', status: 403 },
    ];
    for (const c of cases) {
      const headers: Record<string, string> = { host: 'depth.test' };
      if (c.xff !== null) headers['x-forwarded-for'] = c.xff;
      const r = await get(g.url('/', c.ep), headers);
      assert.equal(r.status, c.status, c.desc);
    }
  });

  it('rateLimit: 429 with Retry-After beyond the burst, per source', async () => {
    const statuses: number[] = [];
    let limited: Awaited<ReturnType<typeof get>> | null = null;
    for (let i = 0; i < 4; i++) {
      const r = await get(g.url('/'), { host: 'ratelimit.test', 'x-client': 'a' });
      statuses.push(r.status);
      if (r.status === 429) limited ??= r;
    }
    assert.deepEqual(statuses.slice(0, 2), [200, 200], `burst of 2 passes: ${statuses}`);
    assert.ok(limited !== null, `then 429: ${statuses}`);
    const retryAfter = Number(limited.headers['retry-after']);
    assert.ok(Number.isInteger(retryAfter) && retryAfter >= 1 && retryAfter <= 10, `Retry-After ${limited.headers['retry-after']}`);
    // Another source has its own bucket.
    assert.equal((await get(g.url('/'), { host: 'ratelimit.test', 'x-client': 'b' })).status, 200);
  });

  it('inFlightReq: 429 over the limit, served again once requests finish', async () => {
    const first = [get(g.url('/1'), { host: 'inflight.test' }), get(g.url('/2'), { host: 'inflight.test' })];
    await waitFor(() => held.length === 2, 5000);
    const third = await get(g.url('/3'), { host: 'inflight.test' });
    assert.equal(third.status, 429);
    assert.equal(held.length, 2, 'the refused request never reached the backend');
    for (const r of held.splice(0)) r.end('released');
    assert.deepEqual((await Promise.all(first)).map((r) => r.status), [200, 200]);
    const again = get(g.url('/4'), { host: 'inflight.test' });
    await waitFor(() => held.length === 1, 5000);
    held.splice(0)[0]!.end('released');
    assert.equal((await again).status, 200);
  });

  it('circuitBreaker trips on errors and answers 503 without asking the service', async () => {
    let tripped = false;
    await waitFor(async () => {
      const r = await get(g.url('/status/500'), { host: 'breaker.test' });
      if (r.status === 503) tripped = true;
      else assert.equal(r.status, 500);
      return tripped;
    }, 5000);
    const before = statusy.seen.length;
    const r = await get(g.url('/status/200'), { host: 'breaker.test' });
    assert.equal(r.status, 503, 'open: healthy paths are refused too');
    assert.equal(statusy.seen.length, before, 'an open breaker does not call the service');
    // After fallbackDuration and recoveryDuration the service is used again.
    await waitFor(async () => (await get(g.url('/status/200'), { host: 'breaker.test' })).status === 200, 5000);
  });

  it('compress: gzip and brotli decoded by the client; small bodies left alone', async () => {
    const fetchRaw = async (path: string, acceptEncoding: string) => {
      const res = await request(g.url(path), { headers: { host: 'compress.test', 'accept-encoding': acceptEncoding }, dispatcher: agent });
      return { status: res.statusCode, headers: res.headers, body: Buffer.from(await res.body.arrayBuffer()) };
    };
    const cases = [
      { desc: 'gzip', accept: 'gzip', encoding: 'gzip', decode: (b: Buffer) => zlib.gunzipSync(b) },
      { desc: 'brotli', accept: 'br', encoding: 'br', decode: (b: Buffer) => zlib.brotliDecompressSync(b) },
      { desc: 'preference by q-value', accept: 'gzip;q=0.5, br;q=1', encoding: 'br', decode: (b: Buffer) => zlib.brotliDecompressSync(b) },
      { desc: 'identity only', accept: 'identity', encoding: undefined, decode: (b: Buffer) => b },
    ];
    for (const c of cases) {
      const r = await fetchRaw('/big', c.accept);
      assert.equal(r.status, 200, c.desc);
      assert.equal(r.headers['content-encoding'], c.encoding, c.desc);
      assert.equal(c.decode(r.body).toString(), BIG_TEXT, c.desc);
      if (c.encoding !== undefined) {
        assert.ok(r.body.length < BIG_TEXT.length / 4, `${c.desc}: ${r.body.length} bytes`);
        assert.match(String(r.headers['vary']), /accept-encoding/i, c.desc);
      }
    }
    const small = await fetchRaw('/small', 'gzip');
    assert.equal(small.headers['content-encoding'], undefined, 'a body under 1024 bytes is not compressed');
    assert.equal((JSON.parse(small.body.toString()) as Echo).url, '/small');
  });

  it('buffering: a body over maxRequestBodyBytes gets 413, a small one is forwarded whole', async () => {
    const big = await get(g.url('/upload'), { host: 'buffer.test', 'content-type': 'text/plain' }, 'POST', 'x'.repeat(100));
    assert.equal(big.status, 413);
    const chunked = await request(g.url('/upload'), {
      method: 'POST',
      headers: { host: 'buffer.test' },
      // A stream is sent chunked, without Content-Length: the limit applies while reading.
      body: Readable.from((function* () {
        for (let i = 0; i < 10; i++) yield Buffer.from('0123456789');
      })()),
      dispatcher: agent,
    });
    await chunked.body.dump();
    assert.equal(chunked.statusCode, 413, 'chunked body over the limit');
    const small = await get(g.url('/upload'), { host: 'buffer.test', 'content-type': 'text/plain' }, 'POST', 'tiny body');
    assert.equal(small.status, 200);
    const e = JSON.parse(small.body) as Echo & { body: string };
    assert.equal(e.body, 'tiny body');
    assert.equal(e.headers['content-length'], '9');
  });

  it('errors: pages from an error service, with the original status', async () => {
    const cases = [
      { desc: '500 from the service', path: '/status/500', status: 500, page: '/errors/500.html' },
      { desc: '404 from the service', path: '/status/404', status: 404, page: '/errors/404.html' },
      { desc: '502 from the service', path: '/status/502', status: 502, page: '/errors/502.html' },
    ];
    for (const c of cases) {
      const r = await get(g.url(c.path), { host: 'errors.test' });
      assert.equal(r.status, c.status, c.desc);
      assert.equal(r.body, `<p>custom page ${c.page}</p>`, c.desc);
      assert.match(String(r.headers['content-type']), /text\/html/, c.desc);
    }
    const ok = await get(g.url('/status/200'), { host: 'errors.test' });
    assert.equal(ok.status, 200);
    assert.equal(ok.body, 'original body 200', 'other statuses pass unchanged');
  });

  it('retry: more attempts for an idempotent request that failed before any response byte', async () => {
    // Two resets: the default (one retry of a body-less GET) is not enough, attempts: 3 is.
    resetsLeft = 2;
    const r = await get(g.url('/'), { host: 'retry.test' });
    assert.equal(r.status, 200, r.body);
    assert.equal(r.body, 'flaky ok');
    assert.equal(resetsLeft, 0);
    resetsLeft = 2;
    const without = await get(g.url('/'), { host: 'noretry.test' });
    assert.equal(without.status, 502, 'without the middleware the second reset reaches the client');
    resetsLeft = 0;
    // A POST that was sent is never retried, even with the middleware.
    resetsLeft = 1;
    const post = await get(g.url('/'), { host: 'retry.test', 'content-type': 'text/plain' }, 'POST', 'once');
    assert.equal(post.status, 502);
    resetsLeft = 0;
  });

  it('a router whose middleware does not exist is disabled alone, with its error on the API', async () => {
    for (const host of ['broken.test', 'brokenchain.test']) {
      const r = await get(g.url('/'), { host });
      assert.equal(r.status, 404, `${host} is not served`);
    }
    assert.equal((await get(g.url('/api/x'), { host: 'strip.test' })).status, 200, 'other routers are served');
    const routers = JSON.parse((await get(g.api('/api/http/routers'))).body) as Array<{ name: string; status: string; error?: string[] }>;
    const broken = routers.find((r) => r.name === 'broken@file');
    assert.ok(broken, 'broken@file is listed');
    assert.equal(broken.status, 'disabled');
    assert.match(String(broken.error), /does-not-exist/);
    const chain = routers.find((r) => r.name === 'brokenchain@file');
    assert.equal(chain?.status, 'disabled');
    assert.match(String(chain?.error), /nope-missing/);
    assert.equal(routers.find((r) => r.name === 'strip@file')?.status, 'enabled');
  });
});
