import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseFastHead } from './request-head.js';

test('parseFastHead takes a plain GET and HEAD', () => {
  const r = parseFastHead('GET /a/b?x=1 HTTP/1.1\r\nHost: Example.com:8080\r\nUser-Agent: t\r\nAccept: */*');
  assert.ok(r !== null);
  assert.equal(r.method, 'GET');
  assert.equal(r.url, '/a/b?x=1');
  assert.equal(r.host, 'Example.com:8080');
  assert.deepEqual(r.names, ['host', 'user-agent', 'accept']);
  assert.deepEqual(r.rawHeaders, ['Host', 'Example.com:8080', 'User-Agent', 't', 'Accept', '*/*']);
  assert.deepEqual(r.headers, { host: 'Example.com:8080', 'user-agent': 't', accept: '*/*' });
  assert.deepEqual(r.headersDistinct['accept'], ['*/*']);
  assert.equal(r.close, false);
  assert.equal(parseFastHead('HEAD / HTTP/1.1\r\nhost: a')?.method, 'HEAD');
});

test('parseFastHead takes POST, PUT, PATCH and DELETE with their Content-Length (none: no body)', () => {
  const post = parseFastHead('POST /f HTTP/1.1\r\nHost: a\r\nContent-Length: 16384');
  assert.ok(post !== null);
  assert.equal(post.method, 'POST');
  assert.equal(post.contentLength, 16384);
  assert.equal(post.body, null, 'the connection attaches the body');
  assert.equal(post.header('content-length'), '16384', 'forwarded as it came');
  for (const m of ['PUT', 'PATCH', 'DELETE']) assert.equal(parseFastHead(`${m} / HTTP/1.1\r\nHost: a\r\nContent-Length: 0`)?.method, m);
  assert.equal(parseFastHead('DELETE /x HTTP/1.1\r\nHost: a')?.contentLength, 0);
  assert.equal(parseFastHead('GET / HTTP/1.1\r\nHost: a')?.contentLength, 0);
  assert.equal(parseFastHead('PUT / HTTP/1.1\r\nHost: a\r\nContent-Length: 9999999999')?.contentLength, 9999999999);
});

test('parseFastHead trims optional whitespace and reads Connection', () => {
  const r = parseFastHead('GET / HTTP/1.1\r\nHost:\t a \t\r\nConnection: Close\r\nX-Empty:');
  assert.ok(r !== null);
  assert.equal(r.host, 'a');
  assert.equal(r.close, true);
  assert.equal(r.header('x-empty'), '');
  assert.equal(parseFastHead('GET / HTTP/1.1\r\nHost: a\r\nConnection: keep-alive')?.close, false);
});

