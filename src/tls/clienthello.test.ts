import { test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import tls from 'node:tls';
import { parseClientHello } from './clienthello.js';

/** captureHello records the first bytes a real Node TLS client sends. */
async function captureHello(opts: tls.ConnectionOptions): Promise<Buffer> {
  let got = Buffer.alloc(0);
  const server = net.createServer((s) => {
    s.on('data', (d: Buffer) => {
      got = Buffer.concat([got, d]);
      if (parseClientHello(got).kind !== 'incomplete') s.destroy();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as net.AddressInfo).port;
  await new Promise<void>((resolve) => {
    const c = tls.connect({ host: '127.0.0.1', port, ...opts });
    c.on('error', () => resolve());
    c.on('close', () => resolve());
  });
  await new Promise((r) => server.close(r));
  return got;
}

test('parseClientHello reads SNI and ALPN from a real ClientHello, byte by byte too', async () => {
  const hello = await captureHello({ servername: 'App.Test', ALPNProtocols: ['h2', 'http/1.1'] });
  assert.deepEqual(parseClientHello(hello), { kind: 'hello', sni: 'app.test', alpn: ['h2', 'http/1.1'] });
  for (const n of [0, 1, 5, 40, hello.length - 1]) assert.equal(parseClientHello(hello.subarray(0, n)).kind, 'incomplete', `prefix ${n}`);
  const none = await captureHello({ ALPNProtocols: ['acme-tls/1'] });
  const r = parseClientHello(none);
  assert.equal(r.kind, 'hello');
  assert.deepEqual(r.kind === 'hello' && r.alpn, ['acme-tls/1']);
});

test('parseClientHello: plain text is notTls, a hello split over two records is reassembled', async () => {
  assert.deepEqual(parseClientHello(Buffer.from('GET / HTTP/1.1\r\n')), { kind: 'notTls' });
  const hello = await captureHello({ servername: 'split.test' });
  const body = hello.subarray(5);
  const cut = 30;
  const rec = (b: Buffer) => Buffer.concat([Buffer.from([0x16, 0x03, 0x01, b.length >> 8, b.length & 0xff]), b]);
  const split = Buffer.concat([rec(body.subarray(0, cut)), rec(body.subarray(cut))]);
  assert.deepEqual(parseClientHello(split), { kind: 'hello', sni: 'split.test', alpn: [] });
  assert.equal(parseClientHello(Buffer.from([0x16, 0x03, 0x01, 0x00, 0x04, 0x02, 0, 0, 0])).kind, 'invalid');
});
