/**
 * A Gantry serving alone listens on each entrypoint port with several sockets (SO_REUSEPORT, see
 * src/entrypoints/accept-sockets.ts), so a loaded process accepts several connections per event-loop
 * turn. What a user sees must not change: every connection, whichever socket the kernel gave it to,
 * is served and answered the same way and is counted; and the port is still Gantry's alone — a
 * second Gantry on it fails with EADDRINUSE instead of silently sharing it.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import net from 'node:net';
import { ACCEPT_SOCKETS } from '../../src/entrypoints/accept-sockets.js';
import { freePort, startBackend, startGantry, startWithFile, serviceYaml, type Backend, type GantryProcess } from '../helpers/gantry.js';
import { get } from '../helpers/http.js';

/** listeningSockets counts the sockets listening on 127.0.0.1:port, from /proc/net/tcp. */
function listeningSockets(port: number): number {
  const hexPort = port.toString(16).toUpperCase().padStart(4, '0');
  return fs
    .readFileSync('/proc/net/tcp', 'utf8')
    .split('\n')
    .slice(1)
    .filter((l) => {
      const f = l.trim().split(/\s+/);
      return f[1] === `0100007F:${hexPort}` && f[3] === '0A';
    }).length;
}

/** rawExchanges opens n connections at once, writes `request` on each and returns what each got back. */
function rawExchanges(port: number, n: number, request: string): Promise<string[]> {
  return Promise.all(
    Array.from(
      { length: n },
      () =>
        new Promise<string>((resolve) => {
          const s = net.connect(port, '127.0.0.1');
          let got = '';
          const timer = setTimeout(() => s.destroy(), 5000);
          s.on('data', (d: Buffer) => (got += d.toString('latin1')));
          s.on('error', () => {});
          s.on('close', () => {
            clearTimeout(timer);
            resolve(got);
          });
          s.write(request);
        }),
    ),
  );
}

describe('listening sockets of a process serving alone', { timeout: 60_000 }, () => {
  let backend: Backend;
  let g: GantryProcess;
  let cleanup: () => Promise<void>;
  let port: number;

  before(async () => {
    backend = await startBackend('a');
    port = await freePort();
    ({ g, cleanup } = await startWithFile(serviceYaml('w', 'w.test', [backend.url]), [`--entrypoints.web.address=127.0.0.1:${port}`, '--metrics.prometheus']));
  });
  after(async () => {
    await cleanup?.();
    await backend?.close();
  });

  it(`listens on the port with ${ACCEPT_SOCKETS} sockets`, () => {
    assert.equal(g.port(), port);
    assert.equal(listeningSockets(port), ACCEPT_SOCKETS);
  });

  it('serves 200 connections opened at once, whichever socket took each', async () => {
    const replies = await rawExchanges(port, 200, 'GET /x HTTP/1.1\r\nHost: w.test\r\nConnection: close\r\n\r\n');
    const ok = replies.filter((r) => r.startsWith('HTTP/1.1 200 ') && r.includes('"backend":"a"'));
    assert.equal(ok.length, 200, replies.find((r) => !r.startsWith('HTTP/1.1 200 ')));
  });

  it("answers a malformed request on every socket with Gantry's own error, not node:http's bare 400", async () => {
    const replies = await rawExchanges(port, 64, 'GET / HTTP/1.1\r\nHost: w.test\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n');
    const ours = replies.filter((r) => r.startsWith('HTTP/1.1 400 ') && r.endsWith('\r\n\r\n400 invalid Transfer-Encoding\n'));
    assert.equal(ours.length, 64, replies.find((r) => !r.endsWith('400 invalid Transfer-Encoding\n')));
  });

  it('counts open connections over all of its sockets (gantry_open_connections)', async () => {
    const sockets = await Promise.all(
      Array.from({ length: 48 }, () => new Promise<net.Socket>((resolve) => {
        const s = net.connect(port, '127.0.0.1', () => resolve(s));
        s.on('error', () => {});
      })),
    );
    try {
      let seen = 0;
      for (let i = 0; i < 100 && seen < 48; i++) {
        const m = await get(g.api('/metrics'));
        seen = Number(/^gantry_open_connections\{entrypoint="web"\} (\d+)$/m.exec(m.body)?.[1] ?? 0);
        if (seen < 48) await new Promise((r) => setTimeout(r, 20));
      }
      assert.ok(seen >= 48, `gantry_open_connections ${seen} with 48 connections open`);
    } finally {
      for (const s of sockets) s.destroy();
    }
  });

  it('keeps the port its own: a second Gantry on it exits naming EADDRINUSE', async () => {
    await assert.rejects(startGantry([`--entrypoints.web.address=127.0.0.1:${port}`, '--api.address=127.0.0.1:0']), /EADDRINUSE/);
    // The first one still serves.
    assert.equal((await get(g.url('/y'), { host: 'w.test' })).status, 200);
  });
});
