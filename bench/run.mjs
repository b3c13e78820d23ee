#!/usr/bin/env node
// run.mjs: issue 8's benchmark driver (started by `npm run bench` through bench/run.sh).
// It builds Gantry when dist/ is stale, starts the backend and every proxy itself under a temp dir
// (127.0.0.1:19000–19099), runs each scenario's contestants interleaved round by round with wrk
// pinned by taskset, and prints markdown tables of medians with same-round ratios to nginx. Raw
// results go to bench/results/<date>.json (and the tables to <date>.md). Every step is bounded in
// time; the harness stops only the processes it started, by their PIDs. See docs/bench.md.
import { spawn, spawnSync, execFileSync } from 'node:child_process';
import { mkdtempSync, mkdirSync, writeFileSync, readFileSync, readdirSync, statSync, existsSync, rmSync, chmodSync } from 'node:fs';
import { tmpdir, cpus as osCpus, release, totalmem } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createInterface } from 'node:readline';
import { Servers, VHOST, gantryDynamic, writeAtomic, httpGet, PORTS } from './lib/servers.mjs';
import { runWrk } from './lib/wrk.mjs';
import { runH2load } from './lib/h2load.mjs';
import { CLK_TCK, treeTicks, ticksDelta, rssKiB, memoryKiB, cpuTimes, busyPercent } from './lib/proc.mjs';
import { summarize, summarizeIdle, throughputTable, idleTable, targets } from './lib/report.mjs';

const REPO = join(dirname(fileURLToPath(import.meta.url)), '..');
const PROXIES = ['nginx', 'haproxy', 'caddy', 'baseline', 'gantry'];
const LABELS = {
  nginx: 'nginx, 1 worker',
  haproxy: 'HAProxy, 1 thread',
  caddy: 'Caddy reverse_proxy',
  baseline: 'Node: node:http + undici Pool dispatch (bench/baseline)',
  gantry: 'Gantry, 1 worker, 1 router',
  'gantry-mw': 'Gantry, 1 worker, 1 router with headers (request and response) and ipAllowList middlewares',
  'gantry-10k-host': 'Gantry, 10,000 Host routers',
  'gantry-10k-mix': 'Gantry, 10,000 routers: 5,000 Host + 4,999 PathPrefix + catch-all',
  'gantry-reload': 'Gantry, file rewritten every 100 ms during the run',
  'nginx-2w': 'nginx, 2 workers',
  'gantry-2w': 'Gantry, --workers=2',
  'nginx-h2': 'nginx, 1 worker, listen ssl http2',
  'haproxy-h2': 'HAProxy, 1 thread, bind ssl alpn h2,http/1.1',
  'gantry-h2': 'Gantry, 1 worker, TLS entrypoint (ALPN h2)',
};

/** The scenarios, in the order they run. `ref` is the contestant every ratio is taken against. */
const SCENARIOS = [
  { id: 'get-50', title: 'GET / (small body), 50 connections', contestants: PROXIES, path: '/', connections: 50 },
  { id: 'get-256', title: 'GET / (small body), 256 connections', contestants: PROXIES, path: '/', connections: 256 },
  { id: 'body-16k', title: 'GET /16k (16 KiB body), 50 connections', contestants: PROXIES, path: '/16k', connections: 50 },
  { id: 'body-64k', title: 'GET /64k (64 KiB body), 50 connections', contestants: PROXIES, path: '/64k', connections: 50 },
  { id: 'body-1m', title: 'GET /1m (1 MiB body), 50 connections', contestants: PROXIES, path: '/1m', connections: 50 },
  { id: 'upload-16k', title: 'POST /upload (16 KiB body), 50 connections', contestants: PROXIES, path: '/upload', connections: 50, script: 'upload16k' },
  { id: 'upload-1m', title: 'POST /upload (1 MiB body), 50 connections', contestants: PROXIES, path: '/upload', connections: 50, script: 'upload' },
  {
    id: 'middleware',
    title: 'GET / through header-only middlewares (headers request+response, ipAllowList), 50 connections; nginx sets its proxy headers as always',
    contestants: ['nginx', 'gantry', 'gantry-mw'],
    path: '/',
    connections: 50,
  },
  {
    id: 'routers',
    title: 'Gantry with 1 router vs 10,000 routers (GET /, 50 connections)',
    contestants: ['nginx', 'gantry', 'gantry-10k-host', 'gantry-10k-mix'],
    path: '/',
    connections: 50,
  },
  {
    id: 'reload',
    title: 'File provider reload every 100 ms under load (GET /, 50 connections; errors must be 0)',
    contestants: ['nginx', 'gantry', 'gantry-reload'],
    path: '/',
    connections: 50,
  },
  {
    id: 'h2',
    title: 'HTTP/2 over TLS (h2load, 10 connections × 10 streams, GET /; servers over HTTP/1.1)',
    contestants: ['nginx-h2', 'haproxy-h2', 'gantry-h2'],
    ref: 'nginx-h2',
    kind: 'h2',
    path: '/',
  },
  {
    id: 'idle-rss',
    title: 'Idle memory with no routes, 50 s after start (the idle trim runs after 30 s of quiet): one process, and the default process set (--workers = one per core)',
    contestants: ['nginx-idle', 'gantry-idle-1', 'gantry-idle-default'],
    kind: 'rss',
  },
  { id: 'idle-10k', title: '10,000 idle keep-alive connections (one request each, then held)', contestants: PROXIES, kind: 'idle' },
  {
    id: 'workers-2',
    title: '2 processes: Gantry --workers=2 vs nginx 2 workers (GET /, 50 connections; proxies on both CPUs)',
    contestants: ['nginx-2w', 'gantry-2w'],
    ref: 'nginx-2w',
    path: '/',
    connections: 50,
    multi: true,
  },
];

