/**
 * FakeDocker answers the few Docker Engine API calls the providers make, on a unix socket, from
 * in-memory state; tests push events and can drop the socket to simulate a daemon restart.
 */
import { createServer, type Server, type ServerResponse } from 'node:http';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Socket } from 'node:net';
import type { ContainerInspect, DockerEvent } from './types.js';

export class FakeDocker {
  readonly dir = mkdtempSync(join(tmpdir(), 'gfd-'));
  readonly socket = join(this.dir, 'd.sock');
  containers = new Map<string, ContainerInspect>();
  calls: string[] = [];
  /** HTTP methods seen: the providers must work behind a GET-only socket proxy. */
  methods = new Set<string>();
  /** API-Version header of /_ping (none when empty) and ApiVersion of /version. */
  pingVersion = '1.41';
  apiVersion = '1.41';
  #server: Server | null = null;
  #streams = new Set<ServerResponse>();
  #sockets = new Set<Socket>();

  get endpoint(): string {
    return `unix://${this.socket}`;
  }

  /** port is set after listen({ tcp: true }). */
  port = 0;

  async listen(opts: { tcp?: boolean } = {}): Promise<void> {
    const server = createServer((req, res) => {
      const url = new URL(req.url ?? '/', 'http://d');
      this.calls.push(url.pathname);
      this.methods.add(req.method ?? '');
      if (url.pathname === '/_ping') {
        const h: Record<string, string> = { 'Content-Type': 'text/plain' };
        if (this.pingVersion) h['API-Version'] = this.pingVersion;
        res.writeHead(200, h).end('OK');
        return;
      }
      if (url.pathname === '/version') {
        res.writeHead(200, { 'Content-Type': 'application/json' }).end(JSON.stringify({ Version: '99.0', ApiVersion: this.apiVersion }));
        return;
      }
      const path = url.pathname.replace(/^\/v[\d.]+/, '');
      if (path === '/events') {
        res.writeHead(200, { 'Content-Type': 'application/json' });
        res.flushHeaders();
        this.#streams.add(res);
        res.on('close', () => this.#streams.delete(res));
        return;
      }
      if (path === '/containers/json') {
        const list = [...this.containers.values()].filter((c) => c.State?.Running !== false).map((c) => ({ Id: c.Id, Names: [c.Name], Labels: c.Config?.Labels }));
        res.writeHead(200, { 'Content-Type': 'application/json' }).end(JSON.stringify(list));
        return;
      }
      const m = /^\/containers\/([^/]+)\/json$/.exec(path);
      if (m) {
        const c = this.containers.get(decodeURIComponent(m[1]!));
        if (!c) res.writeHead(404, { 'Content-Type': 'application/json' }).end('{"message":"No such container"}');
        else res.writeHead(200, { 'Content-Type': 'application/json' }).end(JSON.stringify(c));
        return;
      }
      res.writeHead(404).end('{"message":"not found"}');
    });
    server.on('connection', (s) => {
      this.#sockets.add(s);
      s.on('close', () => this.#sockets.delete(s));
    });
    if (opts.tcp) {
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      this.port = (server.address() as { port: number }).port;
    } else {
      await new Promise<void>((resolve) => server.listen(this.socket, resolve));
    }
    this.#server = server;
  }

  /** event writes one event, split in two chunks to exercise the parser. */
  event(e: DockerEvent): void {
    const line = JSON.stringify(e) + '\n';
    const half = Math.floor(line.length / 2);
    for (const s of this.#streams) {
      s.write(line.slice(0, half));
      s.write(line.slice(half));
    }
  }

  get streams(): number {
    return this.#streams.size;
  }

  /** down closes the socket and every connection, as a dying daemon does. */
  async down(): Promise<void> {
    for (const s of this.#sockets) s.destroy();
    await new Promise<void>((resolve) => (this.#server ? this.#server.close(() => resolve()) : resolve()));
    this.#server = null;
  }

  async close(): Promise<void> {
    await this.down();
    rmSync(this.dir, { recursive: true, force: true });
  }
}

export function hostContainer(id: string, name: string, labels: Record<string, string>): ContainerInspect {
  return {
    Id: id,
    Name: `/${name}`,
    State: { Status: 'running', Running: true, Paused: false },
    Config: { Labels: labels, Env: [] },
    HostConfig: { NetworkMode: 'host' },
    NetworkSettings: { Ports: {}, Networks: { host: { IPAddress: '' } } },
  };
}

/** until polls cond every 5 ms until it holds or the deadline passes. */
export async function until(cond: () => boolean, ms: number, what: string): Promise<void> {
  const deadline = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}
