/**
 * Upgrade tunnels through the real entrypoint: only a 101 for the protocol asked for opens one; a
 * declined upgrade cannot carry a second, unrouted request past the router that owns its path;
 * a tunnel ends when either side ends, or when idle; SIGTERM does not hang on tunnels.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import net from 'node:net';
import type { Duplex } from 'node:stream';
import { startBackend, startWithFile, waitFor, type Backend, type GantryProcess } from '../helpers/gantry.js';

interface UpgradeServer {
  url: string;
  /** Paths of the upgrade requests it received. */
  upgrades: string[];
  /** Paths of the ordinary requests it received (requests smuggled through a tunnel show here). */
  requests: string[];
  /** Its side of each tunnel, to see whether Gantry closed them. */
  sockets: Duplex[];
  close(): Promise<void>;
}

/**
 * startUpgradeServer: /ws answers 101 websocket and echoes bytes; /wrong answers 101 with another
 * protocol; /slow answers 101 after 300 ms; anything else (also an upgrade) answers 200. Like a
 * careless server, it never closes a tunnel when the peer ends its side.
 */
async function startUpgradeServer(): Promise<UpgradeServer> {
  const s: UpgradeServer = { url: '', upgrades: [], requests: [], sockets: [], close: async () => {} };
  const server = http.createServer((req, res) => {
    s.requests.push(req.url ?? '');
    req.resume();
    res.writeHead(200, { 'content-type': 'text/plain', 'content-length': '8' });
    res.end('declined');
  });
  server.on('upgrade', (req: http.IncomingMessage, socket: Duplex) => {
    s.upgrades.push(req.url ?? '');
    s.sockets.push(socket);
    socket.on('error', () => {});
    const switchTo = (proto: string) => {
      socket.write(`HTTP/1.1 101 Switching Protocols\r\nUpgrade: ${proto}\r\nConnection: Upgrade\r\n\r\n`);
      socket.on('data', (d: Buffer) => socket.write(d));
    };
    if (req.url === '/ws') switchTo('websocket');
    else if (req.url === '/wrong') switchTo('tcp-over-anything');
    else if (req.url === '/slow') setTimeout(() => switchTo('websocket'), 300);
    else {
      // Declines: an ordinary answer, then it keeps reading the connection as HTTP, as a
      // keep-alive server does.
      s.requests.push(req.url ?? '');
      server.emit('connection', socket);
      socket.write('HTTP/1.1 200 OK\r\ncontent-length: 8\r\n\r\ndeclined');
    }
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  s.url = `http://127.0.0.1:${(server.address() as net.AddressInfo).port}`;
  s.close = () =>
    new Promise<void>((r) => {
      for (const k of s.sockets) k.destroy();
      server.closeAllConnections();
      server.close(() => r());
    });
  return s;
}

/** openTunnel sends an upgrade request and resolves once the 101 head has arrived. */
async function openTunnel(port: number, path = '/ws'): Promise<{ socket: net.Socket; head: string }> {
  const socket = net.connect(port, '127.0.0.1');
  socket.write(`GET ${path} HTTP/1.1\r\nHost: u.test\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n`);
  let text = '';
  await new Promise<void>((resolve, reject) => {
    socket.on('data', function onData(d: Buffer) {
      text += d.toString('latin1');
      if (text.includes('\r\n\r\n')) {
        socket.off('data', onData);
        resolve();
      }
    });
    socket.once('error', reject);
    socket.once('close', () => reject(new Error(`closed before a head: ${JSON.stringify(text)}`)));
  });
  return { socket, head: text };
}

/** exchange writes `data` and collects everything until the connection closes (bounded). */
function exchange(port: number, data: string, timeoutMs = 3000): Promise<string> {
  return new Promise((resolve) => {
    const s = net.connect(port, '127.0.0.1');
    let text = '';
    const timer = setTimeout(() => {
      s.destroy();
      resolve(text + '<timeout>');
    }, timeoutMs);
    s.on('data', (d: Buffer) => (text += d.toString('latin1')));
    s.on('error', () => {});
    s.on('close', () => {
      clearTimeout(timer);
      resolve(text);
    });
    s.write(data);
  });
}

function routes(up: UpgradeServer, admin: Backend): string {
  return `http:
  routers:
    public:
      rule: Host(\`u.test\`)
      service: public
    admin:
      rule: Host(\`u.test\`) && PathPrefix(\`/admin\`)
      service: admin
      middlewares: [only-tenners]
  middlewares:
    only-tenners:
      ipAllowList: { sourceRange: [10.0.0.0/8] }
  services:
    public: { loadBalancer: { servers: [{ url: "${up.url}" }] } }
    admin: { loadBalancer: { servers: [{ url: "${admin.url}" }] } }
`;
}

describe('upgrade tunnels', { timeout: 20000 }, () => {
  let g: GantryProcess;
  let cleanup: () => Promise<void>;
  let up: UpgradeServer;
  let admin: Backend;

  before(async () => {
    up = await startUpgradeServer();
    admin = await startBackend('admin');
    ({ g, cleanup } = await startWithFile(routes(up, admin), ['--entrypoints.web.transport.respondingTimeouts.idleTimeout=1s']));
  });
  after(async () => {
    await cleanup?.();
    await up?.close();
    await admin?.close();
  });

  const smuggle = 'GET /admin/secret HTTP/1.1\r\nHost: u.test\r\n\r\n';
  const upgradeFoo = 'GET /public HTTP/1.1\r\nHost: u.test\r\nConnection: Upgrade\r\nUpgrade: foo\r\n\r\n';

  it('relays a declined upgrade as a response and never passes the next request to that server', async () => {
    const before = up.requests.length;
    // Pipelined in the same write, and sent after the answer: neither reaches a server.
    const pipelined = await exchange(g.port(), upgradeFoo + smuggle);
    assert.match(pipelined, /^HTTP\/1\.1 200 /);
    assert.match(pipelined, /declined/);
    const s = net.connect(g.port(), '127.0.0.1');
    let text = '';
    s.on('data', (d: Buffer) => (text += d.toString('latin1')));
    s.on('error', () => {});
    const closed = new Promise<void>((r) => s.once('close', () => r()));
    s.write(upgradeFoo);
    await waitFor(() => text.includes('declined'), 3000, () => `no answer: ${JSON.stringify(text)}`);
    if (!s.destroyed) s.write(smuggle);
    await closed;
    assert.equal(text.match(/HTTP\/1\.1 /g)?.length, 1, `one response, then the connection closes: ${JSON.stringify(text)}`);
    assert.deepEqual(up.requests.slice(before), ['/public', '/public'], 'only the two upgrade requests reached the public server');
    assert.equal(admin.seen.length, 0, 'the admin server was never reached');
  });

  it('answers 502 when the server switches to another protocol than the one asked for', async () => {
    const text = await exchange(g.port(), 'GET /wrong HTTP/1.1\r\nHost: u.test\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\nhello');
    assert.match(text, /^HTTP\/1\.1 502 /);
    assert.match(text, /tcp-over-anything/);
  });

  it('refuses an upgrade request that carries a body', async () => {
    const text = await exchange(g.port(), 'POST /ws HTTP/1.1\r\nHost: u.test\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nContent-Length: 5\r\n\r\nhello');
    assert.match(text, /^HTTP\/1\.1 400 /);
  });

  it('echoes through a tunnel, and closes the server side when the client ends its side', async () => {
    const { socket, head } = await openTunnel(g.port());
    assert.match(head, /^HTTP\/1\.1 101 /);
    assert.match(head, /\r\nupgrade: websocket\r\n/i);
    const serverSide = up.sockets.at(-1)!;
    let echoed = '';
    socket.on('data', (d: Buffer) => (echoed += d.toString()));
    socket.write('ping');
    await waitFor(() => echoed === 'ping', 3000, () => `echo: ${JSON.stringify(echoed)}`);
    socket.end();
    // The upgrade server never closes by itself: the end it reads is Gantry closing its connection.
    await waitFor(() => serverSide.readableEnded || serverSide.destroyed, 3000, () => 'Gantry still holds its connection to the server');
  });

  it('closes a tunnel with no traffic after the entrypoint idle timeout', async () => {
    const { socket } = await openTunnel(g.port());
    const started = Date.now();
    await new Promise<void>((r) => socket.once('close', () => r()));
    const waited = Date.now() - started;
    assert.ok(waited >= 900 && waited < 4000, `closed after ${waited} ms (idleTimeout 1s)`);
  });

  it('lets the server go when the client leaves before the 101 arrived', async () => {
    const socket = net.connect(g.port(), '127.0.0.1');
    socket.on('error', () => {});
    socket.write('GET /slow HTTP/1.1\r\nHost: u.test\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n');
    await waitFor(() => up.upgrades.at(-1) === '/slow', 3000);
    const serverSide = up.sockets.at(-1)!;
    socket.destroy();
    await waitFor(() => serverSide.readableEnded || serverSide.destroyed, 3000, () => 'Gantry still holds its connection to the server');
  });
});

describe('SIGTERM with tunnels', { timeout: 20000 }, () => {
  let up: UpgradeServer;
  let admin: Backend;

  before(async () => {
    up = await startUpgradeServer();
    admin = await startBackend('admin');
  });
  after(async () => {
    await up?.close();
    await admin?.close();
  });

  it('exits 0 within 1 s after a WebSocket client has closed', async () => {
    const { g, cleanup } = await startWithFile(routes(up, admin));
    try {
      const { socket } = await openTunnel(g.port());
      socket.end();
      await new Promise<void>((r) => socket.once('close', () => r()));
      const t0 = Date.now();
      g.proc.kill('SIGTERM');
      const code = await g.exited;
      const took = Date.now() - t0;
      process.stderr.write(`SIGTERM after the client closed: exit ${code} after ${took} ms\n`);
      assert.equal(code, 0);
      assert.ok(took < 1000, `exited ${took} ms after SIGTERM`);
    } finally {
      await cleanup();
    }
  });

  it('exits 0 within grace + 1 s with a tunnel still open', async () => {
    const { g, cleanup } = await startWithFile(routes(up, admin), ['--lifecycle.graceTimeout=1s']);
    try {
      const { socket } = await openTunnel(g.port());
      socket.on('error', () => {});
      const closed = new Promise<void>((r) => socket.once('close', () => r()));
      const t0 = Date.now();
      g.proc.kill('SIGTERM');
      const code = await g.exited;
      const took = Date.now() - t0;
      process.stderr.write(`SIGTERM with a tunnel open: exit ${code} after ${took} ms (grace 1 s)\n`);
      assert.equal(code, 0);
      assert.ok(took >= 900 && took < 2000, `exited ${took} ms after SIGTERM (grace 1 s)`);
      await closed;
    } finally {
      await cleanup();
    }
  });
});
