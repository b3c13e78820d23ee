import { test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { Readable } from 'node:stream';
import type { Dispatcher } from 'undici';
import { Framing, parseHead } from './head.js';
import { ChunkedDecoder } from './chunked.js';
import { H1Pool, type ForwardingController } from './pool.js';

test('parseHead: status, lower-cased headers, repeated fields as arrays, framing', () => {
  const h = parseHead('HTTP/1.1 200 OK\r\nContent-Length: 5\r\nSet-Cookie: a=1\r\nset-cookie: b=2\r\nX-A:  v  ', 'GET');
  assert.equal(h.status, 200);
  assert.equal(h.reason, 'OK');
  assert.deepEqual(h.headers, { 'content-length': '5', 'set-cookie': ['a=1', 'b=2'], 'x-a': 'v' });
  assert.equal(h.framing, Framing.Length);
  assert.equal(h.length, 5);
  assert.equal(h.keepAlive, true);
  assert.equal(parseHead('HTTP/1.1 204', 'GET').framing, Framing.None);
  assert.equal(parseHead('HTTP/1.1 304 Not Modified\r\ncontent-length: 10', 'GET').framing, Framing.None);
  assert.equal(parseHead('HTTP/1.1 200 OK\r\ncontent-length: 10', 'HEAD').framing, Framing.None);
  assert.equal(parseHead('HTTP/1.1 200 OK\r\ntransfer-encoding: gzip, chunked', 'GET').framing, Framing.Chunked);
  const close = parseHead('HTTP/1.1 200 OK', 'GET');
  assert.equal(close.framing, Framing.Close);
  assert.equal(close.keepAlive, false);
  assert.equal(parseHead('HTTP/1.1 200 OK\r\nconnection: close\r\ncontent-length: 0', 'GET').keepAlive, false);
  assert.equal(parseHead('HTTP/1.0 200 OK\r\ncontent-length: 0', 'GET').keepAlive, false);
  assert.equal(parseHead('HTTP/1.0 200 OK\r\nconnection: keep-alive\r\ncontent-length: 0', 'GET').keepAlive, true);
  assert.equal(parseHead('HTTP/1.1 200 OK\r\nkeep-alive: timeout=5\r\ncontent-length: 0', 'GET').keepAliveHintMs, 5000);
});

test('parseHead refuses ambiguous framing and malformed heads', () => {
  for (const bad of [
    'HTTP/1.1 200 OK\r\ncontent-length: 5\r\ntransfer-encoding: chunked',
    'HTTP/1.1 200 OK\r\ncontent-length: 5\r\ncontent-length: 6',
    'HTTP/1.1 200 OK\r\ncontent-length: -1',
    'HTTP/1.1 200 OK\r\ntransfer-encoding: chunked, gzip\r\ntransfer-encoding: chunked',
    'HTTP/1.1 200 OK\r\nx: a\r\n folded',
    'HTTP/1.1 200 OK\r\nx : a',
    'HTTP/1.1 200 OK\r\nx: a\nY: b',
    'HTTP/1.1 200 OK\r\nx: a\rb',
    'HTTP/1.1 200 OK\r\nx: a\0b',
    'HTTP/1.1 200 O\nK\r\nx: a',
    'HTTP/1.1 200 OK\r\nx(: a',
    'HTTP/1.1 200 OK\r\n: a',
    'HTTP/2.0 200 OK',
    'HTTP/1.1 2000 OK',
    'HTTP/1.1 099 OK',
    'garbage',
  ]) {
    assert.throws(() => parseHead(bad, 'GET'), Error, JSON.stringify(bad));
    assert.throws(() => parseHead(bad, 'GET', true), Error, `forward: ${JSON.stringify(bad)}`);
  }
});

test('parseHead for forwarding: field lines as they came, minus hop-by-hop and Connection-listed ones', () => {
  const h = parseHead('HTTP/1.1 200 OK\r\nServer: x\r\nConnection: keep-alive\r\nKeep-Alive: timeout=4\r\nContent-Length: 2\r\nSet-Cookie: a=1\r\nSet-Cookie: b=2\r\nTE: trailers', 'GET', true);
  assert.deepEqual(h.headers, {});
  assert.equal(h.fields, 'Server: x\r\nContent-Length: 2\r\nSet-Cookie: a=1\r\nSet-Cookie: b=2\r\n');
  assert.equal(h.hasLength, true);
  assert.equal(h.hasDate, false);
  assert.equal(h.keepAliveHintMs, 4000);
  assert.equal(h.framing, Framing.Length);
  const listed = parseHead('HTTP/1.1 200 OK\r\nX-A: 1\r\nConnection: X-A, close\r\nDate: d\r\nX-B: 2\r\nTransfer-Encoding: chunked', 'GET', true);
  assert.equal(listed.fields, 'Date: d\r\nX-B: 2\r\n');
  assert.equal(listed.keepAlive, false);
  assert.equal(listed.hasDate, true);
  assert.equal(listed.hasLength, false);
  assert.equal(listed.framing, Framing.Chunked);
  // Each hop-by-hop field of RFC 9110 §7.6.1 (and the Proxy-Connection of old clients), in any case.
  for (const name of ['Connection', 'Proxy-Connection', 'Keep-Alive', 'Proxy-Authenticate', 'TE', 'Trailer', 'Upgrade', 'TRAILER', 'upgrade']) {
    const value = name.toLowerCase() === 'connection' ? 'keep-alive' : 'x';
    assert.equal(parseHead(`HTTP/1.1 200 OK\r\nA: 1\r\n${name}: ${value}\r\nContent-Length: 0`, 'GET', true).fields, 'A: 1\r\nContent-Length: 0\r\n', name);
  }
  // Names of the same lengths that are not hop-by-hop stay.
  const kept = parseHead('HTTP/1.1 200 OK\r\nContent-MD5: x\r\nTk: N\r\nX-Trace: t\r\nContent-Length: 0', 'GET', true);
  assert.equal(kept.fields, 'Content-MD5: x\r\nTk: N\r\nX-Trace: t\r\nContent-Length: 0\r\n');
});

test('ChunkedDecoder: payload across reads, extensions, trailers, end offset', () => {
  const wire = Buffer.from('5;ext=1\r\nhello\r\n6\r\n world\r\n0\r\nTrailer: x\r\n\r\nNEXT', 'latin1');
  for (let split = 1; split < wire.length - 4; split++) {
    const d = new ChunkedDecoder();
    const out: Buffer[] = [];
    const sink = { onChunkData: (b: Buffer) => out.push(Buffer.from(b)) };
    assert.equal(d.execute(wire.subarray(0, split), 0, sink), -1);
    const end = d.execute(wire.subarray(split), 0, sink);
    assert.equal(Buffer.concat(out).toString(), 'hello world');
    assert.equal(end, wire.length - split - 4, `split ${split}`);
  }
  for (const bad of ['x\r\n', '5\nhello', '5\r\nhelloXX', '5\r\nhello\r\n0\r\n\r\r']) {
    const d = new ChunkedDecoder();
    assert.throws(() => d.execute(Buffer.from(bad, 'latin1'), 0, { onChunkData() {} }), Error, bad);
  }
});

/** A scripted upstream: `answer` gets each request's raw bytes (head and all) and the socket. */
async function upstream(answer: (raw: string, socket: net.Socket, n: number) => void): Promise<{ origin: string; conns: () => number; close: () => Promise<void> }> {
  let conns = 0;
  let n = 0;
  const sockets = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    conns++;
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    let buf = '';
    socket.on('data', (d) => {
      buf += d.toString('latin1');
      const end = buf.indexOf('\r\n\r\n');
      if (end < 0) return;
      const head = buf.slice(0, end);
      const m = /content-length: (\d+)/i.exec(head);
      const need = m ? Number(m[1]) : /transfer-encoding: chunked/i.test(head) ? buf.indexOf('0\r\n\r\n', end) + 5 - end - 4 : 0;
      if (need < 0 || buf.length < end + 4 + need) return;
      const raw = buf.slice(0, end + 4 + need);
      buf = buf.slice(end + 4 + need);
      answer(raw, socket, n++);
    });
    socket.on('error', () => {});
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as net.AddressInfo).port;
  return {
    origin: `http://127.0.0.1:${port}`,
    conns: () => conns,
    close: () => new Promise<void>((r) => {
      for (const s of sockets) s.destroy();
      server.close(() => r());
    }),
  };
}

