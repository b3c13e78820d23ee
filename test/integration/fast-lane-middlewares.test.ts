/**
 * Fast steps (src/middlewares/fast-step.ts): routers whose middlewares are all header-only take the
 * entrypoint's fast lane (GET, and a POST whose body came with its head), and must behave there exactly as on node:http. Each case sends the same
 * request twice: alone on a fresh connection (the fast lane takes it) and pipelined with a copy in
 * one write on another (the fast lane hands that read to node:http, so the handler chain runs).
 * What the server received and what the client got must be the same on both, and the test checks
 * by the case of the server's field names (the fast lane keeps it, node:http lower-cases it) which
 * lane answered.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import path from 'node:path';
import { startBackend, startWithFile, tempDir, type Backend, type GantryProcess } from '../helpers/gantry.js';
import { RawConn, type RawResponse } from '../helpers/raw-conn.js';

interface Exchange {
  response: RawResponse;
  /** The request head the server received (lower-case names, sorted), or null when none reached it. */
  upstream: string[] | null;
}

interface Pair {
  fast: Exchange;
  slow: Exchange;
  /** The fast lane answered the lone request (the server's field-name case was kept). */
  fastLane: boolean;
}

function request(host: string, path: string, extra: Record<string, string>, method = 'GET', body = ''): string {
  let head = `${method} ${path} HTTP/1.1\r\nHost: ${host}\r\n`;
  for (const [k, v] of Object.entries(extra)) head += `${k}: ${v}\r\n`;
  if (body !== '') head += `Content-Length: ${Buffer.byteLength(body)}\r\n`;
  return head + '\r\n' + body;
}

/** The upstream head as compared: names lower-cased, one line per field, sorted. */
function upstreamLines(raw: string[]): string[] {
  const lines: string[] = [];
  // The connection to the server is the pool's own business on either lane.
  for (let i = 0; i < raw.length; i += 2) if (raw[i]!.toLowerCase() !== 'connection') lines.push(`${raw[i]!.toLowerCase()}: ${raw[i + 1]!}`);
  return lines.sort();
}

/** The response as compared: status, lower-cased field lines without Date, body. */
function responseView(r: RawResponse): { status: number; fields: string[]; body: string } {
  const fields: string[] = [];
  for (const [k, vs] of r.headers) if (k !== 'date') for (const v of vs) fields.push(`${k}: ${v}`);
  return { status: r.status, fields: fields.sort(), body: r.body.toString() };
}

