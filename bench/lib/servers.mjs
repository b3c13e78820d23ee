// servers.mjs: the processes a benchmark talks to — the shared nginx backend, the reference proxies
// (nginx, HAProxy, Caddy), the undici-Pool baseline and the Gantry instances — with their generated
// configurations under one temp dir. Every port is on 127.0.0.1 in 19000–19099. Each process is
// started by the harness under `taskset`, in its own process group, and stopped by its own PID.
import { spawn, execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync, renameSync, openSync, closeSync, readFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import http from 'node:http';
import { processTree } from './proc.mjs';

export const HOST = '127.0.0.1';
/** The Host header every load generator sends; Gantry's single router is `Host(bench.local)`. */
export const VHOST = 'bench.local';
export const PORTS = {
  backend: 19000,
  nginx: 19001,
  haproxy: 19002,
  caddy: 19003,
  gantry: 19004,
  gantryApi: 19005,
  baseline: 19006,
  gantry10kHost: 19007,
  gantry10kHostApi: 19008,
  gantry10kMix: 19009,
  gantry10kMixApi: 19010,
  gantryReload: 19011,
  gantryReloadApi: 19012,
  nginx2w: 19013,
  gantry2w: 19014,
  gantry2wApi: 19015,
  // HTTP/2 contestants: a plain port (readiness checks) and a TLS port with ALPN h2 (h2load).
  nginxH2: 19016,
  nginxH2Tls: 19017,
  haproxyH2: 19018,
  haproxyH2Tls: 19019,
  gantryH2: 19020,
  gantryH2Tls: 19021,
  gantryH2Api: 19022,
  gantryMw: 19023,
  gantryMwApi: 19024,
};

/** tlsFiles makes the one self-signed certificate every HTTP/2 contestant serves (h2load does not verify). */
export function tlsFiles(dir) {
  mkdirSync(dir, { recursive: true });
  const cert = join(dir, 'cert.pem');
  const key = join(dir, 'key.pem');
  const both = join(dir, 'both.pem');
  if (!existsSync(both)) {
    execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', key, '-out', cert, '-days', '2', '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1'], { stdio: 'ignore' });
    writeFileSync(both, readFileSync(cert, 'utf8') + readFileSync(key, 'utf8'));
  }
  return { cert, key, both };
}
const BACKEND_URL = `http://${HOST}:${PORTS.backend}`;
export const SMALL_BODY = 'hello from the gantry bench backend\n';

// ---------------------------------------------------------------------------------------------
// Configurations

/** NOFILE is this process's open-files limit (bench/run.sh raised it); children inherit it. */
const NOFILE = (() => {
  try {
    const m = /^Max open files\s+(\d+)/m.exec(readFileSync('/proc/self/limits', 'utf8'));
    return m ? Number(m[1]) : 1024;
  } catch {
    return 1024;
  }
})();
/** Connections per nginx worker / HAProxy: as many as the descriptors allow (idle-10k needs 10,000+). */
const MAXCONN = Math.max(1000, Math.min(40_000, NOFILE - 200));

function nginxCommon(dir) {
  return `daemon off;
master_process on;
pid ${dir}/nginx.pid;
error_log ${dir}/error.log error;
`;
}

/** keepalive: nginx's keepalive_timeout; a second value is also sent to clients as `Keep-Alive: timeout=N`. */
function nginxHttpCommon(dir, keepalive = '300s') {
  return `  access_log off;
  client_body_temp_path ${dir}/client_body;
  proxy_temp_path ${dir}/proxy;
  fastcgi_temp_path ${dir}/fastcgi;
  uwsgi_temp_path ${dir}/uwsgi;
  scgi_temp_path ${dir}/scgi;
  # wrk keeps its connections for the whole run: never close one after N requests.
  keepalive_requests 10000000;
  keepalive_timeout ${keepalive};
  tcp_nodelay on;
  default_type text/plain;
`;
}

/**
 * The backend every proxy forwards to: nginx, `return 200` for /, a 16 KiB file, a 1 MB upload sink.
 * It says how long it keeps an idle connection (Keep-Alive: timeout=300), as Node's and Apache's
 * servers say theirs: Gantry keeps an upstream connection as long as its server promises and only
 * 4 s when it promises nothing, while the proxies compared keep theirs 300 s by their configuration.
 */
function backendConf(dir, www) {
  return `${nginxCommon(dir)}worker_processes 1;
events { worker_connections 16384; }
http {
${nginxHttpCommon(dir, '300s 300s')}  sendfile on;
  etag off;
  upstream self {
    server ${HOST}:${PORTS.backend};
    keepalive 64;
    keepalive_requests 10000000;
  }
  server {
    listen ${HOST}:${PORTS.backend} backlog=4096;
    root ${www};
    location / { return 200 ${JSON.stringify(SMALL_BODY)}; }
    location = /16k { }
    location = /64k { }
    location = /1m { }
    # A plain \`return\` would answer before the body arrived; reading it into memory first and then
    # answering from /upload-done makes the backend consume the whole upload before it responds.
    location = /upload {
      client_max_body_size 2m;
      client_body_buffer_size 2m;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_pass_request_body off;
      proxy_set_header Content-Length "";
      proxy_pass http://self/upload-done;
    }
    location = /upload-done { return 200 "uploaded\\n"; }
  }
}
`;
}

/** nginx as the reference proxy: `workers` worker processes, upstream keep-alive, streamed uploads. */
function nginxProxyConf(dir, port, workers, tls = null) {
  return `${nginxCommon(dir)}worker_processes ${workers};
events { worker_connections ${MAXCONN}; }
http {
${nginxHttpCommon(dir)}  upstream backend {
    server ${HOST}:${PORTS.backend};
    keepalive 256;
    keepalive_requests 10000000;
    keepalive_timeout 300s;
  }
  server {
    listen ${HOST}:${port} backlog=4096;
${tls ? `    listen ${HOST}:${tls.port} ssl http2 backlog=4096;\n    ssl_certificate ${tls.cert};\n    ssl_certificate_key ${tls.key};\n    http2_max_concurrent_streams 250;\n` : ''}    client_max_body_size 2m;
    location / {
      proxy_pass http://backend;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_set_header Host $host;
      proxy_set_header X-Real-IP $remote_addr;
      proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
      proxy_set_header X-Forwarded-Proto $scheme;
      proxy_request_buffering off;
    }
  }
}
`;
}

function haproxyConf(port, tls = null) {
  return `global
  nbthread 1
  maxconn ${MAXCONN}
  # HAProxy wants two descriptors per connection it allows; where the hard limit is lower (no
  # CAP_SYS_RESOURCE in a container), carry on with what there is instead of refusing to start.
  no strict-limits
defaults
  mode http
  maxconn ${MAXCONN}
  timeout connect 5s
  timeout client 300s
  timeout server 300s
  timeout http-keep-alive 300s
  option forwardfor
frontend fe
  bind ${HOST}:${port}
${tls ? `  bind ${HOST}:${tls.port} ssl crt ${tls.both} alpn h2,http/1.1\n` : ''}  default_backend be
backend be
  http-reuse always
  server s1 ${HOST}:${PORTS.backend}
`;
}

function caddyfile(port) {
  return `{
  admin off
  auto_https off
}
http://:${port} {
  bind ${HOST}
  reverse_proxy ${HOST}:${PORTS.backend} {
    transport http {
      keepalive 300s
      keepalive_idle_conns_per_host 256
    }
  }
}
`;
}

const SERVICE_YAML = `  services:
    bk:
      loadBalancer:
        servers:
          - url: "${BACKEND_URL}"
`;

/** Gantry's dynamic configuration with one router, plus `extra` (name → rule) routers. */
export function gantryDynamic(extra = []) {
  let s = 'http:\n  routers:\n    bench:\n      rule: "Host(`' + VHOST + '`)"\n      service: bk\n';
  for (const [name, rule] of extra) s += `    ${name}: { rule: ${JSON.stringify(rule)}, service: bk }\n`;
  return s + SERVICE_YAML;
}

/** gantryMiddlewareDynamic is the one router with the common header-only middlewares. */
function gantryMiddlewareDynamic() {
  return gantryDynamic().replace('      service: bk\n', '      service: bk\n      middlewares: [hdr, allow]\n') + `  middlewares:
    hdr:
      headers:
        customRequestHeaders: { X-Bench: "1" }
        customResponseHeaders: { X-Served-By: gantry }
    allow:
      ipAllowList: { sourceRange: ["127.0.0.0/8"] }
`;
}

/** gantryH2Dynamic is the one router on both entrypoints (TLS for h2load's `127.0.0.1` authority), with the certificate. */
function gantryH2Dynamic(tls) {
  return gantryDynamic([['bench-tls', 'Host(`127.0.0.1`) || Host(`' + VHOST + '`)']]).replace(
    '    bench-tls: { rule: ',
    '    bench-tls: { tls: {}, entryPoints: [websecure], rule: ',
  ) + `tls:\n  certificates:\n    - { certFile: "${tls.cert}", keyFile: "${tls.key}" }\n`;
}

/**
 * 10,000 routers, host-indexed: 9,999 `Host(hN.bench.local)` plus the target `Host(bench.local)`,
 * whose rule is the shortest, so a scan in priority order (longest rule first) would reach it last.
 */
function routers10kHost() {
  const extra = [];
  for (let i = 1; i < 10_000; i++) extra.push([`h${i}`, `Host(\`h${i}.${VHOST}\`)`]);
  return gantryDynamic(extra);
}

/**
 * 10,000 routers, a mix: 5,000 `Host(hN.bench.local)` and 4,999 `PathPrefix(/svcN/)` (the Docker Flow
 * Proxy pattern: one domain, a path per service), and the target is the catch-all `PathPrefix(/)`:
 * the lowest priority of all, so every request has to be refused by every path router first.
 */
function routers10kMix() {
  let s = 'http:\n  routers:\n    bench:\n      rule: "PathPrefix(`/`)"\n      service: bk\n';
  for (let i = 0; i < 5_000; i++) s += `    h${i}: { rule: "Host(\`h${i}.${VHOST}\`)", service: bk }\n`;
  for (let i = 1; i < 5_000; i++) s += `    p${i}: { rule: "PathPrefix(\`/svc${i}/\`)", service: bk }\n`;
  return s + SERVICE_YAML;
}

/** writeAtomic writes a file the way editors and config managers do: a temp file, then rename. */
export function writeAtomic(file, text) {
  const tmp = `${file}.tmp`;
  writeFileSync(tmp, text);
  renameSync(tmp, file);
}

// ---------------------------------------------------------------------------------------------
// Processes

/** A started process: its PID (taskset execs in place, so it is the server's own PID). */
class Proc {
  constructor(name, child, log) {
    this.name = name;
    this.child = child;
    this.pid = child.pid;
    this.log = log;
    this.exited = false;
    this.exitCode = null;
    this.exitPromise = new Promise((resolve) => {
      child.on('exit', (code, signal) => {
        this.exited = true;
        this.exitCode = code ?? signal;
        resolve();
      });
    });
  }

  logTail(n = 15) {
    try {
      return readFileSync(this.log, 'utf8').trimEnd().split('\n').slice(-n).join('\n');
    } catch {
      return '';
    }
  }

  /** stop sends SIGTERM to the PID, waits, then SIGKILLs the process group the harness created for it. */
  async stop(graceMs = 8000) {
    if (this.exited) return;
    try {
      process.kill(this.pid, 'SIGTERM');
    } catch {
      return;
    }
    const timer = new Promise((r) => setTimeout(r, graceMs));
    await Promise.race([this.exitPromise, timer]);
    if (!this.exited) {
      try {
        process.kill(-this.pid, 'SIGKILL');
      } catch {
        /* already gone */
      }
      await Promise.race([this.exitPromise, new Promise((r) => setTimeout(r, 2000))]);
    }
    // nginx workers / Gantry workers normally leave with their parent; make sure nothing of ours lingers.
    try {
      process.kill(-this.pid, 0);
      process.kill(-this.pid, 'SIGKILL');
    } catch {
      /* the group is empty */
    }
  }
}

function startProc(name, cpus, cmd, args, { cwd, env, logDir }) {
  const log = join(logDir, `${name}.log`);
  const fd = openSync(log, 'a');
  const child = spawn('taskset', ['-c', cpus, cmd, ...args], {
    cwd,
    env: { ...process.env, ...env },
    stdio: ['ignore', fd, fd],
    detached: true, // its own process group, so a stuck tree can be killed as one.
  });
  closeSync(fd);
  return new Proc(name, child, log);
}

/** httpGet does one GET with a Host header on a fresh connection; resolves {status, body} or rejects. */
export function httpGet(port, path = '/', host = VHOST, timeoutMs = 2000) {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: HOST, port, path, headers: { host }, agent: false, timeout: timeoutMs }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode, body }));
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
    req.end();
  });
}