interface Outcome {
  status: number;
  headers: Record<string, unknown>;
  body: string;
  error: (Error & { code?: string }) | null;
  started: number;
}

function run(pool: H1Pool, opts: Partial<Dispatcher.DispatchOptions>, onStart?: (c: Dispatcher.DispatchController) => void): Promise<Outcome> {
  return new Promise((resolve) => {
    const o: Outcome = { status: 0, headers: {}, body: '', error: null, started: 0 };
    pool.dispatch({ method: 'GET', path: '/', headers: { host: 'x' }, ...opts } as Dispatcher.DispatchOptions, {
      onRequestStart(c) {
        o.started++;
        onStart?.(c);
      },
      onResponseStart(_c, status, headers) {
        o.status = status;
        o.headers = headers as Record<string, unknown>;
      },
      onResponseData(_c, chunk) {
        o.body += chunk.toString();
      },
      onResponseEnd() {
        resolve(o);
      },
      onResponseError(_c, err) {
        o.error = err;
        resolve(o);
      },
    });
  });
}

const opts = { dialTimeoutMs: 1000, responseHeaderTimeoutMs: 0, idleTimeoutMs: 90_000, maxIdle: 10 };

test('H1Pool: keep-alive reuse, chunked and close-delimited bodies, 1xx skipped, head written once', async () => {
  const seen: string[] = [];
  const up = await upstream((raw, s, n) => {
    seen.push(raw);
    if (n === 0) s.write('HTTP/1.1 200 OK\r\ncontent-length: 5\r\n\r\nhello');
    else if (n === 1) s.write('HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 201 Created\r\ntransfer-encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n');
    else if (n === 2) {
      s.write('HTTP/1.1 200 OK\r\nx: 1\r\n\r\nuntil');
      setTimeout(() => s.end(' close'), 20);
    } else s.write('HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok');
  });
  const pool = new H1Pool(up.origin, opts);
  try {
    const a = await run(pool, { headers: { host: 'h', 'x-list': ['1', '2'] } });
    assert.deepEqual([a.status, a.body, a.error], [200, 'hello', null]);
    assert.equal(seen[0], 'GET / HTTP/1.1\r\nhost: h\r\nx-list: 1\r\nx-list: 2\r\n\r\n');
    const b = await run(pool, { method: 'POST', path: '/p?q=1', body: Buffer.from('xyz') });
    assert.deepEqual([b.status, b.body], [201, 'abc']);
    assert.match(seen[1]!, /^POST \/p\?q=1 HTTP\/1.1\r\nhost: x\r\ncontent-length: 3\r\n\r\nxyz$/);
    const c = await run(pool, {});
    assert.deepEqual([c.status, c.body, c.error], [200, 'until close', null]);
    assert.equal(up.conns(), 1);
    const d = await run(pool, { method: 'PUT', body: Readable.from([Buffer.from('ab'), Buffer.from('cd')]) });
    assert.equal(up.conns(), 2, 'the close-delimited response used up its connection');
    assert.match(seen[3]!, /transfer-encoding: chunked\r\n\r\n2\r\nab\r\n2\r\ncd\r\n0\r\n\r\n$/);
    assert.deepEqual([d.status, d.body], [200, 'ok']);
  } finally {
    await pool.destroy();
    await up.close();
  }
});