// ---------------------------------------------------------------------------------------------
// Options

function parseArgs(argv) {
  const o = { quick: false, only: null, rounds: null, duration: null, warmup: null, maxMinutes: null, build: true, keep: false, idleCount: 10_000, list: false };
  for (let i = 0; i < argv.length; i++) {
    let [k, v] = argv[i].split(/=(.*)/s);
    const val = () => (v !== undefined ? v : argv[++i]);
    switch (k) {
      case '--quick': o.quick = true; break;
      case '--only': o.only = val().split(',').map((s) => s.trim()).filter(Boolean); break;
      case '--rounds': o.rounds = Number(val()); break;
      case '--duration': o.duration = Number(val()); break;
      case '--warmup': o.warmup = Number(val()); break;
      case '--max-minutes': o.maxMinutes = Number(val()); break;
      case '--idle-count': o.idleCount = Number(val()); break;
      case '--no-build': o.build = false; break;
      case '--keep': o.keep = true; break;
      case '--list': o.list = true; break;
      case '-h': case '--help': o.help = true; break;
      default: throw new Error(`unknown option ${argv[i]} (try --help)`);
    }
  }
  o.rounds ??= o.quick ? 1 : 5;
  o.duration ??= o.quick ? 2 : 4;
  o.warmup ??= o.quick ? 1 : 2;
  o.idleRounds = o.quick ? 1 : Math.min(o.rounds, 2);
  o.maxMinutes ??= o.quick ? 8 : 20;
  for (const k of ['rounds', 'duration', 'warmup', 'maxMinutes', 'idleCount']) {
    if (!Number.isFinite(o[k]) || o[k] <= 0 || (k !== 'maxMinutes' && !Number.isInteger(o[k]))) throw new Error(`--${k}: expected a positive integer`);
  }
  if (o.only) for (const id of o.only) if (!SCENARIOS.some((s) => s.id === id)) throw new Error(`--only: unknown scenario ${id} (known: ${SCENARIOS.map((s) => s.id).join(', ')})`);
  return o;
}

const HELP = `usage: npm run bench [-- options]
  --quick              smoke test: 1 round × 2 s, 1 s warm-up (default: 5 rounds × 4 s, 2 s warm-up)
  --only a,b           run only these scenarios: ${SCENARIOS.map((s) => s.id).join(', ')}
  --rounds N           rounds per scenario (contestants interleaved within each round)
  --duration S         seconds per wrk run      --warmup S   seconds of warm-up per contestant
  --max-minutes M      hard bound on the whole run (default 20, quick 8): later scenarios are skipped
  --idle-count N       connections for idle-10k (default 10000)
  --no-build           bench dist/ as it is (do not run tsc even if stale)
  --keep               keep the temp dir (configs, logs) after the run
  --list               list the scenarios and exit
Environment: BENCH_CPU_LOAD (wrk, default 0), BENCH_CPU_PROXY (default 1), BENCH_CPU_BACKEND (default 0),
BENCH_CPU_MULTI (the 2-worker proxies, default 0,1).`;

// ---------------------------------------------------------------------------------------------
// Build, tools, machine

function newestMtime(dir, ext) {
  let newest = 0;
  for (const name of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, name.name);
    if (name.isDirectory()) newest = Math.max(newest, newestMtime(p, ext));
    else if (name.name.endsWith(ext)) newest = Math.max(newest, statSync(p).mtimeMs);
  }
  return newest;
}

function buildIfStale(opts) {
  const main = join(REPO, 'dist', 'src', 'cli', 'main.js');
  const built = existsSync(main) ? statSync(join(REPO, 'dist', '.tsbuildinfo'), { throwIfNoEntry: false })?.mtimeMs ?? 0 : 0;
  const source = Math.max(newestMtime(join(REPO, 'src'), '.ts'), statSync(join(REPO, 'tsconfig.json')).mtimeMs);
  if (built >= source && existsSync(main)) return 'up to date';
  if (!opts.build) {
    if (!existsSync(main)) throw new Error('dist/ is missing and --no-build was given');
    return 'stale (--no-build)';
  }
  log('building Gantry: npx tsc -p tsconfig.json');
  const r = spawnSync('npx', ['tsc', '-p', 'tsconfig.json'], { cwd: REPO, stdio: 'inherit', timeout: 600_000 });
  if (r.status !== 0) throw new Error(`tsc failed (${r.status ?? r.signal}); fix the build, or bench the existing dist/ with --no-build`);
  return 'rebuilt';
}

function has(cmd) {
  return spawnSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' }).status === 0;
}

function versionOf(cmd, args) {
  try {
    const r = spawnSync(cmd, args, { encoding: 'utf8', timeout: 5000 });
    return ((r.stdout || '') + (r.stderr || '')).trim().split('\n')[0];
  } catch {
    return null;
  }
}

