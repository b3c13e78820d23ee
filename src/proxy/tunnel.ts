/**
 * Tunnel relays bytes both ways between two connected streams — a client and a server after an
 * HTTP upgrade (101), or a TCP router's client and server — and makes sure it ends, and ends once:
 *
 * - When either side ends its half (FIN) or closes, the end is passed on to the other side after
 *   what is queued for it was written; the other direction may go on for `lingerMs` (Traefik's
 *   TCP `terminationDelay`), then both sides are closed. So a peer that ignores the end, or never
 *   reads, cannot keep a tunnel open (Go's ReverseProxy closes an upgrade tunnel as soon as either
 *   direction ends).
 * - With no byte in either direction for `idleTimeoutMs` the tunnel is closed (HAProxy's
 *   `timeout tunnel`); writes count as activity, so one timer on the client side covers both.
 * - An error on either side closes both at once.
 *
 * `onClose` runs exactly once, after both sides are closed.
 */
import type { Duplex } from 'node:stream';
import { bodyBytesRelayed } from './body-memory.js';

export interface TunnelOptions {
  /** Close the tunnel after this long without traffic; 0 = never. */
  idleTimeoutMs: number;
  /** After one side ended, how long the other may take to flush before both are destroyed (< 0: no bound). */
  lingerMs: number;
}

export class Tunnel {
  readonly client: Duplex;
  readonly server: Duplex;
  readonly #opts: TunnelOptions;
  readonly #onClose: () => void;
  #ending = false;
  #closed = 0;
  #done = false;
  #linger: NodeJS.Timeout | null = null;

  constructor(client: Duplex, server: Duplex, opts: TunnelOptions, onClose: () => void) {
    this.client = client;
    this.server = server;
    this.#opts = opts;
    this.#onClose = onClose;
    for (const [from, to] of [
      [client, server],
      [server, client],
    ] as const) {
      from.on('data', (chunk: Buffer) => {
        // Bytes that arrive after the other side was ended have nowhere to go.
        if (to.writableEnded || to.destroyed) return;
        bodyBytesRelayed(chunk.length);
        if (!to.write(chunk)) {
          from.pause();
          to.once('drain', () => from.resume());
        }
      });
      if (from.readableEnded) queueMicrotask(() => this.#end(to));
      else from.on('end', () => this.#end(to));
      from.on('error', () => this.destroy());
      // A side that was closed before the tunnel was built (a client that left during the
      // handshake) will not say so again.
      if (from.closed) queueMicrotask(() => this.#sideClosed(to));
      else from.on('close', () => this.#sideClosed(to));
    }
    if (opts.idleTimeoutMs > 0 && 'setTimeout' in client) {
      const sock = client as Duplex & { setTimeout(ms: number, cb?: () => void): void };
      sock.setTimeout(opts.idleTimeoutMs);
      client.on('timeout', () => this.destroy());
    }
    if (client.isPaused()) client.resume();
    if (server.isPaused()) server.resume();
  }

  /** destroy closes both sides now (errors, timeouts, shutdown). */
  destroy(): void {
    this.client.destroy();
    this.server.destroy();
  }

  /**
   * #end: `to`'s peer is done sending. The end is passed on to `to` once what is queued for it
   * was written; the other direction may go on for lingerMs, then both sides are closed.
   */
  #end(to: Duplex): void {
    if (!to.destroyed && !to.writableEnded) to.end();
    if (this.#ending) return;
    this.#ending = true;
    if (this.#opts.lingerMs < 0) return;
    this.#linger = setTimeout(() => this.destroy(), this.#opts.lingerMs);
    this.#linger.unref();
  }

  #sideClosed(other: Duplex): void {
    this.#end(other);
    if (++this.#closed < 2 || this.#done) return;
    this.#done = true;
    if (this.#linger !== null) clearTimeout(this.#linger);
    this.#onClose();
  }
}
