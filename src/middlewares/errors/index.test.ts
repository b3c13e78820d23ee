import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createError, request, startMiddlewareServer, testEnv } from '../testutil.js';
import { writeHead } from '../../proxy/respond.js';
import type { Handler, RequestContext, ResponseHeaders, ResponseModifier } from '../../proxy/context.js';
import { errors, errorsSchema } from './index.js';
import { compress } from '../compress/index.js';
import http from 'node:http';
import zlib from 'node:zlib';

/** The error service answers with what it was asked, so tests can see the page request. */
function errorService(calls: Array<{ target: string; method: string; headers: Record<string, unknown> }>): Handler {
  return (req, res, ctx) => {
    calls.push({ target: ctx.target(), method: req.method ?? '', headers: { ...req.headers } });
    const body = `page for ${ctx.target()}`;
    writeHead(res, ctx, 200, { 'content-type': 'text/html', 'x-page': '1', 'content-length': Buffer.byteLength(body) });
    res.end(body);
  };
}

/** A modifier an outer headers middleware would register: it must apply to the page too. */
class Stamp implements ResponseModifier {
  modifyResponse(status: number, headers: ResponseHeaders): number {
    headers['x-stamp'] = String(status);
    return status;
  }
}

describe('errors', () => {
  const cases: Array<{
    desc: string;
    options: Record<string, unknown>;
    upstream: number;
    target?: string;
    status: number;
    page?: string;
  }> = [
    { desc: '500 in 500-599 is replaced by the page, status kept', options: { status: ['500-599'], query: '/{status}.html' }, upstream: 500, status: 500, page: '/500.html' },
    { desc: 'single code', options: { status: ['404'], query: '/errors/{status}' }, upstream: 404, status: 404, page: '/errors/404' },
    { desc: 'numbers are accepted as codes', options: { status: [502] }, upstream: 502, status: 502, page: '/' },
    { desc: 'status outside the ranges passes through', options: { status: ['500-599'], query: '/{status}.html' }, upstream: 404, status: 404 },
    { desc: '2xx passes through', options: { status: ['400-599'] }, upstream: 200, status: 200 },
    {
      desc: '{url} is the escaped original request target',
      options: { status: ['500'], query: '/err?code={status}&from={url}' },
      upstream: 500,
      target: '/a%20b/c?x=1&y=2',
      status: 500,
      page: '/err?code=500&from=%2Fa%2520b%2Fc%3Fx%3D1%26y%3D2',
    },
    {
      desc: 'statusRewrites changes the status sent and {status}',
      options: { status: ['500-599'], query: '/{status}-{originalStatus}', statusRewrites: { '500-503': 500 } },
      upstream: 503,
      status: 500,
      page: '/500-503',
    },
  ];

  for (const c of cases) {
    it(c.desc, async () => {
      const calls: Array<{ target: string; method: string; headers: Record<string, unknown> }> = [];
      const env = testEnv({
        serviceHandler: (name) => {
          assert.equal(name, 'error-pages');
          return errorService(calls);
        },
      });
      const options = errorsSchema.parse({ service: 'error-pages', ...c.options });
      const srv = await startMiddlewareServer(
        () => {
          const inner: Handler = (_req, res, ctx) => {
            const body = 'original body';
            writeHead(res, ctx, c.upstream, { 'content-type': 'text/plain', 'x-original': '1', 'content-length': body.length });
            res.write('original ');
            res.end('body');
          };
          return errors.create(options, inner, env);
        },
        { prepare: (_req: unknown, ctx: RequestContext) => ctx.addResponseModifier(new Stamp()) },
      );
      try {
        const r = await request(srv.url, c.target ?? '/thing', { method: 'POST', headers: { 'x-client': 'yes' }, body: 'payload' });
        assert.equal(r.status, c.status);
        if (c.page === undefined) {
          assert.equal(r.body, 'original body');
          assert.equal(r.headers['x-original'], '1');
          assert.equal(calls.length, 0);
          return;
        }
        assert.equal(calls.length, 1);
        assert.equal(calls[0]!.target, c.page);
        assert.equal(calls[0]!.method, 'GET');
        assert.equal(calls[0]!.headers['x-client'], 'yes', 'original headers are sent to the error service');
        assert.equal(calls[0]!.headers['content-length'], undefined);
        assert.equal(r.body, `page for ${c.page}`);
        assert.equal(r.headers['x-page'], '1');
        assert.equal(r.headers['content-type'], 'text/html');
        assert.equal(r.headers['x-original'], undefined);
        assert.equal(r.headers['x-stamp'], String(c.status), 'outer modifiers apply to the page');
      } finally {
        await srv.close();
      }
    });
  }

  const stacks: Array<{ desc: string; order: 'errors>compress' | 'compress>errors'; encoded: boolean }> = [
    { desc: 'errors around compress: the page skips the inner compress', order: 'errors>compress', encoded: false },
    { desc: 'compress around errors: the page is compressed', order: 'compress>errors', encoded: true },
  ];
  for (const c of stacks) {
    it(c.desc, async () => {
      const big = 'x'.repeat(5000);
      const page: Handler = (_req, res, ctx) => {
        writeHead(res, ctx, 200, { 'content-type': 'text/html', 'content-length': big.length });
        res.end(big);
      };
      const env = testEnv({ serviceHandler: () => page });
      const inner: Handler = (_req, res, ctx) => {
        writeHead(res, ctx, 503, { 'content-type': 'text/plain' });
        res.write('y'.repeat(3000));
        res.end('y'.repeat(3000));
      };
      const errOpts = errorsSchema.parse({ status: ['500-599'], service: 'pages' });
      const cmpOpts = compress.schema.parse({});
      const srv = await startMiddlewareServer(() =>
        c.order === 'errors>compress'
          ? errors.create(errOpts, compress.create(cmpOpts, inner, env), env)
          : compress.create(cmpOpts, errors.create(errOpts, inner, env), env),
      );
      try {
        const r = await new Promise<{ status: number; headers: http.IncomingHttpHeaders; body: Buffer }>((resolve, reject) => {
          http
            .get(srv.url, { headers: { 'accept-encoding': 'gzip' }, agent: false }, (res) => {
              const parts: Buffer[] = [];
              res.on('data', (d: Buffer) => parts.push(d));
              res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(parts) }));
            })
            .on('error', reject);
        });
        assert.equal(r.status, 503);
        assert.equal(r.headers['content-encoding'], c.encoded ? 'gzip' : undefined);
        const text = (c.encoded ? zlib.gunzipSync(r.body) : r.body).toString();
        assert.equal(text, big);
      } finally {
        await srv.close();
      }
    });
  }

  const invalid: Array<{ desc: string; options: unknown; error: RegExp }> = [
    { desc: 'a bad range', options: { status: ['5xx'], service: 's' }, error: /status\[0\].*5xx/ },
    { desc: 'a reversed range', options: { status: ['599-500'], service: 's' }, error: /599-500/ },
    { desc: 'no status', options: { status: [], service: 's' }, error: /status/ },
    { desc: 'a missing service', options: { status: ['500'], service: 'nope' }, error: /nope/ },
  ];
  for (const c of invalid) {
    it(`rejects ${c.desc}`, () => {
      assert.match(createError(errors, c.options) ?? '', c.error);
    });
  }
});