function machine(cpu) {
  const git = (args) => {
    try {
      return execFileSync('git', args, { cwd: REPO, encoding: 'utf8' }).trim();
    } catch {
      return null;
    }
  };
  return {
    cpuModel: osCpus()[0]?.model ?? null,
    cpus: osCpus().length,
    kernel: release(),
    memGiB: Math.round(totalmem() / 2 ** 30),
    node: process.version,
    nginx: versionOf('nginx', ['-v']),
    haproxy: versionOf('haproxy', ['-v']),
    caddy: has('caddy') ? versionOf('caddy', ['version']) : null,
    wrk: versionOf('wrk', ['-v']),
    gantryCommit: git(['rev-parse', '--short', 'HEAD']),
    gantryDirtyFiles: (git(['status', '--porcelain']) ?? '').split('\n').filter(Boolean).length,
    gantryExtraArgs: process.env.BENCH_GANTRY_ARGS ?? null,
    gantryNodeArgs: process.env.BENCH_GANTRY_NODE_ARGS ?? null,
    pinning: cpu,
    clkTck: CLK_TCK,
  };
}

// ---------------------------------------------------------------------------------------------
// Running

const t0 = Date.now();
function log(msg) {
  const s = ((Date.now() - t0) / 1000).toFixed(0).padStart(4);
  process.stderr.write(`[bench ${s}s] ${msg}\n`);
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** measure runs wrk once against a contestant and reads the proxy's CPU time around it. */
async function measure(ctx, sc, c, seconds, round, extra = null) {
  const pid = ctx.servers.pid(c);
  const port = ctx.servers.port(c);
  const ticks0 = treeTicks(pid);
  const cpu0 = cpuTimes();
  const during = extra ? extra.start() : null;
  let w;
  try {
    w = await runWrk({ url: `http://127.0.0.1:${port}${sc.path}`, connections: sc.connections, seconds, cpus: ctx.cpu.load, host: VHOST, script: sc.script ? ctx.scripts[sc.script] : null });
  } finally {
    if (during) during.stop();
  }
  const perProcess = ticksDelta(ticks0, treeTicks(pid));
  const ticks = [...perProcess.values()].reduce((a, b) => a + b, 0);
  const cpu1 = cpuTimes();
  const busy = busyPercent(cpu0, cpu1);
  const taskBusy = busyPercent(cpu0, cpu1, 'task');
  const cpuSeconds = ticks / CLK_TCK;
  const run = {
    round,
    contestant: c,
    requests: w.requests,
    seconds: w.seconds,
    rps: w.rps,
    p50us: w.p50us,
    p75us: w.p75us,
    p90us: w.p90us,
    p99us: w.p99us,
    errors: w.errors,
    non2xx: w.non2xx,
    socketErrors: w.socketErrors,
    proxyCpuSeconds: cpuSeconds,
    cpuUsPerReq: w.requests ? (cpuSeconds * 1e6) / w.requests : null,
    cpuBusyPct: busy,
    // For a tree (nginx master + workers, Gantry primary + workers): who used the CPU.
    cpuSecondsByPid: perProcess.size > 1 ? Object.fromEntries([...perProcess].map(([p, t]) => [p, t / CLK_TCK])) : undefined,
    raw: w.raw,
  };
  run.loadCorePct = busy[`cpu${ctx.cpu.load}`] ?? null;
  run.proxyCorePct = w.seconds ? Math.round((100 * cpuSeconds) / w.seconds) : null;
  // Noise: how busy the proxy's core was beyond the proxy's own time (other processes on the machine).
  if (!sc.multi && w.seconds) {
    const proxyPct = (100 * cpuSeconds) / w.seconds;
    const core = taskBusy[`cpu${ctx.cpu.proxy}`];
    run.noisePct = core != null ? Math.max(0, Math.round(core - proxyPct)) : null;
  }
  if (extra) Object.assign(run, await extra.report());
  return run;
}

/** reloader rewrites gantry-reload's file every 100 ms (a new router each time, so each is a real change). */
function reloader(ctx) {
  let n = 0;
  let timer = null;
  const file = join(ctx.tmp, 'gantry-reload', 'dynamic.yaml');
  const name = (i) => `extra${i}`;
  return {
    start() {
      n = 0;
      timer = setInterval(() => {
        n++;
        writeAtomic(file, gantryDynamic([[name(ctx.reloadSeq + n), `Host(\`${name(ctx.reloadSeq + n)}.${VHOST}\`)`]]));
      }, 100);
      return { stop: () => clearInterval(timer) };
    },
    async report() {
      const last = name(ctx.reloadSeq + n);
      ctx.reloadSeq += n;
      // The last write should be live within DESIGN's 100 ms; poll the API for up to 2 s.
      let applied = false;
      for (let i = 0; i < 20 && !applied; i++) {
        try {
          const r = await httpGet(PORTS.gantryReloadApi, `/api/http/routers/${last}@file`, '127.0.0.1');
          applied = r.status === 200;
        } catch {
          /* retry */
        }
        if (!applied) await sleep(100);
      }
      return { reloads: n, lastReloadApplied: applied };
    },
  };
}

/**
 * liveChange10k adds one router to a running 10,000-router Gantry's file and times how long until
 * the API shows it: the file watcher's quiet time, parsing, compiling and swapping the whole route
 * table (issue 14: < 200 ms). Three changes, the median; the poll every 5 ms adds at most that.
 */
async function liveChange10k(ctx, c) {
  const file = join(ctx.tmp, c, 'dynamic.yaml');
  const api = c === 'gantry-10k-host' ? PORTS.gantry10kHostApi : PORTS.gantry10kMixApi;
  const times = [];
  const builds = [];
  for (let i = 1; i <= 3; i++) {
    const name = `live${i}`;
    const text = readFileSync(file, 'utf8').replace('  routers:\n', `  routers:\n    ${name}: { rule: "Host(\`${name}.${VHOST}\`)", service: bk }\n`);
    const started = performance.now();
    writeAtomic(file, text);
    let seen = false;
    while (!seen && performance.now() - started < 10_000) {
      seen = await httpGet(api, `/api/http/routers/${name}@file`, '127.0.0.1').then((r) => r.status === 200, () => false);
      if (!seen) await sleep(5);
    }
    if (!seen) throw new Error(`${c}: router ${name} not on the API 10 s after the file was written`);
    times.push(performance.now() - started);
    // Gantry's own figure for the apply: merging, compiling the route table and swapping it in.
    const applied = readFileSync(join(ctx.servers.logDir, `${c}.log`), 'utf8').split('\n').filter((l) => l.includes('configuration applied') && l.includes(`routers=${10_000 + i}`));
    const m = /buildMs=([\d.]+)/.exec(applied.at(-1) ?? '');
    if (m) builds.push(Number(m[1]));
  }
  times.sort((a, b) => a - b);
  builds.sort((a, b) => a - b);
  return { medianMs: times[1], allMs: times, buildMedianMs: builds.length === 3 ? builds[1] : null, buildMs: builds };
}

async function runThroughput(ctx, sc) {
  const ref = sc.ref ?? 'nginx';
  const live = [];
  const notes = [];
  for (const c of sc.contestants) {
    if (ctx.unavailable[c]) {
      notes.push(`${c}: ${ctx.unavailable[c]}`);
      continue;
    }
    try {
      log(`${sc.id}: starting ${c}`);
      await ctx.servers.ensure(c);
      live.push(c);
    } catch (e) {
      notes.push(`${c}: failed to start: ${e.message.split('\n')[0]}`);
      log(`${sc.id}: ${c} failed to start:\n${e.message}`);
    }
  }
  if (sc.id === 'workers-2' && live.includes('gantry-2w')) {
    const procs = ctx.servers.processCount('gantry-2w');
    if (procs < 2) {
      await ctx.servers.stop('gantry-2w');
      return { skipped: `skipped: --workers not available (gantry --workers=2 runs ${procs} process)` };
    }
    notes.push(`gantry-2w runs ${procs} processes (CPU and RSS summed over all of them); nginx-2w runs ${ctx.servers.processCount('nginx-2w')} processes`);
  } else if (sc.id === 'workers-2') {
    return { skipped: `skipped: --workers not available (${notes.join('; ')})` };
  }
  const extras = { 'gantry-reload': sc.id === 'reload' ? reloader(ctx) : null };
  log(`${sc.id}: warm-up ${ctx.opts.warmup} s each: ${live.join(', ')}`);
  for (const c of live) {
    await runWrk({ url: `http://127.0.0.1:${ctx.servers.port(c)}${sc.path}`, connections: sc.connections, seconds: ctx.opts.warmup, cpus: ctx.cpu.load, host: VHOST, script: sc.script ? ctx.scripts[sc.script] : null }).catch((e) => log(`${sc.id}: warm-up of ${c} failed: ${e.message}`));
  }
  const runs = [];
  for (let round = 0; round < ctx.opts.rounds; round++) {
    if (ctx.pastDeadline()) {
      notes.push(`stopped after ${round} round(s): --max-minutes reached`);
      break;
    }
    // A B C, B C A, C A B…: interleaved, and no contestant always right after the same one.
    const order = live.map((_, i) => live[(i + round) % live.length]);
    for (const c of order) {
      try {
        const r = await measure(ctx, sc, c, ctx.opts.duration, round, extras[c] ?? null);
        runs.push(r);
        log(`${sc.id} r${round + 1} ${c.padEnd(16)} ${String(Math.round(r.rps)).padStart(7)} req/s  p50 ${(r.p50us / 1000).toFixed(2)} ms  p99 ${(r.p99us / 1000).toFixed(2)} ms  ${r.cpuUsPerReq?.toFixed(1)} µs/req  errors ${r.errors}${r.reloads != null ? `  reloads ${r.reloads}` : ''}`);
      } catch (e) {
        log(`${sc.id} r${round + 1} ${c}: ${e.message}`);
        notes.push(`${c} round ${round + 1}: ${e.message.split('\n')[0]}`);
      }
    }
  }
  const rows = summarize(runs, live, ref);
  const liveChange = {};
  if (sc.id === 'routers') {
    for (const c of live.filter((x) => x.startsWith('gantry-10k'))) {
      try {
        liveChange[c] = await liveChange10k(ctx, c);
        log(`${sc.id}: ${c}: a router added to the file is served after ${liveChange[c].allMs.map((t) => t.toFixed(0)).join(', ')} ms (compile and swap ${liveChange[c].buildMs.join(', ')} ms)`);
      } catch (e) {
        notes.push(e.message);
      }
    }
  }
  return { ref, runs, rows, notes, ...(sc.id === 'routers' ? { liveChange } : {}) };
}

/**
 * How long Gantry is left alone before a settled reading: its idle trim collects after 30 s of quiet
 * (6 intervals of 5 s, counted from the end of the busy interval), so within 40 s; 50 s has margin.
 */
const SETTLE_MS = 50_000;

/**
 * idleRun opens N idle keep-alive connections to a fresh contestant and reads its RSS before and
 * after: 1 s after a warm-up load and 2 s after the connections are open (what a burst costs at
 * once), and for Gantry also settled, each reading 50 s after the last activity (what holding them
 * costs: the idle trim has given back the young generation the warm-up and the burst grew).
 */
async function idleRun(ctx, c, round) {
  const settle = c === 'gantry';
  const proc = await ctx.servers.restart(c);
  const port = ctx.servers.port(c);
  // A second of load first, so that the process has the heap and pools it has in service.
  await runWrk({ url: `http://127.0.0.1:${port}/`, connections: 50, seconds: 1, cpus: ctx.cpu.load, host: VHOST });
  await sleep(1000);
  const before = rssKiB(proc.pid);
  let beforeSettled = null;
  if (settle) {
    await sleep(SETTLE_MS);
    beforeSettled = rssKiB(proc.pid);
  }
  const client = spawn('taskset', ['-c', ctx.cpu.load, process.execPath, join(REPO, 'bench', 'idle-client.mjs'), `--port=${port}`, `--count=${ctx.opts.idleCount}`, `--host=${VHOST}`, '--max-seconds=150'], { stdio: ['pipe', 'pipe', 'inherit'] });
  const lines = createInterface({ input: client.stdout });
  const waiters = [];
  lines.on('line', (l) => {
    try {
      const m = JSON.parse(l);
      waiters.shift()?.(m);
    } catch {
      /* not ours */
    }
  });
  const nextMessage = (ms) => new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`idle client: no answer within ${ms / 1000} s`)), ms);
    waiters.push((m) => (clearTimeout(t), resolve(m)));
  });
  const exited = new Promise((r) => client.on('exit', r));
  try {
    const ready = await nextMessage(120_000);
    await sleep(2000); // let allocators settle and lazy per-connection buffers appear
    const after = rssKiB(proc.pid);
    let afterSettled = null;
    if (settle) {
      await sleep(SETTLE_MS);
      afterSettled = rssKiB(proc.pid);
    }
    client.stdin.write('report\n');
    const rep = await nextMessage(10_000);
    const open = rep.open;
    const per10k = (from, to) => (open > 0 ? ((to.kib - from.kib) / 1024) * (10_000 / open) : null);
    return {
      round,
      contestant: c,
      requested: ctx.opts.idleCount,
      responded: ready.responded,
      non200: ready.non200,
      failed: ready.failed,
      firstError: ready.firstError,
      openMs: ready.ms,
      open,
      processes: after.procs,
      rssBeforeKiB: before.kib,
      rssAfterKiB: after.kib,
      per10kMiB: per10k(before, after),
      rssBeforeSettledKiB: beforeSettled?.kib ?? null,
      rssAfterSettledKiB: afterSettled?.kib ?? null,
      per10kSettledMiB: settle ? per10k(beforeSettled, afterSettled) : null,
    };
  } finally {
    client.stdin.end('exit\n');
    await Promise.race([exited, sleep(10_000)]);
    if (client.exitCode === null) client.kill('SIGKILL');
  }
}

