/**
 * Integration-test helpers: start the real `bin/gantry` process with flags, find the ports it
 * bound (entrypoints and API on :0, read from its JSON logs), start real upstream servers on
 * 127.0.0.1:0, and poll until a condition holds (never sleep).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
export const gantryBin = path.join(repoRoot, 'bin/gantry');

export interface LogLine {
  level: string;
  msg: string;
  [k: string]: unknown;
}

export class GantryProcess {
  readonly proc: ChildProcess;
  readonly logs: LogLine[] = [];
  readonly stdout: string[] = [];
  readonly ports = new Map<string, number>();
  apiPort = 0;
  exitCode: number | null = null;
  readonly exited: Promise<number | null>;
  #stderr = '';
  #stdout = '';

  constructor(proc: ChildProcess) {
    this.proc = proc;
    this.exited = new Promise((resolve) => proc.once('exit', (code) => resolve((this.exitCode = code))));
    proc.stderr!.setEncoding('utf8').on('data', (d: string) => {
      this.#stderr += d;
      let nl: number;
      while ((nl = this.#stderr.indexOf('\n')) >= 0) {
        const line = this.#stderr.slice(0, nl);
        this.#stderr = this.#stderr.slice(nl + 1);
        this.#onLine(line);
      }
    });
    proc.stdout!.setEncoding('utf8').on('data', (d: string) => {
      this.#stdout += d;
      let nl: number;
      while ((nl = this.#stdout.indexOf('\n')) >= 0) {
        this.stdout.push(this.#stdout.slice(0, nl));
        this.#stdout = this.#stdout.slice(nl + 1);
      }
    });
  }

  #onLine(line: string): void {
    let entry: LogLine;
    try {
      entry = JSON.parse(line) as LogLine;
    } catch {
      entry = { level: 'raw', msg: line };
    }
    this.logs.push(entry);
    if (entry.msg === 'entrypoint listening') this.ports.set(String(entry['entryPoint']), Number(entry['port']));
    if (entry.msg === 'API listening') this.apiPort = Number(entry['port']);
    if (process.env.TEST_GANTRY_LOGS) process.stderr.write(`[gantry] ${line}\n`);
  }

  port(entrypoint = 'web'): number {
    const p = this.ports.get(entrypoint);
    if (p === undefined) throw new Error(`entrypoint ${entrypoint} is not listening; logs:\n${this.logText()}`);
    return p;
  }

  url(p: string, entrypoint = 'web'): string {
    return `http://127.0.0.1:${this.port(entrypoint)}${p}`;
  }

  api(p: string): string {
    return `http://127.0.0.1:${this.apiPort}${p}`;
  }

  logText(): string {
    return this.logs.map((l) => JSON.stringify(l)).join('\n');
  }

  /** waitForLog resolves with the first log line (from `from` on) that matches. */
  async waitForLog(pred: (l: LogLine) => boolean, timeoutMs = 5000, from = 0): Promise<LogLine> {
    let found: LogLine | undefined;
    await waitFor(() => (found = this.logs.slice(from).find(pred)) !== undefined, timeoutMs, () => `log line not seen; logs:\n${this.logText()}`);
    return found!;
  }

  async stop(signal: NodeJS.Signals = 'SIGTERM'): Promise<number | null> {
    if (this.exitCode === null && this.proc.exitCode === null) this.proc.kill(signal);
    const timer = setTimeout(() => this.proc.kill('SIGKILL'), 15_000);
    const code = await this.exited;
    clearTimeout(timer);
    return code;
  }
}

export interface StartOptions {
  cwd?: string;
  env?: NodeJS.ProcessEnv;
  /** Wait for these entrypoints (default: web) and the API. */
  entrypoints?: string[];
  api?: boolean;
}

