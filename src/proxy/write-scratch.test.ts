import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { MAX_SCRATCH_BYTES, writeJoined } from './write-scratch.js';

/** connectedPair is a client socket and the server side of it, which reads nothing until asked. */
async function connectedPair(): Promise<{ client: net.Socket; server: net.Socket; close(): void }> {
  const listener = net.createServer({ pauseOnConnect: true });
  await new Promise<void>((r) => listener.listen(0, '127.0.0.1', r));
  const accepted = new Promise<net.Socket>((r) => listener.once('connection', r));
  const client = net.connect((listener.address() as net.AddressInfo).port, '127.0.0.1');
  await new Promise<void>((r) => client.once('connect', r));
  const server = await accepted;
  return {
    client,
    server,
    close() {
      client.destroy();
      server.destroy();
      listener.close();
    },
  };
}

describe('writeJoined', () => {
  it('joins head, body and suffix into one write', async () => {
    const p = await connectedPair();
    try {
      writeJoined(p.client, 'HEAD\r\n', Buffer.from('body'), '\r\n');
      p.client.end();
      p.server.resume();
      const parts: Buffer[] = [];
      for await (const d of p.server) parts.push(d as Buffer);
      assert.equal(Buffer.concat(parts).toString('latin1'), 'HEAD\r\nbody\r\n');
    } finally {
      p.close();
    }
  });

  it('never reuses bytes a queued write still refers to', async () => {
    const p = await connectedPair();
    try {
      // Fill the kernel buffers: from here on every write stays queued.
      const filler = Buffer.alloc(1 << 20, 0x2e);
      let sent = 0;
      while (p.client.writableLength === 0) {
        p.client.write(filler);
        sent += filler.length;
      }
      const expected: Buffer[] = [];
      for (let i = 0; i < 40; i++) {
        const body = Buffer.alloc(MAX_SCRATCH_BYTES - 64, 65 + (i % 26));
        const prefix = `head ${i}\r\n`;
        writeJoined(p.client, prefix, body, '\r\n');
        expected.push(Buffer.from(prefix, 'latin1'), body, Buffer.from('\r\n', 'latin1'));
      }
      p.client.end();
      p.server.resume();
      const parts: Buffer[] = [];
      for await (const d of p.server) parts.push(d as Buffer);
      const got = Buffer.concat(parts);
      assert.equal(got.length, sent + Buffer.concat(expected).length);
      assert.ok(got.subarray(sent).equals(Buffer.concat(expected)), 'queued joined writes must arrive as written');
    } finally {
      p.close();
    }
  });
});