async function runIdle(ctx, sc) {
  const live = sc.contestants.filter((c) => !ctx.unavailable[c]);
  const notes = sc.contestants.filter((c) => ctx.unavailable[c]).map((c) => `${c}: ${ctx.unavailable[c]}`);
  const runs = [];
  for (let round = 0; round < ctx.opts.idleRounds; round++) {
    for (const c of live) {
      if (ctx.pastDeadline()) {
        notes.push('stopped early: --max-minutes reached');
        return { ref: 'nginx', runs, rows: summarizeIdle(runs, live, 'nginx'), notes };
      }
      try {
        const r = await idleRun(ctx, c, round);
        runs.push(r);
        log(`idle-10k r${round + 1} ${c.padEnd(10)} RSS ${(r.rssBeforeKiB / 1024).toFixed(1)} → ${(r.rssAfterKiB / 1024).toFixed(1)} MiB, ${r.open} open (${r.failed} failed, ${r.non200} non-200, opened in ${r.openMs} ms): ${r.per10kMiB?.toFixed(1)} MiB per 10k${r.per10kSettledMiB == null ? '' : `; settled ${(r.rssBeforeSettledKiB / 1024).toFixed(1)} → ${(r.rssAfterSettledKiB / 1024).toFixed(1)} MiB: ${r.per10kSettledMiB.toFixed(1)} MiB per 10k`}`);
      } catch (e) {
        log(`idle-10k ${c}: ${e.message}`);
        notes.push(`${c}: ${e.message.split('\n')[0]}`);
      }
    }
  }
  return { ref: 'nginx', runs, rows: summarizeIdle(runs, live, 'nginx'), notes };
}

