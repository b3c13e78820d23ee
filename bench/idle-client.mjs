#!/usr/bin/env node
// idle-client.mjs: opens N keep-alive connections to a proxy on 127.0.0.1, sends one GET on each,
// reads the whole response, and then holds every connection open and idle, so the harness can read
// the proxy's RSS. It talks to the harness over stdio, one JSON line per event:
//   stdout {"event":"ready",...}   once every connection has its answer (or failed)
//   stdin  "report"   →  stdout {"event":"report","open":N,...}   connections still open now
//   stdin  "exit" (or stdin closed, or --max-seconds passed)  →  reset every socket and exit
//   node bench/idle-client.mjs --port=19004 --count=10000 --host=bench.local
import net from 'node:net';
import { createInterface } from 'node:readline';

const arg = (name, def) => {
  const a = process.argv.find((x) => x.startsWith(`--${name}=`));
  return a ? a.slice(name.length + 3) : def;
};
const port = Number(arg('port', '19004'));
const count = Number(arg('count', '10000'));
const concurrency = Number(arg('concurrency', '256'));
const vhost = arg('host', 'bench.local');
const maxSeconds = Number(arg('max-seconds', '180'));
const REQUEST = Buffer.from(`GET / HTTP/1.1\r\nHost: ${vhost}\r\nUser-Agent: gantry-bench-idle\r\n\r\n`);

const sockets = new Set();
let started = 0;
let responded = 0;
let failed = 0;
let closedAfterAnswer = 0;
let non200 = 0;
let firstError = null;
let readyAt = 0;
const t0 = Date.now();

/** responseComplete tells from the bytes so far whether one whole response has arrived. */
function responseComplete(buf) {
  const end = buf.indexOf('\r\n\r\n');
  if (end < 0) return false;
  const head = buf.subarray(0, end).toString('latin1').toLowerCase();
  const cl = /\r\ncontent-length:\s*(\d+)/.exec(head);
  if (cl) return buf.length - end - 4 >= Number(cl[1]);
  if (/\r\ntransfer-encoding:\s*chunked/.test(head)) return buf.subarray(end).includes('\r\n0\r\n\r\n');
  return true;
}

function openOne() {
  started++;
  const s = net.connect({ host: '127.0.0.1', port });
  let buf = Buffer.alloc(0);
  let answered = false;
  let settled = false;
  const settle = (ok, err) => {
    if (settled) return;
    settled = true;
    if (ok) responded++;
    else {
      failed++;
      firstError ??= err;
      sockets.delete(s);
    }
    next();
  };
  sockets.add(s);
  s.setNoDelay(true);
  s.on('connect', () => s.write(REQUEST));
  s.on('data', (d) => {
    if (answered) return;
    buf = Buffer.concat([buf, d]);
    if (responseComplete(buf)) {
      if (buf.toString('latin1', 9, 12) !== '200') non200++;
      answered = true;
      buf = null;
      settle(true);
    }
  });
  s.on('error', (e) => settle(false, e.code ?? e.message));
  s.on('close', () => {
    if (!answered) settle(false, 'closed before the answer');
    else if (sockets.delete(s)) closedAfterAnswer++;
  });
}

function next() {
  if (started < count) openOne();
  else if (responded + failed === count && readyAt === 0) {
    readyAt = Date.now();
    emit({ event: 'ready', requested: count, responded, non200, failed, firstError, ms: readyAt - t0 });
  }
}

function emit(o) {
  process.stdout.write(JSON.stringify(o) + '\n');
}

function finish() {
  for (const s of sockets) s.resetAndDestroy(); // RST: no TIME_WAIT left behind on the port range
  process.exit(0);
}

for (let i = 0; i < Math.min(concurrency, count); i++) openOne();
createInterface({ input: process.stdin }).on('line', (line) => {
  if (line.trim() === 'report') emit({ event: 'report', open: sockets.size, closedAfterAnswer, responded, failed, firstError });
  else if (line.trim() === 'exit') finish();
}).on('close', finish);
setTimeout(finish, maxSeconds * 1000).unref();
