// soak.mjs: `npm run soak [-- --minutes 30] [-- --connections 50] [-- --reloads-per-second 10]` —
// a long run of Gantry under steady load, not part of CI. A keep-alive backend, Gantry (one worker)
// routing to it, wrk in 10-second slices (each slice's p99 read from `--latency`), and a REST-API
// reload every 1/r seconds that changes the route being loaded. Every 10 s it records Gantry's RSS,
// the slice's requests/s, p99 and errors; it prints a table and writes it as CSV under
// bench/results/soak-<date>.csv. Stops by itself after --minutes; Ctrl-C stops it early and still
// writes what was recorded. Ports 19100–19102 on 127.0.0.1.
import { spawn, execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import http from 'node:http';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const args = process.argv.slice(2);
const opt = (name, def) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? Number(args[i + 1]) : def;
};
const MINUTES = opt('minutes', 30);
const CONNECTIONS = opt('connections', 50);
const RELOADS = opt('reloads-per-second', 10);
const SLICE_S = 10;
const PORTS = { backend: 19100, gantry: 19101, api: 19102 };

const backend = http.createServer((req, res) => {
  req.resume();
  res.writeHead(200, { 'content-type': 'text/plain', 'content-length': '6' });
  res.end('soak!\n');
});
backend.keepAliveTimeout = 60_000;
await new Promise((r) => backend.listen(PORTS.backend, '127.0.0.1', r));

const cwd = mkdtempSync(join(tmpdir(), 'gantry-soak-'));
const gantry = spawn(process.execPath, [join(root, 'bin/gantry'), 'run', '--workers=1', '--log.level=WARN', `--entrypoints.web.address=127.0.0.1:${PORTS.gantry}`, `--api.address=127.0.0.1:${PORTS.api}`], { cwd, stdio: ['ignore', 'inherit', 'inherit'] });
const api = `http://127.0.0.1:${PORTS.api}`;
for (let i = 0; ; i++) {
  try {
    if ((await fetch(`${api}/ping`)).ok) break;
  } catch {
    if (i > 200) throw new Error('gantry did not start');
  }
  await new Promise((r) => setTimeout(r, 50));
}

let version = 0;
const put = async () => {
  version++;
  const config = {
    http: {
      routers: { soak: { rule: 'Host(`soak.test`)', service: 'soak', middlewares: version % 2 ? ['tag'] : [] } },
      middlewares: { tag: { headers: { customResponseHeaders: { 'x-version': String(version) } } } },
      services: { soak: { loadBalancer: { servers: [{ url: `http://127.0.0.1:${PORTS.backend}`, weight: 1 + (version % 3) }] } } },
    },
  };
  await fetch(`${api}/api/providers/rest`, { method: 'PUT', headers: { 'content-type': 'application/json' }, body: JSON.stringify(config) });
};
await put();
const reloader = RELOADS > 0 ? setInterval(() => void put().catch(() => {}), 1000 / RELOADS) : null;

const rssMiB = () => Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${gantry.pid}/status`, 'utf8'))[1]) / 1024;
const toMs = (v, unit) => Number(v) * ({ us: 0.001, ms: 1, s: 1000 }[unit] ?? 1);

/** slice runs wrk for SLICE_S seconds and reads requests/s, p99 and errors. */
function slice() {
  return new Promise((resolve) => {
    execFile('wrk', ['-t1', `-c${CONNECTIONS}`, `-d${SLICE_S}s`, '--latency', '-H', 'Host: soak.test', `http://127.0.0.1:${PORTS.gantry}/`], { timeout: (SLICE_S + 20) * 1000 }, (err, out = '') => {
      const rps = Number(/Requests\/sec:\s+([\d.]+)/.exec(out)?.[1] ?? 0);
      const p99 = /\s99%\s+([\d.]+)(us|ms|s)/.exec(out);
      const non2xx = Number(/Non-2xx or 3xx responses: (\d+)/.exec(out)?.[1] ?? 0);
      const se = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(out);
      const errors = non2xx + (se ? se.slice(1).reduce((a, b) => a + Number(b), 0) : 0) + (err ? 1 : 0);
      resolve({ rps, p99: p99 ? toMs(p99[1], p99[2]) : NaN, errors });
    });
  });
}

const rows = [];
let stop = false;
process.on('SIGINT', () => (stop = true));
const end = Date.now() + MINUTES * 60_000;
const started = Date.now();
console.log(`soak: ${MINUTES} min, ${CONNECTIONS} connections, ${RELOADS} reloads/s; Gantry pid ${gantry.pid}`);
console.log('   t(s)   RSS MiB   req/s    p99 ms  errors  reloads');
while (!stop && Date.now() < end) {
  const s = await slice();
  const row = { t: Math.round((Date.now() - started) / 1000), rss: rssMiB(), ...s, reloads: version };
  rows.push(row);
  console.log(`${String(row.t).padStart(7)} ${row.rss.toFixed(1).padStart(9)} ${row.rps.toFixed(0).padStart(7)} ${row.p99.toFixed(2).padStart(9)} ${String(row.errors).padStart(7)} ${String(row.reloads).padStart(8)}`);
}
if (reloader) clearInterval(reloader);
gantry.kill('SIGTERM');
backend.close();
backend.closeAllConnections();
const dir = join(root, 'bench/results');
mkdirSync(dir, { recursive: true });
const file = join(dir, `soak-${new Date().toISOString().slice(0, 16).replace(/[:T]/g, '-')}.csv`);
writeFileSync(file, ['t_s,rss_mib,req_per_s,p99_ms,errors,reloads', ...rows.map((r) => `${r.t},${r.rss.toFixed(1)},${r.rps.toFixed(0)},${r.p99.toFixed(3)},${r.errors},${r.reloads}`)].join('\n') + '\n');
const first = rows[Math.min(rows.length - 1, 2)];
const last = rows.at(-1);
if (first && last) console.log(`soak: RSS ${first.rss.toFixed(1)} → ${last.rss.toFixed(1)} MiB after warm-up, p99 ${first.p99.toFixed(2)} → ${last.p99.toFixed(2)} ms, ${rows.reduce((a, r) => a + r.errors, 0)} errors; ${file}`);