/**
 * runRss starts each contestant with nothing to route, waits until it answers and then 20 s (V8's
 * memory reducer runs after start-up), and reads RSS and PSS summed over its process tree.
 */
async function runRss(ctx, sc) {
  const rows = [];
  const notes = [];
  const dir = join(ctx.tmp, 'idle-rss');
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'empty.yaml'), 'http: {}\n');
  writeFileSync(join(dir, 'nginx.conf'), `daemon off;\nmaster_process on;\nworker_processes 1;\npid ${dir}/nginx.pid;\nerror_log ${dir}/error.log error;\nevents {}\nhttp { access_log off; client_body_temp_path ${dir}/cb; proxy_temp_path ${dir}/p; fastcgi_temp_path ${dir}/f; uwsgi_temp_path ${dir}/u; scgi_temp_path ${dir}/s; server { listen 127.0.0.1:19030; return 404; } }\n`);
  const gantry = (workers) => [process.execPath, join(REPO, 'bin', 'gantry'), 'run', '--entrypoints.web.address=127.0.0.1:19030', '--api.address=127.0.0.1:19031', `--providers.file.filename=${join(dir, 'empty.yaml')}`, '--log.level=ERROR', ...(workers ? [`--workers=${workers}`] : [])];
  const cmds = { 'nginx-idle': ['nginx', '-p', dir, '-e', join(dir, 'error.log'), '-c', join(dir, 'nginx.conf')], 'gantry-idle-1': gantry(1), 'gantry-idle-default': gantry(null) };
  for (const c of sc.contestants) {
    if (ctx.pastDeadline()) break;
    const [cmd, ...args] = cmds[c];
    // The default process set gets both CPUs, as `npm start` would.
    const child = spawn('taskset', ['-c', c === 'gantry-idle-default' ? ctx.cpu.multi : ctx.cpu.proxy, cmd, ...args], { cwd: dir, stdio: 'ignore', detached: true });
    try {
      const deadline = Date.now() + 30_000;
      let up = false;
      while (!up && Date.now() < deadline && child.exitCode === null) {
        up = await httpGet(19030, '/').then((r) => r.status === 404, () => false);
        if (!up) await sleep(100);
      }
      if (!up) throw new Error('did not answer within 30 s');
      await sleep(50_000);
      const m = memoryKiB(child.pid);
      rows.push({ contestant: c, processes: m.procs, rssMiB: m.rss / 1024, pssMiB: m.pss / 1024 });
      log(`idle-rss ${c.padEnd(20)} ${m.procs} process(es): RSS ${(m.rss / 1024).toFixed(1)} MiB, PSS ${(m.pss / 1024).toFixed(1)} MiB`);
    } catch (e) {
      notes.push(`${c}: ${e.message}`);
    } finally {
      try {
        process.kill(child.pid, 'SIGTERM');
      } catch {
        /* gone */
      }
      await Promise.race([new Promise((r) => child.once('exit', r)), sleep(12_000)]);
      try {
        process.kill(-child.pid, 'SIGKILL');
      } catch {
        /* the group is empty */
      }
    }
  }
  return { rows, notes };
}

