import { test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { once } from 'node:events';
import { setImmediate as nextCheckPhase } from 'node:timers/promises';
import { holdUntilTurnEnd } from './write-batch.js';

/** Two loopback connections to a server that records what each one received. */
async function pair(): Promise<{ clients: net.Socket[]; got: string[]; close(): Promise<void> }> {
  const got: string[] = [];
  const server = net.createServer((s) => {
    const i = got.length;
    got.push('');
    s.setEncoding('latin1');
    s.on('data', (d: string) => (got[i] += d));
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as net.AddressInfo;
  const clients: net.Socket[] = [];
  for (let i = 0; i < 2; i++) {
    const c = net.connect({ host: '127.0.0.1', port, noDelay: true });
    await once(c, 'connect');
    clients.push(c);
  }
  while (got.length < 2) await new Promise((r) => setTimeout(r, 5));
  return {
    clients,
    got,
    close: async () => {
      for (const c of clients) c.destroy();
      server.close();
      await once(server, 'close');
    },
  };
}

async function until(cond: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + 5_000;
  while (!cond()) {
    if (Date.now() > deadline) assert.fail(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

test('holdUntilTurnEnd: writes of a turn stay corked, then all go out in the check phase of that turn', async () => {
  const p = await pair();
  try {
    const [a, b] = p.clients as [net.Socket, net.Socket];
    holdUntilTurnEnd(a);
    a.write('GET /a HTTP/1.1\r\n', 'latin1');
    holdUntilTurnEnd(b);
    b.write('GET /b HTTP/1.1\r\n', 'latin1');
    holdUntilTurnEnd(a); // a second request head on the same socket in the same turn
    a.write('\r\n', 'latin1');
    assert.equal(a.writableCorked, 2);
    assert.equal(b.writableCorked, 1);
    assert.equal(a.writableLength > 0, true, 'nothing was written to the wire yet');
    await nextCheckPhase();
    assert.equal(a.writableCorked, 0);
    assert.equal(b.writableCorked, 0);
    await until(() => p.got[0] === 'GET /a HTTP/1.1\r\n\r\n' && p.got[1] === 'GET /b HTTP/1.1\r\n', 'both heads');
  } finally {
    await p.close();
  }
});

test('holdUntilTurnEnd: a socket destroyed before the turn ends is skipped; the next turn holds anew', async () => {
  const p = await pair();
  try {
    const [a, b] = p.clients as [net.Socket, net.Socket];
    holdUntilTurnEnd(a);
    a.write('lost', 'latin1');
    a.destroy();
    holdUntilTurnEnd(b);
    b.write('one', 'latin1');
    await nextCheckPhase();
    await until(() => p.got[1] === 'one', 'the first write');
    holdUntilTurnEnd(b);
    b.write('two', 'latin1');
    assert.equal(b.writableCorked, 1);
    await nextCheckPhase();
    assert.equal(b.writableCorked, 0);
    await until(() => p.got[1] === 'onetwo', 'the second write');
    assert.equal(p.got[0], '');
  } finally {
    await p.close();
  }
});
