/**
 * Client faults through the real entrypoint: a client that aborts mid-upload or mid-download
 * frees its server connection; slowloris, slow POST and slow read (Debian's slowhttptest, 300
 * connections each) do not keep other clients from being served; pipelined requests are answered
 * in order; `Expect: 100-continue` gets its 100 and its body forwarded.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import type { IncomingMessage, ServerResponse } from 'node:http';
import net from 'node:net';
import { startBackend, startWithFile, waitFor, type Backend, type GantryProcess, stopsAtOnce } from '../helpers/gantry.js';
import { get } from '../helpers/http.js';

function percentile(values: number[], p: number): number {
  const s = [...values].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]!;
}

/** slowhttptest runs one attack for `seconds` and returns its last status block, colours removed. */
function slowhttptest(mode: string[], url: string, seconds: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const args = [...mode, '-c', '300', '-i', '1', '-r', '150', '-l', String(seconds), '-p', '2', '-u', url];
    execFile('slowhttptest', args, { timeout: (seconds + 20) * 1000 }, (err, stdout) => {
      if (err !== null && (err as NodeJS.ErrnoException).code === 'ENOENT') return reject(new Error('slowhttptest is not installed: run scripts/testbed/install.sh'));
      const text = stdout.replace(/\x1b\[[0-9;]*m/g, '');
      resolve(text.slice(text.lastIndexOf('slow HTTP test status')));
    });
  });
}

function count(report: string, field: string): number {
  return Number(new RegExp(`${field}:\\s+(\\d+)`).exec(report)?.[1] ?? NaN);
}