function rssTable(rows) {
  const out = ['| contestant | processes | RSS (sum) | PSS (sum) |', '| --- | ---: | ---: | ---: |'];
  for (const r of rows) out.push(`| ${r.contestant} | ${r.processes} | ${r.rssMiB.toFixed(1)} MiB | ${r.pssMiB.toFixed(1)} MiB |`);
  return out.join('\n');
}

/** runH2 runs h2load against each HTTP/2 contestant, interleaved round by round, with the proxy's CPU time. */
async function runH2(ctx, sc) {
  if (!has('h2load')) return { skipped: 'skipped: h2load is not installed (Debian nghttp2-client; run sh scripts/testbed/install.sh)' };
  const live = [];
  const notes = [];
  for (const c of sc.contestants) {
    try {
      await ctx.servers.ensure(c);
      live.push(c);
    } catch (e) {
      notes.push(`${c}: failed to start: ${e.message.split('\n')[0]}`);
    }
  }
  const url = (c) => `https://127.0.0.1:${ctx.servers.tlsPort(c)}${sc.path}`;
  for (const c of live) await runH2load({ url: url(c), clients: 10, streams: 10, seconds: ctx.opts.warmup, cpus: ctx.cpu.load }).catch((e) => log(`h2 warm-up of ${c}: ${e.message}`));
  const runs = [];
  for (let round = 0; round < ctx.opts.rounds && !ctx.pastDeadline(); round++) {
    for (const c of live.map((_, i) => live[(i + round) % live.length])) {
      const pid = ctx.servers.pid(c);
      const ticks0 = treeTicks(pid);
      try {
        const w = await runH2load({ url: url(c), clients: 10, streams: 10, seconds: ctx.opts.duration, cpus: ctx.cpu.load });
        const ticks = [...ticksDelta(ticks0, treeTicks(pid)).values()].reduce((a, b) => a + b, 0);
        const run = { round, contestant: c, rps: w.rps, requests: w.requests, errors: w.errors, meanUs: w.meanUs, cpuUsPerReq: w.requests ? ((ticks / CLK_TCK) * 1e6) / w.requests : null };
        runs.push(run);
        log(`h2 r${round + 1} ${c.padEnd(12)} ${String(Math.round(run.rps)).padStart(7)} req/s  mean ${(run.meanUs / 1000).toFixed(2)} ms  ${run.cpuUsPerReq?.toFixed(1)} µs/req  errors ${run.errors}`);
      } catch (e) {
        notes.push(`${c} round ${round + 1}: ${e.message.split('\n')[0]}`);
      }
    }
  }
  const median = (xs) => {
    const s = [...xs].sort((a, b) => a - b);
    return s.length === 0 ? null : s[Math.floor(s.length / 2)];
  };
  const rows = live.map((c) => {
    const mine = runs.filter((r) => r.contestant === c);
    const ratios = mine.map((r) => r.rps / (runs.find((x) => x.round === r.round && x.contestant === sc.ref)?.rps ?? NaN)).filter(Number.isFinite);
    return { contestant: c, rps: median(mine.map((r) => r.rps)), ratio: median(ratios), meanUs: median(mine.map((r) => r.meanUs)), cpuUsPerReq: median(mine.map((r) => r.cpuUsPerReq)), errors: mine.reduce((a, r) => a + (r.errors ?? 0), 0) };
  });
  return { ref: sc.ref, runs, rows, notes };
}

