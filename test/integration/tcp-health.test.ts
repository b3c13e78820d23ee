/**
 * TCP load balancers' `healthCheck` (connect, send, expect), `weighted` TCP services with
 * `healthCheck: {}`, and TCP middlewares (ipAllowList, inFlightConn), through the real
 * bin/gantry with plain TCP servers.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { startGantry, tempDir, waitFor, type GantryProcess } from '../helpers/gantry.js';

/** A TCP server that answers its health probe (PING → PONG while healthy) and greets others with its name. */
class TcpServer {
  readonly name: string;
  healthy = true;
  readonly server: net.Server;
  port = 0;

  constructor(name: string) {
    this.name = name;
    this.server = net.createServer((s) => {
      s.on('error', () => {});
      s.once('data', (d: Buffer) => {
        if (d.toString() === 'PING') s.end(this.healthy ? 'PONG' : 'NOPE');
        else s.end(`${this.name}\n`);
      });
    });
  }

  async start(): Promise<void> {
    await new Promise<void>((r) => this.server.listen(0, '127.0.0.1', r));
    this.port = (this.server.address() as net.AddressInfo).port;
  }

  close(): Promise<void> {
    return new Promise((r) => this.server.close(() => r()));
  }
}

function talk(port: number): Promise<string> {
  return new Promise((resolve) => {
    const s = net.connect({ host: '127.0.0.1', port }, () => s.write('hello'));
    let got = '';
    s.setEncoding('utf8').on('data', (d: string) => (got += d));
    s.on('error', () => resolve('error'));
    s.on('close', () => resolve(got.trim() || 'closed'));
  });
}

async function names(port: number, n: number): Promise<string[]> {
  const out = new Set<string>();
  for (let i = 0; i < n; i++) out.add(await talk(port));
  return [...out].sort();
}

describe('TCP health checks', () => {
  const tmp = tempDir('gantry-tcp-health-');
  const servers: Record<string, TcpServer> = {};
  let g: GantryProcess;
  // A server that keeps connections open and greets them, for inFlightConn.
  const held: net.Socket[] = [];
  const holder = { server: net.createServer((s) => (held.push(s), s.write('held\n'))), port: 0 };

  before(async () => {
    await new Promise<void>((r) => holder.server.listen(0, '127.0.0.1', r));
    holder.port = (holder.server.address() as net.AddressInfo).port;
    for (const n of ['a', 'b', 'c']) {
      servers[n] = new TcpServer(n);
      await servers[n].start();
    }
    const hc = '{ send: PING, expect: PONG, interval: 100ms, timeout: 1s }';
    const file = path.join(tmp.dir, 'tcp.yaml');
    fs.writeFileSync(
      file,
      `tcp:
  routers:
    lb: { rule: "HostSNI(\`*\`)", service: ab, entryPoints: [lb] }
    w: { rule: "HostSNI(\`*\`)", service: w, entryPoints: [w] }
    deny: { rule: "HostSNI(\`*\`)", service: conly, entryPoints: [deny], middlewares: [lan-only] }
    one: { rule: "HostSNI(\`*\`)", service: hold, entryPoints: [one], middlewares: [loopback, one-each] }
  middlewares:
    lan-only: { ipAllowList: { sourceRange: ["10.0.0.0/8"] } }
    loopback: { ipWhiteList: { sourceRange: ["127.0.0.0/8"] } }
    one-each: { inFlightConn: { amount: 1 } }
  services:
    hold: { loadBalancer: { servers: [{ address: "127.0.0.1:${holder.port}" }] } }
    ab:
      loadBalancer:
        healthCheck: ${hc}
        servers: [{ address: "127.0.0.1:${servers.a!.port}" }, { address: "127.0.0.1:${servers.b!.port}" }]
    conly:
      loadBalancer:
        healthCheck: ${hc}
        servers: [{ address: "127.0.0.1:${servers.c!.port}" }]
    w:
      weighted:
        healthCheck: {}
        services: [{ name: ab, weight: 1 }, { name: conly, weight: 1 }]
`,
    );
    const eps = ['lb', 'w', 'deny', 'one'];
    g = await startGantry([...eps.map((e) => `--entrypoints.${e}.address=127.0.0.1:0`), '--api.address=127.0.0.1:0', `--providers.file.filename=${file}`], { entrypoints: eps });
  });

  after(async () => {
    await g.stop();
    held.forEach((s) => s.destroy());
    await new Promise<void>((r) => holder.server.close(() => r()));
    await Promise.all(Object.values(servers).map((s) => s.close()));
    tmp.cleanup();
  });

  it('a server that fails its check gets no connections until it passes again', async () => {
    assert.deepEqual(await names(g.port('lb'), 6), ['a', 'b']);
    servers.a!.healthy = false;
    await g.waitForLog((l) => l.msg === 'tcp health check: server is DOWN' && String(l['address']).endsWith(`:${servers.a!.port}`));
    assert.deepEqual(await names(g.port('lb'), 6), ['b']);
    servers.a!.healthy = true;
    await waitFor(async () => (await names(g.port('lb'), 6)).join() === 'a,b', 5000);
  });

  it('a weighted TCP service skips a child with no healthy server', async () => {
    assert.deepEqual(await names(g.port('w'), 8), ['a', 'b', 'c']);
    servers.c!.healthy = false;
    await waitFor(async () => (await names(g.port('w'), 8)).join() === 'a,b', 5000);
    servers.c!.healthy = true;
    await waitFor(async () => (await names(g.port('w'), 8)).join() === 'a,b,c', 5000);
  });

  it('ipAllowList closes connections from outside its ranges', async () => {
    // Closed before any greeting: the client sees the close, or a reset of the bytes it sent.
    assert.ok(['closed', 'error'].includes(await talk(g.port('deny'))));
  });

  it('inFlightConn allows `amount` open connections per client IP', async () => {
    const first = net.connect({ host: '127.0.0.1', port: g.port('one') });
    try {
      await new Promise<void>((resolve) => first.once('data', () => resolve()));
      // The second, while the first is open, is closed at once.
      const second = await new Promise<string>((resolve) => {
        const s = net.connect({ host: '127.0.0.1', port: g.port('one') });
        let got = '';
        s.setEncoding('utf8').on('data', (d: string) => (got += d));
        s.on('error', () => resolve('error'));
        s.on('close', () => resolve(got === '' ? 'closed' : got));
      });
      assert.equal(second, 'closed');
    } finally {
      first.destroy();
    }
    // Once the first is gone, another may come.
    await waitFor(async () => {
      const s = net.connect({ host: '127.0.0.1', port: g.port('one') });
      const greeted = await new Promise<boolean>((resolve) => {
        s.once('data', () => resolve(true));
        s.once('close', () => resolve(false));
        s.on('error', () => resolve(false));
      });
      s.destroy();
      return greeted;
    }, 5000);
  });
});
