/**
 * nginx and HAProxy as the oracle's reference proxies: stock Debian binaries, each with a config
 * written into its own temp dir and run in the foreground as our child process, listening on
 * 127.0.0.1 and forwarding everything to one recording-backend port. Both keep their stock parsing
 * behaviour; only what a reverse proxy needs is configured.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';

export const NGINX = '/usr/sbin/nginx';
export const HAPROXY = '/usr/sbin/haproxy';

export interface RunningProxy {
  name: string;
  port: number;
  proc: ChildProcess;
  /** What the process printed, for start-up failures. */
  output(): string;
  stop(): Promise<void>;
}

/** requireBinary fails (never skips) when a reference proxy is not installed. */
export function requireBinary(file: string): void {
  if (!fs.existsSync(file)) throw new Error(`${file} not found: the oracle needs nginx and HAProxy; run scripts/testbed/install.sh`);
}

export function nginxConf(dir: string, port: number, upstreamPort: number): string {
  return `daemon off;
master_process off;
worker_processes 1;
pid ${dir}/nginx.pid;
error_log ${dir}/error.log info;
events { worker_connections 256; }
http {
  access_log ${dir}/access.log;
  client_body_temp_path ${dir}/client_body;
  proxy_temp_path ${dir}/proxy;
  fastcgi_temp_path ${dir}/fastcgi;
  uwsgi_temp_path ${dir}/uwsgi;
  scgi_temp_path ${dir}/scgi;
  server {
    listen 127.0.0.1:${port} default_server;
    server_name _;
    location / {
      proxy_pass http://127.0.0.1:${upstreamPort};
      proxy_http_version 1.1;
      # The client's Host, as HAProxy and Gantry (passHostHeader) forward it; nginx would send its
      # upstream's address instead.
      proxy_set_header Host $http_host;
    }
  }
}
`;
}

export function haproxyConf(port: number, upstreamPort: number): string {
  return `global
  nbthread 1
  maxconn 256
defaults
  mode http
  timeout connect 5s
  timeout client 10s
  timeout server 10s
frontend fe
  bind 127.0.0.1:${port}
  default_backend be
backend be
  server s1 127.0.0.1:${upstreamPort}
`;
}

export async function startNginx(dir: string, port: number, upstreamPort: number): Promise<RunningProxy> {
  requireBinary(NGINX);
  fs.mkdirSync(dir, { recursive: true });
  const conf = path.join(dir, 'nginx.conf');
  fs.writeFileSync(conf, nginxConf(dir, port, upstreamPort));
  // -e: the start-up error log goes to the temp dir too, never /var/log/nginx.
  const p = await run('nginx', NGINX, ['-p', dir, '-e', path.join(dir, 'error.log'), '-c', conf], port, () => readIf(path.join(dir, 'error.log')));
  return p;
}

export async function startHaproxy(dir: string, port: number, upstreamPort: number): Promise<RunningProxy> {
  requireBinary(HAPROXY);
  fs.mkdirSync(dir, { recursive: true });
  const conf = path.join(dir, 'haproxy.cfg');
  fs.writeFileSync(conf, haproxyConf(port, upstreamPort));
  return run('haproxy', HAPROXY, ['-f', conf, '-db'], port, () => '');
}

async function run(name: string, bin: string, args: string[], port: number, extra: () => string): Promise<RunningProxy> {
  const proc = spawn(bin, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  proc.stdout!.setEncoding('utf8').on('data', (d: string) => (out += d));
  proc.stderr!.setEncoding('utf8').on('data', (d: string) => (out += d));
  let exited = false;
  const gone = new Promise<void>((resolve) => proc.once('exit', () => ((exited = true), resolve())));
  const output = (): string => `${out}${extra()}`;
  const stop = async (): Promise<void> => {
    if (exited) return;
    proc.kill('SIGTERM');
    const timer = setTimeout(() => proc.kill('SIGKILL'), 5000);
    await gone;
    clearTimeout(timer);
  };
  // Polled: neither binary says on stdout when it listens.
  const deadline = Date.now() + 10_000;
  while (!(await connects(port))) {
    const why = exited ? `${name} exited with ${proc.exitCode}` : Date.now() > deadline ? `${name} did not listen on 127.0.0.1:${port} within 10 s` : null;
    if (why !== null) {
      await stop();
      throw new Error(`${why}: ${output()}`);
    }
    await new Promise((r) => setTimeout(r, 20));
  }
  return { name, port, proc, output, stop };
}

function connects(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect(port, '127.0.0.1');
    s.once('connect', () => (s.destroy(), resolve(true)));
    s.once('error', () => resolve(false));
  });
}

function readIf(file: string): string {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch {
    return '';
  }
}
