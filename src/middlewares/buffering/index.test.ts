import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import type { Readable } from 'node:stream';
import { createError, startMiddlewareServer, testEnv } from '../testutil.js';
import { writeHead } from '../../proxy/respond.js';
import type { Handler } from '../../proxy/context.js';
import { buffering, bufferingSchema, bufferedBody } from './index.js';

interface Raw {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
}

/** send posts `body` in the given chunks; without `length` it goes chunked. */
function send(url: string, chunks: string[], length: boolean): Promise<Raw> {
  return new Promise((resolve, reject) => {
    const total = chunks.reduce((n, c) => n + Buffer.byteLength(c), 0);
    const headers: http.OutgoingHttpHeaders = length ? { 'content-length': total } : { 'transfer-encoding': 'chunked' };
    const req = http.request(url, { method: 'POST', headers, agent: false }, (res) => {
      const out: Buffer[] = [];
      res.on('data', (c: Buffer) => out.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(out).toString() }));
    });
    // The server may answer 413 and close before the whole body is sent.
    req.on('error', (err: NodeJS.ErrnoException) => (err.code === 'ECONNRESET' || err.code === 'EPIPE' ? undefined : reject(err)));
    for (const c of chunks) req.write(c);
    req.end();
  });
}

async function readAll(b: Buffer | Readable): Promise<string> {
  if (Buffer.isBuffer(b)) return b.toString();
  const parts: Buffer[] = [];
  for await (const c of b) parts.push(c as Buffer);
  return Buffer.concat(parts).toString();
}

/** echo answers with what the forwarder would send: the buffered body and the request's framing headers. */
const echo: Handler = (req, res, ctx) => {
  const body = bufferedBody(req);
  if (body === null) {
    writeHead(res, ctx, 200, { 'x-buffered': 'no' });
    res.end();
    return;
  }
  void readAll(body.open()).then((text) => {
    writeHead(res, ctx, 200, {
      'x-buffered': body.data === null ? 'file' : 'memory',
      'x-length': req.headers['content-length'] ?? '',
      'x-te': req.headers['transfer-encoding'] ?? '',
      'content-type': 'text/plain',
    });
    res.end(text);
  });
};

describe('buffering', () => {
  const cases: Array<{ desc: string; options: Record<string, unknown>; chunks: string[]; length: boolean; status: number; stored?: string }> = [
    { desc: 'a body under the limit is passed on whole', options: { maxRequestBodyBytes: 100 }, chunks: ['hello ', 'world'], length: true, status: 200, stored: 'memory' },
    { desc: 'a chunked body gets a Content-Length', options: {}, chunks: ['a', 'b', 'c'], length: false, status: 200, stored: 'memory' },
    { desc: 'Content-Length over the limit is refused at once', options: { maxRequestBodyBytes: 10 }, chunks: ['x'.repeat(11)], length: true, status: 413 },
    { desc: 'a chunked body over the limit is refused', options: { maxRequestBodyBytes: 10 }, chunks: ['x'.repeat(6), 'y'.repeat(6)], length: false, status: 413 },
    { desc: 'exactly the limit is accepted', options: { maxRequestBodyBytes: 10 }, chunks: ['x'.repeat(10)], length: false, status: 200, stored: 'memory' },
    { desc: 'past memRequestBodyBytes the body goes to a file', options: { memRequestBodyBytes: 8 }, chunks: ['0123456789', 'abcdefghij'], length: false, status: 200, stored: 'file' },
  ];
  for (const c of cases) {
    it(c.desc, async () => {
      const options = bufferingSchema.parse(c.options);
      let reached = false;
      const srv = await startMiddlewareServer(() =>
        buffering.create(options, (req, res, ctx) => {
          reached = true;
          echo(req, res, ctx);
        }, testEnv()),
      );
      try {
        const r = await send(srv.url, c.chunks, c.length);
        assert.equal(r.status, c.status);
        if (c.status === 413) {
          assert.equal(reached, false);
          assert.match(r.body, /Request Entity Too Large/);
          return;
        }
        const whole = c.chunks.join('');
        assert.equal(r.body, whole);
        assert.equal(r.headers['x-buffered'], c.stored);
        assert.equal(r.headers['x-length'], String(Buffer.byteLength(whole)));
        assert.equal(r.headers['x-te'], '');
      } finally {
        await srv.close();
      }
    });
  }

  const responses: Array<{ desc: string; max: number; chunks: string[]; length: boolean; status: number }> = [
    { desc: 'a response under maxResponseBodyBytes passes with its length', max: 10, chunks: ['12345', '678'], length: false, status: 200 },
    { desc: 'a streamed response over maxResponseBodyBytes becomes 500', max: 10, chunks: ['123456', '789012'], length: false, status: 500 },
    { desc: 'a declared length over maxResponseBodyBytes becomes 500', max: 10, chunks: ['x'.repeat(20)], length: true, status: 500 },
  ];
  for (const c of responses) {
    it(c.desc, async () => {
      const options = bufferingSchema.parse({ maxResponseBodyBytes: c.max });
      const body = c.chunks.join('');
      const srv = await startMiddlewareServer(() =>
        buffering.create(options, (_req, res, ctx) => {
          writeHead(res, ctx, 200, c.length ? { 'content-length': body.length } : {});
          for (const ch of c.chunks) res.write(ch);
          res.end();
        }, testEnv()),
      );
      try {
        const r = await send(srv.url, [], true);
        assert.equal(r.status, c.status);
        if (c.status === 200) {
          assert.equal(r.body, body);
          assert.equal(r.headers['content-length'], String(body.length));
        } else {
          assert.match(r.body, /too large/);
        }
      } finally {
        await srv.close();
      }
    });
  }

  it('a request without body is not buffered', async () => {
    const srv = await startMiddlewareServer(() => buffering.create(bufferingSchema.parse({}), echo, testEnv()));
    try {
      const r = await new Promise<Raw>((resolve, reject) => {
        http.get(srv.url, { agent: false }, (res) => {
          res.resume();
          res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: '' }));
        }).on('error', reject);
      });
      assert.equal(r.headers['x-buffered'], 'no');
    } finally {
      await srv.close();
    }
  });

  it('rejects negative sizes', () => {
    assert.match(createError(buffering, { maxRequestBodyBytes: -1 }) ?? '', /maxRequestBodyBytes/);
  });
});
