/**
 * Active health checks of TCP servers (Traefik's tcp `loadBalancer.healthCheck`,
 * pkg/healthcheck/healthcheck_tcp.go): a server is healthy while a connection to it succeeds
 * within `timeout`; with `send`, those bytes are written, and with `expect`, the first bytes the
 * server answers must be exactly those. `port` replaces the server's port for the check. Checks
 * run every `interval` (30 s), every `unhealthyInterval` (the interval) while a server is down,
 * and once at start so that a server down at start is known within one timeout.
 *
 * As for HTTP checks (active.ts), probes are shared by (address, check) and outlive snapshots:
 * a reload that keeps the check keeps the probe, its timer and its verdict.
 */
import net from 'node:net';
import type { Logger } from '../observability/logger.js';
import { parseDuration } from '../config/duration.js';

/** Traefik's bound on send and expect payloads. */
export const MAX_TCP_PAYLOAD = 65535;

export interface TcpCheckConfig {
  readonly port?: number | undefined;
  readonly send?: string | undefined;
  readonly expect?: string | undefined;
  readonly interval?: string | number | undefined;
  readonly unhealthyInterval?: string | number | undefined;
  readonly timeout?: string | number | undefined;
}

export interface NormalizedTcpCheck {
  readonly port: number;
  readonly send: string;
  readonly expect: string;
  readonly intervalMs: number;
  readonly unhealthyIntervalMs: number;
  readonly timeoutMs: number;
}

function durationOr(v: string | number | undefined, def: number): number {
  if (v === undefined) return def;
  const ms = parseDuration(v);
  return ms === null || ms <= 0 ? def : ms;
}

export function normalizeTcpCheck(c: TcpCheckConfig): NormalizedTcpCheck {
  const interval = durationOr(c.interval, 30_000);
  return { port: c.port ?? 0, send: c.send ?? '', expect: c.expect ?? '', intervalMs: interval, unhealthyIntervalMs: durationOr(c.unhealthyInterval, interval), timeoutMs: durationOr(c.timeout, 5_000) };
}

/** probeTcp checks `host:port` once and resolves to null when healthy, else the reason. */
export function probeTcp(host: string, port: number, check: NormalizedTcpCheck): Promise<string | null> {
  return new Promise((resolve) => {
    const expect = Buffer.from(check.expect, 'utf8');
    let got = Buffer.alloc(0);
    let done = false;
    const socket = net.connect({ host, port });
    const finish = (reason: string | null): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      socket.destroy();
      resolve(reason);
    };
    const timer = setTimeout(() => finish(`no ${expect.length > 0 && socket.readyState === 'open' ? 'answer' : 'connection'} within ${check.timeoutMs} ms`), check.timeoutMs);
    timer.unref();
    socket.once('connect', () => {
      if (check.send !== '') socket.write(check.send);
      if (expect.length === 0) finish(null);
    });
    socket.on('data', (chunk: Buffer) => {
      got = Buffer.concat([got, chunk]);
      if (got.length >= expect.length) finish(got.subarray(0, expect.length).equals(expect) ? null : `unexpected answer ${JSON.stringify(got.subarray(0, 64).toString('utf8'))}`);
    });
    socket.on('error', (err: NodeJS.ErrnoException) => finish(`connecting to ${host}:${port}: ${err.code ?? err.message}`));
    socket.on('close', () => finish('connection closed before the expected answer'));
  });
}

class TcpProbe {
  readonly address: string;
  readonly host: string;
  readonly port: number;
  readonly check: NormalizedTcpCheck;
  up = true;
  reason: string | null = null;
  refs = 0;
  readonly services = new Map<string, number>();
  readonly #logger: Logger;
  #timer: NodeJS.Timeout | null = null;
  #stopped = false;

  constructor(address: string, host: string, port: number, check: NormalizedTcpCheck, logger: Logger) {
    this.address = address;
    this.host = host;
    this.port = check.port !== 0 ? check.port : port;
    this.check = check;
    this.#logger = logger;
  }

  start(): void {
    this.#schedule(0);
  }

  stop(): void {
    this.#stopped = true;
    if (this.#timer !== null) clearTimeout(this.#timer);
    this.#timer = null;
  }

  #schedule(ms: number): void {
    if (this.#stopped) return;
    this.#timer = setTimeout(() => void this.run(), ms);
    this.#timer.unref();
  }

  async run(): Promise<void> {
    this.#timer = null;
    const reason = await probeTcp(this.host, this.port, this.check);
    if (this.#stopped) return;
    const up = reason === null;
    this.reason = reason;
    if (up !== this.up) {
      this.up = up;
      const fields = { service: [...this.services.keys()].join(','), address: this.address };
      if (up) this.#logger.info('tcp health check: server is UP', fields);
      else this.#logger.warn('tcp health check: server is DOWN', { ...fields, reason });
    }
    this.#schedule(up ? this.check.intervalMs : this.check.unhealthyIntervalMs);
  }
}

/** TcpHealthRegistry holds the process's TCP probes, shared by (address, check). */
export class TcpHealthRegistry {
  readonly #probes = new Map<string, Map<string, TcpProbe>>();

  acquire(address: string, host: string, port: number, check: NormalizedTcpCheck, service: string, logger: Logger): TcpProbe {
    const key = JSON.stringify(check);
    let byKey = this.#probes.get(address);
    if (byKey === undefined) this.#probes.set(address, (byKey = new Map()));
    let probe = byKey.get(key);
    const created = probe === undefined;
    if (probe === undefined) byKey.set(key, (probe = new TcpProbe(address, host, port, check, logger)));
    probe.refs++;
    probe.services.set(service, (probe.services.get(service) ?? 0) + 1);
    if (created) probe.start();
    return probe;
  }

  release(probe: TcpProbe, service: string): void {
    const n = (probe.services.get(service) ?? 1) - 1;
    if (n <= 0) probe.services.delete(service);
    else probe.services.set(service, n);
    if (--probe.refs > 0) return;
    probe.stop();
    const byKey = this.#probes.get(probe.address);
    byKey?.delete(JSON.stringify(probe.check));
    if (byKey?.size === 0) this.#probes.delete(probe.address);
  }

  /** healthy: every check of the address passes (an unchecked address is healthy). */
  healthy(address: string): boolean {
    const byKey = this.#probes.get(address);
    if (byKey !== undefined) for (const p of byKey.values()) if (!p.up) return false;
    return true;
  }
}

export const tcpHealth = new TcpHealthRegistry();

/** TcpHealthChecker is one TCP service's checks in one snapshot; stop() releases its probes. */
export class TcpHealthChecker {
  readonly #probes: TcpProbe[];

  constructor(service: string, servers: ReadonlyArray<{ address: string; host: string; port: number }>, config: TcpCheckConfig, logger: Logger, registry: TcpHealthRegistry = tcpHealth) {
    const check = normalizeTcpCheck(config);
    const seen = new Set<string>();
    this.#probes = [];
    for (const s of servers) {
      if (seen.has(s.address)) continue;
      seen.add(s.address);
      this.#probes.push(registry.acquire(s.address, s.host, s.port, check, service, logger));
    }
    this.stop = () => {
      for (const p of this.#probes.splice(0)) registry.release(p, service);
    };
  }

  readonly stop: () => void;
}