test('H1Pool: a stale reused connection is retried once for a body-less GET, not for a POST', async () => {
  const up = await upstream((_raw, s, n) => {
    // The first request of each connection is answered; the second closes the connection unanswered.
    if ((s as net.Socket & { served?: boolean }).served) {
      s.destroy();
      return;
    }
    (s as net.Socket & { served?: boolean }).served = true;
    s.write(`HTTP/1.1 200 OK\r\ncontent-length: 1\r\n\r\n${n}`);
  });
  const pool = new H1Pool(up.origin, opts);
  try {
    assert.equal((await run(pool, {})).status, 200);
    const g = await run(pool, {});
    assert.deepEqual([g.status, g.error, g.started], [200, null, 2]);
    const p = await run(pool, { method: 'POST', body: Buffer.from('x') });
    assert.equal(p.error?.code, 'ECONNRESET');
    assert.equal(p.started, 1);
  } finally {
    await pool.destroy();
    await up.close();
  }
});

test('H1Pool: error codes the forwarder classifies', async () => {
  // Refused: a port nobody listens on.
  const probe = net.createServer();
  await new Promise<void>((r) => probe.listen(0, '127.0.0.1', r));
  const port = (probe.address() as net.AddressInfo).port;
  await new Promise<void>((r) => probe.close(() => r()));
  const refused = await run(new H1Pool(`http://127.0.0.1:${port}`, opts), {});
  assert.equal(refused.error?.code, 'ECONNREFUSED');
  assert.equal(refused.started, 0);

  const silent = await upstream(() => {});
  const pool = new H1Pool(silent.origin, { ...opts, responseHeaderTimeoutMs: 100 });
  try {
    const t = await run(pool, {});
    assert.equal(t.error?.code, 'UND_ERR_HEADERS_TIMEOUT');
  } finally {
    await pool.destroy();
    await silent.close();
  }

  const bad = await upstream((_r, s) => s.write('HTTP/1.1 200 OK\r\ncontent-length: 1\r\ntransfer-encoding: chunked\r\n\r\n'));
  const pool2 = new H1Pool(bad.origin, opts);
  try {
    const b = await run(pool2, {});
    assert.ok(b.error !== null);
    assert.equal(b.status, 0);
    await assert.rejects(async () => pool2.dispatch({ method: 'GET', path: '/', headers: { x: 'a\r\nevil: 1' } } as Dispatcher.DispatchOptions, {}));
  } finally {
    await pool2.destroy();
    await bad.close();
  }
});

