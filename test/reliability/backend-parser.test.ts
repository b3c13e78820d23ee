/** The oracle backend's strict parser: what it reads as a request, and what it refuses. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseRequest } from './backend-parser.js';

const parse = (s: string) => parseRequest(Buffer.from(s, 'latin1'));

test('reads a request with a Content-Length body and leaves what follows', () => {
  const step = parse('POST /a?b HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabcGET');
  assert.equal(step.kind, 'request');
  if (step.kind !== 'request') return;
  assert.equal(step.request.method, 'POST');
  assert.equal(step.request.target, '/a?b');
  assert.deepEqual(step.request.hosts, ['x']);
  assert.equal(step.request.body.toString(), 'abc');
  assert.equal(step.consumed, 'POST /a?b HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabc'.length);
  assert.equal(step.request.close, false);
});

test('decodes chunked bodies and flags extensions, trailers and CL+TE', () => {
  const step = parse('POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 9\r\nTransfer-Encoding: chunked\r\n\r\n3;x=y\r\nabc\r\n2\r\nde\r\n0\r\nT: v\r\n\r\n');
  assert.equal(step.kind, 'request');
  if (step.kind !== 'request') return;
  assert.equal(step.request.body.toString(), 'abcde');
  assert.deepEqual(step.request.flags, ['CL+TE', 'chunk extension', 'trailers']);
});

test('waits for the rest, and once the head is in, offers it', () => {
  assert.deepEqual(parse('GET / HTTP/1.1\r\nHo'), { kind: 'more', headComplete: false, expectContinue: false, head: null });
  const step = parse('PUT / HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 5\r\n\r\nab');
  assert.equal(step.kind, 'more');
  if (step.kind !== 'more') return;
  assert.equal(step.expectContinue, true);
  assert.equal(step.head?.body.toString(), 'ab');
});

test('HTTP/1.0 closes unless keep-alive is asked for', () => {
  const a = parse('GET / HTTP/1.0\r\n\r\n');
  const b = parse('GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n');
  assert.equal(a.kind === 'request' && a.request.close, true);
  assert.equal(b.kind === 'request' && b.request.close, false);
});

const refused: Array<[string, string, RegExp]> = [
  ['bare LF', 'GET / HTTP/1.1\nHost: x\r\n\r\n', /bare LF/],
  ['bare CR', 'GET / HTTP/1.1\r\nX: a\rb\r\n\r\n', /bare CR/],
  ['obs-fold', 'GET / HTTP/1.1\r\nX: a\r\n b\r\n\r\n', /invalid header line/],
  ['space before colon', 'GET / HTTP/1.1\r\nX : a\r\n\r\n', /invalid header line/],
  ['HTTP/0.9', 'GET /\r\n\r\n', /invalid request line/],
  ['conflicting Content-Length', 'POST / HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab', /conflicting/],
  ['Content-Length with a sign', 'POST / HTTP/1.1\r\nContent-Length: +1\r\n\r\na', /invalid Content-Length/],
  ['a coding after chunked', 'POST / HTTP/1.1\r\nTransfer-Encoding: chunked, gzip\r\n\r\n0\r\n\r\n', /final chunked/],
  ['a bad chunk size', 'POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n', /chunk size/],
  ['chunk data without CRLF', 'POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n1\r\nab\r\n0\r\n\r\n', /not followed by CRLF/],
];
for (const [name, raw, why] of refused) {
  test(`refuses ${name}`, () => {
    const step = parse(raw);
    assert.equal(step.kind, 'error', JSON.stringify(step));
    if (step.kind === 'error') assert.match(step.reason, why);
  });
}