/** waitReady polls GET / until it answers 200 with the backend's body, the process dies or time runs out. */
async function waitReady(proc, port, timeoutMs) {
  const deadline = Date.now() + timeoutMs;
  let last = 'no answer';
  while (Date.now() < deadline) {
    if (proc.exited) throw new Error(`${proc.name} exited (${proc.exitCode}) before it was ready:\n${proc.logTail()}`);
    try {
      const r = await httpGet(port);
      if (r.status === 200 && r.body === SMALL_BODY) return;
      last = `status ${r.status}`;
    } catch (e) {
      last = e.message;
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  await proc.stop();
  throw new Error(`${proc.name} not ready on port ${port} after ${timeoutMs} ms (${last}):\n${proc.logTail()}`);
}

/**
 * Servers starts and tracks everything; `ensure(id)` starts a contestant (and the backend) on first
 * use, `restart(id)` gives a fresh process (the idle-connection scenario wants an unused heap).
 */
export class Servers {
  constructor({ tmp, repo, cpu }) {
    this.tmp = tmp;
    this.repo = repo;
    this.cpu = cpu;
    this.logDir = join(tmp, 'logs');
    mkdirSync(this.logDir, { recursive: true });
    this.procs = new Map();
    this.reloadFile = join(tmp, 'gantry-reload', 'dynamic.yaml');
  }

  /** The contestants a scenario can name: how each is started and where it listens. */
  get defs() {
    const g = (name, port, api, dyn, workers = 1, cpus = this.cpu.proxy, timeout = 30_000) => ({
      port,
      cpus,
      timeout,
      start: () => this.#startGantry(name, port, api, dyn, workers, cpus),
    });
    return {
      nginx: { port: PORTS.nginx, cpus: this.cpu.proxy, start: () => this.#startNginx('nginx', PORTS.nginx, 1, this.cpu.proxy) },
      haproxy: { port: PORTS.haproxy, cpus: this.cpu.proxy, start: () => this.#startHaproxy() },
      caddy: { port: PORTS.caddy, cpus: this.cpu.proxy, start: () => this.#startCaddy() },
      baseline: { port: PORTS.baseline, cpus: this.cpu.proxy, start: () => this.#startBaseline() },
      gantry: g('gantry', PORTS.gantry, PORTS.gantryApi, () => gantryDynamic()),
      'gantry-mw': g('gantry-mw', PORTS.gantryMw, PORTS.gantryMwApi, gantryMiddlewareDynamic),
      'gantry-10k-host': g('gantry-10k-host', PORTS.gantry10kHost, PORTS.gantry10kHostApi, routers10kHost, 1, this.cpu.proxy, 120_000),
      'gantry-10k-mix': g('gantry-10k-mix', PORTS.gantry10kMix, PORTS.gantry10kMixApi, routers10kMix, 1, this.cpu.proxy, 120_000),
      'gantry-reload': g('gantry-reload', PORTS.gantryReload, PORTS.gantryReloadApi, () => gantryDynamic()),
      'nginx-2w': { port: PORTS.nginx2w, cpus: this.cpu.multi, start: () => this.#startNginx('nginx-2w', PORTS.nginx2w, 2, this.cpu.multi) },
      'gantry-2w': g('gantry-2w', PORTS.gantry2w, PORTS.gantry2wApi, () => gantryDynamic(), 2, this.cpu.multi),
      'nginx-h2': { port: PORTS.nginxH2, tlsPort: PORTS.nginxH2Tls, cpus: this.cpu.proxy, start: () => this.#startNginx('nginx-h2', PORTS.nginxH2, 1, this.cpu.proxy, { port: PORTS.nginxH2Tls, ...this.#tls() }) },
      'haproxy-h2': { port: PORTS.haproxyH2, tlsPort: PORTS.haproxyH2Tls, cpus: this.cpu.proxy, start: () => this.#startHaproxy('haproxy-h2', PORTS.haproxyH2, { port: PORTS.haproxyH2Tls, ...this.#tls() }) },
      'gantry-h2': {
        port: PORTS.gantryH2,
        tlsPort: PORTS.gantryH2Tls,
        cpus: this.cpu.proxy,
        timeout: 30_000,
        start: () => this.#startGantry('gantry-h2', PORTS.gantryH2, PORTS.gantryH2Api, () => gantryH2Dynamic(this.#tls()), 1, this.cpu.proxy, PORTS.gantryH2Tls),
      },
    };
  }

  port(id) {
    return this.defs[id].port;
  }

  pid(id) {
    return this.procs.get(id)?.pid ?? null;
  }

  async ensure(id) {
    if (id !== 'backend' && !this.procs.has('backend')) await this.#startBackend();
    const p = this.procs.get(id);
    if (p && !p.exited) return p;
    if (p) this.procs.delete(id);
    const def = this.defs[id];
    if (!def) throw new Error(`unknown contestant ${id}`);
    const proc = def.start();
    this.procs.set(id, proc);
    try {
      await waitReady(proc, def.port, def.timeout ?? 30_000);
    } catch (e) {
      this.procs.delete(id);
      throw e;
    }
    return proc;
  }

  async restart(id) {
    await this.stop(id);
    return this.ensure(id);
  }

  async stop(id) {
    const p = this.procs.get(id);
    if (!p) return;
    this.procs.delete(id);
    await p.stop();
  }

  async stopAll() {
    const ids = [...this.procs.keys()].filter((id) => id !== 'backend');
    await Promise.all(ids.map((id) => this.stop(id)));
    await this.stop('backend');
  }

  /** processCount is how many processes the contestant's tree has (detects real `--workers`). */
  processCount(id) {
    const pid = this.pid(id);
    return pid === null ? 0 : processTree(pid).length;
  }

  #opts() {
    return { cwd: this.repo, env: {}, logDir: this.logDir };
  }

  async #startBackend() {
    const dir = join(this.tmp, 'backend');
    const www = join(this.tmp, 'www');
    mkdirSync(dir, { recursive: true });
    mkdirSync(www, { recursive: true });
    writeFileSync(join(www, '16k'), Buffer.alloc(16 * 1024, 'g'));
    writeFileSync(join(www, '64k'), Buffer.alloc(64 * 1024, 'g'));
    writeFileSync(join(www, '1m'), Buffer.alloc(1024 * 1024, 'g'));
    const conf = join(dir, 'nginx.conf');
    writeFileSync(conf, backendConf(dir, www));
    const proc = startProc('backend', this.cpu.backend, 'nginx', ['-p', dir, '-e', join(dir, 'error.log'), '-c', conf], this.#opts());
    this.procs.set('backend', proc);
    await waitReady(proc, PORTS.backend, 15_000);
    for (const [path, want] of [['/16k', 16 * 1024], ['/64k', 64 * 1024], ['/1m', 1024 * 1024]]) {
      const r = await httpGet(PORTS.backend, path);
      if (r.status !== 200 || r.body.length !== want) throw new Error(`backend ${path}: status ${r.status}, ${r.body.length} bytes`);
    }
  }

  #tls() {
    return tlsFiles(join(this.tmp, 'tls'));
  }

  tlsPort(id) {
    return this.defs[id].tlsPort;
  }

  #startNginx(name, port, workers, cpus, tls = null) {
    const dir = join(this.tmp, name);
    mkdirSync(dir, { recursive: true });
    const conf = join(dir, 'nginx.conf');
    writeFileSync(conf, nginxProxyConf(dir, port, workers, tls));
    return startProc(name, cpus, 'nginx', ['-p', dir, '-e', join(dir, 'error.log'), '-c', conf], this.#opts());
  }

  #startHaproxy(name = 'haproxy', port = PORTS.haproxy, tls = null) {
    const dir = join(this.tmp, name);
    mkdirSync(dir, { recursive: true });
    const conf = join(dir, 'haproxy.cfg');
    writeFileSync(conf, haproxyConf(port, tls));
    return startProc(name, this.cpu.proxy, 'haproxy', ['-db', '-f', conf], this.#opts());
  }

  #startCaddy() {
    const dir = join(this.tmp, 'caddy');
    mkdirSync(dir, { recursive: true });
    const conf = join(dir, 'Caddyfile');
    writeFileSync(conf, caddyfile(PORTS.caddy));
    // Caddy keeps state under $HOME / XDG dirs: point them into the temp dir. One P for one core.
    const env = { HOME: dir, XDG_DATA_HOME: join(dir, 'data'), XDG_CONFIG_HOME: join(dir, 'config'), GOMAXPROCS: '1' };
    return startProc('caddy', this.cpu.proxy, 'caddy', ['run', '--config', conf, '--adapter', 'caddyfile'], { ...this.#opts(), env });
  }

  #startBaseline() {
    const script = join(this.repo, 'bench', 'baseline', 'undici-pool-proxy.mjs');
    return startProc('baseline', this.cpu.proxy, process.execPath, [script, `--listen=${HOST}:${PORTS.baseline}`, `--upstream=${BACKEND_URL}`], this.#opts());
  }

  #startGantry(name, port, api, dynamic, workers, cpus, tlsPort = null) {
    const dir = join(this.tmp, name);
    mkdirSync(dir, { recursive: true });
    const file = join(dir, 'dynamic.yaml');
    if (!existsSync(file)) writeAtomic(file, dynamic());
    const args = [
      // For investigating only, like BENCH_GANTRY_ARGS below: Node flags such as --trace-gc or --cpu-prof.
      ...(process.env.BENCH_GANTRY_NODE_ARGS ?? '').split(' ').filter(Boolean),
      join(this.repo, 'bin', 'gantry'),
      'run',
      `--entrypoints.web.address=${HOST}:${port}`,
      `--api.address=${HOST}:${api}`,
      `--providers.file.filename=${file}`,
      // The 10k-router ones log each apply (INFO), so the bench can read how long compiling took.
      `--log.level=${name.startsWith('gantry-10k') ? 'INFO' : 'ERROR'}`,
      `--workers=${workers}`,
      // As many idle upstream connections as nginx (keepalive 256) and Caddy keep: at 256 clients the
      // default 200 closes and re-dials the rest.
      '--serversTransport.maxIdleConnsPerHost=256',
      ...(tlsPort === null ? [] : [`--entrypoints.websecure.address=${HOST}:${tlsPort}`]),
      // For investigating only (an A/B of a Gantry flag): printed runs leave both unset.
      ...(process.env.BENCH_GANTRY_ARGS ?? '').split(' ').filter(Boolean),
    ];
    return startProc(name, cpus, process.execPath, args, { ...this.#opts(), cwd: dir });
  }
}
