/** A WebSocket echo through Gantry (undici's WebSocket client, a minimal RFC 6455 echo server). */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import http from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocket } from 'undici';
import { serviceYaml, startWithFile, type GantryProcess } from '../helpers/gantry.js';

/** startEchoServer answers WebSocket handshakes and echoes text frames (unfragmented, < 64 KiB). */
async function startEchoServer(): Promise<{ url: string; seenHeaders: http.IncomingHttpHeaders[]; close(): Promise<void> }> {
  const seenHeaders: http.IncomingHttpHeaders[] = [];
  const sockets = new Set<Duplex>();
  const server = http.createServer((_req, res) => res.end('not a websocket'));
  server.on('upgrade', (req, socket) => {
    sockets.add(socket);
    seenHeaders.push(req.headers);
    const accept = crypto.createHash('sha1').update(`${req.headers['sec-websocket-key']}258EAFA5-E914-47DA-95CA-C5AB0DC85B11`).digest('base64');
    socket.write(`HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${accept}\r\n\r\n`);
    let buf = Buffer.alloc(0);
    socket.on('data', (d: Buffer) => {
      buf = Buffer.concat([buf, d]);
      while (buf.length >= 2) {
        const opcode = buf[0]! & 0x0f;
        let len = buf[1]! & 0x7f;
        let off = 2;
        if (len === 126) {
          len = buf.readUInt16BE(2);
          off = 4;
        }
        if (buf.length < off + 4 + len) return;
        const mask = buf.subarray(off, off + 4);
        const payload = Buffer.from(buf.subarray(off + 4, off + 4 + len));
        for (let i = 0; i < payload.length; i++) payload[i]! ^= mask[i % 4]!;
        buf = buf.subarray(off + 4 + len);
        if (opcode === 8) {
          socket.end(Buffer.from([0x88, 0]));
          return;
        }
        const out = Buffer.from(`echo: ${payload.toString()}`);
        const n = out.length;
        const head = n < 126 ? Buffer.from([0x81, n]) : Buffer.from([0x81, 126, n >> 8, n & 0xff]);
        socket.write(Buffer.concat([head, out]));
      }
    });
    socket.on('error', () => {});
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as { port: number }).port;
  return {
    url: `http://127.0.0.1:${port}`,
    seenHeaders,
    close: () =>
      new Promise<void>((r) => {
        for (const s of sockets) s.destroy();
        server.close(() => r());
      }),
  };
}

describe('websocket through gantry', () => {
  let g: GantryProcess;
  let cleanup: () => Promise<void>;
  let echo: Awaited<ReturnType<typeof startEchoServer>>;

  before(async () => {
    echo = await startEchoServer();
    ({ g, cleanup } = await startWithFile(serviceYaml('ws', '127.0.0.1', [echo.url])));
  });
  after(async () => {
    await cleanup?.();
    await echo?.close();
  });

  it('echoes messages both ways', async () => {
    const ws = new WebSocket(`ws://127.0.0.1:${g.port()}/chat`);
    const got: string[] = [];
    await new Promise<void>((resolve, reject) => {
      ws.onopen = () => {
        ws.send('hello');
        ws.send('world');
      };
      ws.onmessage = (ev) => {
        got.push(String(ev.data));
        if (got.length === 2) resolve();
      };
      ws.onerror = () => reject(new Error('websocket error'));
      setTimeout(() => reject(new Error(`timeout; got ${JSON.stringify(got)}`)), 5000).unref();
    });
    ws.close();
    assert.deepEqual(got, ['echo: hello', 'echo: world']);
    const h = echo.seenHeaders.at(-1)!;
    assert.equal(h.upgrade?.toLowerCase(), 'websocket');
    assert.equal(h['x-forwarded-proto'], 'ws');
    assert.equal(h['x-forwarded-for'], '127.0.0.1');
  });
});