test('H1Pool: abort from onRequestStart and pause/resume', async () => {
  const up = await upstream((_raw, s) => {
    s.write('HTTP/1.1 200 OK\r\ncontent-length: 4\r\n\r\nab');
    setTimeout(() => s.write('cd'), 30);
  });
  const pool = new H1Pool(up.origin, opts);
  try {
    const a = await run(pool, {}, (c) => c.abort(new Error('client closed request')));
    assert.equal(a.error?.message, 'client closed request');
    const b = await new Promise<string>((resolve, reject) => {
      let body = '';
      pool.dispatch({ method: 'GET', path: '/', headers: {} } as Dispatcher.DispatchOptions, {
        onResponseData(c, chunk) {
          body += chunk.toString();
          c.pause();
          setTimeout(() => c.resume(), 10);
        },
        onResponseEnd: () => resolve(body),
        onResponseError: (_c, e) => reject(e),
      });
    });
    assert.equal(b, 'abcd');
  } finally {
    await pool.destroy();
    await up.close();
  }
});

test('H1Pool: a dispatch() handler may keep its chunks; only send() handlers get views of the reused read buffer', async () => {
  const parts = ['first part ', 'second part ', 'third part'];
  const up = await upstream((_raw, s) => {
    s.write(`HTTP/1.1 200 OK\r\ncontent-length: ${parts.join('').length}\r\n\r\n${parts[0]}`);
    setTimeout(() => s.write(parts[1]!), 20);
    setTimeout(() => s.write(parts[2]!), 40);
  });
  const pool = new H1Pool(up.origin, opts);
  try {
    const kept: Buffer[] = [];
    await new Promise<void>((resolve, reject) => {
      pool.dispatch({ method: 'GET', path: '/', headers: { host: 'x' } }, {
        onResponseData(_c, chunk) {
          kept.push(chunk); // no copy: a buffering handler keeps what it is given
        },
        onResponseEnd: () => resolve(),
        onResponseError: (_c, err) => reject(err),
      });
    });
    assert.ok(kept.length >= 2, 'the body came in several reads');
    assert.equal(Buffer.concat(kept).toString(), parts.join(''));
  } finally {
    await pool.destroy();
    await up.close();
  }
});

test('H1Pool: a response head split over several reads is kept whole (the read buffer is reused under it)', async () => {
  const head = 'HTTP/1.1 200 OK\r\nx-long: ' + 'v'.repeat(300) + '\r\ncontent-length: 2\r\n\r\nok';
  const up = await upstream((_raw, s) => {
    s.write(head.slice(0, 40));
    setTimeout(() => s.write(head.slice(40, 200)), 20);
    setTimeout(() => s.write(head.slice(200)), 40);
  });
  const pool = new H1Pool(up.origin, opts);
  try {
    // send() is the fast lane's entry: its handler is handed views of the read buffer itself.
    const got = await new Promise<{ status: number; fields: string; body: string }>((resolve, reject) => {
      let status = 0;
      let fields = '';
      let body = '';
      pool.send('GET', 'GET / HTTP/1.1\r\nhost: x\r\n\r\n', {
        onResponseStart(c, s) {
          status = s;
          fields = (c as ForwardingController).response!.fields;
        },
        onResponseData(_c, chunk) {
          body += chunk.toString('latin1');
        },
        onResponseEnd: () => resolve({ status, fields, body }),
        onResponseError: (_c, err) => reject(err),
      });
    });
    assert.deepEqual(got, { status: 200, fields: 'x-long: ' + 'v'.repeat(300) + '\r\ncontent-length: 2\r\n', body: 'ok' });
  } finally {
    await pool.destroy();
    await up.close();
  }
});