test('parseFastHead leaves everything unusual to node:http (null)', () => {
  const refused: Record<string, string> = {
    'OPTIONS method': 'OPTIONS / HTTP/1.1\r\nHost: a',
    'CONNECT method': 'CONNECT a:443 HTTP/1.1\r\nHost: a:443',
    'unknown method': 'PURGE / HTTP/1.1\r\nHost: a',
    'method that only starts like one': 'POSTS / HTTP/1.1\r\nHost: a',
    'Content-Length on HEAD': 'HEAD / HTTP/1.1\r\nHost: a\r\nContent-Length: 0',
    'Content-Length with a leading zero': 'POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 05',
    'Content-Length list': 'POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5, 5',
    'two Content-Length': 'POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nContent-Length: 5',
    'signed Content-Length': 'POST / HTTP/1.1\r\nHost: a\r\nContent-Length: +5',
    'Content-Length of 11 digits': 'POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 10000000000',
    'Content-Length and Transfer-Encoding': 'POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nTransfer-Encoding: chunked',
    'chunked POST': 'POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked',
    'POST with Expect': 'POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nExpect: 100-continue',
    'absolute-form': 'GET http://a/ HTTP/1.1\r\nHost: a',
    'asterisk-form': 'OPTIONS * HTTP/1.1\r\nHost: a',
    'HTTP/1.0': 'GET / HTTP/1.0\r\nHost: a',
    'HTTP/2 version text': 'GET / HTTP/2.0\r\nHost: a',
    'no Host': 'GET / HTTP/1.1\r\nAccept: x',
    'two Host': 'GET / HTTP/1.1\r\nHost: a\r\nHost: b',
    'repeated field': 'GET / HTTP/1.1\r\nHost: a\r\nAccept: x\r\nAccept: y',
    'repeated field, other case': 'GET / HTTP/1.1\r\nHost: a\r\nX-A: x\r\nx-a: y',
    'Content-Length': 'GET / HTTP/1.1\r\nHost: a\r\nContent-Length: 0',
    'Transfer-Encoding': 'GET / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked',
    Upgrade: 'GET / HTTP/1.1\r\nHost: a\r\nUpgrade: websocket\r\nConnection: Upgrade',
    'Connection listing a field': 'GET / HTTP/1.1\r\nHost: a\r\nConnection: x-a\r\nX-A: 1',
    Expect: 'GET / HTTP/1.1\r\nHost: a\r\nExpect: 100-continue',
    'obs-fold': 'GET / HTTP/1.1\r\nHost: a\r\nX-A: 1\r\n  2',
    'space before colon': 'GET / HTTP/1.1\r\nHost : a',
    'bare LF in a value': 'GET / HTTP/1.1\r\nHost: a\nX: 1',
    'bare CR in a value': 'GET / HTTP/1.1\r\nHost: a\rX: 1',
    'NUL in a value': 'GET / HTTP/1.1\r\nHost: a\0',
    'control byte in a value': 'GET / HTTP/1.1\r\nHost: a\r\nX: \x01',
    'bad name byte': 'GET / HTTP/1.1\r\nHost: a\r\nX(: 1',
    'empty name': 'GET / HTTP/1.1\r\nHost: a\r\n: 1',
    'space in target': 'GET /a b HTTP/1.1\r\nHost: a',
    'non-ASCII target': 'GET /\xe9 HTTP/1.1\r\nHost: a',
    'tab in target': 'GET /\t HTTP/1.1\r\nHost: a',
    'lower-case method': 'get / HTTP/1.1\r\nHost: a',
    'prototype name': 'GET / HTTP/1.1\r\nHost: a\r\n__proto__: x',
    'missing version': 'GET /\r\nHost: a',
  };
  for (const [what, head] of Object.entries(refused)) assert.equal(parseFastHead(head), null, what);
});

test('stripForwarded removes the forwarding fields of an untrusted peer', () => {
  const r = parseFastHead('GET / HTTP/1.1\r\nHost: a\r\nX-Forwarded-For: 1.2.3.4\r\nX-Real-IP: 5.6.7.8\r\nX-Forwarded-Prefix: /p\r\nX-Other: 1');
  assert.ok(r !== null);
  assert.equal(r.forwarded, true);
  r.stripForwarded();
  assert.deepEqual(r.names, ['host', 'x-other']);
  assert.deepEqual(r.headers, { host: 'a', 'x-other': '1' });
  assert.equal(parseFastHead('GET / HTTP/1.1\r\nHost: a')?.forwarded, false);
});

test("a fast step's header changes: set replaces every line, append adds one, remove drops all", () => {
  const r = parseFastHead('GET / HTTP/1.1\r\nHost: a\r\nX-A: 1\r\nAccept: */*');
  assert.ok(r !== null);
  assert.equal(r.forwarded, false);
  assert.equal(r.headers['x-a'], '1');
  r.appendHeader('x-forwarded-prefix', '/one');
  r.appendHeader('x-forwarded-prefix', '/two');
  assert.equal(r.forwarded, true, 'a forwarding header set by a step is seen by upstreamHead');
  assert.deepEqual(r.headers['x-forwarded-prefix'], ['/one', '/two'], 'as node:http keeps repeated fields');
  assert.deepEqual(r.headersDistinct['x-forwarded-prefix'], ['/one', '/two']);
  r.setHeader('x-a', '2');
  assert.equal(r.header('x-a'), '2');
  r.setHeader('x-forwarded-prefix', '/only');
  assert.deepEqual(r.headersDistinct['x-forwarded-prefix'], ['/only']);
  r.removeHeader('accept');
  assert.deepEqual(r.names, ['host', 'x-a', 'x-forwarded-prefix']);
  assert.deepEqual(r.rawHeaders, ['Host', 'a', 'x-a', '2', 'x-forwarded-prefix', '/only']);
});
