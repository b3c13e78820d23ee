/**
 * A small Redis client over node:net / node:tls, enough for the rate limiter: pipelined commands
 * on a few connections, AUTH and SELECT when a connection opens, and every step bounded in time
 * (dial, write, reply), as go-redis does for Traefik. A connection that misses a deadline or
 * breaks is dropped with every command it carried failing; the next command opens a new one.
 *
 * Options follow Traefik's `rateLimit.redis`: `poolSize` connections at most (10 by default, as
 * go-redis per CPU on a 1-CPU budget), `maxActiveConns` lowers that cap, `minIdleConns` are opened
 * up front and kept.
 */
import net from 'node:net';
import tls from 'node:tls';
import { encodeCommand, RespError, RespParser, type RespValue } from './resp.js';

export interface RedisClientOptions {
  readonly host: string;
  readonly port: number;
  readonly username: string;
  readonly password: string;
  readonly db: number;
  readonly poolSize: number;
  readonly minIdleConns: number;
  readonly maxActiveConns: number;
  /** 0: no limit (Traefik's meaning of a zero or negative timeout). */
  readonly dialTimeoutMs: number;
  readonly readTimeoutMs: number;
  readonly writeTimeoutMs: number;
  /** TLS options (servername set from host unless an IP); null for plain TCP. */
  readonly tls: tls.ConnectionOptions | null;
}

/** RedisUnavailable is a command that could not be answered: no connection, timeout, bad AUTH … */
export class RedisUnavailable extends Error {}

interface Pending {
  resolve(v: RespValue): void;
  reject(e: Error): void;
  timer: NodeJS.Timeout | null;
  /** Handshake commands (AUTH, SELECT) fail the connection when refused. */
  handshake: boolean;
}

class Connection {
  readonly socket: net.Socket;
  readonly #parser = new RespParser();
  readonly #pending: Pending[] = [];
  readonly #o: RedisClientOptions;
  readonly #onGone: (c: Connection) => void;
  #closed = false;
  #writeTimer: NodeJS.Timeout | null = null;

