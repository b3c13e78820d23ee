import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { forgetCachedPeer, sharedAddress, unmapIPv4 } from './peer-address.js';

describe('peer address', () => {
  it('unwraps IPv4-mapped IPv6 addresses only', () => {
    assert.equal(unmapIPv4('::ffff:192.0.2.1'), '192.0.2.1');
    assert.equal(unmapIPv4('::ffff:c000:201'), '::ffff:c000:201');
    assert.equal(unmapIPv4('2001:db8::1'), '2001:db8::1');
    assert.equal(unmapIPv4('127.0.0.1'), '127.0.0.1');
  });

  it('shares the string of the address seen last', () => {
    const a = sharedAddress(['192.0.2', '7'].join('.'));
    assert.equal(sharedAddress(['192.0.2', '7'].join('.')), a);
    assert.equal(sharedAddress('192.0.2.8'), '192.0.2.8');
  });

  it("drops node's cached peer object, and the socket still knows its peer", async () => {
    const server = net.createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const accepted = new Promise<net.Socket>((resolve) => server.once('connection', resolve));
    const client = net.connect((server.address() as net.AddressInfo).port, '127.0.0.1');
    try {
      const s = await accepted;
      const port = s.remotePort;
      // What forgetCachedPeer relies on: node:net caches the peer here on the first read.
      const cached = s as net.Socket & { _peername?: unknown };
      assert.ok(cached._peername !== undefined, 'node:net no longer caches the peer in _peername: revisit forgetCachedPeer');
      forgetCachedPeer(s);
      assert.equal(cached._peername, undefined);
      assert.equal(s.remoteAddress, '127.0.0.1');
      assert.equal(s.remotePort, port);
      assert.equal(port, client.localPort);
    } finally {
      client.destroy();
      server.close();
    }
  });
});
