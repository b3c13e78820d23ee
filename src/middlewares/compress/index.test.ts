import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import zlib from 'node:zlib';
import { createError, startMiddlewareServer, testEnv } from '../testutil.js';
import { writeHead } from '../../proxy/respond.js';
import type { ResponseHeaders } from '../../proxy/context.js';
import { compress, compressSchema } from './index.js';
import { negotiate } from './negotiate.js';

interface Raw {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
}

function get(url: string, headers: Record<string, string>, method = 'GET'): Promise<Raw> {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method, headers, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }));
    });
    req.on('error', reject);
    req.end();
  });
}

function decode(encoding: string | undefined, body: Buffer): Buffer {
  if (encoding === 'gzip') return zlib.gunzipSync(body);
  if (encoding === 'br') return zlib.brotliDecompressSync(body);
  return body;
}

/** Text that compresses well, of an exact length. */
function text(n: number): Buffer {
  return Buffer.from('lorem ipsum dolor sit amet '.repeat(Math.ceil(n / 27)).slice(0, n));
}

describe('compress', () => {
  const cases: Array<{
    desc: string;
    options?: Record<string, unknown>;
    accept?: string;
    method?: string;
    /** What the upstream sends: head, and body chunk sizes. */
    status?: number;
    headers?: ResponseHeaders;
    chunks: number[];
    /** Whether to send Content-Length. */
    length?: boolean;
    /** A held small body goes out with a Content-Length. */
    heldLength?: boolean;
    want: string | null;
  }> = [
    { desc: 'gzip for gzip', accept: 'gzip', chunks: [4000], length: true, want: 'gzip' },
    { desc: 'brotli for br', accept: 'br', chunks: [4000], length: true, want: 'br' },
    { desc: 'server order breaks a tie (gzip first by default)', accept: 'br, gzip', chunks: [4000], length: true, want: 'gzip' },
    { desc: 'encodings option sets the preference', options: { encodings: ['br', 'gzip'] }, accept: 'gzip, br', chunks: [4000], want: 'br' },
    { desc: 'higher q-value wins', accept: 'gzip;q=0.5, br;q=0.9', chunks: [4000], want: 'br' },
    { desc: 'q=0 refuses an encoding', accept: 'gzip;q=0, identity', chunks: [4000], want: null },
    { desc: 'wildcard takes the preferred encoding', accept: '*', chunks: [4000], want: 'gzip' },
    { desc: 'wildcard with defaultEncoding', options: { defaultEncoding: 'br' }, accept: '*', chunks: [4000], want: 'br' },
    { desc: 'no Accept-Encoding: no compression', chunks: [4000], want: null },
    { desc: 'no Accept-Encoding with defaultEncoding', options: { defaultEncoding: 'gzip' }, chunks: [4000], want: 'gzip' },
    { desc: 'empty Accept-Encoding: no compression', accept: '', chunks: [4000], want: null },
    { desc: 'unknown encodings only', accept: 'deflate, compress', chunks: [4000], want: null },
    { desc: 'below minResponseBodyBytes by Content-Length', accept: 'gzip', chunks: [1023], length: true, want: null },
    { desc: 'exactly minResponseBodyBytes', accept: 'gzip', chunks: [1024], length: true, want: 'gzip' },
    { desc: 'small streamed body stays as is, with its length', accept: 'gzip', chunks: [300, 300], want: null, heldLength: true },
    { desc: 'streamed body crossing the threshold is compressed', accept: 'gzip', chunks: [600, 600, 5000], want: 'gzip' },
    { desc: 'minResponseBodyBytes option', options: { minResponseBodyBytes: 10 }, accept: 'gzip', chunks: [200], want: 'gzip' },
    { desc: 'already encoded responses are left alone', accept: 'gzip', headers: { 'content-encoding': 'br' }, chunks: [4000], want: 'br' },
    { desc: 'gRPC is excluded by default', accept: 'gzip', headers: { 'content-type': 'application/grpc' }, chunks: [4000], want: null },
    { desc: 'excludedContentTypes', options: { excludedContentTypes: ['image/png'] }, accept: 'gzip', headers: { 'content-type': 'image/PNG ; q=1' }, chunks: [4000], want: null },
    { desc: 'includedContentTypes: listed type', options: { includedContentTypes: ['text/plain'] }, accept: 'gzip', chunks: [4000], want: 'gzip' },
    { desc: 'includedContentTypes: other type', options: { includedContentTypes: ['application/json'] }, accept: 'gzip', chunks: [4000], want: null },
    { desc: '204 has no body to compress', accept: 'gzip', status: 204, chunks: [], want: null },
    { desc: 'HEAD is not compressed', accept: 'gzip', method: 'HEAD', chunks: [4000], length: true, want: null },
  ];

  for (const c of cases) {
    it(c.desc, async () => {
      const body = Buffer.concat(c.chunks.map(text));
      const options = compressSchema.parse(c.options ?? {});
      const srv = await startMiddlewareServer(() =>
        compress.create(
          options,
          (_req, res, ctx) => {
            const headers: ResponseHeaders = { 'content-type': 'text/plain; charset=utf-8', 'x-up': '1', ...c.headers };
            if (c.length) headers['content-length'] = body.length;
            writeHead(res, ctx, c.status ?? 200, headers);
            for (const n of c.chunks) res.write(text(n));
            res.end();
          },
          testEnv(),
        ),
      );
      try {
        const h: Record<string, string> = {};
        if (c.accept !== undefined) h['accept-encoding'] = c.accept;
        const r = await get(srv.url, h, c.method);
        assert.equal(r.status, c.status ?? 200);
        assert.equal(r.headers['content-encoding'], c.want ?? undefined);
        assert.equal(r.headers['x-up'], '1');
        if (c.method === 'HEAD' || c.status === 204) return;
        if (c.want === 'gzip' || c.want === 'br') {
          if (c.headers?.['content-encoding'] === undefined) {
            assert.equal(r.headers['content-length'], undefined, 'Content-Length is removed');
            assert.match(String(r.headers['vary']), /Accept-Encoding/);
            assert.ok(r.body.length < body.length, 'smaller');
            assert.deepEqual(decode(c.want, r.body), body);
          }
        } else {
          assert.deepEqual(r.body, body);
          if (c.length || c.heldLength) assert.equal(r.headers['content-length'], String(body.length));
        }
      } finally {
        await srv.close();
      }
    });
  }

  it('flushes a streamed response before it ends (server-sent events)', async () => {
    let finish: () => void = () => {};
    const options = compressSchema.parse({ minResponseBodyBytes: 0 });
    const srv = await startMiddlewareServer(() =>
      compress.create(
        options,
        (_req, res, ctx) => {
          writeHead(res, ctx, 200, { 'content-type': 'text/event-stream' });
          res.write('data: first\n\n');
          finish = () => res.end('data: last\n\n');
        },
        testEnv(),
      ),
    );
    try {
      const first = await new Promise<string>((resolve, reject) => {
        const req = http.get(srv.url, { headers: { 'accept-encoding': 'gzip' }, agent: false }, (res) => {
          assert.equal(res.headers['content-encoding'], 'gzip');
          const gunzip = zlib.createGunzip();
          res.pipe(gunzip);
          gunzip.once('data', (d: Buffer) => {
            resolve(d.toString());
            finish();
          });
          res.on('end', () => undefined);
        });
        req.on('error', reject);
      });
      assert.equal(first, 'data: first\n\n');
    } finally {
      await srv.close();
    }
  });

  it('keeps back-pressure on a large body written as the forwarder does', async () => {
    const chunk = text(64 * 1024);
    const count = 64;
    const options = compressSchema.parse({});
    const srv = await startMiddlewareServer(() =>
      compress.create(
        options,
        (_req, res, ctx) => {
          writeHead(res, ctx, 200, { 'content-type': 'text/plain' });
          let sent = 0;
          const pump = (): void => {
            while (sent < count) {
              sent++;
              if (!res.write(chunk)) {
                res.once('drain', pump);
                return;
              }
            }
            res.end();
          };
          pump();
        },
        testEnv(),
      ),
    );
    try {
      const r = await get(srv.url, { 'accept-encoding': 'br' });
      assert.equal(r.headers['content-encoding'], 'br');
      assert.equal(decode('br', r.body).length, chunk.length * count);
    } finally {
      await srv.close();
    }
  });

  const negotiation: Array<{ desc: string; accept: string; offered: string[]; def?: string; want: string }> = [
    { desc: 'case-insensitive names', accept: 'GZIP', offered: ['gzip', 'br'], want: 'gzip' },
    { desc: 'spaces around q', accept: 'br ; q = 0.8, gzip;q=0.7', offered: ['gzip', 'br'], want: 'br' },
    { desc: 'explicit q=0 beats a wildcard', accept: 'gzip;q=0, *', offered: ['gzip', 'br'], want: 'br' },
    { desc: 'wildcard q=0 refuses everything unnamed', accept: '*;q=0', offered: ['gzip', 'br'], want: '' },
  ];
  for (const c of negotiation) {
    it(`negotiate: ${c.desc}`, () => {
      assert.equal(negotiate(c.accept, c.offered, c.def ?? ''), c.want);
    });
  }

  const invalid: Array<{ desc: string; options: unknown; error: RegExp }> = [
    { desc: 'both content type lists', options: { excludedContentTypes: ['a/b'], includedContentTypes: ['c/d'] }, error: /mutually exclusive/ },
    { desc: 'unknown encoding', options: { encodings: ['deflate'] }, error: /encodings/ },
    { desc: 'negative minimum', options: { minResponseBodyBytes: -1 }, error: /minResponseBodyBytes/ },
  ];
  for (const c of invalid) {
    it(`rejects ${c.desc}`, () => {
      assert.match(createError(compress, c.options) ?? '', c.error);
    });
  }
});