function h2Table(rows, ref) {
  const out = [`| contestant | req/s | ×${ref} | mean latency | proxy CPU µs/req | errors |`, '| --- | ---: | ---: | ---: | ---: | ---: |'];
  for (const r of rows) out.push(`| ${r.contestant} | ${r.rps?.toFixed(0) ?? '—'} | ${r.ratio?.toFixed(2) ?? '—'}× | ${r.meanUs == null ? '—' : (r.meanUs / 1000).toFixed(2) + ' ms'} | ${r.cpuUsPerReq?.toFixed(1) ?? '—'} | ${r.errors} |`);
  return out.join('\n');
}

// ---------------------------------------------------------------------------------------------

function cpuPlan() {
  const n = osCpus().length;
  const env = process.env;
  const plan = {
    load: env.BENCH_CPU_LOAD ?? '0',
    proxy: env.BENCH_CPU_PROXY ?? (n > 1 ? '1' : '0'),
    backend: env.BENCH_CPU_BACKEND ?? '0',
    multi: env.BENCH_CPU_MULTI ?? (n > 1 ? '0,1' : '0'),
  };
  return plan;
}

function estimateMinutes(opts, scenarios) {
  let s = 0;
  for (const sc of scenarios) {
    const k = sc.contestants.length;
    // ~13 s per idle run (restart, 1 s load, open 10k, settle); 10k-router configs take ~30 s to load.
    if (sc.kind === 'idle') s += k * opts.idleRounds * 13 + opts.idleRounds * (2 * SETTLE_MS) / 1000;
    else if (sc.kind === 'rss') s += k * 23;
    else s += k * (opts.warmup + 0.5 + opts.rounds * (opts.duration + 0.3)) + (sc.id === 'routers' ? 60 : 3);
  }
  return s / 60;
}

