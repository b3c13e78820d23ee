/**
 * TCP load balancers' `healthCheck` (connect, send, expect) and `weighted` TCP services with
 * `healthCheck: {}`, through the real bin/gantry with plain TCP servers.
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

  before(async () => {
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
  services:
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
    g = await startGantry(['--entrypoints.lb.address=127.0.0.1:0', '--entrypoints.w.address=127.0.0.1:0', '--api.address=127.0.0.1:0', `--providers.file.filename=${file}`], { entrypoints: ['lb', 'w'] });
  });

  after(async () => {
    await g.stop();
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
});
