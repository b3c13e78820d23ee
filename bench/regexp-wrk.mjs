#!/usr/bin/env node
// regexp-wrk.mjs: what a regexp rule costs on the request path, through the real `gantry run`
// (docs/regexp.md). One Gantry worker per configuration, pinned to CPU 1; the backend and wrk
// (nginx) on CPU 0; everything on 127.0.0.1:19600–19699; each run bounded by wrk's duration.
//   node bench/regexp-wrk.mjs            (needs a built dist/, wrk and nginx)
// Configurations, all routing GET /api/v2/users/12345 to one backend:
//   prefix      PathPrefix(`/api/`)
//   regexp      PathRegexp(`^/api/v[0-9]+/users/[0-9]+$`)
//   prefix-50   the PathPrefix target behind 49 higher-priority PathPrefix routers that do not match
//   regexp-50   the PathRegexp target behind 49 higher-priority unanchored PathRegexp routers that
//               do not match, refused by their required literal (/svc7/[0-9]+$ needs "/svc7/")
//   regexp-50-engine  the same behind 49 that the engine must run: ^/api/v[0-9]+/users/[0-9]+/x7$
//               (prefix and longest literal are in the path, the match fails at the end)
import { spawn, execFile } from 'node:child_process';
import { promisify } from 'node:util';
import http from 'node:http';
import { mkdtempSync, writeFileSync, rmSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

const REPO = join(dirname(fileURLToPath(import.meta.url)), '..');
const HOST = '127.0.0.1';
const BACKEND_PORT = 19600;
const DURATION = process.env.DURATION ?? '8s';
const ROUNDS = Number(process.env.ROUNDS ?? 2);
const PATH = '/api/v2/users/12345';

const many = (n, make) => Array.from({ length: n }, (_, i) => make(i)).join('');
const configs = {
  prefix: '    t: { rule: "PathPrefix(`/api/`)", service: bk }\n',
  regexp: '    t: { rule: "PathRegexp(`^/api/v[0-9]+/users/[0-9]+$`)", service: bk }\n',
  'prefix-50': '    t: { rule: "PathPrefix(`/api/`)", service: bk }\n' + many(49, (i) => `    p${i}: { rule: "PathPrefix(\`/svc${i}/\`)", service: bk, priority: 100 }\n`),
  'regexp-50': '    t: { rule: "PathRegexp(`^/api/v[0-9]+/users/[0-9]+$`)", service: bk }\n' + many(49, (i) => `    r${i}: { rule: "PathRegexp(\`/svc${i}/[0-9]+$\`)", service: bk, priority: 100 }\n`),
  'regexp-50-engine': '    t: { rule: "PathRegexp(`^/api/v[0-9]+/users/[0-9]+$`)", service: bk }\n' + many(49, (i) => `    r${i}: { rule: "PathRegexp(\`^/api/v[0-9]+/users/[0-9]+/x${i}$\`)", service: bk, priority: 100 }\n`),
};

const tmp = mkdtempSync(join(tmpdir(), 'gantry-regexp-wrk-'));
const procs = [];

// The backend: nginx answering 200 "ok" (as bench/run.mjs does), so that Gantry is the bottleneck.
function startNginx() {
  const conf = join(tmp, 'nginx.conf');
  writeFileSync(conf, `daemon off;\nworker_processes 1;\npid ${tmp}/nginx.pid;\nerror_log ${tmp}/nginx-error.log;\nevents { worker_connections 4096; }\nhttp {\n  access_log off;\n  client_body_temp_path ${tmp};\n  proxy_temp_path ${tmp};\n  fastcgi_temp_path ${tmp};\n  uwsgi_temp_path ${tmp};\n  scgi_temp_path ${tmp};\n  keepalive_requests 1000000;\n  server {\n    listen ${HOST}:${BACKEND_PORT};\n    location / { return 200 "ok\\n"; }\n  }\n}\n`);
  const p = spawn('taskset', ['-c', '0', 'nginx', '-c', conf, '-p', tmp], { stdio: 'ignore' });
  procs.push(p);
}
function startGantry(name, port) {
  const file = join(tmp, `${name}.yaml`);
  writeFileSync(file, `http:\n  routers:\n${configs[name]}  services:\n    bk:\n      loadBalancer:\n        servers:\n          - url: "http://${HOST}:${BACKEND_PORT}"\n`);
  const args = ['-c', '1', process.execPath, join(REPO, 'bin/gantry'), 'run', `--entrypoints.web.address=${HOST}:${port}`, `--api.address=${HOST}:${port + 50}`, `--providers.file.filename=${file}`, '--log.level=ERROR', '--workers=1'];
  const p = spawn('taskset', args, { cwd: tmp, stdio: 'ignore' });
  procs.push(p);
  return p;
}

async function ready(port) {
  for (let i = 0; i < 200; i++) {
    const ok = await new Promise((resolve) => {
      http.get({ host: HOST, port, path: PATH }, (res) => {
        res.resume();
        resolve(res.statusCode === 200);
      }).on('error', () => resolve(false));
    });
    if (ok) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`gantry on ${port} did not answer 200`);
}

/** CPU time (user + system, in clock ticks of 10 ms) the process has used so far. */
function cpuTicks(pid) {
  const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return Number(f[11]) + Number(f[12]);
}

// CPU µs per request is the figure to compare on a shared machine: req/s moves with the load
// other processes put on Gantry's CPU, its CPU time per request much less.
async function wrk(port, pid) {
  const before = cpuTicks(pid);
  const { stdout: out } = await promisify(execFile)('taskset', ['-c', '0', 'wrk', '-t1', '-c50', `-d${DURATION}`, '--latency', `http://${HOST}:${port}${PATH}`], { encoding: 'utf8', timeout: 120_000 });
  const rps = Number(/Requests\/sec:\s+([\d.]+)/.exec(out)?.[1]);
  const pct = {};
  for (const m of out.matchAll(/(\d+)%\s+([\d.]+)(us|ms|s)/g)) pct[m[1]] = Number(m[2]) * (m[3] === 'us' ? 0.001 : m[3] === 's' ? 1000 : 1);
  if (/Non-2xx/.test(out)) throw new Error(`non-2xx answers on ${port}:\n${out}`);
  const requests = Number(/(\d+) requests in/.exec(out)?.[1]);
  return { rps, p50: pct['50'], p99: pct['99'], cpuUs: ((cpuTicks(pid) - before) * 10_000) / requests };
}

const names = Object.keys(configs);
const ports = Object.fromEntries(names.map((n, i) => [n, 19610 + i]));
try {
  startNginx();
  const pids = {};
  for (const n of names) pids[n] = startGantry(n, ports[n]).pid;
  for (const n of names) await ready(ports[n]);
  const results = Object.fromEntries(names.map((n) => [n, []]));
  for (let r = 0; r < ROUNDS; r++) for (const n of names) results[n].push(await wrk(ports[n], pids[n]));
  console.log(`wrk -t1 -c50 -d${DURATION}, ${ROUNDS} rounds interleaved, GET ${PATH}; one Gantry worker on CPU 1\n`);
  console.log('| configuration | CPU µs/request (each round) | req/s | p50 ms | p99 ms |');
  console.log('| --- | --- | --- | --- | --- |');
  for (const n of names) {
    const rs = results[n];
    console.log(`| ${n} | ${rs.map((x) => x.cpuUs.toFixed(1)).join(', ')} | ${rs.map((x) => x.rps.toFixed(0)).join(', ')} | ${rs.map((x) => x.p50.toFixed(2)).join(', ')} | ${rs.map((x) => x.p99.toFixed(2)).join(', ')} |`);
  }
} finally {
  for (const p of procs) p.kill('SIGTERM');
  await new Promise((r) => setTimeout(r, 500));
  rmSync(tmp, { recursive: true, force: true });
}