/** startGantry runs `bin/gantry run ARGS` with JSON logs and waits until it listens. */
export async function startGantry(args: string[], opts: StartOptions = {}): Promise<GantryProcess> {
  // One process unless the test is about workers: RSS, rate limits and logs then belong to one process.
  const workers = args.some((a) => a.startsWith('--workers')) ? [] : ['--workers=1'];
  // Each process gets its own working directory: Gantry keeps state there by default
  // (gantry-rest.json), and one test's registrations must not leak into the next.
  const cwd = opts.cwd ?? fs.mkdtempSync(path.join(os.tmpdir(), 'gantry-cwd-'));
  // TEST_GANTRY_NODE_ARGS passes Node flags to Gantry (--cpu-prof, --trace-gc) when investigating.
  const nodeArgs = (process.env.TEST_GANTRY_NODE_ARGS ?? '').split(' ').filter(Boolean);
  const proc = spawn(process.execPath, [...nodeArgs, gantryBin, 'run', '--log.format=json', ...workers, ...args], {
    cwd,
    env: { ...process.env, ...opts.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const g = new GantryProcess(proc);
  const eps = opts.entrypoints ?? ['web'];
  try {
    await waitFor(
      () => {
        if (g.exitCode !== null) throw new Error(`gantry exited with ${g.exitCode}; logs:\n${g.logText()}`);
        return eps.every((e) => g.ports.has(e)) && (opts.api === false || g.apiPort !== 0);
      },
      10_000,
      () => `gantry did not start; logs:\n${g.logText()}`,
    );
  } catch (err) {
    proc.kill('SIGKILL');
    throw err;
  }
  return g;
}

/** waitFor polls `cond` every 10 ms until it returns true, or fails after timeoutMs. */
export async function waitFor(cond: () => boolean | Promise<boolean>, timeoutMs = 5000, describe?: () => string): Promise<void> {
  const deadline = Date.now() + timeoutMs * (process.env.CI ? 2 : 1);
  let lastErr: unknown;
  for (;;) {
    try {
      if (await cond()) return;
    } catch (err) {
      if (err instanceof Error && err.message.startsWith('gantry exited')) throw err;
      lastErr = err;
    }
    if (Date.now() > deadline) {
      throw new Error(`condition not met within ${timeoutMs} ms${describe ? `: ${describe()}` : ''}${lastErr ? ` (last error: ${String(lastErr)})` : ''}`);
    }
    await new Promise((r) => setTimeout(r, 10));
  }
}

export interface Backend {
  name: string;
  port: number;
  url: string;
  server: http.Server;
  /** Requests seen: method, url and headers as received. */
  seen: Array<{ method: string; url: string; headers: http.IncomingHttpHeaders; rawHeaders: string[] }>;
  close(): Promise<void>;
}

export type BackendHandler = (req: IncomingMessage, res: ServerResponse, b: Backend) => void;

/** startBackend starts a real upstream on 127.0.0.1:0 that answers `<name> <url>` by default. */
export async function startBackend(name: string, handler?: BackendHandler, port = 0): Promise<Backend> {
  const b = { name, seen: [] } as unknown as Backend;
  const server = http.createServer((req, res) => {
    b.seen.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers, rawHeaders: req.rawHeaders });
    if (handler) return handler(req, res, b);
    const body = JSON.stringify({ backend: name, method: req.method, url: req.url, headers: req.headers });
    res.writeHead(200, { 'content-type': 'application/json', 'x-backend': name });
    res.end(body);
  });
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  const addr = server.address() as { port: number };
  Object.assign(b, {
    port: addr.port,
    url: `http://127.0.0.1:${addr.port}`,
    server,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  });
  return b;
}

/** tempDir makes a directory under the OS temp dir, removed by the returned cleanup. */
export function tempDir(prefix = 'gantry-test-'): { dir: string; cleanup(): void } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  return { dir, cleanup: () => fs.rmSync(dir, { recursive: true, force: true }) };
}

/** writeAtomic replaces a file by rename, as editors do. */
export function writeAtomic(file: string, text: string): void {
  const tmp = `${file}.tmp-${process.pid}-${Date.now()}`;
  fs.writeFileSync(tmp, text);
  fs.renameSync(tmp, file);
}

/** freePort finds a port on 127.0.0.1 that nothing listens on, for a server started later or a refused dial. */
export async function freePort(): Promise<number> {
  // Below the kernel's ephemeral range (32768–60999) and above the test bed's fixed ports
  // (12000–19999): a later listen(0), in this test or a parallel one, can never be given it.
  for (let attempt = 0; ; attempt++) {
    const port = 20_000 + Math.floor(Math.random() * 12_768);
    const s = http.createServer();
    const ok = await new Promise<boolean>((r) => {
      s.once('error', () => r(false));
      s.listen(port, '127.0.0.1', () => r(true));
    });
    if (ok) {
      await new Promise<void>((r) => s.close(() => r()));
      return port;
    }
    if (attempt > 100) throw new Error('no free port in 20000–32767 after 100 attempts');
  }
}

/** withFile starts Gantry on 127.0.0.1:0 with a dynamic configuration file holding `yaml`. */
export async function startWithFile(yaml: string, extraArgs: string[] = [], opts: StartOptions = {}): Promise<{ g: GantryProcess; file: string; cleanup(): Promise<void> }> {
  const tmp = tempDir();
  const file = path.join(tmp.dir, 'dynamic.yaml');
  fs.writeFileSync(file, yaml);
  const g = await startGantry(['--entrypoints.web.address=127.0.0.1:0', '--api.address=127.0.0.1:0', `--providers.file.filename=${file}`, ...extraArgs], opts);
  return {
    g,
    file,
    cleanup: async () => {
      await g.stop();
      tmp.cleanup();
    },
  };
}

/** serviceYaml is a one-router, one-service configuration routing Host(host) to the given URLs. */
export function serviceYaml(name: string, host: string, urls: string[], extra = ''): string {
  return `http:
  routers:
    ${name}:
      rule: Host(\`${host}\`)
      service: ${name}
  services:
    ${name}:
      loadBalancer:
${extra}        servers:
${urls.map((u) => `          - url: ${u}\n`).join('')}`;
}

/**
 * stopsAtOnce sends SIGTERM and checks that Gantry exits 0 without waiting for its grace period:
 * a request whose bookkeeping was never ended (or ended twice) would keep the drain waiting.
 */
export async function stopsAtOnce(g: GantryProcess): Promise<{ code: number | null; ms: number; waitedForGrace: boolean }> {
  const t0 = Date.now();
  const code = await g.stop('SIGTERM');
  return { code, ms: Date.now() - t0, waitedForGrace: g.logs.some((l) => l.msg === 'grace timeout reached; closing remaining connections') };
}