describe('fast lane with header-only middlewares', () => {
  let g: GantryProcess;
  let cleanup: () => Promise<void>;
  let b: Backend;
  let logs: { dir: string; cleanup(): void };
  let deadPort = 0;

  before(async () => {
    b = await startBackend('mw', (req, res) => {
      const parts: Buffer[] = [];
      req.on('data', (d: Buffer) => parts.push(d));
      req.on('end', () => answer(req.url ?? '', Buffer.concat(parts).toString(), res));
    });
    const answer = (url: string, got: string, res: import('node:http').ServerResponse): void => {
      const body = JSON.stringify(got === '' ? { url } : { url, body: got });
      // Mixed-case names: node:http keeps them on the wire, the fast lane passes them as they came.
      res.setHeader('X-Case-Kept', '1');
      res.setHeader('X-Remove-Me', 'bye');
      res.setHeader('X-Frame-Options', 'SAMEORIGIN');
      res.setHeader('Content-Type', 'application/json');
      res.setHeader('Content-Length', String(Buffer.byteLength(body)));
      res.end(body);
    };
    // A port nothing listens on, for a 502.
    const probe = net.createServer();
    await new Promise<void>((r) => probe.listen(0, '127.0.0.1', r));
    deadPort = (probe.address() as net.AddressInfo).port;
    await new Promise<void>((r) => probe.close(() => r()));
    logs = tempDir();
    const router = (name: string, rule: string, mws: string[], service = 'up') => `    ${name}:\n      rule: ${rule}\n      service: ${service}\n      middlewares: [${mws.join(', ')}]\n`;
    const yaml = `http:
  routers:
${router('strip', 'Host(`strip.test`)', ['strip'])}${router('add', 'Host(`add.test`)', ['add'])}${router('hdr', 'Host(`hdr.test`)', ['hdr'])}${router('hosts', 'Host(`hosts.test`) || Host(`other-hosts.test`)', ['hosts'])}${router('redir', 'Host(`redir.test`)', ['redir'])}${router('allow', 'Host(`allow.test`)', ['allow'])}${router('deny', 'Host(`deny.test`)', ['deny'])}${router('depth', 'Host(`depth.test`)', ['depth'])}${router('chain', 'Host(`chain.test`)', ['all'])}${router('dead', 'Host(`dead.test`)', ['hdr'], 'dead')}    plain:
      rule: Host(\`plain.test\`)
      service: up
  middlewares:
    strip: { stripPrefix: { prefixes: [/api, /v1] } }
    add: { addPrefix: { prefix: /pre } }
    hdr:
      headers:
        customRequestHeaders: { X-Added: "yes", X-Drop: "" }
        customResponseHeaders: { X-Resp: "r", X-Remove-Me: "" }
        frameDeny: true
        contentTypeNosniff: true
        stsSeconds: 100
        sslProxyHeaders: { X-Forwarded-Proto: https }
    hosts:
      headers:
        allowedHosts: [hosts.test]
        hostsProxyHeaders: [X-Forwarded-Host]
    redir: { redirectScheme: { scheme: https } }
    allow: { ipAllowList: { sourceRange: [127.0.0.1/32] } }
    deny: { ipAllowList: { sourceRange: [10.0.0.0/8] } }
    depth: { ipAllowList: { sourceRange: [10.1.2.3], ipStrategy: { depth: 1 } } }
    all: { chain: { middlewares: [strip, hdr, allow] } }
    epmark: { headers: { customResponseHeaders: { X-EP: "1" } } }
  services:
    up:
      loadBalancer:
        servers:
          - url: ${b.url}
    dead:
      loadBalancer:
        servers:
          - url: http://127.0.0.1:${deadPort}
`;
    const r = await startWithFile(
      yaml,
      [
        '--entrypoints.trusted.address=127.0.0.1:0',
        '--entrypoints.trusted.forwardedHeaders.trustedIPs=127.0.0.1',
        '--entrypoints.trusted.http.middlewares=epmark@file',
        // An HTTP-01 resolver on web: its challenges go to node:http, the rest may take the fast lane.
        '--certificatesResolvers.le.acme.caServer=https://127.0.0.1:9/directory',
        `--certificatesResolvers.le.acme.storage=${path.join(logs.dir, 'acme.json')}`,
        '--certificatesResolvers.le.acme.httpChallenge.entryPoint=web',
      ],
      { entrypoints: ['web', 'trusted'] },
    );
    g = r.g;
    cleanup = r.cleanup;
  });
  after(async () => {
    await cleanup?.();
    await b?.close();
    logs?.cleanup();
  });

  /** both sends the request on each lane and returns what each side saw. */
  async function both(host: string, path: string, extra: Record<string, string> = {}, ep = 'web', method = 'GET', body = ''): Promise<Pair> {
    const req = request(host, path, extra, method, body);
    b.seen.length = 0;
    const c = await RawConn.open(g.port(ep));
    c.send(req);
    const fastResponse = await c.read();
    const fastUp = b.seen.length > 0 ? upstreamLines(b.seen[0]!.rawHeaders) : null;
    c.close();
    b.seen.length = 0;
    const d = await RawConn.open(g.port(ep));
    d.send(req + req);
    const slowResponse = await d.read();
    await d.read();
    const slowUp = b.seen.length > 0 ? upstreamLines(b.seen[0]!.rawHeaders) : null;
    d.close();
    return {
      fast: { response: fastResponse, upstream: fastUp },
      slow: { response: slowResponse, upstream: slowUp },
      fastLane: /\r\nX-Case-Kept: 1\r\n/.test(fastResponse.head + '\r\n'),
    };
  }

  /** same asserts that both lanes did the same, and returns the response. */
  function same(p: Pair, what: string): RawResponse {
    assert.deepEqual(responseView(p.fast.response), responseView(p.slow.response), `${what}: the client's response`);
    assert.deepEqual(p.fast.upstream, p.slow.upstream, `${what}: the head the server received`);
    assert.doesNotMatch(p.slow.response.head, /X-Case-Kept/, `${what}: the pipelined copy was node:http's`);
    return p.fast.response;
  }

  function upstreamHas(p: Pair, line: string): boolean {
    return p.fast.upstream !== null && p.fast.upstream.includes(line);
  }

  it('stripPrefix: strips on the fast lane, and leaves a non-normal stripped path to the handler (400)', async () => {
    let p = await both('strip.test', '/api/x?q=1');
    assert.equal(p.fastLane, true);
    assert.equal(same(p, 'strip /api/x').body.toString(), '{"url":"/x?q=1"}');
    assert.ok(upstreamHas(p, 'x-forwarded-prefix: /api'), String(p.fast.upstream));
    p = await both('strip.test', '/v1');
    assert.equal(p.fastLane, true);
    assert.equal(same(p, 'strip /v1').body.toString(), '{"url":"/"}');
    p = await both('strip.test', '/other');
    assert.equal(same(p, 'no prefix').body.toString(), '{"url":"/other"}');
    assert.ok(!p.fast.upstream!.some((l) => l.startsWith('x-forwarded-prefix')));
    // A client's X-Forwarded-Prefix from a trusted proxy: the stripped prefix is added as a second line, as Go's Header.Add.
    p = await both('strip.test', '/api/y', { 'X-Forwarded-Prefix': '/outer' }, 'trusted');
    assert.equal(p.fastLane, true);
    same(p, 'strip behind a proxy');
    assert.ok(upstreamHas(p, 'x-forwarded-prefix: /outer') && upstreamHas(p, 'x-forwarded-prefix: /api'), String(p.fast.upstream));
    p = await both('strip.test', '/api./x');
    assert.equal(same(p, 'non-normal stripped path').status, 400);
  });

  it('addPrefix: the server gets the prefixed path', async () => {
    const p = await both('add.test', '/x');
    assert.equal(p.fastLane, true);
    assert.equal(same(p, 'addPrefix').body.toString(), '{"url":"/pre/x"}');
  });

  it('headers: custom request and response headers, security headers, sslProxyHeaders', async () => {
    let p = await both('hdr.test', '/h', { 'X-Drop': 'secret' });
    assert.equal(p.fastLane, true);
    let r = same(p, 'headers');
    assert.ok(upstreamHas(p, 'x-added: yes'));
    assert.ok(!p.fast.upstream!.some((l) => l.startsWith('x-drop')), 'customRequestHeaders "" removes the client\'s header');
    assert.deepEqual(r.headers.get('x-resp'), ['r']);
    assert.equal(r.headers.get('x-remove-me'), undefined);
    assert.deepEqual(r.headers.get('x-frame-options'), ['DENY'], "frameDeny replaces the server's value");
    assert.deepEqual(r.headers.get('x-content-type-options'), ['nosniff']);
    assert.equal(r.headers.get('strict-transport-security'), undefined, 'no STS over plain HTTP');
    // Behind a trusted TLS-ending proxy, sslProxyHeaders makes the request secure: STS is sent.
    p = await both('hdr.test', '/h', { 'X-Forwarded-Proto': 'https' }, 'trusted');
    assert.equal(p.fastLane, true);
    r = same(p, 'headers behind a proxy');
    assert.deepEqual(r.headers.get('strict-transport-security'), ['max-age=100']);
    assert.deepEqual(r.headers.get('x-ep'), ['1'], "the entrypoint's middleware ran too");
    // From an untrusted client the same header is stripped first: no STS.
    p = await both('hdr.test', '/h', { 'X-Forwarded-Proto': 'https' });
    assert.equal(same(p, 'spoofed proto').headers.get('strict-transport-security'), undefined);
  });

  it('headers allowedHosts: a host not allowed gets the handler 500, on the Host header or a proxy header', async () => {
    let p = await both('hosts.test', '/');
    assert.equal(p.fastLane, true);
    assert.equal(same(p, 'allowed host').status, 200);
    p = await both('other-hosts.test', '/');
    assert.equal(same(p, 'host not allowed').status, 500);
    assert.equal(p.fast.upstream, null);
    p = await both('hosts.test', '/', { 'X-Forwarded-Host': 'evil.test' }, 'trusted');
    assert.equal(same(p, 'proxy host not allowed').status, 500);
  });

  it('redirectScheme: redirects through the handler, and passes a request already on https', async () => {
    let p = await both('redir.test', '/r?x=1');
    const r = same(p, 'redirect');
    assert.equal(r.status, 302);
    assert.deepEqual(r.headers.get('location'), ['https://redir.test/r?x=1']);
    p = await both('redir.test', '/r', { 'X-Forwarded-Proto': 'https' }, 'trusted');
    assert.equal(p.fastLane, true);
    assert.equal(same(p, 'already https').status, 200);
  });

  it('ipAllowList: allows, rejects with 403 and keeps the connection, reads X-Forwarded-For only from trusted peers', async () => {
    let p = await both('allow.test', '/');
    assert.equal(p.fastLane, true);
    assert.equal(same(p, 'allowed').status, 200);
    p = await both('deny.test', '/');
    assert.equal(same(p, 'denied').status, 403);
    assert.equal(p.fast.upstream, null);
    // After a 403 the connection goes on.
    const c = await RawConn.open(g.port());
    c.send(request('deny.test', '/', {}));
    assert.equal((await c.read()).status, 403);
    c.send(request('allow.test', '/after', {}));
    const after = await c.read();
    assert.equal(after.status, 200);
    assert.equal(after.body.toString(), '{"url":"/after"}');
    c.close();
    // depth 1 takes the last X-Forwarded-For address; a client not trusted has it removed first.
    p = await both('depth.test', '/', { 'X-Forwarded-For': '10.1.2.3' });
    assert.equal(same(p, 'spoofed XFF').status, 403);
    p = await both('depth.test', '/', { 'X-Forwarded-For': '10.1.2.3' }, 'trusted');
    assert.equal(p.fastLane, true);
    assert.equal(same(p, 'XFF from a trusted proxy').status, 200);
  });

  it('a POST with its body through a chain: the same head and body reach the server on both lanes', async () => {
    const p = await both('chain.test', '/api/form', { 'Content-Type': 'application/x-www-form-urlencoded' }, 'web', 'POST', 'a=1&b=2');
    assert.equal(p.fastLane, true);
    const r = same(p, 'POST');
    assert.equal(r.body.toString(), '{"url":"/form","body":"a=1&b=2"}');
    assert.ok(upstreamHas(p, 'content-length: 7') && upstreamHas(p, 'x-added: yes'), String(p.fast.upstream));
    // A POST the allow list refuses: 403 from the handler, no byte of it reaches the server.
    const d = await both('deny.test', '/', {}, 'web', 'POST', 'secret');
    assert.equal(same(d, 'denied POST').status, 403);
    assert.equal(d.fast.upstream, null);
  });

  it('a chain of fast-step middlewares, and a 502 that gets the security headers on both lanes', async () => {
    let p = await both('chain.test', '/api/c');
    assert.equal(p.fastLane, true);
    const r = same(p, 'chain');
    assert.equal(r.body.toString(), '{"url":"/c"}');
    assert.deepEqual(r.headers.get('x-frame-options'), ['DENY']);
    assert.ok(upstreamHas(p, 'x-added: yes') && upstreamHas(p, 'x-forwarded-prefix: /api'));
    p = await both('dead.test', '/');
    const bad = same(p, '502');
    assert.equal(bad.status, 502);
    assert.deepEqual(bad.headers.get('x-frame-options'), ['DENY']);
    assert.deepEqual(bad.headers.get('x-resp'), ['r']);
  });

  it('with an HTTP-01 resolver on the entrypoint: challenges are answered before routing, other paths stay fast', async () => {
    let p = await both('plain.test', '/');
    assert.equal(p.fastLane, true);
    same(p, 'plain');
    p = await both('plain.test', '/.well-known/acme-challenge/nope');
    const r = same(p, 'challenge');
    assert.equal(r.status, 404);
    assert.match(r.body.toString(), /no such ACME challenge/);
    assert.equal(p.fast.upstream, null, 'a challenge path never reaches the router');
  });
});
