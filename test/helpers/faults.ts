/**
 * Misbehaving servers for fault tests, all on 127.0.0.1.
 *
 * blackholePort: a port where a TCP connect hangs (no SYN-ACK), the one fault loopback cannot
 * produce by itself. A listening socket with a backlog of 0 whose one queue slot is taken and
 * which never accepts makes the kernel drop further SYNs; Node accepts by itself, so a small
 * python3 process holds the socket.
 *
 * faultServer: a raw server that answers each connection as its request path says (see FAULTS).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import net from 'node:net';

const BLACKHOLE = `
import socket, sys
s = socket.socket(); s.bind(('127.0.0.1', 0)); s.listen(0)
c = socket.socket(); c.connect(s.getsockname())
print(s.getsockname()[1], flush=True)
sys.stdin.read()
`;

export async function blackholePort(): Promise<{ port: number; close(): void }> {
  const proc: ChildProcess = spawn('python3', ['-c', BLACKHOLE], { stdio: ['pipe', 'pipe', 'inherit'] });
  const port = await new Promise<number>((resolve, reject) => {
    proc.once('error', reject);
    proc.stdout!.once('data', (d: Buffer) => resolve(Number(d.toString().trim())));
  });
  return { port, close: () => proc.kill('SIGKILL') };
}

/** What the fault server does for a request path. */
export const FAULTS: Record<string, (s: net.Socket) => void> = {
  '/ok': (s) => s.write('HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok'),
  '/reset-before-head': (s) => s.resetAndDestroy(),
  '/reset-after-head': (s) => {
    s.write('HTTP/1.1 200 OK\r\ncontent-length: 100\r\n\r\nabc');
    setTimeout(() => s.resetAndDestroy(), 50);
  },
  '/close-mid-body': (s) => s.end('HTTP/1.1 200 OK\r\ncontent-length: 100\r\n\r\n0123456789'),
  '/close-mid-chunk': (s) => s.end('HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n10\r\n0123'),
  '/slow-head': (s) => {
    setTimeout(() => s.writable && s.write('HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok'), 2000);
  },
  '/slow-body': (s) => {
    s.write('HTTP/1.1 200 OK\r\ncontent-length: 5\r\n\r\n');
    let i = 0;
    const t = setInterval(() => {
      if (!s.writable || i === 5) return clearInterval(t);
      s.write(String(i++));
    }, 100);
  },
  '/garbage-status': (s) => s.end('HTTP/1.1 abc def\r\n\r\n'),
  '/not-http': (s) => s.end('SSH-2.0-OpenSSH_9.2\r\n'),
  '/oversized-head': (s) => s.end(`HTTP/1.1 200 OK\r\nx-big: ${'a'.repeat(200_000)}\r\ncontent-length: 2\r\n\r\nok`),
  '/two-content-lengths': (s) => s.end('HTTP/1.1 200 OK\r\ncontent-length: 2\r\ncontent-length: 3\r\n\r\nokk'),
  '/cl-and-te': (s) => s.end('HTTP/1.1 200 OK\r\ncontent-length: 50\r\ntransfer-encoding: chunked\r\n\r\n2\r\nok\r\n0\r\n\r\n'),
  '/bad-chunk': (s) => s.end('HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\nzz\r\nok\r\n0\r\n\r\n'),
  // More body than Content-Length: the extra bytes must not become the next response.
  '/longer-than-cl': (s) => s.write('HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nokHTTP/1.1 200 OK\r\ncontent-length: 8\r\n\r\nsmuggled'),
  '/header-injection': (s) => s.end('HTTP/1.1 200 OK\r\nx-a: 1\rset-cookie: evil=1\r\ncontent-length: 2\r\n\r\nok'),
  '/no-answer-close': (s) => s.end(),
};

export interface FaultServer {
  port: number;
  url: string;
  /** Open connections (to see that none is left behind). */
  open: Set<net.Socket>;
  close(): Promise<void>;
}

/** faultServer reads each request head and runs FAULTS[path] (404 for an unknown path). */
export async function faultServer(): Promise<FaultServer> {
  const open = new Set<net.Socket>();
  const server = net.createServer((s) => {
    open.add(s);
    s.on('close', () => open.delete(s));
    s.on('error', () => {});
    let head = '';
    s.on('data', (d: Buffer) => {
      head += d.toString('latin1');
      let end: number;
      while ((end = head.indexOf('\r\n\r\n')) >= 0) {
        const line = head.slice(0, head.indexOf('\r\n'));
        head = head.slice(end + 4);
        const path = line.split(' ')[1] ?? '/';
        const fault = FAULTS[path.split('?')[0]!];
        if (fault) fault(s);
        else s.write('HTTP/1.1 404 Not Found\r\ncontent-length: 0\r\n\r\n');
      }
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as net.AddressInfo).port;
  return {
    port,
    url: `http://127.0.0.1:${port}`,
    open,
    close: () =>
      new Promise<void>((r) => {
        for (const s of open) s.destroy();
        server.close(() => r());
      }),
  };
}
