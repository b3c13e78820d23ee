#!/usr/bin/env node
// backend.js: the test bed's upstream server. It answers every request with JSON
// {name, hostname, port, method, url, headers} and the header `x-backend: name:port`; /healthz answers `ok`.
// The port is argv[2], else PORT_BASE+SLOT (Swarm replicas on the host network cannot share a port, so a
// service passes PORT_BASE and SLOT={{.Task.Slot}}), else PORT, else 3000. HOST defaults to 127.0.0.1.
//   node scripts/testbed/backend.js 18090          NAME=web1 PORT=18090 node scripts/testbed/backend.js
// ESM: the repository's package.json says "type": "module", and the image ships /app/package.json saying the same.
import http from 'node:http';
import os from 'node:os';

const env = process.env;
const port = Number(process.argv[2]) ||
  (env.PORT_BASE ? Number(env.PORT_BASE) + Number(env.SLOT || 0) : 0) ||
  Number(env.PORT) || 3000;
const host = env.HOST || '127.0.0.1';
const name = env.NAME || os.hostname();

const server = http.createServer((req, res) => {
  if (req.url === '/healthz') {
    res.writeHead(200, { 'content-type': 'text/plain' });
    res.end('ok\n');
    return;
  }
  const body = JSON.stringify({ name, hostname: os.hostname(), port, method: req.method, url: req.url, headers: req.headers });
  res.writeHead(200, { 'content-type': 'application/json', 'x-backend': `${name}:${port}` });
  res.end(body + '\n');
});

server.listen(port, host, () => {
  console.log(`backend ${name} listening on http://${host}:${port}`);
});

// As PID 1 in a container Node gets no default signal handling, so without this `docker stop` waits 10 s.
for (const sig of ['SIGTERM', 'SIGINT']) {
  process.on(sig, () => {
    server.close(() => process.exit(0));
    server.closeAllConnections();
    setTimeout(() => process.exit(0), 300).unref();
  });
}
