#!/usr/bin/env node
// undici-pool-proxy.mjs: the baseline of issue 8 — the "ordinary" Node reverse proxy design, a
// node:http server in front of an undici Pool driven through `dispatch` (≈0.34× nginx in the
// issue's table). Gantry's target is ≥ 1.5× this, measured in the same run, so it is kept as
// written: per-request closures and header objects, no tricks. It is a benchmark baseline, not a
// product: one upstream, hop-by-hop headers stripped, X-Forwarded-For added, 502 on errors.
//   node bench/baseline/undici-pool-proxy.mjs --listen=127.0.0.1:19006 --upstream=http://127.0.0.1:19000
import http from 'node:http';
import { Pool } from 'undici';

const arg = (name, def) => {
  const a = process.argv.find((x) => x.startsWith(`--${name}=`));
  return a ? a.slice(name.length + 3) : def;
};
const listen = arg('listen', '127.0.0.1:19006');
const upstream = arg('upstream', 'http://127.0.0.1:19000');
const [host, port] = [listen.slice(0, listen.lastIndexOf(':')), Number(listen.slice(listen.lastIndexOf(':') + 1))];

const HOP = new Set(['connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'te', 'trailer', 'upgrade', 'proxy-authorization', 'proxy-authenticate']);

const pool = new Pool(upstream, { pipelining: 1, keepAliveTimeout: 60_000, keepAliveMaxTimeout: 300_000 });

const server = http.createServer({ keepAliveTimeout: 300_000, requestTimeout: 0 }, (req, res) => {
  const headers = {};
  for (const [k, v] of Object.entries(req.headers)) if (!HOP.has(k)) headers[k] = v;
  const xff = req.headers['x-forwarded-for'];
  headers['x-forwarded-for'] = xff ? `${xff}, ${req.socket.remoteAddress}` : req.socket.remoteAddress;
  const hasBody = req.headers['content-length'] !== undefined || req.headers['transfer-encoding'] !== undefined;
  let responded = false;
  pool.dispatch(
    { path: req.url, method: req.method, headers, body: hasBody ? req : null },
    {
      onRequestStart() {},
      onResponseStart(controller, statusCode, resHeaders) {
        if (statusCode < 200) return;
        responded = true;
        const out = {};
        for (const [k, v] of Object.entries(resHeaders)) if (!HOP.has(k)) out[k] = v;
        res.writeHead(statusCode, out);
      },
      onResponseData(controller, chunk) {
        if (!res.write(chunk)) {
          controller.pause();
          res.once('drain', () => controller.resume());
        }
      },
      onResponseEnd() {
        res.end();
      },
      onResponseError(controller, err) {
        if (responded) return res.destroy(err);
        res.writeHead(502, { 'content-type': 'text/plain' });
        res.end(`bad gateway: ${err.code ?? err.message}\n`);
      },
    },
  );
});

server.listen(port, host, () => process.stdout.write(`undici-pool-proxy on http://${listen} -> ${upstream}\n`));
// A benchmark process: nothing to drain, so a signal ends it at once.
const stop = () => process.exit(0);
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
