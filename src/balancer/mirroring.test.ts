import { test } from 'node:test';
import assert from 'node:assert/strict';
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createMirroringHandler } from './mirroring.js';
import { ctx } from './common.case.js';
import type { Handler, RequestContext } from '../proxy/context.js';

/** serve runs a handler behind a real node:http server on 127.0.0.1:0 and returns its base URL. */
async function serve(handler: (req: IncomingMessage, res: ServerResponse) => void): Promise<{ url: string; close: () => Promise<void> }> {
  const server = http.createServer(handler);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** recorder is a handler that reads the whole body, records it and answers `name`. */
function recorder(name: string): { bodies: string[]; handler: Handler } {
  const bodies: string[] = [];
  return {
    bodies,
    handler: (req: IncomingMessage, res: ServerResponse, _ctx: RequestContext) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        bodies.push(Buffer.concat(chunks).toString());
        res.setHeader('x-from', name);
        res.end(name);
      });
    },
  };
}

/** forwardTo is a minimal forwarder (the real one lives in src/proxy): 502 when the upstream fails. */
function forwardTo(base: string): Handler {
  return (req, res) => {
    const up = http.request(`${base}${req.url}`, { method: req.method, headers: req.headers }, (ures) => {
      res.writeHead(ures.statusCode ?? 502, ures.headers);
      ures.pipe(res);
    });
    up.on('error', () => {
      if (!res.headersSent) res.writeHead(502);
      res.end('bad gateway');
    });
    req.pipe(up);
  };
}

async function until(cond: () => boolean, ms = 2000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error('condition not met before the deadline');
    await new Promise((r) => setTimeout(r, 5));
  }
}

test('mirroring sends each mirror its share and the main service everything', async () => {
  const main = recorder('main');
  const half = recorder('half');
  const tenth = recorder('tenth');
  const h = createMirroringHandler(main.handler, [
    { handler: half.handler, percent: 50 },
    { handler: tenth.handler, percent: 10 },
  ]);
  const srv = await serve((req, res) => h(req, res, ctx()));
  try {
    for (let i = 0; i < 100; i++) {
      const r = await fetch(`${srv.url}/x`);
      assert.equal(await r.text(), 'main');
      assert.equal(r.headers.get('x-from'), 'main');
    }
    await until(() => half.bodies.length === 50 && tenth.bodies.length === 10);
    assert.equal(main.bodies.length, 100);
  } finally {
    await srv.close();
  }
});

test('mirroring replays the request body', async () => {
  const cases = [
    { desc: 'small body, limit', max: 64, body: 'hello', mirrored: true },
    { desc: 'no limit', max: -1, body: 'x'.repeat(200_000), mirrored: true },
    { desc: 'declared too large', max: 4, body: 'hello world', mirrored: false },
    { desc: 'chunked, found too large while reading', max: 4, body: 'hello world', chunked: true, mirrored: false },
    { desc: 'chunked within limit', max: 64, body: 'hello world', chunked: true, mirrored: true },
  ];
  for (const c of cases) {
    const main = recorder('main');
    const mirror = recorder('mirror');
    const h = createMirroringHandler(main.handler, [{ handler: mirror.handler, percent: 100 }], c.max);
    const srv = await serve((req, res) => h(req, res, ctx()));
    try {
      const body = c.chunked
        ? new ReadableStream({
            start(ctl) {
              ctl.enqueue(new TextEncoder().encode(c.body.slice(0, 3)));
              ctl.enqueue(new TextEncoder().encode(c.body.slice(3)));
              ctl.close();
            },
          })
        : c.body;
      const r = await fetch(`${srv.url}/upload`, { method: 'POST', body, duplex: 'half' } as RequestInit);
      assert.equal(await r.text(), 'main', c.desc);
      assert.deepEqual(main.bodies, [c.body], c.desc);
      if (c.mirrored) {
        await until(() => mirror.bodies.length === 1);
        assert.deepEqual(mirror.bodies, [c.body], c.desc);
      } else {
        await new Promise((r) => setTimeout(r, 20));
        assert.deepEqual(mirror.bodies, [], c.desc);
      }
    } finally {
      await srv.close();
    }
  }
});

test('mirroring with mirrorBody false sends mirrors no body', async () => {
  const main = recorder('main');
  const mirror = recorder('mirror');
  const seen: (string | undefined)[] = [];
  const h = createMirroringHandler(
    main.handler,
    [
      {
        handler: (req, res, c) => {
          seen.push(req.headers['content-length']);
          mirror.handler(req, res, c);
        },
        percent: 100,
      },
    ],
    -1,
    { mirrorBody: false },
  );
  const srv = await serve((req, res) => h(req, res, ctx()));
  try {
    const r = await fetch(`${srv.url}/`, { method: 'POST', body: 'payload' });
    assert.equal(await r.text(), 'main');
    await until(() => mirror.bodies.length === 1);
    assert.deepEqual(main.bodies, ['payload']);
    assert.deepEqual(mirror.bodies, ['']);
    assert.deepEqual(seen, [undefined]);
  } finally {
    await srv.close();
  }
});

test('the main response is unaffected when a mirror is down, hangs or throws', async () => {
  const upstream = await serve((req, res) => {
    let n = 0;
    req.on('data', (c: Buffer) => (n += c.length));
    req.on('end', () => res.end(`upstream got ${n}`));
  });
  // A port that refuses connections: listen, note the port, close.
  const gone = await serve(() => {});
  await gone.close();
  const hanging: ServerResponse[] = [];
  const h = createMirroringHandler(forwardTo(upstream.url), [
    { handler: forwardTo(gone.url), percent: 100 },
    { handler: (_req, res) => void hanging.push(res), percent: 100 },
    {
      handler: () => {
        throw new Error('boom');
      },
      percent: 100,
    },
  ], 1024, { maxInFlight: 5 });
  const srv = await serve((req, res) => h(req, res, ctx()));
  try {
    for (let i = 0; i < 20; i++) {
      const r = await fetch(`${srv.url}/`, { method: 'POST', body: 'abc' });
      assert.equal(r.status, 200);
      assert.equal(await r.text(), 'upstream got 3');
    }
    // The hanging mirror holds at most maxInFlight copies.
    await until(() => hanging.length === 5);
    await new Promise((r) => setTimeout(r, 20));
    assert.equal(hanging.length, 5);
  } finally {
    for (const r of hanging) r.end();
    await srv.close();
    await upstream.close();
  }
});

test('a mirror copy gets its own context and a discard response that finishes and closes', async () => {
  const main = recorder('main');
  let mirrorCtx: RequestContext | null = null;
  let closed = false;
  const h = createMirroringHandler(main.handler, [
    {
      handler: (req, res, c) => {
        mirrorCtx = c;
        c.service = 'mirror@file';
        res.on('close', () => (closed = true));
        res.writeHead(201, { 'x-a': '1' });
        res.write('part');
        res.end('end');
        req.resume();
      },
      percent: 100,
    },
  ]);
  const mainCtx = ctx();
  const srv = await serve((req, res) => h(req, res, mainCtx));
  try {
    const r = await fetch(`${srv.url}/`);
    assert.equal(await r.text(), 'main');
    await until(() => closed);
    assert.notEqual(mirrorCtx, mainCtx);
    assert.equal(mainCtx.service, null);
  } finally {
    await srv.close();
  }
});
