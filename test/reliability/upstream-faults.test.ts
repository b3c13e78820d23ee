/**
 * Upstream faults through the real entrypoint: for each way a server can fail, the answer the
 * client gets, and nothing hanging — every exchange ends within its bound, a response cut short is
 * never passed on as complete, and bytes a server sends past its response never reach the next
 * client. The table is printed.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { freePort, startBackend, startWithFile, type Backend, type GantryProcess, stopsAtOnce } from '../helpers/gantry.js';
import { blackholePort, faultServer, type FaultServer } from '../helpers/faults.js';

interface Outcome {
  status: number;
  /** The response was complete by its own framing, or cut short. */
  complete: boolean;
  body: string;
  ms: number;
}

/** exchange sends one request (Connection: close) and reads until the connection closes, bounded. */
function exchange(port: number, host: string, path: string, timeoutMs = 5000): Promise<Outcome & { raw: string; timedOut: boolean }> {
  return new Promise((resolve) => {
    const t0 = performance.now();
    const s = net.connect(port, '127.0.0.1');
    let raw = '';
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      s.destroy();
    }, timeoutMs);
    s.on('data', (d: Buffer) => (raw += d.toString('latin1')));
    s.on('error', () => {});
    s.on('close', () => {
      clearTimeout(timer);
      resolve({ ...parse(raw), raw, timedOut, ms: performance.now() - t0 });
    });
    s.write(`GET ${path} HTTP/1.1\r\nHost: ${host}\r\nConnection: close\r\n\r\n`);
  });
}

/** parse reads one response: its status, and whether its body is complete by Content-Length or chunked framing. */
function parse(raw: string): Omit<Outcome, 'ms'> {
  const end = raw.indexOf('\r\n\r\n');
  if (end < 0) return { status: 0, complete: false, body: '' };
  const head = raw.slice(0, end).toLowerCase();
  const status = Number(/^http\/1\.1 (\d{3})/.exec(head)?.[1] ?? 0);
  const rest = raw.slice(end + 4);
  const cl = /\r\ncontent-length: *(\d+)/.exec(head);
  if (cl) {
    const n = Number(cl[1]);
    return { status, complete: rest.length >= n, body: rest.slice(0, n) };
  }
  if (/\r\ntransfer-encoding: *chunked/.test(head)) {
    let body = '';
    let pos = 0;
    for (;;) {
      const nl = rest.indexOf('\r\n', pos);
      if (nl < 0) return { status, complete: false, body };
      const size = parseInt(rest.slice(pos, nl), 16);
      if (Number.isNaN(size)) return { status, complete: false, body };
      if (size === 0) return { status, complete: rest.indexOf('\r\n\r\n', nl - 2) >= 0 || rest.endsWith('\r\n'), body };
      if (rest.length < nl + 2 + size + 2) return { status, complete: false, body: body + rest.slice(nl + 2) };
      body += rest.slice(nl + 2, nl + 2 + size);
      pos = nl + 2 + size + 2;
    }
  }
  return { status, complete: true, body: rest };
}

type Expect = { status: number; body?: string } | 'cut';
const cases: Array<{ desc: string; server?: 'refused' | 'hole'; path: string; expect: Expect | Expect[] }> = [
  { desc: 'server refuses the connection', server: 'refused', path: '/', expect: { status: 502 } },
  { desc: 'connect never completes (dialTimeout 300ms)', server: 'hole', path: '/', expect: { status: 504 } },
  { desc: 'reset before the head', path: '/reset-before-head', expect: { status: 502 } },
  { desc: 'closed without an answer', path: '/no-answer-close', expect: { status: 502 } },
  { desc: 'reset after the head', path: '/reset-after-head', expect: 'cut' },
  { desc: 'closed mid-body (Content-Length)', path: '/close-mid-body', expect: 'cut' },
  { desc: 'closed mid-chunk', path: '/close-mid-chunk', expect: 'cut' },
  { desc: 'slow head (responseHeaderTimeout 500ms)', path: '/slow-head', expect: { status: 504 } },
  { desc: 'slow body', path: '/slow-body', expect: { status: 200, body: '01234' } },
  { desc: 'garbage status line', path: '/garbage-status', expect: { status: 502 } },
  { desc: 'not HTTP at all', path: '/not-http', expect: { status: 502 } },
  { desc: 'oversized head (200 KB)', path: '/oversized-head', expect: { status: 502 } },
  { desc: 'two different Content-Length', path: '/two-content-lengths', expect: { status: 502 } },
  { desc: 'Content-Length with Transfer-Encoding', path: '/cl-and-te', expect: { status: 502 } },
  { desc: 'CR inside a header value', path: '/header-injection', expect: { status: 502 } },
  // The fast lane still holds the head when the chunk breaks (502); node:http may have sent it (cut).
  { desc: 'malformed chunk size', path: '/bad-chunk', expect: [{ status: 502 }, 'cut'] },
];