async function main() {
  const opts = parseArgs(process.argv.slice(2));
  if (opts.help) return void process.stdout.write(HELP + '\n');
  if (opts.list) {
    for (const s of SCENARIOS) process.stdout.write(`${s.id.padEnd(10)} ${s.title}\n`);
    return;
  }
  const scenarios = SCENARIOS.filter((s) => !opts.only || opts.only.includes(s.id));
  const cpu = cpuPlan();
  const missing = ['nginx', 'haproxy', 'wrk', 'taskset'].filter((c) => !has(c));
  if (missing.length) throw new Error(`missing tools: ${missing.join(', ')} (run sh scripts/testbed/install.sh as root)`);
  const build = buildIfStale(opts);
  const unavailable = {};
  if (!has('caddy')) unavailable.caddy = 'skipped: caddy is not installed (apt has no candidate for it here)';

  const tmp = mkdtempSync(join(tmpdir(), 'gantry-bench-'));
  chmodSync(tmp, 0o755); // nginx workers run as nobody and must reach their temp dirs
  const servers = new Servers({ tmp, repo: REPO, cpu });
  const deadline = t0 + opts.maxMinutes * 60_000;
  const ctx = { opts, cpu, tmp, servers, unavailable, scripts: {}, reloadSeq: 0, pastDeadline: () => Date.now() > deadline };
  ctx.scripts.upload = join(tmp, 'upload.lua');
  writeFileSync(ctx.scripts.upload, 'wrk.method = "POST"\nwrk.body = string.rep("u", 1048576)\nwrk.headers["Content-Type"] = "application/octet-stream"\n');
  ctx.scripts.upload16k = join(tmp, 'upload16k.lua');
  writeFileSync(ctx.scripts.upload16k, 'wrk.method = "POST"\nwrk.body = string.rep("u", 16384)\nwrk.headers["Content-Type"] = "application/octet-stream"\n');

  let stopping = false;
  const cleanup = async () => {
    if (stopping) return;
    stopping = true;
    await servers.stopAll();
    if (!opts.keep) rmSync(tmp, { recursive: true, force: true });
  };
  for (const sig of ['SIGINT', 'SIGTERM']) {
    process.on(sig, () => {
      log(`${sig}: stopping the servers`);
      cleanup().finally(() => process.exit(130));
    });
  }
  // The hard bound: whatever happens, the run ends (a stuck step cannot hold the machine).
  const killer = setTimeout(() => {
    log(`hard time bound (${opts.maxMinutes} min + 3) reached: stopping`);
    cleanup().finally(() => process.exit(2));
  }, (opts.maxMinutes + 3) * 60_000);
  killer.unref();

  const info = machine(cpu);
  log(`mode ${opts.quick ? 'quick' : 'full'}: ${opts.rounds} round(s) × ${opts.duration} s, warm-up ${opts.warmup} s; scenarios ${scenarios.map((s) => s.id).join(', ')}; about ${estimateMinutes(opts, scenarios).toFixed(1)} min (bound ${opts.maxMinutes} min)`);
  log(`pinning: wrk on CPU ${cpu.load}, proxy on CPU ${cpu.proxy}, backend on CPU ${cpu.backend}, 2-worker proxies on CPUs ${cpu.multi}; build ${build}; temp ${tmp}`);

  const results = {};
  try {
    for (const sc of scenarios) {
      if (ctx.pastDeadline()) {
        results[sc.id] = { title: sc.title, skipped: 'skipped: --max-minutes reached' };
        continue;
      }
      log(`== ${sc.id}: ${sc.title}`);
      const r = sc.kind === 'idle' ? await runIdle(ctx, sc) : sc.kind === 'h2' ? await runH2(ctx, sc) : sc.kind === 'rss' ? await runRss(ctx, sc) : await runThroughput(ctx, sc);
      results[sc.id] = { title: sc.title, ...r };
      if (r.skipped) log(`${sc.id}: ${r.skipped}`);
    }
  } finally {
    await cleanup();
  }

  // ---- report
  const date = new Date();
  const stamp = date.toISOString().slice(0, 16).replace(':', '').replace('T', '_');
  const md = [];
  md.push(`# Gantry benchmark — ${date.toISOString().slice(0, 16).replace('T', ' ')} UTC (${opts.quick ? 'quick' : 'full'} mode)`);
  md.push('');
  md.push(`Machine: ${info.cpus} × ${info.cpuModel}, ${info.memGiB} GiB, Linux ${info.kernel}, Node ${info.node}; ${info.nginx}; ${info.haproxy}; Caddy ${info.caddy ?? 'not installed'}; ${info.wrk}.`);
  md.push(`Gantry ${info.gantryCommit}${info.gantryDirtyFiles ? ` (+${info.gantryDirtyFiles} uncommitted files)` : ''}. Pinning: wrk CPU ${cpu.load}, proxy CPU ${cpu.proxy}, backend (nginx) CPU ${cpu.backend}; workers-2: proxies on CPUs ${cpu.multi}.`);
  md.push(`${opts.rounds} round(s) × ${opts.duration} s per contestant, interleaved; medians; ratios are medians of same-round ratios.`);
  for (const k of ['BENCH_GANTRY_ARGS', 'BENCH_GANTRY_NODE_ARGS']) if (process.env[k]) md.push(`**${k}=${process.env[k]}**: every Gantry ran with it (an investigation, not the defaults).`);
  for (const sc of scenarios) {
    const r = results[sc.id];
    md.push('', `## ${sc.id}: ${r.title}`, '');
    if (r.skipped) {
      md.push(r.skipped);
      continue;
    }
    md.push(sc.kind === 'idle' ? idleTable(r.rows, r.ref) : sc.kind === 'h2' ? h2Table(r.rows, r.ref) : sc.kind === 'rss' ? rssTable(r.rows) : throughputTable(r.rows, r.ref));
    if (sc.id === 'routers') {
      const g = r.rows.find((x) => x.contestant === 'gantry');
      for (const x of r.rows.filter((y) => y.contestant.startsWith('gantry-10k'))) {
        if (g?.rps) md.push('', `${x.contestant} / 1 router: ${(x.rps / g.rps).toFixed(2)}× req/s (target ≥ 0.95×)`);
        const lc = r.liveChange?.[x.contestant];
        if (lc) md.push('', `${x.contestant}: one router added to the 10,000-router file is served after ${lc.medianMs.toFixed(0)} ms (median of ${lc.allMs.map((t) => t.toFixed(0)).join(', ')} ms; file written → on the API: watch quiet time, YAML parse, compile, swap), of which compiling and swapping took ${lc.buildMedianMs?.toFixed(0) ?? '?'} ms (Gantry's buildMs: ${lc.buildMs.join(', ')}; target < 200 ms)`);
      }
    }
    if (sc.id === 'reload') {
      const x = r.rows.find((y) => y.contestant === 'gantry-reload');
      if (x) md.push('', `gantry-reload: ${x.reloads} file rewrites, ${x.errors} failed requests (non-2xx + socket errors); last rewrite ${x.reloadsApplied ? 'seen live on the API' : 'NOT seen live on the API within 2 s'}.`);
    }
    const refRow = (r.rows ?? []).find((x) => x.contestant === r.ref);
    // A closed-loop run is bound by one side: when the reference proxy did not fill its core while
    // the load core was full, the reference is capped by wrk + backend and ratios to it flatter the others.
    if (!sc.multi && refRow?.loadCorePct > 95 && refRow?.proxyCorePct < 90) {
      md.push('', `Load side: CPU ${cpu.load} (wrk + backend) was ${refRow.loadCorePct}% busy while ${r.ref} used ${refRow.proxyCorePct}% of its core: ${r.ref} is capped by the load generator here, so ratios to it flatter the others.`);
    }
    const noisy = (r.rows ?? []).filter((x) => x.noisePct != null && x.noisePct > 10);
    if (noisy.length) md.push('', `Noise: the proxy core was busy beyond the proxy itself by ${noisy.map((x) => `${x.noisePct}% (${x.contestant})`).join(', ')}: other work on the machine; treat these numbers with care.`);
    for (const n of r.notes ?? []) md.push('', `Note: ${n}`);
  }
  const t = targets(results);
  md.push('', '## Targets (issue 14)', '');
  if (opts.quick) md.push('Quick mode: a smoke test of the harness, not a measurement.', '');
  md.push(t.markdown);
  md.push('', 'Contestants: ' + Object.entries(LABELS).map(([k, v]) => `\`${k}\` = ${v}`).join('; ') + '.');
  const text = md.join('\n') + '\n';
  process.stdout.write('\n' + text);

  const dir = join(REPO, 'bench', 'results');
  mkdirSync(dir, { recursive: true });
  const base = join(dir, `${stamp}${opts.quick ? '-quick' : ''}`);
  writeFileSync(`${base}.json`, JSON.stringify({ date: date.toISOString(), mode: opts.quick ? 'quick' : 'full', options: opts, machine: info, labels: LABELS, targets: t.list, scenarios: results }, null, 1) + '\n');
  writeFileSync(`${base}.md`, text);
  log(`raw results: ${base}.json (tables: ${base}.md); ${((Date.now() - t0) / 60000).toFixed(1)} min`);
}

main().then(
  () => process.exit(0),
  (e) => {
    process.stderr.write(`bench: ${e.message}\n`);
    process.exit(1);
  },
);
