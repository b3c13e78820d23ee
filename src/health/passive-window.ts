/**
 * A load balancer's `passiveHealthCheck` (Traefik v3.6+): a server whose exchanges fail
 * `maxFailedAttempts` times (1 by default) within `failureWindow` (10 s) is taken out of the
 * rotation for `failureWindow`, then tried again; a success forgets its failures. A failure is
 * what Gantry's default passive health counts (health/passive.ts): a connection that could not
 * be made or broke, or a 5xx answer. It replaces that default policy for the service that sets it.
 */
import type { PassiveHealth } from '../proxy/forward.js';
import type { UpstreamServer } from '../upstreams/server.js';
import type { Logger } from '../observability/logger.js';

export class WindowedPassiveHealth implements PassiveHealth {
  readonly #max: number;
  readonly #windowMs: number;
  /** Failure times within the window, per server (at most max of them). */
  readonly #failures = new Map<UpstreamServer, number[]>();
  readonly #now: () => number;
  readonly #logger: Logger;

  constructor(maxFailedAttempts: number, failureWindowMs: number, logger: Logger, now: () => number = Date.now) {
    this.#max = Math.max(1, maxFailedAttempts);
    this.#windowMs = failureWindowMs;
    this.#logger = logger;
    this.#now = now;
  }

  success(server: UpstreamServer): void {
    this.#failures.delete(server);
  }

  failure(server: UpstreamServer): void {
    const now = this.#now();
    if (server.ejectedUntil > now) return;
    const list = (this.#failures.get(server) ?? []).filter((t) => t > now - this.#windowMs);
    list.push(now);
    if (list.length < this.#max) {
      this.#failures.set(server, list);
      return;
    }
    this.#failures.delete(server);
    server.ejectedUntil = now + this.#windowMs;
    this.#logger.warn('passive health check: server taken out', { url: server.url, failures: list.length, forMs: this.#windowMs });
  }
}
