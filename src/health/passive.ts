/**
 * Passive health: the forwarder reports how each exchange with a server ended, and a server that
 * fails `maxFailures` times in a row (default 3) is ejected — `available()` is false — for a
 * back-off that doubles with each ejection in a row: 1 s, 2 s, 4 s … capped at 30 s. When the
 * back-off ends the server is tried again with real traffic; one success makes it fully healthy
 * (counters reset), while a failure before any success ejects it again at once, for twice as long
 * (a half-open circuit, as in nginx `max_fails`/`fail_timeout` and Envoy outlier detection).
 *
 * What counts as a failure is the forwarder's call: a connection that could not be made or broke
 * (refused, reset, timeout) or a 5xx response. A client that went away is NOT a failure of the
 * server and must not be reported at all. The state lives on the shared UpstreamServer, so it is
 * per worker process and survives reloads.
 */
import type { UpstreamServer } from '../upstreams/server.js';

export interface PassivePolicy {
  /** Consecutive failures that eject a server (default 3). */
  readonly maxFailures: number;
  /** First back-off in ms (default 1000). */
  readonly baseBackoffMs: number;
  /** Largest back-off in ms (default 30000). */
  readonly maxBackoffMs: number;
}

export const DEFAULT_PASSIVE_POLICY: PassivePolicy = Object.freeze({ maxFailures: 3, baseBackoffMs: 1000, maxBackoffMs: 30_000 });

/** recordSuccess notes an exchange that ended well (a response below 500): the failure counters reset. */
export function recordSuccess(server: UpstreamServer): void {
  server.consecutiveFailures = 0;
  server.ejections = 0;
}

/**
 * recordFailure notes a failed exchange at time `now` (ms, Date.now()) and returns true when this
 * failure ejected the server (for the caller to log). Failures reported while the server is
 * already ejected (requests that were in flight when it was ejected) change nothing.
 */
export function recordFailure(server: UpstreamServer, now: number, policy: PassivePolicy = DEFAULT_PASSIVE_POLICY): boolean {
  if (server.ejectedUntil > now) return false;
  server.consecutiveFailures++;
  // After an ejection, the server is on probation until it succeeds once: one failure suffices.
  if (server.ejections === 0 && server.consecutiveFailures < policy.maxFailures) return false;
  const backoff = Math.min(policy.baseBackoffMs * 2 ** server.ejections, policy.maxBackoffMs);
  server.ejectedUntil = now + backoff;
  server.ejections++;
  server.consecutiveFailures = 0;
  return true;
}

/** recordResponse reports a response status: 5xx is a failure, anything else a success. */
export function recordResponse(server: UpstreamServer, status: number, now: number, policy: PassivePolicy = DEFAULT_PASSIVE_POLICY): boolean {
  if (status >= 500) return recordFailure(server, now, policy);
  recordSuccess(server);
  return false;
}