describe('client faults', { timeout: 120_000 }, () => {
  let g: GantryProcess;
  let cleanup: () => Promise<void>;
  let app: Backend;
  /** Requests the backend saw end, and how: complete, or aborted by Gantry. */
  const ends: Array<{ url: string; complete: boolean }> = [];
  const responses: Array<{ url: string; res: ServerResponse; closed: boolean }> = [];

  before(async () => {
    app = await startBackend('app', (req: IncomingMessage, res: ServerResponse) => {
      if (req.url === '/download') {
        const entry = { url: req.url, res, closed: false };
        responses.push(entry);
        res.on('close', () => (entry.closed = true));
        res.writeHead(200, { 'content-length': String(100 << 20) });
        const chunk = Buffer.alloc(64 << 10, 0x61);
        const pump = () => {
          while (!res.destroyed && res.write(chunk));
          if (!res.destroyed) res.once('drain', pump);
        };
        pump();
        return;
      }
      // Everything else reads the whole body before answering (a slow POST must be cut by Gantry).
      let n = 0;
      req.on('data', (c: Buffer) => (n += c.length));
      req.on('close', () => ends.push({ url: req.url ?? '', complete: req.complete }));
      req.on('end', () => res.end(`${req.url} got ${n}`));
    });
    const yaml = `http:
  routers:
    app: { rule: Host(\`127.0.0.1\`) || Host(\`c.test\`), service: app }
  services:
    app: { loadBalancer: { servers: [{ url: "${app.url}" }] } }
`;
    ({ g, cleanup } = await startWithFile(yaml, ['--entrypoints.web.transport.respondingTimeouts.readTimeout=3s', '--metrics.prometheus=true']));
  });
  after(async () => {
    for (const r of responses) r.res.destroy();
    await cleanup?.();
    await app?.close();
  });

  it('aborts the server request when the client leaves mid-upload', async () => {
    const s = net.connect(g.port(), '127.0.0.1');
    s.on('error', () => {});
    s.write(`POST /upload-abort HTTP/1.1\r\nHost: c.test\r\nContent-Length: ${10 << 20}\r\n\r\n`);
    s.write(Buffer.alloc(1 << 20, 0x62));
    await waitFor(() => app.seen.some((r) => r.url === '/upload-abort'), 3000);
    s.destroy();
    await waitFor(() => ends.some((e) => e.url === '/upload-abort'), 3000, () => 'the server request is still open');
    assert.equal(ends.find((e) => e.url === '/upload-abort')!.complete, false, 'the server never takes a cut body as whole');
  });

  it('closes the server response when the client leaves mid-download', async () => {
    const s = net.connect(g.port(), '127.0.0.1');
    s.on('error', () => {});
    let got = 0;
    s.on('data', (d: Buffer) => {
      got += d.length;
      if (got > 1 << 20) s.destroy();
    });
    s.write('GET /download HTTP/1.1\r\nHost: c.test\r\n\r\n');
    await waitFor(() => responses.length > 0 && responses.at(-1)!.closed, 5000, () => `the server response is still open (client read ${got} bytes)`);
  });

  const openConnections = async (): Promise<number> => {
    const text = (await get(g.api('/metrics'))).body;
    return Number(/^gantry_open_connections\{entrypoint="web"\} (\d+)/m.exec(text)?.[1] ?? 0);
  };

  const attacks = [
    { desc: 'slowloris (slow headers)', mode: ['-H'], path: '/', cutByGantry: true },
    { desc: 'slow POST (slow body)', mode: ['-B'], path: '/upload', cutByGantry: true },
    { desc: 'slow read (small window)', mode: ['-X', '-w', '1', '-y', '4', '-n', '2', '-z', '4', '-k', '3'], path: '/', cutByGantry: false },
  ];
  for (const a of attacks) {
    it(`keeps serving other clients during ${a.desc}`, async () => {
      const attack = slowhttptest(a.mode, `http://127.0.0.1:${g.port()}${a.path}`, 6);
      const latencies: number[] = [];
      const failures: string[] = [];
      // Measure once the attack holds its connections.
      await waitFor(async () => (await openConnections()) >= 150, 10_000, () => 'the attack did not get its connections up');
      const until = Date.now() + 3500;
      while (Date.now() < until) {
        const t = performance.now();
        const r = await get(g.url('/probe'), { host: 'c.test' }).catch((e: Error) => ({ status: 0, body: e.message }));
        latencies.push(performance.now() - t);
        if (r.status !== 200) failures.push(`${r.status} ${r.body}`);
      }
      const report = await attack;
      const p99 = percentile(latencies, 99);
      process.stderr.write(`${a.desc}: slowhttptest connected ${count(report, 'connected')}, closed ${count(report, 'closed')}, error ${count(report, 'error')}; other client ${latencies.length} requests, p99 ${p99.toFixed(1)} ms, failures ${failures.length}\n`);
      assert.match(report, /service available:\s+YES/);
      assert.deepEqual(failures, []);
      assert.ok(p99 < 250, `other clients' p99 ${p99.toFixed(1)} ms`);
      if (a.cutByGantry) assert.ok(count(report, 'closed') > 0, `Gantry closed none of the slow connections:\n${report}`);
    });
  }

  it('answers pipelined requests in order', async () => {
    const s = net.connect(g.port(), '127.0.0.1');
    let raw = '';
    s.on('data', (d: Buffer) => (raw += d.toString('latin1')));
    const closed = new Promise<void>((r) => s.once('close', () => r()));
    s.write(['/p1', '/p2', '/p3'].map((p, i) => `GET ${p} HTTP/1.1\r\nHost: c.test\r\n${i === 2 ? 'Connection: close\r\n' : ''}\r\n`).join(''));
    await closed;
    assert.deepEqual([...raw.matchAll(/(\/p\d) got 0/g)].map((m) => m[1]), ['/p1', '/p2', '/p3']);
  });

  it('sends 100 Continue to Expect: 100-continue and forwards the body', async () => {
    const s = net.connect(g.port(), '127.0.0.1');
    let raw = '';
    s.on('data', (d: Buffer) => (raw += d.toString('latin1')));
    s.write('POST /expect HTTP/1.1\r\nHost: c.test\r\nContent-Length: 5\r\nExpect: 100-continue\r\nConnection: close\r\n\r\n');
    await waitFor(() => raw.startsWith('HTTP/1.1 100'), 3000, () => `no 100 Continue: ${JSON.stringify(raw)}`);
    s.write('hello');
    await new Promise<void>((r) => s.once('close', () => r()));
    assert.match(raw, /HTTP\/1\.1 200[^]*\/expect got 5/);
  });

  it('leaves no request in flight: SIGTERM exits at once', async () => {
    const r = await stopsAtOnce(g);
    assert.equal(r.code, 0);
    assert.equal(r.waitedForGrace, false, 'the drain waited for its grace period: a request was still counted in flight');
    assert.ok(r.ms < 3000, `exited ${r.ms} ms after SIGTERM`);
  });
});