  constructor(o: RedisClientOptions, onGone: (c: Connection) => void) {
    this.#o = o;
    this.#onGone = onGone;
    const servername = net.isIP(o.host) === 0 ? o.host : undefined;
    this.socket = o.tls !== null ? tls.connect({ ...o.tls, host: o.host, port: o.port, servername }) : net.connect({ host: o.host, port: o.port });
    this.socket.setNoDelay(true);
    this.socket.setKeepAlive(true, 30_000);
    if (o.dialTimeoutMs > 0) {
      const dial = setTimeout(() => this.fail(new RedisUnavailable(`redis ${o.host}:${o.port}: no connection within ${o.dialTimeoutMs} ms`)), o.dialTimeoutMs);
      dial.unref();
      this.socket.once(o.tls !== null ? 'secureConnect' : 'connect', () => clearTimeout(dial));
    }
    this.socket.on('data', (chunk: Buffer) => this.#onData(chunk));
    this.socket.on('error', (err) => this.fail(new RedisUnavailable(`redis ${o.host}:${o.port}: ${(err as NodeJS.ErrnoException).code ?? err.message}`)));
    this.socket.on('close', () => this.fail(new RedisUnavailable(`redis ${o.host}:${o.port}: connection closed`)));
    // Commands written before the connection is up wait in the socket: the handshake goes first.
    // A refused handshake fails the connection, and with it the commands queued behind it.
    if (o.password !== '') this.#send(o.username !== '' ? ['AUTH', o.username, o.password] : ['AUTH', o.password], true).catch(noop);
    if (o.db !== 0) this.#send(['SELECT', o.db], true).catch(noop);
  }

  get pending(): number {
    return this.#pending.length;
  }

  get closed(): boolean {
    return this.#closed;
  }

  command(args: ReadonlyArray<string | number>): Promise<RespValue> {
    if (this.#closed) return Promise.reject(new RedisUnavailable('redis connection closed'));
    return this.#send(args, false);
  }

  #send(args: ReadonlyArray<string | number>, handshake: boolean): Promise<RespValue> {
    return new Promise<RespValue>((resolve, reject) => {
      const p: Pending = { resolve, reject, timer: null, handshake };
      if (this.#o.readTimeoutMs > 0) {
        p.timer = setTimeout(() => this.fail(new RedisUnavailable(`redis: no reply within ${this.#o.readTimeoutMs} ms`)), this.#o.readTimeoutMs);
        p.timer.unref();
      }
      this.#pending.push(p);
      const flushed = this.socket.write(encodeCommand(args));
      if (!flushed && this.#o.writeTimeoutMs > 0 && this.#writeTimer === null) {
        this.#writeTimer = setTimeout(() => this.fail(new RedisUnavailable(`redis: write not done within ${this.#o.writeTimeoutMs} ms`)), this.#o.writeTimeoutMs);
        this.#writeTimer.unref();
        this.socket.once('drain', () => {
          if (this.#writeTimer !== null) clearTimeout(this.#writeTimer);
          this.#writeTimer = null;
        });
      }
    });
  }

  #onData(chunk: Buffer): void {
    let replies: RespValue[];
    try {
      replies = this.#parser.push(chunk);
    } catch (err) {
      this.fail(new RedisUnavailable(`redis: ${(err as Error).message}`));
      return;
    }
    for (const r of replies) {
      const p = this.#pending.shift();
      if (p === undefined) return this.fail(new RedisUnavailable('redis: reply to no command'));
      if (p.timer !== null) clearTimeout(p.timer);
      if (p.handshake && r instanceof RespError) {
        p.reject(new RedisUnavailable(`redis ${this.#o.host}:${this.#o.port}: ${r.message}`));
        return this.fail(new RedisUnavailable(`redis ${this.#o.host}:${this.#o.port}: ${r.message}`));
      }
      p.resolve(r);
    }
  }

  /** fail closes the connection and fails every command it still carries. */
  fail(err: Error): void {
    if (this.#closed) return;
    this.#closed = true;
    if (this.#writeTimer !== null) clearTimeout(this.#writeTimer);
    for (const p of this.#pending.splice(0)) {
      if (p.timer !== null) clearTimeout(p.timer);
      p.reject(err);
    }
    this.socket.destroy();
    this.#onGone(this);
  }
}

/** RedisClient spreads commands over up to `poolSize` pipelined connections. */
export class RedisClient {
  readonly options: RedisClientOptions;
  readonly #conns: Connection[] = [];
  readonly #max: number;
  #stopped = false;

  constructor(o: RedisClientOptions) {
    this.options = o;
    const pool = o.poolSize > 0 ? o.poolSize : 10;
    this.#max = Math.max(1, o.maxActiveConns > 0 ? Math.min(pool, o.maxActiveConns) : pool);
    this.#keepIdle();
  }

  /** command sends one command; error replies resolve (RespError), broken connections reject. */
  command(args: ReadonlyArray<string | number>): Promise<RespValue> {
    if (this.#stopped) return Promise.reject(new RedisUnavailable('redis client stopped'));
    let best: Connection | null = null;
    for (const c of this.#conns) if (!c.closed && (best === null || c.pending < best.pending)) best = c;
    if (best === null || (best.pending > 0 && this.#conns.length < this.#max)) best = this.#open();
    return best.command(args);
  }

  #open(): Connection {
    const c = new Connection(this.options, (gone) => {
      const i = this.#conns.indexOf(gone);
      if (i >= 0) this.#conns.splice(i, 1);
      // Idle connections are opened again after a pause, not in a tight loop against a dead server.
      if (!this.#stopped && this.options.minIdleConns > 0) setTimeout(() => this.#keepIdle(), 1000).unref();
    });
    this.#conns.push(c);
    return c;
  }

  #keepIdle(): void {
    const want = Math.min(this.options.minIdleConns, this.#max);
    while (!this.#stopped && this.#conns.length < want) this.#open();
  }

  get connections(): number {
    return this.#conns.length;
  }

  stop(): void {
    this.#stopped = true;
    for (const c of this.#conns.splice(0)) c.fail(new RedisUnavailable('redis client stopped'));
  }
}

function noop(): void {}