describe('upstream faults', { timeout: 60_000 }, () => {
  let g: GantryProcess;
  let cleanup: () => Promise<void>;
  /** One fault server per case: passive health keeps each server's failures to itself. */
  const servers: FaultServer[] = [];
  let hole: { port: number; close(): void };
  let good: Backend;
  const table: string[] = [];

  before(async () => {
    hole = await blackholePort();
    const refused = await freePort();
    let routers = '';
    let services = '';
    for (const [i, c] of [...cases, { server: undefined }].entries()) {
      let url: string;
      if (c.server === 'refused') url = `http://127.0.0.1:${refused}`;
      else if (c.server === 'hole') url = `http://127.0.0.1:${hole.port}`;
      else {
        const f = await faultServer();
        servers.push(f);
        url = f.url;
      }
      routers += `    c${i}: { rule: Host(\`c${i}.test\`), service: c${i} }\n`;
      services += `    c${i}: { loadBalancer: { servers: [{ url: "${url}" }] } }\n`;
    }
    // A refusing server first, then a good one: every request that meets the first is retried.
    routers += '    retry: { rule: Host(`retry.test`), service: retry }\n';
    good = await startBackend('good');
    services += `    retry: { loadBalancer: { servers: [{ url: "http://127.0.0.1:${refused}" }, { url: "${good.url}" }] } }\n`;
    ({ g, cleanup } = await startWithFile(`http:\n  routers:\n${routers}  services:\n${services}`, ['--serversTransport.forwardingTimeouts.responseHeaderTimeout=500ms', '--serversTransport.forwardingTimeouts.dialTimeout=300ms']));
  });
  after(async () => {
    process.stderr.write(`upstream faults (fault → what the client got):\n${table.join('\n')}\n`);
    await cleanup?.();
    for (const f of servers) await f.close();
    hole?.close();
    await good?.close();
  });

  for (const [i, c] of cases.entries()) {
    it(`${c.desc}: ${JSON.stringify(c.expect)}`, async () => {
      const o = await exchange(g.port(), `c${i}.test`, c.path);
      const got = o.status === 0 ? 'no response' : `${o.status}${o.complete ? '' : ' (cut short)'}${o.body && o.status === 200 ? ` ${JSON.stringify(o.body.slice(0, 20))}` : ''}`;
      table.push(`  ${c.desc.padEnd(45)} → ${got}, ${o.ms.toFixed(0)} ms`);
      assert.equal(o.timedOut, false, `the exchange did not end: ${JSON.stringify(o.raw.slice(0, 200))}`);
      const wanted = Array.isArray(c.expect) ? c.expect : [c.expect];
      const ok = wanted.some((w) => (w === 'cut' ? o.status === 200 && !o.complete : o.status === w.status && o.complete && (w.body === undefined || o.body === w.body)));
      assert.ok(ok, `got ${got}: ${JSON.stringify(o.raw.slice(0, 300))}`);
    });
  }

  it('never passes bytes sent past a response on to the next request', async () => {
    const s = net.connect(g.port(), '127.0.0.1');
    let raw = '';
    s.on('data', (d: Buffer) => (raw += d.toString('latin1')));
    await new Promise<void>((r) => s.once('connect', () => r()));
    const host = `c${cases.length}.test`;
    s.write(`GET /longer-than-cl HTTP/1.1\r\nHost: ${host}\r\n\r\n`);
    const deadline = Date.now() + 3000;
    while (!raw.includes('\r\n\r\nok') && Date.now() < deadline) await new Promise((r) => setTimeout(r, 5));
    s.write(`GET /ok HTTP/1.1\r\nHost: ${host}\r\nConnection: close\r\n\r\n`);
    await new Promise<void>((r) => s.once('close', () => r()));
    const answers = [...raw.matchAll(/HTTP\/1\.1 (\d{3})[^]*?\r\n\r\n(ok|smuggled)?/g)].map((m) => `${m[1]} ${JSON.stringify(m[2] ?? '')}`);
    table.push(`  ${'extra bytes after Content-Length, then /ok'.padEnd(45)} → ${answers.join(', ')}`);
    assert.doesNotMatch(raw, /smuggled/);
    assert.equal(raw.match(/HTTP\/1\.1 200/g)?.length, 2, raw);
  });

  it('retries on both lanes and hands connections off, each request counted once', async () => {
    // Fast lane (plain GET), node:http (a chunked POST: its body is unread when the connect fails), and
    // a hand-off (two pipelined requests): with two servers in turn, some attempts meet the refusing one.
    const requests = [
      'GET /ok HTTP/1.1\r\nHost: retry.test\r\n\r\n',
      'POST /ok HTTP/1.1\r\nHost: retry.test\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nhi\r\n0\r\n\r\n',
      'GET /ok HTTP/1.1\r\nHost: retry.test\r\n\r\nGET /ok HTTP/1.1\r\nHost: retry.test\r\n\r\n',
    ];
    for (let round = 0; round < 4; round++) {
      for (const req of requests) {
        const s = net.connect(g.port(), '127.0.0.1');
        let raw = '';
        s.on('data', (d: Buffer) => (raw += d.toString('latin1')));
        s.on('error', () => {});
        s.write(req);
        const want = req.split('HTTP/1.1\r\n').length - 1;
        const deadline = Date.now() + 3000;
        while ((raw.match(/HTTP\/1\.1 200/g)?.length ?? 0) < want && Date.now() < deadline) await new Promise((r) => setTimeout(r, 5));
        s.destroy();
        assert.equal(raw.match(/HTTP\/1\.1 200/g)?.length ?? 0, want, `${JSON.stringify(req)} → ${JSON.stringify(raw)}`);
      }
    }
    table.push(`  ${'refused server, then a good one (both lanes)'.padEnd(45)} → 200 after a retry, ${requests.length * 4} exchanges`);
  });

  it('leaves no request in flight: SIGTERM exits at once', async () => {
    const r = await stopsAtOnce(g);
    assert.equal(r.code, 0);
    assert.equal(r.waitedForGrace, false, 'the drain waited for its grace period: a request was still counted in flight');
    assert.ok(r.ms < 3000, `exited ${r.ms} ms after SIGTERM`);
  });
});
